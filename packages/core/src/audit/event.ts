import { z } from 'zod';
import { canonicalJson } from './canonical.js';

/** The version of the event body; bumped when fields are added (jupyterhub's event schemas). */
export const AUDIT_SCHEMA_VERSION = 1;

/** How a request or change ended, from the caller's point of view. */
export const AUDIT_OUTCOMES = ['allowed', 'denied', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** What a writer hands to the audit log. */
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
  /** Free-form details. */
  details: Record<string, unknown>;
}

/**
 * An event in the chain. `body` is the event itself — RFC 8785 canonical JSON of every field of
 * AuditEventInput plus the schema version — and the only place its fields are stored; the database
 * derives its indexed columns from it, so they cannot disagree with what was hashed.
 */
export interface SealedAuditEvent {
  seq: number;
  prevHash: string;
  hash: string;
  body: string;
}

/** The hash that precedes the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The body of an event: what its hash covers, besides its seq and the previous hash. */
export function encodeAuditBody(event: AuditEventInput): string {
  return canonicalJson({
    v: AUDIT_SCHEMA_VERSION,
    time: event.time.toISOString(),
    actor: event.actor,
    action: event.action,
    target: event.target,
    projectId: event.projectId,
    clientIp: event.clientIp,
    requestId: event.requestId,
    outcome: event.outcome,
    details: event.details,
  });
}

/** A body read back, for presenting events. */
export const auditBodySchema = z.object({
  v: z.number().int(),
  time: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  projectId: z.string().nullable(),
  clientIp: z.string().nullable(),
  requestId: z.string().nullable(),
  outcome: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditBody = z.infer<typeof auditBodySchema>;

/** Parses a stored body; throws if it is not one (which verification would also report). */
export function parseAuditBody(body: string): AuditBody {
  return auditBodySchema.parse(JSON.parse(body));
}
