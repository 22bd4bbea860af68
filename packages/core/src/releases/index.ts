export * from './release.js';
export * from './rules.js';
export * from './content.js';
export * from './checks.js';
export * from './preview.js';
