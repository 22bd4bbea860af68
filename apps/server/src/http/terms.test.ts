import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

let server: TestServer;
const PASSWORD = 'seven quiet rivers under the hill';
let admin: SignedInUser;
let researcher: SignedInUser;
let applicant: SignedInUser;

/** Stands in for the dataset routes of the catalog issue: any route declaring `data.read`. */
const DATA_ROUTE = '/api/v1/test/data';

beforeAll(async () => {
  server = await startTestServer({}, (fastify) => {
    fastify.get(DATA_ROUTE, { config: { permission: 'data.read', action: 'test.data' } }, () => ({
      rows: 3,
    }));
  });
  admin = await createSignedInUser(server, {
    email: 'admin@example.org',
    roles: ['admin'],
    password: PASSWORD,
  });
  researcher = await createSignedInUser(server, {
    email: 'ada@example.org',
    roles: ['researcher'],
    password: PASSWORD,
    acceptTerms: false,
  });
  applicant = await createSignedInUser(server, {
    email: 'pending@example.org',
    roles: ['researcher'],
    password: PASSWORD,
    status: 'pending',
  });
});

afterAll(async () => {
  await server.close();
});

const NEW_TERMS = {
  title: 'Data use agreement',
  body: `${'These terms govern every use of the data. '.repeat(8)}\n\n## New\n\nResults are reviewed before release.`,
  changes: 'Results are reviewed before they leave.',
};

describe(`terms and the gate on data on ${TEST_DIALECT}`, () => {
  it('publishes version 1 on an empty database, for anyone to read', async () => {
    const res = await request(server, 'GET', '/api/v1/terms');
    expect(res.status).toBe(200);
    const terms = (await res.json()) as { version: number; body: string; title: string };
    expect(terms.version).toBe(1);
    expect(terms.title).toBe('Data use agreement');
    expect(terms.body).toContain('No download, ever');
    expect(terms.body).toContain('No re-identification');
  });

  it('withholds data until the current terms are accepted, saying why', async () => {
    const refused = await request(server, 'GET', DATA_ROUTE, researcher);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/accept the current/);
    const standing = await request(server, 'GET', '/api/v1/terms/standing', researcher);
    expect(await standing.json()).toMatchObject({ accepted: null, upToDate: false });
  });

  it('accepts only the current version, records it, and opens data at once', async () => {
    const stale = await request(server, 'POST', '/api/v1/terms/accept', researcher, {
      version: 2,
    });
    expect(stale.status).toBe(409);
    const ok = await request(server, 'POST', '/api/v1/terms/accept', researcher, { version: 1 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ accepted: { version: 1 }, upToDate: true });
    const events = await server.auditEventsFor(ok.headers.get('x-request-id') ?? '');
    expect(events.map((e) => e.action)).toContain('terms.accept');
    expect((await request(server, 'GET', DATA_ROUTE, researcher)).status).toBe(200);
    // Accepting again changes nothing and is harmless.
    const again = await request(server, 'POST', '/api/v1/terms/accept', researcher, {
      version: 1,
    });
    expect(again.status).toBe(200);
  });

  it('keeps data from people not yet admitted, whatever they accepted', async () => {
    expect((await request(server, 'GET', DATA_ROUTE, applicant)).status).toBe(403);
    const standing = await request(server, 'GET', '/api/v1/terms/standing', applicant);
    expect(await standing.json()).toMatchObject({ upToDate: true });
    expect((await request(server, 'GET', DATA_ROUTE)).status).toBe(401);
  });

  it('gates tokens the same way, and a token never gives data its scope lacks', async () => {
    const made = await request(server, 'POST', '/api/v1/auth/tokens', researcher, {
      name: 'notebook',
      scope: ['data.read'],
      expiresInDays: 7,
    });
    expect(made.status).toBe(201);
    const { token } = (await made.json()) as { token: string };
    expect((await request(server, 'GET', DATA_ROUTE, { token })).status).toBe(200);
    const narrow = await request(server, 'POST', '/api/v1/auth/tokens', researcher, {
      name: 'account only',
      scope: ['account'],
      expiresInDays: 7,
    });
    const { token: accountOnly } = (await narrow.json()) as { token: string };
    expect((await request(server, 'GET', DATA_ROUTE, { token: accountOnly })).status).toBe(403);
  });

  it('lets only admins publish, and refuses a version with the same text', async () => {
    expect(
      (await request(server, 'POST', '/api/v1/admin/terms', researcher, NEW_TERMS)).status,
    ).toBe(403);
    const current = (await (await request(server, 'GET', '/api/v1/terms')).json()) as {
      body: string;
    };
    const same = await request(server, 'POST', '/api/v1/admin/terms', admin, {
      ...NEW_TERMS,
      body: current.body,
    });
    expect(same.status).toBe(409);
    const short = await request(server, 'POST', '/api/v1/admin/terms', admin, {
      ...NEW_TERMS,
      body: 'too short',
    });
    expect(short.status).toBe(400);
  });

  it('a new version withholds data from everyone until they accept it, and tells them', async () => {
    const published = await request(server, 'POST', '/api/v1/admin/terms', admin, NEW_TERMS);
    expect(published.status).toBe(201);
    expect(await published.json()).toMatchObject({ version: 2, changes: NEW_TERMS.changes });
    const refused = await request(server, 'GET', DATA_ROUTE, researcher);
    expect(refused.status).toBe(403);
    const mail = (await server.ctx.services.email.list({ limit: 100 })).filter(
      (m) => m.to_address === 'ada@example.org' && m.kind === 'terms.new_version',
    );
    expect(mail).toHaveLength(1);
    expect(mail[0]?.body_text).toContain(NEW_TERMS.changes);
    expect(
      (await request(server, 'POST', '/api/v1/terms/accept', researcher, { version: 1 })).status,
    ).toBe(409);
    expect(
      (await request(server, 'POST', '/api/v1/terms/accept', researcher, { version: 2 })).status,
    ).toBe(200);
    expect((await request(server, 'GET', DATA_ROUTE, researcher)).status).toBe(200);
  });

  it('keeps every version readable and unchangeable, with who accepted it', async () => {
    const first = await request(server, 'GET', '/api/v1/terms/versions/1');
    expect(await first.json()).toMatchObject({ version: 1, changes: 'First version.' });
    expect((await request(server, 'GET', '/api/v1/terms/versions/9')).status).toBe(404);
    const history = await request(server, 'GET', '/api/v1/admin/terms', admin);
    const { versions } = (await history.json()) as {
      versions: { version: number; acceptances: number }[];
    };
    expect(versions.map((v) => v.version)).toEqual([2, 1]);
    // Version 1: the admin, the researcher and the applicant. Version 2: the researcher.
    expect(versions.map((v) => v.acceptances)).toEqual([1, 3]);
    await expect(
      sql`update terms_version set body = 'changed' where version = 1`.execute(
        server.ctx.database.db,
      ),
    ).rejects.toThrow(/never change/);
  });
});
