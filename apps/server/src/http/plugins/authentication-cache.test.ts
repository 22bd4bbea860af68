/**
 * The proxy's memory of credentials and of the resolver's answers: kept for their time and no
 * longer, per credential (or caller and instance), and never for a refusal.
 */
import type { Principal } from '@lantern/core';
import { describe, expect, it } from 'vitest';
import { CachedResolver, type ResolvedInstance } from '../../compute/proxy/instance-proxy.js';
import { AuthenticationCache, type Authenticated } from './authentication-cache.js';

const alice: Principal = {
  kind: 'user',
  userId: 'u_alice',
  roles: ['researcher'],
  termsAccepted: true,
};
const bob: Principal = {
  kind: 'user',
  userId: 'u_bob',
  roles: ['researcher'],
  termsAccepted: true,
};

describe('AuthenticationCache', () => {
  it('looks a credential up once per period, each credential apart, and never keeps a failure', async () => {
    const looked: string[] = [];
    const cache = new AuthenticationCache((headers) => {
      looked.push(headers.cookie ?? headers.authorization ?? '');
      const found: Authenticated =
        headers.cookie === 'lantern_session=good'
          ? { principal: alice, authenticatedBy: 'session', tokenId: null }
          : { principal: { kind: 'anonymous' }, authenticatedBy: null, tokenId: null };
      return Promise.resolve(found);
    }, 1000);
    const good = { cookie: 'lantern_session=good' };
    expect((await cache.authenticate(good, '::1', 0)).principal).toEqual(alice);
    expect((await cache.authenticate(good, '::1', 999)).principal).toEqual(alice);
    expect(looked).toEqual(['lantern_session=good']);
    await cache.authenticate(good, '::1', 1000);
    expect(looked).toHaveLength(2);

    const bad = { cookie: 'lantern_session=revoked' };
    await cache.authenticate(bad, '::1', 1001);
    await cache.authenticate(bad, '::1', 1002);
    expect(looked.slice(2)).toEqual(['lantern_session=revoked', 'lantern_session=revoked']);
  });
});

describe('cachedResolver', () => {
  it('keeps an answer per caller and instance for its period, and never a refusal', async () => {
    let time = 0;
    const asked: string[] = [];
    const target: ResolvedInstance = {
      endpoint: { url: 'http://127.0.0.1:1' },
      token: 't',
      projectId: 'p',
    };
    const cache = new CachedResolver(
      (instanceId, principal) => {
        asked.push(`${principal.kind === 'user' ? principal.userId : '-'} ${instanceId}`);
        return Promise.resolve(principal === alice ? target : null);
      },
      1000,
      () => time,
    );
    expect(cache.recall('i1', alice)).toBeUndefined();
    expect(await cache.resolve('i1', alice)).toBe(target);
    time = 500;
    expect(cache.recall('i1', alice)).toBe(target);
    expect(await cache.resolve('i1', alice)).toBe(target);
    expect(await cache.resolve('i1', bob)).toBeNull();
    expect(cache.recall('i1', bob)).toBeUndefined();
    expect(await cache.resolve('i1', bob)).toBeNull();
    time = 1000;
    expect(cache.recall('i1', alice)).toBeUndefined();
    expect(await cache.resolve('i1', alice)).toBe(target);
    expect(asked).toEqual(['u_alice i1', 'u_bob i1', 'u_bob i1', 'u_alice i1']);
  });
});
