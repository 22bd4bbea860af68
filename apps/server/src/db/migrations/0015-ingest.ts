import { sql, type Kysely } from 'kysely';

/**
 * Ingest runs: one per partner delivery read into a dataset's draft — what it held, what was
 * stored, what was held back for review, the PHI the scan found in the published tables, and the
 * curator's decision on each finding (publication waits for them all).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ingest_run')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('dataset.id'))
    .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_version.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('partner', 'text', (c) => c.notNull())
    .addColumn('counts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('problems', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('held', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('phi_findings', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('phi_decisions', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('error', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addCheckConstraint('ingest_run_status', sql`status in ('running', 'done', 'failed')`)
    .execute();
  await sql`create index ingest_run_version on ingest_run (version_id, started_at desc)`.execute(
    db,
  );
}
