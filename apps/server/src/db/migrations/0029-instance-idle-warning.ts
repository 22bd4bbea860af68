import type { Kysely } from 'kysely';

/**
 * Idle culling (issue 8): when a running instance was warned that it stops unless used. Cleared by
 * any activity after it; the stop comes once it has been idle for LANTERN_INSTANCE_IDLE_MINUTES and
 * warned for LANTERN_INSTANCE_IDLE_WARNING_MINUTES.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('instance').addColumn('idle_warned_at', 'timestamptz').execute();
}
