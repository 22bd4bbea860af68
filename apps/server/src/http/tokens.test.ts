import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

let server: TestServer;
const PASSWORD = 'seven quiet rivers under the hill';

/** A signed-in session cookie for a user made directly (registration comes later in issue 3). */
async function signedIn(email: string, roles: string[]): Promise<string> {
  return (await createSignedInUser(server, { email, roles, password: PASSWORD })).cookie;
}

function call(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
) {
  return fetch(`${server.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

let adminCookie = '';
let reviewerCookie = '';

beforeAll(async () => {
  server = await startTestServer();
  adminCookie = await signedIn('admin@example.org', ['admin']);
  reviewerCookie = await signedIn('reviewer@example.org', ['reviewer']);
});

afterAll(async () => {
  await server.close();
});

async function makeToken(cookie: string, scope: string[], name = 'cli') {
  return call('/api/v1/auth/tokens', {
    method: 'POST',
    headers: { cookie, 'x-lantern-csrf': '1' },
    body: { name, scope, expiresInDays: 30 },
  });
}

describe(`API tokens on ${TEST_DIALECT}`, () => {
  let readToken = '';
  let readTokenId = '';

  it('are shown once at creation, listed without their secret', async () => {
    const res = await makeToken(adminCookie, ['audit.read']);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { token: string; info: { id: string; scope: string[] } };
    expect(body.token).toMatch(/^lnt_[a-z2-7]{52}$/);
    expect(body.info.scope).toEqual(['audit.read']);
    readToken = body.token;
    readTokenId = body.info.id;
    const list = await call('/api/v1/auth/tokens', { headers: { cookie: adminCookie } });
    const text = await list.text();
    expect(text).toContain(readTokenId);
    expect(text).not.toContain(readToken);
  });

  it('act within their scope only, and need no CSRF header', async () => {
    const auth = { authorization: `Bearer ${readToken}` };
    expect((await call('/api/v1/audit/events', { headers: auth })).status).toBe(200);
    // The admin may verify, but this token was not given that.
    expect((await call('/api/v1/audit/verify', { method: 'POST', headers: auth })).status).toBe(
      403,
    );
    const wide = (await (await makeToken(adminCookie, ['audit.read', 'audit.verify'])).json()) as {
      token: string;
    };
    const verify = await call('/api/v1/audit/verify', {
      method: 'POST',
      headers: { authorization: `Bearer ${wide.token}` },
    });
    expect(verify.status).toBe(200);
  });

  it('cannot exceed their holder, nor let a token mint a wider one', async () => {
    const excess = await makeToken(reviewerCookie, ['audit.read', 'audit.verify']);
    expect(excess.status).toBe(403);
    expect(((await excess.json()) as { detail: string }).detail).toMatch(
      /cannot hold permissions you do not have: audit.verify/,
    );
    const narrow = (await (await makeToken(adminCookie, ['account'])).json()) as { token: string };
    const minted = await call('/api/v1/auth/tokens', {
      method: 'POST',
      headers: { authorization: `Bearer ${narrow.token}` },
      body: { name: 'wider', scope: ['audit.read'] },
    });
    expect(minted.status).toBe(403);
  });

  it("are the holder's alone: another person's token looks like no token", async () => {
    const res = await call(`/api/v1/auth/tokens/${readTokenId}`, {
      method: 'DELETE',
      headers: { cookie: reviewerCookie, 'x-lantern-csrf': '1' },
    });
    expect(res.status).toBe(404);
    expect(
      (await call('/api/v1/audit/events', { headers: { authorization: `Bearer ${readToken}` } }))
        .status,
    ).toBe(200);
  });

  it('stop working when revoked, and a bad token is refused, never anonymous', async () => {
    const revoke = await call(`/api/v1/auth/tokens/${readTokenId}`, {
      method: 'DELETE',
      headers: { cookie: adminCookie, 'x-lantern-csrf': '1' },
    });
    expect(revoke.status).toBe(204);
    for (const authorization of [
      `Bearer ${readToken}`,
      'Bearer lnt_nothing',
      'Basic YWRtaW46YWRtaW4=',
    ]) {
      const res = await call('/api/v1/health', { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
    }
  });

  it('leave their id in the audit log of every request they make', async () => {
    const token = (await (await makeToken(adminCookie, ['audit.read'], 'audited')).json()) as {
      token: string;
      info: { id: string };
    };
    await call('/api/v1/audit/events', {
      headers: { authorization: `Bearer ${token.token}`, 'x-request-id': 'token-use-1' },
    });
    const [event] = await server.auditEventsFor('token-use-1');
    expect(event).toMatchObject({
      action: 'audit.list',
      outcome: 'allowed',
      actor: 'user:u_admin_example_org',
      details: { via: 'token', token: token.info.id },
    });
  });

  it('read and revoke themselves whatever their scope; a session has no token to ask about', async () => {
    const made = (await (await makeToken(adminCookie, ['public'], 'laptop')).json()) as {
      token: string;
      info: { id: string };
    };
    const auth = { authorization: `Bearer ${made.token}` };
    const own = await call('/api/v1/auth/token', { headers: auth });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({
      token: { id: made.info.id, name: 'laptop', scope: ['public'], revokedAt: null },
    });
    // Its scope holds no `account`, so the token list is closed to it, but "who am I" is not.
    expect((await call('/api/v1/auth/tokens', { headers: auth })).status).toBe(403);
    expect(await (await call('/api/v1/auth/session', { headers: auth })).json()).toMatchObject({
      user: { email: 'admin@example.org', roles: ['admin'] },
    });

    for (const method of ['GET', 'DELETE']) {
      const bySession = await call('/api/v1/auth/token', {
        method,
        headers: { cookie: adminCookie, 'x-lantern-csrf': '1' },
      });
      expect(bySession.status, method).toBe(401);
    }

    const revoke = await call('/api/v1/auth/token', {
      method: 'DELETE',
      headers: { ...auth, 'x-request-id': 'token-self-revoke' },
    });
    expect(revoke.status).toBe(204);
    expect(await server.auditEventsFor('token-self-revoke')).toEqual([
      expect.objectContaining({
        action: 'token.revoke',
        outcome: 'allowed',
        target: `token:${made.info.id}`,
      }),
    ]);
    expect((await call('/api/v1/auth/token', { headers: auth })).status).toBe(401);
    const listed = (await (
      await call('/api/v1/auth/tokens', { headers: { cookie: adminCookie } })
    ).json()) as { tokens: { id: string; revokedAt: string | null }[] };
    expect(listed.tokens.find((t) => t.id === made.info.id)?.revokedAt).toEqual(expect.any(String));
  });
});
