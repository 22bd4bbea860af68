import type { ColumnType, Generated } from 'kysely';

/** Event bodies written by requests and services, waiting to be sealed into the chain (a queue). */
export interface AuditInboxTable {
  id: Generated<number>;
  /** The event: canonical JSON (packages/core encodeAuditBody). */
  body: string;
  queued_at: ColumnType<Date, never, never>;
}

/**
 * The append-only, hash-chained audit log. Rows are never updated or deleted (triggers refuse).
 * `body` is the event; actor and project_id are generated from it, for the feeds' indexes.
 */
export interface AuditEventTable {
  seq: number;
  prev_hash: string;
  hash: string;
  body: string;
  sealed_at: ColumnType<Date, never, never>;
  actor: ColumnType<string, never, never>;
  project_id: ColumnType<string | null, never, never>;
}

/** The whole database, as Kysely sees it. */
export interface Database {
  audit_inbox: AuditInboxTable;
  audit_event: AuditEventTable;
}
