import { sql, type Kysely } from 'kysely';

/**
 * Remote ingest's uploads, persisted (issue 6): a delivery sent to the server survives a restart
 * and a dropped connection. The upload says whose it is, where it stands and, once its run ended,
 * the draft made or why not; each declared file says its size, its SHA-256 if the client gave
 * one, and how many of its bytes the staging folder holds, so that a client sends only the rest.
 * A file's row goes with its upload, and every file row goes when the run ends: their paths are
 * the partner's, and may hold source identifiers (an accession number in a file name).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ingest_upload')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('declared_files', 'integer', (c) => c.notNull())
    .addColumn('declared_bytes', 'bigint', (c) => c.notNull())
    .addColumn('progress', 'jsonb')
    .addColumn('summary', 'jsonb')
    .addColumn('problems', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The service's clock: idle uploads expire by it.
    .addColumn('touched_at', 'timestamptz', (c) => c.notNull())
    // The database's clock, renewed while a run works: a stale one was interrupted.
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'ingest_upload_status',
      sql`status in ('uploading', 'running', 'done', 'refused', 'failed')`,
    )
    .execute();
  await sql`create index ingest_upload_status_touched on ingest_upload (status, touched_at)`.execute(
    db,
  );
  await db.schema
    .createTable('ingest_upload_file')
    .addColumn('upload_id', 'text', (c) =>
      c.notNull().references('ingest_upload.id').onDelete('cascade'),
    )
    .addColumn('idx', 'integer', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text')
    .addColumn('received', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('ingest_upload_file_pk', ['upload_id', 'idx'])
    .addUniqueConstraint('ingest_upload_file_path', ['upload_id', 'path'])
    .addCheckConstraint('ingest_upload_file_received', sql`received >= 0 and received <= size`)
    .execute();
}
