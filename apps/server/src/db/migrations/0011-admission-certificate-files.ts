import { sql, type Kysely } from 'kysely';

/**
 * Admission evidence as a file: which object in the object store holds the applicant's training
 * certificate, its media type, sanitised original name, size and expiry date. And an index for the
 * queue of decided applications, newest decision first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('training_file_key', 'text')
    .addColumn('training_file_type', 'text')
    .addColumn('training_file_name', 'text')
    .addColumn('training_file_size', 'integer')
    .addColumn('training_file_expires_on', 'text')
    .addColumn('training_file_uploaded_at', 'timestamptz')
    .execute();
  await sql`create index users_status_decided on users (status, decided_at desc, id desc)`.execute(
    db,
  );
}
