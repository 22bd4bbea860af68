import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A person's second factor as stored: the sealed TOTP seed and its state. */
export interface SecondFactorRow {
  totp_secret_sealed: string | null;
  totp_enabled_at: Date | null;
  totp_last_step: number | null;
}

/** SQL of second factors: TOTP seeds (sealed), the last step used, recovery codes (hashed). */
export const secondFactorRepository = {
  async get(executor: Executor, userId: string): Promise<SecondFactorRow | undefined> {
    return executor
      .selectFrom('users')
      .select(['totp_secret_sealed', 'totp_enabled_at', 'totp_last_step'])
      .where('id', '=', userId)
      .executeTakeFirst();
  },

  /** Stores a seed waiting for its first code (replacing an earlier unconfirmed one). */
  async setPending(executor: Executor, userId: string, sealed: string): Promise<boolean> {
    const result = await executor
      .updateTable('users')
      .set({ totp_secret_sealed: sealed, totp_last_step: null, updated_at: new Date() })
      .where('id', '=', userId)
      .where('totp_enabled_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  async enable(executor: Executor, userId: string, step: number, now: Date): Promise<boolean> {
    const result = await executor
      .updateTable('users')
      .set({ totp_enabled_at: now, totp_last_step: step, updated_at: now })
      .where('id', '=', userId)
      .where('totp_enabled_at', 'is', null)
      .where('totp_secret_sealed', 'is not', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /**
   * Records `step` as used, only if it is later than the last one used: of two requests racing
   * with the same code, one wins.
   */
  async useStep(executor: Executor, userId: string, step: number): Promise<boolean> {
    const result = await executor
      .updateTable('users')
      .set({ totp_last_step: step })
      .where('id', '=', userId)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  async clear(executor: Executor, userId: string): Promise<void> {
    await executor
      .updateTable('users')
      .set({
        totp_secret_sealed: null,
        totp_enabled_at: null,
        totp_last_step: null,
        updated_at: new Date(),
      })
      .where('id', '=', userId)
      .execute();
    await executor.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  },

  /** Replaces every recovery code of the user with `hashes`. */
  async replaceRecoveryCodes(executor: Executor, userId: string, hashes: string[]): Promise<void> {
    await executor.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await executor
      .insertInto('recovery_codes')
      .values(hashes.map((code_hash) => ({ code_hash, user_id: userId })))
      .execute();
  },

  /** Spends an unused recovery code of the user; false when there is none such. */
  async useRecoveryCode(
    executor: Executor,
    userId: string,
    hash: string,
    now: Date,
  ): Promise<boolean> {
    const result = await executor
      .updateTable('recovery_codes')
      .set({ used_at: now })
      .where('code_hash', '=', hash)
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  async unusedRecoveryCodes(executor: Executor, userId: string): Promise<number> {
    const row = await executor
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /** Marks a session as signed in with a second factor (after enrolling in it). */
  async markSession(executor: Executor, sessionHash: string, userId: string): Promise<void> {
    await executor
      .updateTable('sessions')
      .set({ second_factor: true })
      .where('id_hash', '=', sessionHash)
      .where('user_id', '=', userId)
      .execute();
  },
};
