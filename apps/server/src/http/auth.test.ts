import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { enrolSecondFactor, totpCode } from '../testing/users.js';

let server: TestServer;
/** The first admin's TOTP secret, once enrolled. */
let adminTotp = '';

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const STRONG = 'violet harbour lantern-free seventeen';
const csrf = { 'x-lantern-csrf': '1', 'content-type': 'application/json' };

async function post(path: string, body: unknown, headers: Record<string, string> = csrf) {
  return fetch(`${server.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
}

function sessionCookie(res: Response): string {
  const header = res.headers.get('set-cookie') ?? '';
  const match = /^(lantern_session=[^;]+)/.exec(header);
  if (match?.[1] === undefined) {
    throw new Error(`no session cookie in ${header}`);
  }
  return match[1];
}

describe(`identity: first admin, password, sessions on ${TEST_DIALECT}`, () => {
  let secret = '';
  let cookie = '';

  it('creates the first admin on an empty database with a single-use link, and renews the link', async () => {
    const first = await server.ctx.services.identity.ensureFirstAdmin();
    expect(first).toMatchObject({ email: 'admin@lantern.local' });
    const second = await server.ctx.services.identity.ensureFirstAdmin();
    expect(second?.secret).not.toBe(first?.secret);
    // The older link stopped working when the new one was made.
    const stale = await post('/api/v1/auth/set-password', {
      token: first?.secret,
      password: STRONG,
    });
    expect(stale.status).toBe(404);
    secret = second?.secret ?? '';
  });

  it('refuses a weak password, naming why, and keeps the link usable', async () => {
    const res = await post('/api/v1/auth/set-password', { token: secret, password: 'password123' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      code: string;
      errors: { path: string; message: string }[];
    };
    expect(body.code).toBe('validation_failed');
    expect(body.errors.map((e) => e.path)).toEqual(['body.password', 'body.password']);
    expect(body.errors.map((e) => e.message).join(' ')).toMatch(
      /at least 15 characters.*too common/,
    );
  });

  it('sets the password once; the link then stops working, and no new one is made', async () => {
    const ok = await post('/api/v1/auth/set-password', { token: secret, password: STRONG });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ email: 'admin@lantern.local' });
    expect(
      (await post('/api/v1/auth/set-password', { token: secret, password: STRONG })).status,
    ).toBe(404);
    expect(await server.ctx.services.identity.ensureFirstAdmin()).toBeNull();
  });

  it('answers a wrong password and an unknown address alike', async () => {
    const wrong = await post('/api/v1/auth/sign-in', {
      email: 'admin@lantern.local',
      password: 'not the password at all',
    });
    const unknown = await post('/api/v1/auth/sign-in', {
      email: 'nobody@example.org',
      password: STRONG,
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = ({ requestId: _r, ...rest }: Record<string, unknown>) => rest;
    expect(strip((await wrong.json()) as Record<string, unknown>)).toEqual(
      strip((await unknown.json()) as Record<string, unknown>),
    );
  });

  it('refuses a sign-in without the CSRF header', async () => {
    const res = await post(
      '/api/v1/auth/sign-in',
      { email: 'admin@lantern.local', password: STRONG },
      { 'content-type': 'application/json' },
    );
    expect(res.status).toBe(403);
  });

  it('signs in with an HttpOnly, SameSite session cookie, whatever the case of the address', async () => {
    const res = await post('/api/v1/auth/sign-in', {
      email: 'Admin@Lantern.Local',
      password: STRONG,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(
      /^lantern_session=lns_[a-z2-7]{52}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/,
    );
    cookie = sessionCookie(res);
    const session = await fetch(`${server.url}/api/v1/auth/session`, { headers: { cookie } });
    expect(await session.json()).toMatchObject({
      user: {
        email: 'admin@lantern.local',
        roles: ['admin'],
        status: 'admitted',
        actingRoles: [],
        secondFactor: { enabled: false, required: true, thisSession: false },
      },
    });
  });

  it('acts as admin only after enrolling a second factor in the session', async () => {
    const before = await fetch(`${server.url}/api/v1/audit/events?limit=1`, {
      headers: { cookie },
    });
    expect(before.status).toBe(403);
    adminTotp = await enrolSecondFactor(server, cookie);
    const session = await fetch(`${server.url}/api/v1/auth/session`, { headers: { cookie } });
    expect(await session.json()).toMatchObject({
      user: {
        actingRoles: ['admin'],
        secondFactor: { enabled: true, required: true, thisSession: true, recoveryCodesLeft: 10 },
      },
    });
  });

  it("acts with the admin's permissions, and still needs the CSRF header to write", async () => {
    await server.flushAudit();
    const events = await fetch(`${server.url}/api/v1/audit/events?limit=100`, {
      headers: { cookie },
    });
    expect(events.status).toBe(200);
    const actions = (
      (await events.json()) as { events: { action: string; outcome: string }[] }
    ).events.map((e) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'auth.sign_in:allowed',
        'auth.sign_in:denied',
        'user.set_password:allowed',
        'user.create_first_admin:allowed',
      ]),
    );
    const forged = await fetch(`${server.url}/api/v1/audit/verify`, {
      method: 'POST',
      headers: { cookie },
    });
    expect(forged.status).toBe(403);
    const verify = await fetch(`${server.url}/api/v1/audit/verify`, {
      method: 'POST',
      headers: { cookie, 'x-lantern-csrf': '1' },
    });
    expect(await verify.json()).toMatchObject({ ok: true });
  });

  it('records each refused sign-in once, with its reason', async () => {
    const requestId = 'sign-in-refused-1';
    await post(
      '/api/v1/auth/sign-in',
      { email: 'admin@lantern.local', password: 'still not the password' },
      { ...csrf, 'x-request-id': requestId },
    );
    const events = await server.auditEventsFor(requestId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'auth.sign_in',
      outcome: 'denied',
      details: { reason: 'wrong_password' },
    });
  });

  it('signs out: the cookie is cleared and the session no longer works', async () => {
    const res = await fetch(`${server.url}/api/v1/auth/sign-out`, {
      method: 'POST',
      headers: { cookie, 'x-lantern-csrf': '1' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/^lantern_session=; .*Max-Age=0/);
    expect((await fetch(`${server.url}/api/v1/audit/events`, { headers: { cookie } })).status).toBe(
      401,
    );
    expect(
      await (await fetch(`${server.url}/api/v1/auth/session`, { headers: { cookie } })).json(),
    ).toEqual({ user: null });
  });

  it('ignores a malformed or unknown session cookie', async () => {
    for (const value of ['garbage', 'lns_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']) {
      const res = await fetch(`${server.url}/api/v1/auth/session`, {
        headers: { cookie: `lantern_session=${value}` },
      });
      expect(await res.json()).toEqual({ user: null });
    }
  });
});

describe(`sign-in lockout with backoff on ${TEST_DIALECT}`, () => {
  const signIn = (email: string, password: string) =>
    post('/api/v1/auth/sign-in', { email, password });

  it('locks an account after five failures, even for the right password, and says when to retry', async () => {
    // Start from no failures (the tests above made some).
    await server.ctx.database.db.deleteFrom('auth_throttle').execute();
    for (let i = 0; i < 5; i += 1) {
      expect((await signIn('admin@lantern.local', `wrong guess number ${i}`)).status).toBe(401);
    }
    const locked = await signIn('ADMIN@lantern.local', STRONG);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(30);
    expect(((await locked.json()) as { detail: string }).detail).toMatch(
      /too many failed sign-ins; try again in \d+ seconds/,
    );
    // Unknown addresses lock the same way, so a lock does not tell whether an account exists.
    for (let i = 0; i < 5; i += 1) {
      await signIn('nobody@example.org', `guess ${i}`);
    }
    expect((await signIn('nobody@example.org', 'guess 6')).status).toBe(429);
  });

  it('opens again when the lock has run out, and a success forgets the failures', async () => {
    await server.ctx.database.db
      .updateTable('auth_throttle')
      .set({ locked_until: new Date(Date.now() - 1000) })
      .execute();
    const ok = await post('/api/v1/auth/sign-in', {
      email: 'admin@lantern.local',
      password: STRONG,
      code: totpCode(adminTotp, 1),
    });
    expect(ok.status).toBe(200);
    const row = await server.ctx.database.db
      .selectFrom('auth_throttle')
      .selectAll()
      .where('key', '=', 'account:admin@lantern.local')
      .executeTakeFirst();
    expect(row).toBeUndefined();
  });
});
