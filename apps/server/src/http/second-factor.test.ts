import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeploymentKey } from '../crypto/deployment-key.js';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, totpCode, type SignedInUser } from '../testing/users.js';

let server: TestServer;
const PASSWORD = 'seven quiet rivers under the hill';
let researcher: SignedInUser;
let secret = '';
let recoveryCodes: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  researcher = await createSignedInUser(server, {
    email: 'ada@example.org',
    roles: ['researcher'],
    password: PASSWORD,
  });
});

afterAll(async () => {
  vi.useRealTimers();
  await server.close();
});

/**
 * Lets `steps` TOTP time steps (30 s each) pass for the server and the test alike (they share the
 * process): each code works once, so a later check needs a later code.
 */
function letTimePass(steps: number): void {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now + steps * 30_000);
}

const signIn = (email: string, code?: string) =>
  request(server, 'POST', '/api/v1/auth/sign-in', {}, { email, password: PASSWORD, code });

const cookieOf = (res: Response) =>
  /^(lantern_session=[^;]+)/u.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? '';

describe(`two-factor sign-in on ${TEST_DIALECT}`, () => {
  it('enrols with a code from the app and hands out ten recovery codes once', async () => {
    const begun = await request(server, 'POST', '/api/v1/auth/second-factor/enrolment', researcher);
    expect(begun.status).toBe(200);
    const body = (await begun.json()) as { secret: string; uri: string };
    secret = body.secret;
    expect(body.uri).toMatch(/^otpauth:\/\/totp\/Lantern:ada%40example\.org\?secret=[A-Z2-7]+/);
    const wrong = await request(
      server,
      'POST',
      '/api/v1/auth/second-factor/enrolment/confirm',
      researcher,
      { code: totpCode(secret, 5) },
    );
    expect(wrong.status).toBe(400);
    const ok = await request(
      server,
      'POST',
      '/api/v1/auth/second-factor/enrolment/confirm',
      researcher,
      { code: totpCode(secret) },
    );
    expect(ok.status).toBe(200);
    recoveryCodes = ((await ok.json()) as { recoveryCodes: string[] }).recoveryCodes;
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const status = await request(server, 'GET', '/api/v1/auth/second-factor', researcher);
    expect(await status.json()).toEqual({ enabled: true, required: false, recoveryCodesLeft: 10 });
    const again = await request(server, 'POST', '/api/v1/auth/second-factor/enrolment', researcher);
    expect(again.status).toBe(409);
  });

  it('keeps the seed sealed with the deployment key, bound to its owner', async () => {
    const row = await server.ctx.database.db
      .selectFrom('users')
      .select('totp_secret_sealed')
      .where('id', '=', researcher.id)
      .executeTakeFirstOrThrow();
    expect(row.totp_secret_sealed).toMatch(/^v1\./);
    expect(row.totp_secret_sealed).not.toContain(secret);
    const key = await DeploymentKey.load(server.ctx.config.secretKeyFile);
    expect(() => key.open('totp', 'u_someone_else', row.totp_secret_sealed ?? '')).toThrow();
    expect(key.open('totp', researcher.id, row.totp_secret_sealed ?? '').length).toBe(20);
  });

  it('then asks for the code at sign-in, and takes each code once', async () => {
    const without = await signIn('ada@example.org');
    expect(without.status).toBe(401);
    expect(await without.json()).toMatchObject({ code: 'second_factor_required' });
    const wrong = await signIn('ada@example.org', '000000');
    expect(wrong.status).toBe(401);
    const code = totpCode(secret, 1);
    const ok = await signIn('ada@example.org', code);
    expect(ok.status).toBe(200);
    const session = await request(server, 'GET', '/api/v1/auth/session', { cookie: cookieOf(ok) });
    expect(await session.json()).toMatchObject({ user: { secondFactor: { thisSession: true } } });
    const replay = await signIn('ada@example.org', code);
    expect(replay.status).toBe(401);
    const events = await server.auditEventsFor(replay.headers.get('x-request-id') ?? '');
    expect(events.map((e) => e.details['reason'])).toContain('wrong_second_factor');
  });

  it('takes a recovery code once, in any case and spacing', async () => {
    const [first] = recoveryCodes;
    const typed = ` ${(first ?? '').toUpperCase()} `;
    expect((await signIn('ada@example.org', typed)).status).toBe(200);
    expect((await signIn('ada@example.org', typed)).status).toBe(401);
    const status = await request(server, 'GET', '/api/v1/auth/second-factor', researcher);
    expect(await status.json()).toMatchObject({ recoveryCodesLeft: 9 });
    const mail = (await server.ctx.services.email.list({ limit: 50 })).filter(
      (m) => m.kind === 'auth.recovery_code_used',
    );
    expect(mail).toHaveLength(1);
    expect(mail[0]?.to_address).toBe('ada@example.org');
    expect(mail[0]?.body_text).toContain('9 codes are left');
  });

  it('replaces recovery codes after a code from the app; the old ones stop working', async () => {
    letTimePass(3);
    const res = await request(
      server,
      'POST',
      '/api/v1/auth/second-factor/recovery-codes',
      researcher,
      { code: totpCode(secret) },
    );
    expect(res.status).toBe(200);
    const fresh = ((await res.json()) as { recoveryCodes: string[] }).recoveryCodes;
    expect(fresh).toHaveLength(10);
    expect((await signIn('ada@example.org', recoveryCodes[1])).status).toBe(401);
    expect((await signIn('ada@example.org', fresh[0])).status).toBe(200);
  });

  it('never lets an API token change how its holder signs in', async () => {
    const made = await request(server, 'POST', '/api/v1/auth/tokens', researcher, {
      name: 'account',
      scope: ['account'],
      expiresInDays: 1,
    });
    const { token } = (await made.json()) as { token: string };
    const res = await request(
      server,
      'POST',
      '/api/v1/auth/second-factor/disable',
      { token },
      {
        code: fresh(),
      },
    );
    expect(res.status).toBe(403);
  });

  it('locks sign-in after repeated wrong codes, like wrong passwords', async () => {
    const reviewer = await createSignedInUser(server, {
      email: 'grace@example.org',
      roles: ['reviewer'],
      password: PASSWORD,
    });
    expect(reviewer.totpSecret).not.toBeNull();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      statuses.push((await signIn('grace@example.org', '999999')).status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
  });

  it('gives reviewers and admins their roles only from a session with a second factor', async () => {
    const admin = await createSignedInUser(server, {
      email: 'root@example.org',
      roles: ['admin'],
      password: PASSWORD,
    });
    expect((await request(server, 'GET', '/api/v1/audit/events', admin)).status).toBe(200);
    const refused = await request(server, 'POST', '/api/v1/auth/second-factor/disable', admin, {
      code: totpCode(admin.totpSecret ?? '', 1),
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/roles require/);
  });

  it('turns off for those who may, after a code', async () => {
    letTimePass(3);
    const res = await request(server, 'POST', '/api/v1/auth/second-factor/disable', researcher, {
      code: totpCode(secret),
    });
    expect(res.status).toBe(204);
    expect((await signIn('ada@example.org')).status).toBe(200);
  });
});

/** A code that cannot have been used yet. */
const fresh = () => totpCode(secret, 1);

describe('the deployment key', () => {
  it('is made once, readable by its owner only, and must match the database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lantern-key-'));
    try {
      const file = join(dir, 'secret.key');
      const key = await DeploymentKey.load(file);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const again = await DeploymentKey.load(file);
      expect(again.hmac('x', 'y')).toEqual(key.hmac('x', 'y'));
      expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64')).toHaveLength(32);
      const other = DeploymentKey.fromBytes(randomBytes(32));
      await expect(other.checkAgainst(server.ctx.database.db, 'another.key')).rejects.toThrow(
        /not the key this database was set up with/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
