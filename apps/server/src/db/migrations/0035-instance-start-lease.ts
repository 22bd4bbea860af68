import type { Kysely } from 'kysely';

/**
 * Starts under way have an owner and a lease (issue 8): the server replica that claimed a
 * `requested` or `starting` instance names itself in `start_owner` and keeps `start_lease_until`
 * in the future while its start goes on (refreshed as it is polled). Another replica's reconciler
 * takes over (starts a `requested` one, fails a `starting` one that has no handle) only once the
 * lease has expired, so it never fails a start that is still in progress elsewhere.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('instance')
    .addColumn('start_owner', 'text')
    .addColumn('start_lease_until', 'timestamptz')
    .execute();
}
