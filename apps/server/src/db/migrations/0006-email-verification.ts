import { sql, type Kysely } from 'kysely';

/** Single-use links may also verify an email address. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table one_time_links drop constraint one_time_links_purpose`.execute(db);
  await sql`alter table one_time_links add constraint one_time_links_purpose
    check (purpose in ('set_password', 'verify_email'))`.execute(db);
}
