import type { Kysely } from 'kysely';

/** Suspension: when, by whom, why, and the status to return to when reinstated. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('suspended_at', 'timestamptz')
    .addColumn('suspended_by', 'text')
    .addColumn('suspension_reason', 'text')
    .addColumn('status_before_suspension', 'text')
    .execute();
}
