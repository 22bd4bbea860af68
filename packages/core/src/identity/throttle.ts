/**
 * Lockout with backoff for guessing secrets (sign-in, and later verification codes and tokens):
 * a few failures are free, then each further failure locks the key for twice as long as the last,
 * up to a cap. Failures older than the window are forgotten once no lock is running. Pure: the
 * state lives in the database, the clock comes from the caller.
 */
export interface ThrottlePolicy {
  /** Failures allowed before the first lock. */
  freeFailures: number;
  /** Failures further apart than this start a new count. */
  windowMs: number;
  firstLockMs: number;
  maxLockMs: number;
}

export interface ThrottleState {
  failures: number;
  firstFailureAt: Date;
  lockedUntil: Date | null;
}

/** Per account: five tries, then 1, 2, 4 … minutes, at most an hour. */
export const ACCOUNT_THROTTLE: ThrottlePolicy = {
  freeFailures: 5,
  windowMs: 15 * 60 * 1000,
  firstLockMs: 60 * 1000,
  maxLockMs: 60 * 60 * 1000,
};

/** Per client address, looser: many people can share one address (NAT, a campus proxy). */
export const ADDRESS_THROTTLE: ThrottlePolicy = {
  freeFailures: 30,
  windowMs: 15 * 60 * 1000,
  firstLockMs: 60 * 1000,
  maxLockMs: 60 * 60 * 1000,
};

/** The state after one more failure at `now`. */
export function afterFailure(
  previous: ThrottleState | null,
  now: Date,
  policy: ThrottlePolicy,
): ThrottleState {
  const stillLocked =
    previous !== null && previous.lockedUntil !== null && previous.lockedUntil > now;
  const fresh =
    previous === null ||
    (!stillLocked && now.getTime() - previous.firstFailureAt.getTime() > policy.windowMs);
  const failures = fresh ? 1 : previous.failures + 1;
  const over = failures - policy.freeFailures;
  const lockMs =
    over < 0 ? 0 : Math.min(policy.firstLockMs * 2 ** Math.min(over, 30), policy.maxLockMs);
  return {
    failures,
    firstFailureAt: fresh ? now : previous.firstFailureAt,
    lockedUntil: lockMs === 0 ? null : new Date(now.getTime() + lockMs),
  };
}
