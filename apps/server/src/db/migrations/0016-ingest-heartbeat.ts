import { sql, type Kysely } from 'kysely';

/**
 * An ingest run's heartbeat: the process running it renews `heartbeat_at` while it works, so that
 * a run left `running` by a process that died (kill -9, a lost machine) can be told from one that
 * another server replica is still running, and marked failed as interrupted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('ingest_run')
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index ingest_run_running on ingest_run (status) where status = 'running'`.execute(
    db,
  );
}
