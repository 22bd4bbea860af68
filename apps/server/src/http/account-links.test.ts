import { hashSecret } from '@lantern/core/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

// Each test starts with no locks, so limits counted by one do not spill into the next.
beforeEach(async () => {
  await server.ctx.database.db.deleteFrom('auth_throttle').execute();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-lantern-csrf': '1', ...headers },
    body: JSON.stringify(body),
  });

const get = (path: string, headers: Record<string, string>) =>
  fetch(`${server.url}${path}`, { headers });

async function outboxTo(address: string) {
  const rows = await server.ctx.services.email.list({ limit: 500 });
  return rows.filter((r) => r.to_address === address).reverse();
}

/** The secret in the newest mail of `kind` to `address`. */
async function latestLink(address: string, kind: string): Promise<string> {
  const mails = (await outboxTo(address)).filter((m) => m.kind === kind);
  const token = /#token=(lne_[a-z2-7]{52})/u.exec(mails.at(-1)?.body_text ?? '')?.[1];
  if (token === undefined) {
    throw new Error(`no ${kind} link mailed to ${address}`);
  }
  return token;
}

/** Expires the link whose secret is `token`, as the passing of its lifetime would. */
async function expire(token: string): Promise<void> {
  await server.ctx.database.db
    .updateTable('one_time_links')
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where('id_hash', '=', hashSecret(token))
    .execute();
}

async function setStatus(userId: string, status: 'suspended' | 'rejected'): Promise<void> {
  await server.ctx.database.db
    .updateTable('users')
    .set({ status })
    .where('id', '=', userId)
    .execute();
}

/** The answer's `next` with the address taken out, to compare answers for different addresses. */
async function answerWithout(res: Response, address: string): Promise<unknown> {
  const body = (await res.json()) as { next: string };
  return { status: res.status, next: body.next.replace(address, '<address>') };
}

/** The audit details of the request's event with `action`. */
async function auditDetails(res: Response, action: string): Promise<Record<string, unknown>[]> {
  const events = await server.auditEventsFor(res.headers.get('x-request-id') ?? '');
  return events.filter((e) => e.action === action).map((e) => e.details);
}

function applicant(email: string) {
  return {
    name: 'Ada Byron',
    email,
    password: 'analytical engines weave algebraic patterns',
    institution: 'University of Example',
    institutionRole: 'Postdoctoral fellow',
    researchPurpose: 'Predicting sudden cardiac arrest from routine 12-lead ECGs.',
  };
}

describe(`resending the verification link on ${TEST_DIALECT}`, () => {
  it('answers unknown, confirmed and unconfirmed addresses alike; only the unconfirmed one gets a new link, and older links die', async () => {
    expect((await post('/api/v1/auth/register', applicant('ada@uni.example'))).status).toBe(202);
    const first = await latestLink('ada@uni.example', 'email.verify');
    await createSignedInUser(server, {
      email: 'bo@uni.example',
      roles: ['researcher'],
      password: 'confirmed addresses need no second link',
    });

    const unknown = await post('/api/v1/auth/verify-email/resend', {
      email: 'nobody@uni.example',
    });
    const confirmed = await post('/api/v1/auth/verify-email/resend', { email: 'bo@uni.example' });
    const waiting = await post('/api/v1/auth/verify-email/resend', { email: 'ADA@uni.example' });
    const expected = await answerWithout(unknown, 'nobody@uni.example');
    expect(expected).toMatchObject({ status: 202 });
    expect(await answerWithout(confirmed, 'bo@uni.example')).toEqual(expected);
    expect(await answerWithout(waiting, 'ADA@uni.example')).toEqual(expected);

    // Whether a mail went out is in the audit log only.
    expect(await auditDetails(unknown, 'user.resend_verification')).toEqual([
      { mailed: false, reason: 'no_account' },
    ]);
    expect(await auditDetails(confirmed, 'user.resend_verification')).toEqual([
      { mailed: false, reason: 'already_verified' },
    ]);
    expect(await auditDetails(waiting, 'user.resend_verification')).toEqual([{ mailed: true }]);
    expect(await outboxTo('nobody@uni.example')).toHaveLength(0);
    expect(await outboxTo('bo@uni.example')).toHaveLength(0);
    expect((await outboxTo('ada@uni.example')).map((m) => m.kind)).toEqual([
      'email.verify',
      'email.verify',
    ]);

    const second = await latestLink('ada@uni.example', 'email.verify');
    expect(second).not.toBe(first);
    expect((await post('/api/v1/auth/verify-email', { token: first })).status).toBe(404);
    const verified = await post('/api/v1/auth/verify-email', { token: second });
    expect(await verified.json()).toEqual({ email: 'ada@uni.example', status: 'pending' });
    expect((await post('/api/v1/auth/verify-email', { token: second })).status).toBe(404);

    // Confirmed now, so asking again sends nothing more.
    await post('/api/v1/auth/verify-email/resend', { email: 'ada@uni.example' });
    expect(await outboxTo('ada@uni.example')).toHaveLength(2);
  });

  it('sends a link that expires', async () => {
    await post('/api/v1/auth/register', applicant('late@uni.example'));
    await post('/api/v1/auth/verify-email/resend', { email: 'late@uni.example' });
    const token = await latestLink('late@uni.example', 'email.verify');
    await expire(token);
    const res = await post('/api/v1/auth/verify-email', { token });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/ask for a new one/);
  });

  it('limits requests per address asked about, known or not, with Retry-After', async () => {
    for (const email of ['late@uni.example', 'unknown@uni.example']) {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i += 1) {
        statuses.push((await post('/api/v1/auth/verify-email/resend', { email })).status);
      }
      expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    }
    const refused = await post('/api/v1/auth/verify-email/resend', { email: 'late@uni.example' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await auditDetails(refused, 'user.resend_verification')).toEqual([
      expect.objectContaining({ reason: 'locked' }),
    ]);
    // Five mails at most reached the inbox (one from registering), however often it was asked.
    expect(await outboxTo('late@uni.example')).toHaveLength(1 + 1 + 5);
    // Another address is not held up by that lock.
    expect(
      (await post('/api/v1/auth/verify-email/resend', { email: 'ada@uni.example' })).status,
    ).toBe(202);
  });
});

