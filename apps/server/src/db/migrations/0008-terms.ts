import { sql, type Kysely } from 'kysely';

/**
 * The terms (the data use agreement), versioned, and who accepted which version when. Versions are
 * never changed once published (a trigger refuses); a new version is a new row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('terms_version')
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('changes', 'text', (c) => c.notNull())
    .addColumn('published_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('published_by', 'text', (c) => c.notNull())
    .execute();
  await sql`create function terms_version_immutable() returns trigger language plpgsql as $$
    begin raise exception 'published terms never change; publish a new version'; end $$`.execute(
    db,
  );
  await sql`create trigger terms_version_immutable before update or delete on terms_version
    for each row execute function terms_version_immutable()`.execute(db);

  await db.schema
    .createTable('terms_acceptance')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('version', 'integer', (c) => c.notNull().references('terms_version.version'))
    .addColumn('accepted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('client_ip', 'text')
    .addPrimaryKeyConstraint('terms_acceptance_pk', ['user_id', 'version'])
    .execute();
}
