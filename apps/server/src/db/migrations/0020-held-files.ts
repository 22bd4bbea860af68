import { sql, type Kysely } from 'kysely';

/**
 * Files an ingest held back for review (issue 6): an image whose pixels may carry burned-in text,
 * or a file no de-identifier reads. Each keeps its de-identified bytes (headers cleaned, pixels as
 * they are) in the quarantine store, apart from published objects, until a curator releases it
 * (stored content-addressed and put in the draft, with a note saying why its pixels do not
 * identify anyone) or excludes it (it stays out; the table cells that named it are emptied).
 * A file no de-identifier reads has no quarantined bytes and can only be excluded.
 * Publication waits for a decision on every held file of the draft's last ingest.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ingest_held_file')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('ingest_id', 'text', (c) => c.notNull().references('ingest_run.id'))
    .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_version.id'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('table_name', 'text', (c) => c.notNull())
    .addColumn('column_name', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('quarantine_key', 'text')
    .addColumn('size', 'bigint')
    .addColumn('decision', 'text')
    .addColumn('note', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('ingest_held_file_path', ['ingest_id', 'path'])
    .addCheckConstraint('ingest_held_file_format', sql`format in ('dicom', 'unreadable')`)
    .addCheckConstraint(
      'ingest_held_file_decision',
      sql`decision is null or decision in ('release', 'exclude')`,
    )
    // A release needs bytes to release, and says why the image does not identify anyone.
    .addCheckConstraint(
      'ingest_held_file_release',
      sql`decision is distinct from 'release' or (quarantine_key is not null and note is not null)`,
    )
    .execute();
  await sql`create index ingest_held_file_version on ingest_held_file (version_id)`.execute(db);
}
