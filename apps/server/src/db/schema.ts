import type { ColumnType, Generated } from 'kysely';

/** Events written by requests and services, waiting to be sealed into the chain (a queue). */
export interface AuditInboxTable {
  id: Generated<number>;
  occurred_at: ColumnType<Date, Date, never>;
  actor: string;
  action: string;
  target: string | null;
  project_id: string | null;
  client_ip: string | null;
  request_id: string | null;
  outcome: string;
  /** Canonical JSON (RFC 8785). */
  details: string;
}

/** The append-only, hash-chained audit log. Rows are never updated or deleted (triggers refuse). */
export interface AuditEventTable {
  seq: number;
  schema_version: number;
  occurred_at: ColumnType<Date, Date, never>;
  actor: string;
  action: string;
  target: string | null;
  project_id: string | null;
  client_ip: string | null;
  request_id: string | null;
  outcome: string;
  details: string;
  prev_hash: string;
  hash: string;
  sealed_at: ColumnType<Date, never, never>;
}

/** The whole database, as Kysely sees it. */
export interface Database {
  audit_inbox: AuditInboxTable;
  audit_event: AuditEventTable;
}
