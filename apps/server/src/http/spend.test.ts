import { chmod } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordUsageDirectly, stopLeftoverInstances } from '../testing/instances.js';
import { addMemberDirectly } from '../testing/projects.js';
import { request, type As } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

// A project's spend through HTTP (issues 7 and 8). Usage records written through the repository
// over three days of March 2025 give a case computed by hand: the total (rounded once), per type
// (the free one at 0 cents with its hours), per member by name, per UTC day. Members see it, and
// no one else; a bad window is refused. Then a real paid instance (the local backend, an admin
// having enabled paid types) is counted while it runs, up to now, and stops counting when stopped.

const ENV = { LANTERN_INSTANCE_POLL_MS: '100' };
const PASSWORD = 'seven quiet rivers under the hill';

let server: TestServer;
let owner: SignedInUser;
let editor: SignedInUser;
let viewer: SignedInUser;
let outsider: SignedInUser;
let suspended: SignedInUser;
let admin: SignedInUser;
let projectId: string;

interface Figure {
  seconds: number;
  cents: number;
}
interface Spend {
  projectId: string;
  from: string;
  to: string;
  total: Figure;
  byType: (Figure & { type: string; priceCentsPerHour: number })[];
  byMember: (Figure & { userId: string; name: string })[];
  byDay: (Figure & { day: string })[];
  running: {
    centsPerHour: number;
    instances: (Figure & {
      instanceId: string;
      type: string;
      userId: string;
      name: string;
      priceCentsPerHour: number;
      since: string;
    })[];
  };
}

const api = (method: string, path: string, as: As = {}, body?: unknown) =>
  request(server, method, path, as, body);

const MARCH = 'from=2025-03-01&to=2025-03-04';

async function spend(query = MARCH, as: As = owner): Promise<Spend> {
  const res = await api('GET', `/api/v1/projects/${projectId}/spend?${query}`, as);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Spend;
}

let usageCount = 0;
/** A stopped instance of `type` with one closed usage record, written as the reconciler would. */
async function usedInstance(
  user: SignedInUser,
  type: string,
  priceCentsPerHour: number,
  startedAt: string,
  endedAt: string,
): Promise<void> {
  usageCount += 1;
  await recordUsageDirectly(server, {
    instanceId: `ins_${String(usageCount).padStart(16, '0')}`,
    projectId,
    userId: user.id,
    type,
    priceCentsPerHour,
    startedAt: new Date(startedAt),
    endedAt: new Date(endedAt),
  });
}

const person = (email: string, roles = ['researcher']) =>
  createSignedInUser(server, { email, roles, password: PASSWORD });

beforeAll(async () => {
  server = await startTestServer(ENV);
  // The sandbox user (uid 4242) opens the binds: the data directory must be traversable.
  await chmod(server.dataDir, 0o711);
  owner = await person('olive@example.org');
  editor = await person('eddie@example.org');
  viewer = await person('vera@example.org');
  outsider = await person('nina@example.org');
  suspended = await person('sam@example.org');
  admin = await person('adam@example.org', ['admin']);
  const res = await api('POST', '/api/v1/projects', owner, {
    title: 'Arrest from resting ECGs',
    purpose: 'Whether the morphology of a resting ECG predicts sudden cardiac arrest.',
    datasets: [],
  });
  expect(res.status).toBe(201);
  projectId = ((await res.json()) as { id: string }).id;
  await addMemberDirectly(server, projectId, editor.id, 'editor');
  await addMemberDirectly(server, projectId, viewer.id, 'viewer');
  await addMemberDirectly(server, projectId, suspended.id, 'viewer');
  const done = await api('POST', `/api/v1/admin/users/${suspended.id}/suspend`, admin, {
    reason: 'For the spend test.',
  });
  expect(done.status).toBe(200);

  // Olive: cpu.small 23:00 on 1 March to 00:30 on 2 March (90 min × 19 c/h), and the free
  // cpu.xsmall for 4 hours on 2 March. Eddie: gpu.t4 for 2 hours on 3 March (53 c/h), and 10
  // seconds at 1800 c/h that alone would round to 5 cents. One stretch before the window.
  await usedInstance(owner, 'cpu.small', 19, '2025-03-01T23:00:00Z', '2025-03-02T00:30:00Z');
  await usedInstance(owner, 'cpu.xsmall', 0, '2025-03-02T08:00:00Z', '2025-03-02T12:00:00Z');
  await usedInstance(editor, 'gpu.t4', 53, '2025-03-03T10:00:00Z', '2025-03-03T12:00:00Z');
  await usedInstance(editor, 'gpu.h100', 1800, '2025-03-03T13:00:00Z', '2025-03-03T13:00:10Z');
  await usedInstance(owner, 'cpu.small', 19, '2025-02-20T08:00:00Z', '2025-02-20T09:00:00Z');
});

