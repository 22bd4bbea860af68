export * from './orcid.js';
export * from './password-policy.js';
export * from './secrets.js';
export * from './totp.js';
export * from './throttle.js';
export * from './certificate-file.js';
