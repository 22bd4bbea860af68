import { sql, type Kysely } from 'kysely';

/**
 * The airlock: release requests and their files. A request is made from an instance of a project
 * (`instance_id` kept for the record), with a purpose, and waits (`pending`) for a reviewer's
 * decision with a reason; the requester, an owner or the project's archiving may withdraw it.
 * Its files are objects in the object store (content-addressed, as dataset files), each with the
 * disclosure checks computed when the request was made. Nothing here is deleted: the record of
 * what left, and what did not, stays. `file_count`, `total_bytes` and `flagged_files` are the
 * files' totals, fixed when the request is made, for lists that need no join.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('release_request')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('project.id'))
    .addColumn('requested_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('instance_id', 'text', (c) => c.references('instance.id'))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('decided_by', 'text', (c) => c.references('users.id'))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decision_reason', 'text')
    .addColumn('file_count', 'integer', (c) => c.notNull())
    .addColumn('total_bytes', 'bigint', (c) => c.notNull())
    .addColumn('flagged_files', 'integer', (c) => c.notNull())
    .addCheckConstraint(
      'release_request_state',
      sql`state in ('pending', 'approved', 'rejected', 'withdrawn')`,
    )
    .execute();
  await sql`create index release_request_project on release_request (project_id, requested_at, id)`.execute(
    db,
  );
  await sql`create index release_request_queue on release_request (state, requested_at, id)`.execute(
    db,
  );

  await db.schema
    .createTable('release_file')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('request_id', 'text', (c) => c.notNull().references('release_request.id'))
    /** The file's place in the archive it came in, so that it is listed in that order. */
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('object_key', 'text', (c) => c.notNull())
    .addColumn('checks', 'jsonb', (c) => c.notNull())
    .addUniqueConstraint('release_file_name', ['request_id', 'name'])
    .execute();
}