afterAll(async () => {
  // Nothing of the tests' sandboxes outlives them, whatever failed.
  await stopLeftoverInstances(server);
  await server.close();
});

describe(`a project's spend on ${TEST_DIALECT}`, () => {
  it('adds usage × price as computed by hand: total once rounded, per type, member and day', async () => {
    const seen = await spend();
    // cent-seconds: 5400 × 19 = 102600, 14400 × 0, 7200 × 53 = 381600, 10 × 1800 = 18000;
    // 502200 / 3600 = 139.5 cents, rounded once: 140.
    expect(seen).toMatchObject({
      projectId,
      from: '2025-03-01T00:00:00.000Z',
      to: '2025-03-04T00:00:00.000Z',
      total: { seconds: 5400 + 14400 + 7200 + 10, cents: 140 },
      running: { centsPerHour: 0, instances: [] },
    });
    expect(seen.byType).toEqual([
      { type: 'gpu.t4', priceCentsPerHour: 53, seconds: 7200, cents: 106 },
      { type: 'cpu.small', priceCentsPerHour: 19, seconds: 5400, cents: 29 },
      { type: 'gpu.h100', priceCentsPerHour: 1800, seconds: 10, cents: 5 },
      { type: 'cpu.xsmall', priceCentsPerHour: 0, seconds: 14400, cents: 0 },
    ]);
    expect(seen.byMember).toEqual([
      // 381600 + 18000 = 399600 cent-seconds = 111 cents.
      { userId: editor.id, name: 'eddie@example.org', seconds: 7210, cents: 111 },
      { userId: owner.id, name: 'olive@example.org', seconds: 19800, cents: 29 },
    ]);
    expect(seen.byDay).toEqual([
      { day: '2025-03-01', seconds: 3600, cents: 19 },
      { day: '2025-03-02', seconds: 1800 + 14400, cents: 10 },
      { day: '2025-03-03', seconds: 7210, cents: 111 },
    ]);
  });

  it('shows every member the same figures, and the last 30 days by default', async () => {
    const byOwner = await spend();
    expect(await spend(MARCH, editor)).toEqual(byOwner);
    expect(await spend(MARCH, viewer)).toEqual(byOwner);
    const recent = await spend('');
    expect(recent.byDay).toHaveLength(31);
    expect(Date.parse(recent.to) - Date.parse(recent.from)).toBe(30 * 86_400_000);
    expect(recent.total).toEqual({ seconds: 0, cents: 0 });
  });

  it('is no one else’s: a non-member and an unknown project 404, suspended and anonymous 401', async () => {
    const outside = await api('GET', `/api/v1/projects/${projectId}/spend`, outsider);
    expect(outside.status).toBe(404);
    expect(((await outside.json()) as { detail: string }).detail).toBe(
      `there is no project ${projectId}`,
    );
    const unknown = await api('GET', '/api/v1/projects/prj_0000000000000000/spend', owner);
    expect(unknown.status).toBe(404);
    expect((await api('GET', `/api/v1/projects/${projectId}/spend`, suspended)).status).toBe(401);
    expect((await api('GET', `/api/v1/projects/${projectId}/spend`)).status).toBe(401);
  });

  it('refuses a window it cannot answer, naming the parameter', async () => {
    const refusals = [
      ['from=last-week', 'querystring.from', 'from=last-week is neither a date'],
      ['to=2025-02-30', 'querystring.to', 'to=2025-02-30 is neither a date'],
      ['from=2025-03-04&to=2025-03-01', 'querystring.from', 'must come before to'],
      ['from=2024-01-01&to=2025-01-03', 'querystring.from', 'longer than 366 days'],
    ] as const;
    for (const [query, path, words] of refusals) {
      const res = await api('GET', `/api/v1/projects/${projectId}/spend?${query}`, owner);
      expect(res.status, query).toBe(400);
      const problem = (await res.json()) as {
        code: string;
        detail: string;
        errors: { path: string }[];
      };
      expect(problem.code).toBe('validation_failed');
      expect(problem.detail).toContain(words);
      expect(problem.errors.map((e) => e.path)).toEqual([path]);
    }
    // The outsider learns nothing from a bad window either: the window is checked first, alike.
    expect((await api('GET', `/api/v1/projects/${projectId}/spend?from=x`, outsider)).status).toBe(
      400,
    );
  });

  it('counts a real paid instance while it runs, up to now, and no further once it stops', async () => {
    const enabled = await api('PUT', `/api/v1/admin/projects/${projectId}/paid-instances`, admin, {
      enabled: true,
    });
    expect(enabled.status).toBe(200);
    const launched = await api('POST', `/api/v1/projects/${projectId}/instances`, editor, {
      type: 'cpu.small',
    });
    expect([201, 202], await launched.clone().text()).toContain(launched.status);
    const instanceId = ((await launched.json()) as { id: string }).id;

    // Running: its open usage record is counted up to now, at the type's 19 cents an hour.
    await expect
      .poll(async () => (await spend('')).running.instances[0]?.seconds ?? -1, {
        timeout: 90_000,
      })
      .toBeGreaterThan(0);
    const running = await spend('');
    expect(running.running).toMatchObject({
      centsPerHour: 19,
      instances: [
        {
          instanceId,
          type: 'cpu.small',
          userId: editor.id,
          name: 'eddie@example.org',
          priceCentsPerHour: 19,
        },
      ],
    });
    const [live] = running.running.instances;
    expect(running.total.seconds).toBe(live?.seconds);
    expect(running.byMember).toMatchObject([{ userId: editor.id, seconds: live?.seconds }]);
    // Counted up to now, not to where the reconciler last extended the record: it keeps growing.
    await expect
      .poll(async () => (await spend('')).total.seconds, { timeout: 15_000 })
      .toBeGreaterThan(live?.seconds ?? 0);

    const stopped = await api('POST', `/api/v1/instances/${instanceId}/stop`, editor);
    expect(stopped.status).toBe(202);
    await expect
      .poll(async () => (await spend('')).running.instances.length, { timeout: 30_000 })
      .toBe(0);
    const after = await spend('');
    const usage = await api('GET', `/api/v1/instances/${instanceId}/usage`, editor);
    const records = ((await usage.json()) as { usage: { seconds: number; closed: boolean }[] })
      .usage;
    expect(records.every((r) => r.closed)).toBe(true);
    expect(after.byType).toMatchObject([{ type: 'cpu.small', priceCentsPerHour: 19 }]);
    expect(after.total.seconds).toBe(records.reduce((sum, r) => sum + r.seconds, 0));
    // Stopped, it costs no more: read again, the figures stand.
    const again = await spend('');
    for (const key of ['total', 'byType', 'byMember', 'running'] as const) {
      expect(again[key]).toEqual(after[key]);
    }
  }, 120_000);
});
