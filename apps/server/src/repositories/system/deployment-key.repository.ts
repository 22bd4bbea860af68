import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';

/** SQL of the deployment key's check value (one row; the key itself is never stored here). */
export const deploymentKeyRepository = {
  /** Records `check` if none is recorded yet; returns the recorded one. */
  async recordOrRead(db: Kysely<Database>, check: string): Promise<string> {
    await db
      .insertInto('deployment_key')
      .values({ id: 1, key_check: check })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const row = await db
      .selectFrom('deployment_key')
      .select('key_check')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return row.key_check;
  },
};
