import { sql, type Kysely } from 'kysely';

/**
 * Projects (issue 7): a project, its members with their roles, invitations by email (single use,
 * expiring, the link's secret stored hashed), and its access to datasets per dataset AND version
 * — attached at once for open datasets, requested from a reviewer for approval ones, answered with
 * a reason. Nothing here is ever deleted but members and their rows: an archived project keeps
 * its record.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('project')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('archived_at', 'timestamptz')
    .addColumn('archived_by', 'text')
    .addCheckConstraint('project_status', sql`status in ('active', 'archived')`)
    .execute();

  await db.schema
    .createTable('project_member')
    .addColumn('project_id', 'text', (c) => c.notNull().references('project.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('added_by', 'text', (c) => c.notNull())
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('project_member_pk', ['project_id', 'user_id'])
    .addCheckConstraint('project_member_role', sql`role in ('owner', 'editor', 'viewer')`)
    .execute();
  await sql`create index project_member_user on project_member (user_id)`.execute(db);

  await db.schema
    .createTable('project_invitation')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('project.id'))
    /** Normalised: trimmed, lower case. */
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('invited_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('accepted_at', 'timestamptz')
    .addColumn('accepted_by', 'text', (c) => c.references('users.id'))
    .addColumn('revoked_at', 'timestamptz')
    .addCheckConstraint('project_invitation_role', sql`role in ('owner', 'editor', 'viewer')`)
    .execute();
  await sql`create index project_invitation_project on project_invitation (project_id, email)`.execute(
    db,
  );

  await db.schema
    .createTable('project_dataset')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('project.id'))
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('dataset.id'))
    .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_version.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'timestamptz')
    /** The reviewer's reason, which the project's members read. */
    .addColumn('reason', 'text')
    .addUniqueConstraint('project_dataset_version', ['project_id', 'version_id'])
    .addCheckConstraint(
      'project_dataset_status',
      sql`status in ('attached', 'requested', 'refused', 'withdrawn')`,
    )
    .execute();
  await sql`create index project_dataset_queue on project_dataset (status, requested_at)`.execute(
    db,
  );
}
