import { AppError } from '@lantern/core';
import {
  ACCOUNT_THROTTLE,
  ADDRESS_THROTTLE,
  afterFailure,
  type ThrottlePolicy,
} from '@lantern/core/identity';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { throttleRepository } from '../../repositories/identity/throttle.repository.js';
import type { AuditService } from '../audit/audit.service.js';

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

/**
 * Counts a request for an emailed link (`purpose`) against the address asked about and the
 * client; past either limit, refuses with 429 and Retry-After, audited as `action`.
 */
export async function limitLinkRequests(
  db: Kysely<Database>,
  audit: AuditService,
  request: { purpose: string; action: string; email: string; clientIp: string },
): Promise<void> {
  const locked = await countAttempt(db, [
    { key: `${request.purpose}:account:${request.email.toLowerCase()}`, policy: ACCOUNT_THROTTLE },
    { key: `${request.purpose}:address:${request.clientIp}`, policy: ADDRESS_THROTTLE },
  ]);
  if (locked !== null) {
    await audit.recordAlone({
      action: request.action,
      outcome: 'denied',
      details: { reason: 'locked', seconds: locked },
    });
    throw new AppError(
      'rate_limited',
      `too many requests for links; try again in ${describeWait(locked)}`,
      { retryAfterSeconds: locked },
    );
  }
}
