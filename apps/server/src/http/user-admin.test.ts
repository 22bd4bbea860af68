import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

let server: TestServer;
const PASSWORD = 'seven quiet rivers under the hill';
let admin: SignedInUser;
let researcher: SignedInUser;
let researcherToken = '';

interface ManagedUser {
  id: string;
  email: string;
  status: string;
  roles: string[];
  secondFactor: boolean;
  suspension: { reason: string; returnsTo: string } | null;
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await createSignedInUser(server, {
    email: 'admin@example.org',
    roles: ['admin'],
    password: PASSWORD,
  });
  researcher = await createSignedInUser(server, {
    email: 'ada@example.org',
    roles: ['researcher'],
    password: PASSWORD,
  });
  const made = await request(server, 'POST', '/api/v1/auth/tokens', researcher, {
    name: 'notebook',
    scope: ['account'],
    expiresInDays: 7,
  });
  researcherToken = ((await made.json()) as { token: string }).token;
});

afterAll(async () => {
  await server.close();
});

const signIn = (email: string, code?: string) =>
  request(server, 'POST', '/api/v1/auth/sign-in', {}, { email, password: PASSWORD, code });

async function outboxTo(address: string, kind: string) {
  const rows = await server.ctx.services.email.list({ limit: 100 });
  return rows.filter((r) => r.to_address === address && r.kind === kind);
}

describe(`user administration on ${TEST_DIALECT}`, () => {
  it('lists people for admins only, filtered, a page at a time with no gaps or repeats', async () => {
    for (let i = 0; i < 5; i += 1) {
      await createSignedInUser(server, {
        email: `curator${i}@museum.example`,
        roles: ['curator'],
        password: PASSWORD,
      });
    }
    expect((await request(server, 'GET', '/api/v1/admin/users', researcher)).status).toBe(403);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const res = await request(server, 'GET', `/api/v1/admin/users?limit=3${query}`, admin);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { users: ManagedUser[]; next: string | null };
      seen.push(...page.users.map((u) => u.email));
      cursor = page.next;
    } while (cursor !== null);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    const museum = await request(server, 'GET', '/api/v1/admin/users?q=MUSEUM&role=curator', admin);
    expect(((await museum.json()) as { users: ManagedUser[] }).users).toHaveLength(5);
    const wildcard = await request(server, 'GET', '/api/v1/admin/users?q=%25', admin);
    expect(((await wildcard.json()) as { users: ManagedUser[] }).users).toHaveLength(0);
    const bad = await request(server, 'GET', '/api/v1/admin/users?cursor=nonsense', admin);
    expect(bad.status).toBe(400);
  });

  it('suspends a person: their session and token stop at once, they are told why', async () => {
    expect((await request(server, 'GET', '/api/v1/auth/sessions', researcher)).status).toBe(200);
    const res = await request(
      server,
      'POST',
      `/api/v1/admin/users/${researcher.id}/suspend`,
      admin,
      { reason: 'Shared their account with a colleague' },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'suspended',
      suspension: { reason: 'Shared their account with a colleague', returnsTo: 'admitted' },
    });
    expect((await request(server, 'GET', '/api/v1/auth/sessions', researcher)).status).toBe(401);
    const session = await request(server, 'GET', '/api/v1/auth/session', researcher);
    expect(await session.json()).toEqual({ user: null });
    expect(
      (await request(server, 'GET', '/api/v1/auth/tokens', { token: researcherToken })).status,
    ).toBe(401);
    const refused = await signIn('ada@example.org');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/suspended/);
    const [mail] = await outboxTo('ada@example.org', 'account.suspended');
    expect(mail?.body_text).toContain('Shared their account with a colleague');
    const events = await server.auditEventsFor(res.headers.get('x-request-id') ?? '');
    expect(events.find((e) => e.action === 'user.suspend')?.details).toMatchObject({
      sessions: 1,
      tokens: 1,
    });
  });

  it('refuses to suspend twice, to act on oneself, without a reason, or on nobody', async () => {
    const again = await request(
      server,
      'POST',
      `/api/v1/admin/users/${researcher.id}/suspend`,
      admin,
      { reason: 'again' },
    );
    expect(again.status).toBe(409);
    const self = await request(server, 'POST', `/api/v1/admin/users/${admin.id}/suspend`, admin, {
      reason: 'oops',
    });
    expect(self.status).toBe(409);
    const noReason = await request(
      server,
      'POST',
      `/api/v1/admin/users/${researcher.id}/suspend`,
      admin,
      { reason: '' },
    );
    expect(noReason.status).toBe(400);
    const nobody = await request(server, 'POST', '/api/v1/admin/users/u_nobody/suspend', admin, {
      reason: 'who?',
    });
    expect(nobody.status).toBe(404);
  });

  it('reinstates to the status they had; old sessions and tokens stay ended', async () => {
    const res = await request(
      server,
      'POST',
      `/api/v1/admin/users/${researcher.id}/reinstate`,
      admin,
      { note: 'Talked it through' },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'admitted', suspension: null });
    expect((await request(server, 'GET', '/api/v1/auth/sessions', researcher)).status).toBe(401);
    expect(
      (await request(server, 'GET', '/api/v1/auth/tokens', { token: researcherToken })).status,
    ).toBe(401);
    expect((await signIn('ada@example.org')).status).toBe(200);
    expect(await outboxTo('ada@example.org', 'account.reinstated')).toHaveLength(1);
  });

  it('gives roles, which act at once (reviewer and admin after a second factor)', async () => {
    const res = await request(server, 'PUT', `/api/v1/admin/users/${researcher.id}/roles`, admin, {
      roles: ['researcher', 'reviewer'],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ roles: ['researcher', 'reviewer'] });
    const signedIn = await signIn('ada@example.org');
    const cookie = /^(lantern_session=[^;]+)/u.exec(signedIn.headers.get('set-cookie') ?? '')?.[1];
    const session = await request(server, 'GET', '/api/v1/auth/session', { cookie });
    expect(await session.json()).toMatchObject({
      user: { actingRoles: ['researcher'], secondFactor: { required: true, enabled: false } },
    });
    const bogus = await request(
      server,
      'PUT',
      `/api/v1/admin/users/${researcher.id}/roles`,
      admin,
      {
        roles: ['superuser'],
      },
    );
    expect(bogus.status).toBe(400);
  });

  it('resets a lost second factor: sessions end, the person signs in with the password alone', async () => {
    const reviewer = await createSignedInUser(server, {
      email: 'grace@example.org',
      roles: ['reviewer'],
      password: PASSWORD,
    });
    expect((await signIn('grace@example.org')).status).toBe(401);
    const res = await request(
      server,
      'POST',
      `/api/v1/admin/users/${reviewer.id}/second-factor/reset`,
      admin,
      { reason: 'Lost phone, confirmed by video call' },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ secondFactor: false });
    expect((await request(server, 'GET', '/api/v1/auth/sessions', reviewer)).status).toBe(401);
    expect((await signIn('grace@example.org')).status).toBe(200);
    expect(await outboxTo('grace@example.org', 'account.second_factor_reset')).toHaveLength(1);
    const again = await request(
      server,
      'POST',
      `/api/v1/admin/users/${reviewer.id}/second-factor/reset`,
      admin,
      { reason: 'twice' },
    );
    expect(again.status).toBe(409);
    const detail = await request(server, 'GET', `/api/v1/admin/users/${reviewer.id}`, admin);
    expect(await detail.json()).toMatchObject({ sessions: 1, tokens: 0, secondFactor: false });
  });
});
