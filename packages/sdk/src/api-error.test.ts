import { describe, expect, it } from 'vitest';
import { retryAfterOf, toApiError } from './index.js';

const problem = {
  type: 'urn:lantern:problem:too_many_starts',
  title: 'Too many instances starting',
  status: 429,
  code: 'too_many_starts',
  detail:
    '2 instances are starting now, the most this server starts at once; try again in 7 seconds',
};

describe('ApiError', () => {
  it('keeps the seconds a 429 asks to wait, from Retry-After', () => {
    const refused = toApiError(
      new Response(null, { status: 429, headers: { 'retry-after': '7' } }),
      problem,
    );
    // The limit on starts has its own code, apart from the free quota's and other rate limits.
    expect(refused).toMatchObject({ status: 429, code: 'too_many_starts', retryAfter: 7 });
    const bare = toApiError(new Response(null, { status: 429 }), problem);
    expect(bare.retryAfter).toBeNull();
    const notProblem = toApiError(
      new Response(null, { status: 503, headers: { 'retry-after': '120' } }),
      'busy',
    );
    expect(notProblem).toMatchObject({ code: 'unavailable', retryAfter: 120 });
  });

  it('reads Retry-After as seconds or as an HTTP date, and nothing else', () => {
    const now = Date.parse('2025-03-01T12:00:00Z');
    expect(retryAfterOf('0', now)).toBe(0);
    expect(retryAfterOf(' 15 ', now)).toBe(15);
    expect(retryAfterOf('Sat, 01 Mar 2025 12:00:30 GMT', now)).toBe(30);
    expect(retryAfterOf('Sat, 01 Mar 2025 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterOf('soon', now)).toBeNull();
    expect(retryAfterOf('-5', now)).toBeNull();
    expect(retryAfterOf(null, now)).toBeNull();
  });
});
