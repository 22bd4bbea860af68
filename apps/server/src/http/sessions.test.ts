import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

let server: TestServer;
const PASSWORD = 'amber lighthouse over quiet water';

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

async function signIn(email: string): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/auth/sign-in`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-lantern-csrf': '1',
      'user-agent': 'second-browser',
    },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  return /^(lantern_session=[^;]+)/u.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? '';
}

const write = (cookie: string) => ({ cookie, 'x-lantern-csrf': '1' });

interface SessionsBody {
  sessions: { id: string; current: boolean; userAgent: string | null }[];
}

describe(`sessions on ${TEST_DIALECT}`, () => {
  it('lists your sessions, marks this one, and ends another', async () => {
    const { cookie } = await createSignedInUser(server, {
      email: 'ada@example.org',
      roles: ['researcher'],
      password: PASSWORD,
    });
    const other = await signIn('ada@example.org');
    const list = (await (
      await fetch(`${server.url}/api/v1/auth/sessions`, { headers: { cookie } })
    ).json()) as SessionsBody;
    expect(list.sessions).toHaveLength(2);
    expect(list.sessions.filter((s) => s.current)).toHaveLength(1);
    const second = list.sessions.find((s) => s.userAgent === 'second-browser');
    expect(second?.current).toBe(false);

    const revoke = await fetch(`${server.url}/api/v1/auth/sessions/${second?.id ?? ''}`, {
      method: 'DELETE',
      headers: write(cookie),
    });
    expect(revoke.status).toBe(204);
    expect(
      await (
        await fetch(`${server.url}/api/v1/auth/session`, { headers: { cookie: other } })
      ).json(),
    ).toEqual({ user: null });
    expect(
      await (await fetch(`${server.url}/api/v1/auth/session`, { headers: { cookie } })).json(),
    ).toMatchObject({ user: { email: 'ada@example.org' } });
  });

  it("cannot end someone else's session: it looks like none", async () => {
    const grace = await createSignedInUser(server, {
      email: 'grace@example.org',
      roles: ['researcher'],
      password: PASSWORD,
    });
    const ada = await signIn('ada@example.org');
    const adaSessions = (await (
      await fetch(`${server.url}/api/v1/auth/sessions`, { headers: { cookie: ada } })
    ).json()) as SessionsBody;
    const target = adaSessions.sessions[0]?.id ?? '';
    const res = await fetch(`${server.url}/api/v1/auth/sessions/${target}`, {
      method: 'DELETE',
      headers: write(grace.cookie),
    });
    expect(res.status).toBe(404);
  });

  it('signs out everywhere, this session included', async () => {
    const a = await signIn('ada@example.org');
    const b = await signIn('ada@example.org');
    const res = await fetch(`${server.url}/api/v1/auth/sign-out-everywhere`, {
      method: 'POST',
      headers: write(a),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ended: number }).ended).toBeGreaterThanOrEqual(2);
    for (const cookie of [a, b]) {
      expect(
        (await fetch(`${server.url}/api/v1/auth/sessions`, { headers: { cookie } })).status,
      ).toBe(401);
    }
  });
});
