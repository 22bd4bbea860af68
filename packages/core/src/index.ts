export * from './errors.js';
export * from './permissions.js';
export { AUDIT_OUTCOMES, type AuditOutcome } from './audit/event.js';
export * from './schemas.js';