describe(`password reset on ${TEST_DIALECT}`, () => {
  const OLD = 'an old passphrase that was forgotten';
  const NEW = 'a brand new passphrase to remember';

  it('answers unknown, suspended, rejected and usable accounts alike; mails only an account that may sign in', async () => {
    await createSignedInUser(server, {
      email: 'carol@uni.example',
      roles: ['researcher'],
      password: OLD,
    });
    const suspended = await createSignedInUser(server, {
      email: 'dan@uni.example',
      roles: ['researcher'],
      password: OLD,
    });
    const rejected = await createSignedInUser(server, {
      email: 'eve@uni.example',
      roles: ['researcher'],
      password: OLD,
    });
    await setStatus(suspended.id, 'suspended');
    await setStatus(rejected.id, 'rejected');

    const ask = (email: string) => post('/api/v1/auth/password-reset', { email });
    const unknown = await ask('nobody@uni.example');
    const ofSuspended = await ask('dan@uni.example');
    const ofRejected = await ask('eve@uni.example');
    const usable = await ask('Carol@Uni.Example');
    const expected = await answerWithout(unknown, 'nobody@uni.example');
    expect(expected).toMatchObject({ status: 202 });
    expect(await answerWithout(ofSuspended, 'dan@uni.example')).toEqual(expected);
    expect(await answerWithout(ofRejected, 'eve@uni.example')).toEqual(expected);
    expect(await answerWithout(usable, 'Carol@Uni.Example')).toEqual(expected);

    expect(await outboxTo('dan@uni.example')).toHaveLength(0);
    expect(await outboxTo('eve@uni.example')).toHaveLength(0);
    const [mail, ...more] = await outboxTo('carol@uni.example');
    expect(more).toHaveLength(0);
    expect(mail?.kind).toBe('password.reset');
    expect(mail?.body_text).toContain(`${server.url}/set-password#token=lne_`);

    // Whether a mail went out is in the audit log only.
    const action = 'user.request_password_reset';
    expect(await auditDetails(unknown, action)).toEqual([{ mailed: false, reason: 'no_account' }]);
    expect(await auditDetails(ofSuspended, action)).toEqual([
      { mailed: false, reason: 'suspended' },
    ]);
    expect(await auditDetails(ofRejected, action)).toEqual([{ mailed: false, reason: 'rejected' }]);
    expect(await auditDetails(usable, action)).toEqual([{ mailed: true }]);
  });

  it('sets a new password once, ends every session and keeps API tokens', async () => {
    const fay = await createSignedInUser(server, {
      email: 'fay@uni.example',
      roles: ['researcher'],
      password: OLD,
    });
    const other = await post('/api/v1/auth/sign-in', { email: 'fay@uni.example', password: OLD });
    const otherCookie = /^(lantern_session=[^;]+)/u.exec(
      other.headers.get('set-cookie') ?? '',
    )?.[1];
    const minted = await post(
      '/api/v1/auth/tokens',
      { name: 'laptop', scope: ['account'], expiresInDays: 30 },
      { cookie: fay.cookie },
    );
    expect(minted.status).toBe(201);
    const { token: apiToken } = (await minted.json()) as { token: string };

    await post('/api/v1/auth/password-reset', { email: 'fay@uni.example' });
    const token = await latestLink('fay@uni.example', 'password.reset');
    // The link is meant for someone signed out (a browser where they are signed in is refused).
    expect(
      (await post('/api/v1/auth/set-password', { token, password: NEW }, { cookie: fay.cookie }))
        .status,
    ).toBe(409);
    const done = await post('/api/v1/auth/set-password', { token, password: NEW });
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ email: 'fay@uni.example' });
    expect(await auditDetails(done, 'user.set_password')).toEqual([
      { via: 'link', sessionsEnded: 2 },
    ]);
    expect((await post('/api/v1/auth/set-password', { token, password: NEW })).status).toBe(404);

    // Both sessions are over; the API token still works.
    for (const cookie of [fay.cookie, otherCookie ?? '']) {
      expect(await (await get('/api/v1/auth/session', { cookie })).json()).toEqual({ user: null });
    }
    const byToken = await get('/api/v1/auth/tokens', { authorization: `Bearer ${apiToken}` });
    expect(byToken.status).toBe(200);

    expect(
      (await post('/api/v1/auth/sign-in', { email: 'fay@uni.example', password: OLD })).status,
    ).toBe(401);
    expect(
      (await post('/api/v1/auth/sign-in', { email: 'fay@uni.example', password: NEW })).status,
    ).toBe(200);
  });

  it('keeps the link for a better password when one is refused', async () => {
    await post('/api/v1/auth/password-reset', { email: 'fay@uni.example' });
    const token = await latestLink('fay@uni.example', 'password.reset');
    expect((await post('/api/v1/auth/set-password', { token, password: 'password' })).status).toBe(
      400,
    );
    expect((await post('/api/v1/auth/set-password', { token, password: OLD })).status).toBe(200);
  });

  it('makes links that live an hour, and a new link kills older ones', async () => {
    await post('/api/v1/auth/password-reset', { email: 'carol@uni.example' });
    const first = await latestLink('carol@uni.example', 'password.reset');
    const row = await server.ctx.database.db
      .selectFrom('one_time_links')
      .select(['created_at', 'expires_at', 'purpose'])
      .where('id_hash', '=', hashSecret(first))
      .executeTakeFirstOrThrow();
    expect(row.purpose).toBe('set_password');
    const lifetimeMinutes = (row.expires_at.getTime() - row.created_at.getTime()) / 60_000;
    expect(lifetimeMinutes).toBeGreaterThan(59);
    expect(lifetimeMinutes).toBeLessThan(61);

    await post('/api/v1/auth/password-reset', { email: 'carol@uni.example' });
    const second = await latestLink('carol@uni.example', 'password.reset');
    const refused = await post('/api/v1/auth/set-password', { token: first, password: NEW });
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/Forgot your password\?/);
    expect(await auditDetails(refused, 'user.set_password')).toEqual([{ reason: 'bad_link' }]);

    await expire(second);
    expect((await post('/api/v1/auth/set-password', { token: second, password: NEW })).status).toBe(
      404,
    );
  });

  it('does not let a link made before a suspension set a password', async () => {
    const gus = await createSignedInUser(server, {
      email: 'gus@uni.example',
      roles: ['researcher'],
      password: OLD,
    });
    await post('/api/v1/auth/password-reset', { email: 'gus@uni.example' });
    const token = await latestLink('gus@uni.example', 'password.reset');
    await setStatus(gus.id, 'suspended');
    expect((await post('/api/v1/auth/set-password', { token, password: NEW })).status).toBe(404);
  });

  it('lifts the sign-in lockout of the account it resets', async () => {
    await createSignedInUser(server, {
      email: 'hal@uni.example',
      roles: ['researcher'],
      password: OLD,
    });
    let locked: Response | undefined;
    for (let i = 0; i < 7 && locked?.status !== 429; i += 1) {
      locked = await post('/api/v1/auth/sign-in', {
        email: 'hal@uni.example',
        password: 'guessing at the password',
      });
    }
    expect(locked?.status).toBe(429);
    await post('/api/v1/auth/password-reset', { email: 'hal@uni.example' });
    const token = await latestLink('hal@uni.example', 'password.reset');
    expect((await post('/api/v1/auth/set-password', { token, password: NEW })).status).toBe(200);
    expect(
      (await post('/api/v1/auth/sign-in', { email: 'hal@uni.example', password: NEW })).status,
    ).toBe(200);
  });

  it('limits requests per address asked about and per client address, with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      statuses.push(
        (await post('/api/v1/auth/password-reset', { email: 'carol@uni.example' })).status,
      );
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    const refused = await post('/api/v1/auth/password-reset', { email: 'carol@uni.example' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await auditDetails(refused, 'user.request_password_reset')).toEqual([
      expect.objectContaining({ reason: 'locked' }),
    ]);

    // Many addresses from one client: thirty go through, then the client waits.
    await server.ctx.database.db.deleteFrom('auth_throttle').execute();
    const spread: number[] = [];
    for (let i = 0; i < 31; i += 1) {
      spread.push(
        (await post('/api/v1/auth/password-reset', { email: `many${i}@uni.example` })).status,
      );
    }
    expect(spread.slice(0, 30).every((s) => s === 202)).toBe(true);
    expect(spread.at(-1)).toBe(429);
  });
});
