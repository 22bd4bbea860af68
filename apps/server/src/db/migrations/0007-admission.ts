import { sql, type Kysely } from 'kysely';

/** Admission: the applicant's training evidence, and the decision with who made it and why. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('applied_at', 'timestamptz')
    .addColumn('training_certificate_id', 'text')
    .addColumn('training_expires_on', 'text')
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by', 'text')
    .addColumn('decision_reason', 'text')
    .execute();
  await sql`create index users_status_applied on users (status, applied_at)`.execute(db);
}
