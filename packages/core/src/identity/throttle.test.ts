import { describe, expect, it } from 'vitest';
import { ACCOUNT_THROTTLE, afterFailure, type ThrottleState } from './throttle.js';

const at = (minutes: number) => new Date(Date.UTC(2026, 11, 4, 12, 0) + minutes * 60_000);

function failMany(count: number, now: Date): ThrottleState | null {
  let state: ThrottleState | null = null;
  for (let i = 0; i < count; i += 1) {
    state = afterFailure(state, now, ACCOUNT_THROTTLE);
  }
  return state;
}

describe('lockout with backoff', () => {
  it('lets the first four failures pass, then locks for 1, 2, 4 … minutes, at most an hour', () => {
    expect(failMany(4, at(0))?.lockedUntil).toBeNull();
    expect(failMany(5, at(0))?.lockedUntil).toEqual(at(1));
    expect(failMany(6, at(0))?.lockedUntil).toEqual(at(2));
    expect(failMany(7, at(0))?.lockedUntil).toEqual(at(4));
    expect(failMany(40, at(0))?.lockedUntil).toEqual(at(60));
  });

  it('forgets failures older than the window once no lock runs', () => {
    const four = failMany(4, at(0));
    expect(afterFailure(four, at(16), ACCOUNT_THROTTLE)).toEqual({
      failures: 1,
      firstFailureAt: at(16),
      lockedUntil: null,
    });
    expect(afterFailure(four, at(10), ACCOUNT_THROTTLE).lockedUntil).toEqual(at(11));
  });

  it('keeps counting while a lock runs, however old the first failure', () => {
    const locked = { failures: 12, firstFailureAt: at(0), lockedUntil: at(100) };
    expect(afterFailure(locked, at(50), ACCOUNT_THROTTLE)).toMatchObject({
      failures: 13,
      lockedUntil: at(110),
    });
  });
});
