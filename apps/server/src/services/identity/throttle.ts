import { afterFailure, type ThrottlePolicy } from '@lantern/core/identity';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { throttleRepository } from '../../repositories/identity/throttle.repository.js';

/** A key to count failures under, and how strictly. */
export interface ThrottleKey {
  key: string;
  policy: ThrottlePolicy;
}

/** Counts a failure against each key, one transaction per key so concurrent failures all count. */
export async function recordThrottleFailures(
  db: Kysely<Database>,
  keys: readonly ThrottleKey[],
): Promise<void> {
  const now = new Date();
  for (const { key, policy } of keys) {
    await db.transaction().execute(async (trx) => {
      const previous = await throttleRepository.getForUpdate(trx, key);
      await throttleRepository.put(trx, key, afterFailure(previous, now, policy), now);
    });
  }
}

/** Seconds until the latest lock on any of `keys` runs out, or null when none runs. */
export async function secondsLocked(
  db: Kysely<Database>,
  keys: readonly ThrottleKey[],
): Promise<number | null> {
  const until = await throttleRepository.lockedUntil(
    db,
    keys.map((k) => k.key),
    new Date(),
  );
  return until === null ? null : Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
}

/** "3 minutes", "40 seconds". */
export function describeWait(seconds: number): string {
  return seconds >= 90 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
}

/**
 * For limits on volume (mail sent on request) rather than on guessing: the seconds left when any
 * key is locked; otherwise counts this attempt against every key, successful or not, and returns
 * null.
 */
export async function countAttempt(
  db: Kysely<Database>,
  keys: readonly ThrottleKey[],
): Promise<number | null> {
  const locked = await secondsLocked(db, keys);
  if (locked !== null) {
    return locked;
  }
  await recordThrottleFailures(db, keys);
  return null;
}
