import type { ThrottleState } from '@lantern/core/identity';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** SQL of the sign-in throttle, by key (`account:<address>`, `address:<ip>`). */
export const throttleRepository = {
  /** The latest lock still running on any of `keys`, or null. */
  async lockedUntil(executor: Executor, keys: readonly string[], now: Date): Promise<Date | null> {
    const row = await executor
      .selectFrom('auth_throttle')
      .select((eb) => eb.fn.max('locked_until').as('until'))
      .where('key', 'in', [...keys])
      .where('locked_until', '>', now)
      .executeTakeFirst();
    return row === undefined || row.until === null ? null : new Date(row.until);
  },

  /** The state of `key`, locked for this transaction so concurrent failures count one by one. */
  async getForUpdate(trx: Transaction<Database>, key: string): Promise<ThrottleState | null> {
    const row = await trx
      .selectFrom('auth_throttle')
      .selectAll()
      .where('key', '=', key)
      .forUpdate()
      .executeTakeFirst();
    return row === undefined
      ? null
      : {
          failures: row.failures,
          firstFailureAt: row.first_failure_at,
          lockedUntil: row.locked_until,
        };
  },

  async put(
    trx: Transaction<Database>,
    key: string,
    state: ThrottleState,
    now: Date,
  ): Promise<void> {
    const values = {
      failures: state.failures,
      first_failure_at: state.firstFailureAt,
      locked_until: state.lockedUntil,
      updated_at: now,
    };
    await trx
      .insertInto('auth_throttle')
      .values({ key, ...values })
      .onConflict((oc) => oc.column('key').doUpdateSet(values))
      .execute();
  },

  async clear(executor: Executor, key: string): Promise<void> {
    await executor.deleteFrom('auth_throttle').where('key', '=', key).execute();
  },
};
