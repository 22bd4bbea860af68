import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const ADA = {
  name: 'Ada Byron',
  email: 'ada@uni.example',
  password: 'analytical engines weave algebraic patterns',
  institution: 'University of Example',
  institutionRole: 'Postdoctoral fellow',
  researchPurpose: 'Predicting sudden cardiac arrest from routine 12-lead ECGs.',
  orcid: 'https://orcid.org/0000-0002-1825-0097',
};

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-lantern-csrf': '1', ...headers },
    body: JSON.stringify(body),
  });

async function outboxTo(address: string) {
  const rows = await server.ctx.services.email.list({ limit: 100 });
  return rows.filter((r) => r.to_address === address);
}

describe(`registration and email verification on ${TEST_DIALECT}`, () => {
  it('registers, emails a single-use link, and the link moves the applicant on to admission', async () => {
    const res = await post('/api/v1/auth/register', ADA);
    expect(res.status).toBe(202);
    const [mail, ...more] = await outboxTo(ADA.email);
    expect(more).toHaveLength(0);
    expect(mail?.kind).toBe('email.verify');
    const token = /#token=(lne_[a-z2-7]{52})/.exec(mail?.body_text ?? '')?.[1] ?? '';
    expect(mail?.body_text).toContain(`${server.url}/verify-email#token=`);

    // Before verifying, the applicant can sign in but holds nothing beyond their own account.
    const signIn = await post('/api/v1/auth/sign-in', { email: ADA.email, password: ADA.password });
    const cookie =
      /^(lantern_session=[^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1] ?? '';
    expect(
      await (await fetch(`${server.url}/api/v1/auth/session`, { headers: { cookie } })).json(),
    ).toMatchObject({
      user: { email: ADA.email, status: 'unverified', roles: ['researcher'] },
    });

    // Signed in, one cannot register another account or use a set-password link.
    expect(
      (await post('/api/v1/auth/register', { ...ADA, email: 'other@uni.example' }, { cookie }))
        .status,
    ).toBe(409);
    expect(
      (await post('/api/v1/auth/set-password', { token, password: ADA.password }, { cookie }))
        .status,
    ).toBe(409);

    const verified = await post('/api/v1/auth/verify-email', { token });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toEqual({ email: ADA.email, status: 'pending' });
    expect((await post('/api/v1/auth/verify-email', { token })).status).toBe(404);
    // Pending admission: still no researcher powers.
    expect((await fetch(`${server.url}/api/v1/audit/events`, { headers: { cookie } })).status).toBe(
      403,
    );
  });

  it('answers a second registration of the same address alike, and tells its owner instead', async () => {
    const res = await post('/api/v1/auth/register', {
      ...ADA,
      email: 'ADA@uni.example',
      password: 'a different long passphrase entirely',
    });
    expect(res.status).toBe(202);
    const mails = await outboxTo(ADA.email);
    expect(mails.map((m) => m.kind)).toEqual(['registration.existing_account', 'email.verify']);
  });

  it('refuses a wrong ORCID check digit and a weak password, naming each field', async () => {
    const res = await post('/api/v1/auth/register', {
      ...ADA,
      email: 'grace@uni.example',
      orcid: '0000-0002-1825-0098',
      password: 'short',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; errors: { path: string }[] };
    expect(body.code).toBe('validation_failed');
    expect(new Set(body.errors.map((e) => e.path))).toEqual(
      new Set(['body.password', 'body.orcid']),
    );
    expect(await outboxTo('grace@uni.example')).toHaveLength(0);
  });

  it('limits registrations from one address', async () => {
    await server.ctx.database.db.deleteFrom('auth_throttle').execute();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) {
      statuses.push(
        (await post('/api/v1/auth/register', { ...ADA, email: `bulk${i}@uni.example` })).status,
      );
    }
    expect(statuses.slice(0, 9).every((s) => s === 202)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});
