import { z } from 'zod';

/** The version of the event encoding; bumped when fields are added (jupyterhub's event schemas). */
export const AUDIT_SCHEMA_VERSION = 1;

/** How a request or change ended, from the caller's point of view. */
export const AUDIT_OUTCOMES = ['allowed', 'denied', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** What a writer hands to the audit log: everything but the chain fields. */
export interface AuditEventInput {
  /** When it happened, with millisecond precision. */
  time: Date;
  /** `anonymous`, `user:<id>` or `system:<name>`. */
  actor: string;
  /** Dotted verb, e.g. `health.read`, `project.create`, `http.not_found`. */
  action: string;
  /** What was acted upon, e.g. `project:p_123`; null when nothing in particular. */
  target: string | null;
  projectId: string | null;
  clientIp: string | null;
  requestId: string | null;
  outcome: AuditOutcome;
  /** Free-form details; stored as canonical JSON. */
  details: Record<string, unknown>;
}

/** An event as it stands in the chain. `details` is the canonical JSON text that was hashed. */
export interface SealedAuditEvent {
  seq: number;
  schemaVersion: number;
  time: Date;
  actor: string;
  action: string;
  target: string | null;
  projectId: string | null;
  clientIp: string | null;
  requestId: string | null;
  /** One of AUDIT_OUTCOMES when intact; kept as the stored text so that tampering hashes as such. */
  outcome: string;
  details: string;
  prevHash: string;
  hash: string;
}

/** The hash that precedes the first event. */
export const GENESIS_HASH = '0'.repeat(64);

export const auditOutcomeSchema = z.enum(AUDIT_OUTCOMES);
