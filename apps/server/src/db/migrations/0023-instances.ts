import { sql, type Kysely } from 'kysely';

/**
 * Compute instances (issue 8): one row per notebook instance launched from a project, with its
 * state (@lantern/core/instances), the backend's handle to find it again after a restart, the
 * dataset versions it mounts, its Jupyter token sealed with the deployment key and the hash of the
 * token `ngsci` presents on the platform socket (neither stored in clear); and per-second usage
 * records, one per running stretch, extended while it runs and closed when it stops. Paid types
 * are refused unless an admin enabled them for the project (`project.paid_instances`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('instance')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('project.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('type_name', 'text', (c) => c.notNull())
    /** Whether the type was free at launch: the one-per-user quota counts these. */
    .addColumn('free', 'boolean', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('failure_reason', 'text')
    .addColumn('backend_kind', 'text', (c) => c.notNull())
    /** The backend's handle (JSON); null until the backend took the launch. */
    .addColumn('handle', 'text')
    /** JSON: [{slug, version}], what is mounted under /home/ngsci/datasets. */
    .addColumn('datasets', 'text', (c) => c.notNull())
    /** Both made afresh at each start (null before the first). */
    .addColumn('jupyter_token_sealed', 'text')
    .addColumn('platform_token_hash', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('stopped_at', 'timestamptz')
    .addColumn('last_activity_at', 'timestamptz')
    .addCheckConstraint(
      'instance_state',
      sql`state in ('requested', 'starting', 'running', 'stopping', 'stopped', 'failed')`,
    )
    .execute();
  await sql`create index instance_project on instance (project_id, created_at)`.execute(db);
  await sql`create index instance_live on instance (state) where state in ('requested', 'starting', 'running', 'stopping')`.execute(
    db,
  );
  // The free quota (one active free instance per user), held by the database against races.
  await sql`create unique index instance_one_free_per_user on instance (user_id) where free and state in ('requested', 'starting', 'running', 'stopping')`.execute(
    db,
  );

  await db.schema
    .createTable('instance_usage')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('instance_id', 'text', (c) => c.notNull().references('instance.id'))
    .addColumn('type_name', 'text', (c) => c.notNull())
    .addColumn('price_cents_per_hour', 'integer', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('project_id', 'text', (c) => c.notNull().references('project.id'))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    /** Moved forward while the instance runs; final once `closed`. */
    .addColumn('ended_at', 'timestamptz', (c) => c.notNull())
    .addColumn('closed', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await sql`create index instance_usage_project on instance_usage (project_id, started_at)`.execute(
    db,
  );
  await sql`create unique index instance_usage_open on instance_usage (instance_id) where not closed`.execute(
    db,
  );

  await db.schema
    .alterTable('project')
    .addColumn('paid_instances', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}
