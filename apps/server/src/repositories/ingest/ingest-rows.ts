import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';

/**
 * What the SQL of ingest runs (ingest.repository.ts) and of remote ingest's uploads
 * (ingest-upload.repository.ts) share: both are rows of work a process holds while it runs, kept
 * alive by a heartbeat on the database's clock and found dead by its age, with JSON columns
 * written as text.
 */

export type Executor = Kysely<Database> | Transaction<Database>;

/** The tables whose running rows a heartbeat keeps alive. */
type HeartbeatTable = 'ingest_run' | 'ingest_upload';

/** A JSON column's value as written (the column takes text), or null. */
export function jsonOrNull(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

/**
 * The moment before which a heartbeat is `staleMs` old, on the database's clock (shared by every
 * replica, unlike this process's).
 */
export function staleBefore(staleMs: number): RawBuilder<Date> {
  return sql<Date>`now() - make_interval(secs => cast(${staleMs / 1000} as double precision))`;
}

/** Says the process running row `id` of `table` is still at it, while the row is running. */
export async function beat(executor: Executor, table: HeartbeatTable, id: string): Promise<void> {
  await executor
    .updateTable(table)
    .set({ heartbeat_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .execute();
}
