import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { Database, OneTimeLinksTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** SQL of single-use links, always by the hash of the secret in the link. */
export const oneTimeLinksRepository = {
  async insert(executor: Executor, link: Insertable<OneTimeLinksTable>): Promise<void> {
    await executor.insertInto('one_time_links').values(link).execute();
  },

  /**
   * Marks the link used and returns it, in one statement, when it exists for `purpose`, is unused
   * and unexpired; two requests racing with the same link cannot both succeed.
   */
  async consume(
    trx: Transaction<Database>,
    idHash: string,
    purpose: OneTimeLinksTable['purpose'],
    now: Date,
  ): Promise<Selectable<OneTimeLinksTable> | undefined> {
    return trx
      .updateTable('one_time_links')
      .set({ used_at: now })
      .where('id_hash', '=', idHash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
  },

  /** Expires every unused link of a user for `purpose` (a new one replaces them). */
  async expireUnused(
    executor: Executor,
    userId: string,
    purpose: OneTimeLinksTable['purpose'],
    now: Date,
  ): Promise<void> {
    await executor
      .updateTable('one_time_links')
      .set({ expires_at: now })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .execute();
  },
};
