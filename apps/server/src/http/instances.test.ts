import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refuseAuditEventsOf } from '../testing/audit.js';
import { publishTinyDataset } from '../testing/datasets.js';
import {
  killSandbox,
  recordRequestedLaunch,
  sandboxOf,
  stopLeftoverInstances,
} from '../testing/instances.js';
import { addMemberDirectly } from '../testing/projects.js';
import { request, type As } from '../testing/http.js';
import { JupyterKernel } from '../testing/jupyter-kernel.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

// Instances through HTTP with the real local backend (issue 8): Debian's Jupyter in a bubblewrap
// sandbox. A project's owner launches a free instance mounting its open dataset; it runs; the free
// quota, paid types, unheld datasets, a viewer and a non-member are refused; ngsci inside answers
// through the platform socket; the server restarts on the same data directory and finds the
// instance running; usage is written per second and closed at the stop; a restart brings it back
// and ngsci.stop_instance() stops it from inside. Launches answer 202 at once here (no wait): a
// server that waits answers 201 once the instance runs, and a launch whose server died before it
// started is started by the next server's reconciler.

// One start at a time, so that a launch while another starts meets admission control; a launch
// answers at once (202), its start going on in the background.
const ENV = {
  LANTERN_INSTANCE_POLL_MS: '100',
  LANTERN_MAX_CONCURRENT_STARTS: '1',
  LANTERN_INSTANCE_START_WAIT_MS: '0',
};
const PASSWORD = 'seven quiet rivers under the hill';
const OPEN = 'demo-instance-ecg';
const ROWS = 7;

let server: TestServer;
let owner: SignedInUser;
let editor: SignedInUser;
let viewer: SignedInUser;
let outsider: SignedInUser;
let admin: SignedInUser;
let projectId: string;
let instanceId: string;
let kernel: JupyterKernel | undefined;

interface Instance {
  id: string;
  projectId: string;
  state: string;
  failureReason: string | null;
  lastActivityAt: string | null;
  type: string;
  datasets: { slug: string; version: string }[];
  url: string;
}

interface Usage {
  instanceId: string;
  type: string;
  projectId: string;
  userId: string;
  startedAt: string;
  endedAt: string;
  seconds: number;
  closed: boolean;
}

const api = (method: string, path: string, as: As = {}, body?: unknown) =>
  request(server, method, path, as, body);

async function detail(res: Response): Promise<string> {
  return ((await res.json()) as { detail: string }).detail;
}

/** A refusal's stable code and its detail. */
async function problem(res: Response): Promise<{ code: string; detail: string }> {
  return (await res.json()) as { code: string; detail: string };
}

async function instance(id = instanceId): Promise<Instance> {
  const res = await api('GET', `/api/v1/instances/${id}`, owner);
  expect(res.status).toBe(200);
  return (await res.json()) as Instance;
}

/** Reads the instance until it leaves `passing` states (the reconciler moves it), each a real GET. */
async function settle(passing: string[], id = instanceId, timeoutMs = 90_000): Promise<Instance> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const now = await instance(id);
    if (!passing.includes(now.state) || performance.now() > deadline) {
      return now;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function openKernel(): Promise<JupyterKernel> {
  const connection = await server.ctx.services.instances.connection(instanceId);
  if (connection === null || !('socketPath' in connection.endpoint)) {
    throw new Error('the instance has no notebook socket');
  }
  return JupyterKernel.open(connection.endpoint.socketPath, connection.baseUrl, connection.token);
}

/**
 * A platform call from inside the sandbox on its socket (LANTERN_PLATFORM_SOCKET), as ngsci makes
 * it, with the instance's own token unless `token` is given: its status and body on one line.
 */
async function callPlatformSocket(
  method: string,
  path: string,
  options: { token?: string; requestId?: string } = {},
): Promise<string> {
  const token =
    options.token === undefined
      ? "os.environ['LANTERN_PLATFORM_TOKEN']"
      : JSON.stringify(options.token);
  const requestId =
    options.requestId === undefined ? '' : `, 'X-Request-Id': ${JSON.stringify(options.requestId)}`;
  const run = await kernel?.execute(
    [
      'import http.client, os, socket',
      "conn = http.client.HTTPConnection('localhost')",
      'sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      "sock.connect(os.environ['LANTERN_PLATFORM_SOCKET'])",
      'conn.sock = sock',
      `headers = {'Authorization': 'Bearer ' + ${token}${requestId}}`,
      `conn.request(${JSON.stringify(method)}, ${JSON.stringify(path)}, headers=headers)`,
      'answer = conn.getresponse()',
      "print(answer.status, answer.read().decode('utf-8'))",
    ].join('\n'),
  );
  expect(run?.status, run?.output).toBe('ok');
  return run?.output ?? '';
}

async function usage(): Promise<Usage[]> {
  const res = await api('GET', `/api/v1/instances/${instanceId}/usage`, owner);
  expect(res.status).toBe(200);
  return ((await res.json()) as { usage: Usage[] }).usage;
}

const person = (email: string, roles = ['researcher']) =>
  createSignedInUser(server, { email, roles, password: PASSWORD });

beforeAll(async () => {
  server = await startTestServer(ENV);
  // The sandbox user (uid 4242) opens the binds: the data directory must be traversable.
  await chmod(server.dataDir, 0o711);
  const curator = await person('curator@example.org', ['curator']);
  owner = await person('olive@example.org');
  editor = await person('eddie@example.org');
  viewer = await person('vera@example.org');
  outsider = await person('nina@example.org');
  admin = await person('adam@example.org', ['admin']);
  await publishTinyDataset(server, curator, OPEN, 'open', ROWS);
  const res = await api('POST', '/api/v1/projects', owner, {
    title: 'Arrest from resting ECGs',
    purpose: 'Whether the morphology of a resting ECG predicts sudden cardiac arrest.',
    datasets: [{ slug: OPEN, version: '1.0' }],
  });
  expect(res.status).toBe(201);
  projectId = ((await res.json()) as { id: string }).id;
  await addMemberDirectly(server, projectId, editor.id, 'editor');
  await addMemberDirectly(server, projectId, viewer.id, 'viewer');
});

afterAll(async () => {
  await kernel?.close();
  // Nothing of the tests' sandboxes outlives them, whatever failed.
  await stopLeftoverInstances(server);
  await server.close();
});

describe(`instances on ${TEST_DIALECT} with the local backend`, () => {
  it('lists the instance types, free and paid', async () => {
    const res = await api('GET', '/api/v1/instance-types', owner);
    expect(res.status).toBe(200);
    const { types } = (await res.json()) as {
      types: { name: string; priceCentsPerHour: number }[];
    };
    expect(types.map((t) => t.name)).toContain('gpu.h100');
    expect(types.filter((t) => t.priceCentsPerHour === 0).map((t) => t.name)).toEqual([
      'cpu.xsmall',
    ]);
  });

  it('launches a free instance mounting the dataset: 202 while it starts, then running', async () => {
    const res = await api('POST', `/api/v1/projects/${projectId}/instances`, owner, {
      type: 'cpu.xsmall',
      datasets: [{ slug: OPEN, version: '1.0' }],
    });
    const launched = (await res.json()) as Instance;
    expect(res.status, JSON.stringify(launched)).toBe(202);
    expect(launched).toMatchObject({
      projectId,
      type: 'cpu.xsmall',
      datasets: [{ slug: OPEN, version: '1.0' }],
      url: `/instances/${launched.id}/`,
    });
    expect(['requested', 'starting']).toContain(launched.state);
    expect(res.headers.get('location')).toBe(`/api/v1/instances/${launched.id}`);
    instanceId = launched.id;

    // While it starts (Jupyter answers only after its Python has loaded), another launch waits.
    const busy = await api('POST', `/api/v1/projects/${projectId}/instances`, editor, {
      type: 'cpu.xsmall',
    });
    expect(busy.status).toBe(429);
    const retryAfter = Number(busy.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(5);
    expect(retryAfter).toBeLessThanOrEqual(15);
    // Its own code, not the free quota's: the web words it as the server being busy.
    expect(await problem(busy)).toMatchObject({
      code: 'too_many_starts',
      detail: expect.stringContaining('the most this server starts at once') as unknown,
    });

    const running = await settle(['starting']);
    expect(running.state, running.failureReason ?? '').toBe('running');

    const list = await api('GET', `/api/v1/projects/${projectId}/instances`, viewer);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { instances: Instance[] }).instances.map((i) => i.id)).toEqual([
      instanceId,
    ]);
  });

  it('refuses a second free instance (429), a paid type until an admin enables it, an unheld dataset and a viewer', async () => {
    const second = await api('POST', `/api/v1/projects/${projectId}/instances`, owner, {
      type: 'cpu.xsmall',
    });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(30);
    expect(await problem(second)).toMatchObject({
      code: 'free_instance_quota',
      detail: expect.stringContaining(`free instance already (${instanceId}, running)`) as unknown,
    });

    const paid = await api('POST', `/api/v1/projects/${projectId}/instances`, owner, {
      type: 'cpu.small',
    });
    expect(paid.status).toBe(403);
    expect(await detail(paid)).toMatch(/cpu\.small is a paid type; .*admin enables/u);

    const unheld = await api('POST', `/api/v1/projects/${projectId}/instances`, owner, {
      type: 'cpu.xsmall',
      datasets: [{ slug: OPEN, version: '2.0' }],
    });
    expect(unheld.status).toBe(409);
    expect(await detail(unheld)).toContain(`no access to ${OPEN} 2.0`);

    const byViewer = await api('POST', `/api/v1/projects/${projectId}/instances`, viewer, {
      type: 'cpu.xsmall',
    });
    expect(byViewer.status).toBe(403);
    expect(await detail(byViewer)).toContain('a viewer of this project may not launch instance');
    expect((await api('POST', `/api/v1/instances/${instanceId}/stop`, viewer)).status).toBe(403);

    // Enabling paid types is an admin's, and the refusal then moves on to the next rule.
    expect(
      (
        await api('PUT', `/api/v1/admin/projects/${projectId}/paid-instances`, owner, {
          enabled: true,
        })
      ).status,
    ).toBe(403);
  });

  it('answers a non-member 404 for the instance, its project and its actions, as for nothing at all', async () => {
    for (const [method, path] of [
      ['GET', `/api/v1/instances/${instanceId}`],
      ['GET', `/api/v1/instances/${instanceId}/usage`],
      ['POST', `/api/v1/instances/${instanceId}/stop`],
      ['POST', `/api/v1/instances/${instanceId}/restart`],
      ['GET', `/api/v1/projects/${projectId}/instances`],
    ] as const) {
      const res = await api(method, path, outsider);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const launch = await api('POST', `/api/v1/projects/${projectId}/instances`, outsider, {
      type: 'cpu.xsmall',
    });
    expect(launch.status).toBe(404);
    const missing = await api('GET', '/api/v1/instances/ins_0000000000000000', outsider);
    expect(missing.status).toBe(404);
    expect((await instance()).state).toBe('running');
  });

  it("lets the project's members reach the notebook through the proxy, and nobody else", async () => {
    const path = `/instances/${instanceId}/api/status`;
    for (const member of [owner, viewer]) {
      const res = await api('GET', path, member);
      expect(res.status).toBe(200);
      expect(await res.json()).toHaveProperty('started');
    }
    expect((await api('GET', path, outsider)).status).toBe(404);
    expect((await api('GET', '/instances/ins_0000000000000000/api/status', owner)).status).toBe(
      404,
    );
    expect((await api('GET', path)).status).toBe(401);
    // The egress guard: Jupyter's download route is refused, audited.
    const download = await api(
      'GET',
      `/instances/${instanceId}/files/datasets/anything.csv`,
      owner,
    );
    expect(download.status).toBe(403);
  });

  it('runs ngsci inside the sandbox: instance_id, datasets through the platform socket, the mounted file, no contest', async () => {
    // The local sandbox binds the server's platform socket, so the server serves it.
    const socket = server.ctx.services.instances.sockets.socketPathOf(instanceId);
    expect(socket).toBe(join(server.dataDir, 'platform', instanceId, 'platform.sock'));
    expect((await stat(socket)).isSocket()).toBe(true);
    kernel = await openKernel();
    const run = await kernel.execute(
      [
        'import ngsci',
        "print('instance', ngsci.instance_id())",
        "print('datasets', [(d.slug, d.version, d.path) for d in ngsci.datasets()])",
        `rows = open('/home/ngsci/datasets/${OPEN}/1.0/tables/ecgs.csv').read().splitlines()`,
        "print('rows', len(rows) - 1)",
        "open('/home/ngsci/project/entry.csv', 'w').write('ecg_id,prediction\\ne0,0.5\\n')",
        "result, message = ngsci.submit_contest_entry('/home/ngsci/project/entry.csv', description='first')",
        "print('contest', result.name, message)",
      ].join('\n'),
    );
    expect(run.status, run.output).toBe('ok');
    expect(run.output).toContain(`instance ${instanceId}`);
    expect(run.output).toContain(
      `datasets [('${OPEN}', '1.0', '/home/ngsci/datasets/${OPEN}/1.0')]`,
    );
    expect(run.output).toContain(`rows ${ROWS}`);
    expect(run.output).toContain('contest FAILURE no contest is open');
  });

  it('refuses a platform call without the instance token', async () => {
    const answer = await callPlatformSocket('GET', '/v1/datasets', { token: 'not-the-token' });
    expect(answer).toMatch(/^401 /u);
  });

  it('answers the same platform calls over HTTP at /platform/v1 (for Pods) with the instance token, and 401 otherwise', async () => {
    // The token ngsci holds inside the sandbox; a Pod reads it from its Secret instead.
    const run = await kernel?.execute(
      "import os\nprint('token', os.environ['LANTERN_PLATFORM_TOKEN'])",
    );
    const token = /token (\S+)/u.exec(run?.output ?? '')?.[1] ?? '';
    expect(token).not.toBe('');
    const platform = (path: string, headers: Record<string, string>) =>
      fetch(`${server.url}/platform${path}`, { headers });
    const own = { authorization: `Bearer ${token}`, 'x-ng-instance-id': instanceId };
    const listed = await platform('/v1/datasets', own);
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({
      datasets: [{ slug: OPEN, version: '1.0', path: `/home/ngsci/datasets/${OPEN}/1.0` }],
    });
    expect(await (await platform('/v1/instance', own)).json()).toEqual({ id: instanceId });
    for (const headers of [
      { ...own, authorization: 'Bearer not-the-token' },
      { ...own, 'x-ng-instance-id': 'ins_0000000000000000' },
      { authorization: own.authorization },
      { ...own, 'x-ng-instance-id': "x' OR '1'='1" },
    ]) {
      expect((await platform('/v1/datasets', headers)).status).toBe(401);
    }
    expect((await platform('/v1/nothing', own)).status).toBe(404);
    await server.flushAudit();
    const calls = await api('GET', '/api/v1/audit/events?action=platform.call', admin);
    expect(calls.status, await detail(calls.clone())).toBe(200);
    const denied = (
      (await calls.json()) as { events: { outcome: string; details: { via: string } }[] }
    ).events.filter((item) => item.outcome === 'denied');
    // The four here over HTTP, and the wrong token on the socket before.
    expect(denied.map((item) => item.details.via).sort()).toEqual([
      'http',
      'http',
      'http',
      'http',
      'socket',
    ]);
  });

  it('withholds a platform answer whose audit record cannot be written (503), and answers once it can', async () => {
    const run = await kernel?.execute(
      "import os\nprint('token', os.environ['LANTERN_PLATFORM_TOKEN'])",
    );
    const token = /token (\S+)/u.exec(run?.output ?? '')?.[1] ?? '';
    expect(token).not.toBe('');
    const marker = 'platform-audit-refused';
    const restore = await refuseAuditEventsOf(server, marker);
    const call = (requestId: string, authorization = `Bearer ${token}`) =>
      fetch(`${server.url}/platform/v1/datasets`, {
        headers: { authorization, 'x-ng-instance-id': instanceId, 'x-request-id': requestId },
      });
    try {
      for (const authorization of [`Bearer ${token}`, 'Bearer not-the-token']) {
        const refused = await call(`${marker}-${authorization.length}`, authorization);
        expect(refused.status).toBe(503);
        const body = await refused.text();
        expect(body).toMatch(/the audit log cannot be written/);
        expect(body).not.toContain(OPEN);
      }
    } finally {
      await restore();
    }
    const answered = await call('platform-audit-written');
    expect(answered.status).toBe(200);
    expect(await server.auditEventsFor('platform-audit-written')).toMatchObject([
      { action: 'platform.call', outcome: 'allowed', details: { status: 200 } },
    ]);
  });

  it('records each call on the platform socket before it answers: 503 and no stop while the audit log refuses, the instance’s own record once it can', async () => {
    const call = (method: string, path: string, requestId: string) =>
      callPlatformSocket(method, path, { requestId });

    const marker = 'socket-audit-refused';
    const activeBefore = (await instance()).lastActivityAt;
    const restore = await refuseAuditEventsOf(server, marker);
    try {
      const read = await call('GET', '/v1/datasets', `${marker}-read`);
      expect(read).toMatch(/^503 .*the audit log cannot be written; the call was not answered/u);
      expect(read).not.toContain(OPEN);
      // The stop's own record is the call's (one request id): refused, so nothing is stopped.
      const stop = await call('POST', '/v1/instance/stop', `${marker}-stop`);
      expect(stop).toMatch(/^503 /u);
      // Not even counted as activity: a call refused for want of its record changes nothing.
      expect(await instance()).toMatchObject({ state: 'running', lastActivityAt: activeBefore });
    } finally {
      await restore();
    }
    expect(await call('GET', '/v1/instance', 'socket-audit-written')).toBe(
      `200 {"id":"${instanceId}"}\n`,
    );
    expect(await server.auditEventsFor('socket-audit-written')).toMatchObject([
      {
        action: 'platform.call',
        actor: `system:instance:${instanceId}`,
        outcome: 'allowed',
        details: {
          via: 'socket',
          method: 'GET',
          path: '/v1/instance',
          status: 200,
          instance: instanceId,
        },
      },
    ]);
    expect(await server.auditEventsFor(`${marker}-stop`)).toEqual([]);
    const after = await instance();
    expect(after.state).toBe('running');
    // The answered call is activity, written once it is on record.
    expect(Date.parse(after.lastActivityAt ?? '')).toBeGreaterThan(Date.parse(activeBefore ?? ''));
  });

  it('finds the instance running after the server restarts on the same data directory, ngsci answering again', async () => {
    await server.close({ keep: true });
    server = await startTestServer(ENV, undefined, {
      dataDir: server.dataDir,
      databaseUrl: server.databaseUrl,
    });
    expect((await instance()).state).toBe('running');
    const run = await kernel?.execute(
      "import ngsci\nprint('again', [d.slug for d in ngsci.datasets()])",
    );
    expect(run?.status, run?.output).toBe('ok');
    expect(run?.output).toContain(`again ['${OPEN}']`);
  });

  it('writes usage while it runs, and closes it at the stop', async () => {
    const open = await usage();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({
      instanceId,
      type: 'cpu.xsmall',
      projectId,
      userId: owner.id,
      closed: false,
    });
    expect(Date.parse(open[0]?.endedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(open[0]?.startedAt ?? ''),
    );

    await kernel?.close();
    kernel = undefined;
    const res = await api('POST', `/api/v1/instances/${instanceId}/stop`, owner);
    expect(res.status).toBe(202);
    expect(((await res.json()) as Instance).state).toBe('stopping');
    expect((await settle(['stopping'])).state).toBe('stopped');
    // The platform socket's folder goes with the instance.
    await expect(stat(join(server.dataDir, 'platform', instanceId))).rejects.toMatchObject({
      code: 'ENOENT',
    });

    const closed = await usage();
    expect(closed).toHaveLength(1);
    expect(closed[0]?.closed).toBe(true);
    expect(closed[0]?.seconds).toBe(
      Math.floor(
        (Date.parse(closed[0]?.endedAt ?? '') - Date.parse(closed[0]?.startedAt ?? '')) / 1000,
      ),
    );
    const again = await api('POST', `/api/v1/instances/${instanceId}/stop`, owner);
    expect(again.status).toBe(409);
    expect(await detail(again)).toBe('an instance that is stopped cannot stop');
  });

  it('restarts the stopped instance, and ngsci.stop_instance() stops it from inside', async () => {
    const res = await api('POST', `/api/v1/instances/${instanceId}/restart`, owner);
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/api/v1/instances/${instanceId}`);
    const running = await settle(['requested', 'starting']);
    expect(running.state, running.failureReason ?? '').toBe('running');
    // The project's files outlived the first run.
    kernel = await openKernel();
    const run = await kernel.execute(
      [
        "print('kept', open('/home/ngsci/project/entry.csv').read().splitlines()[1])",
        'import ngsci',
        'ngsci.stop_instance()',
        "print('asked')",
      ].join('\n'),
    );
    expect(run.output).toContain('kept e0,0.5');
    expect(run.output).toContain('asked');
    await kernel.close();
    kernel = undefined;
    expect((await settle(['running', 'stopping'])).state).toBe('stopped');
    expect((await usage()).map((u) => u.closed)).toEqual([true, true]);

    await server.flushAudit();
    const events = await server.ctx.services.audit.list({ projectId, limit: 200 });
    const actions = events.map((e) => (JSON.parse(e.body) as { action: string }).action);
    for (const action of [
      'instance.launch',
      'instance.start',
      'instance.ready',
      'instance.stop',
      'instance.stopped',
      'instance.restart',
      'contest.submit',
    ]) {
      expect(actions, action).toContain(action);
    }
  });

  it('marks an instance that vanished while the server was down as stopped, with why', async () => {
    const res = await api('POST', `/api/v1/instances/${instanceId}/restart`, owner);
    expect(res.status).toBe(202);
    expect((await settle(['requested', 'starting'])).state).toBe('running');
    const sandbox = await sandboxOf(server, instanceId);
    await server.close({ keep: true });
    // The sandbox's pid 1 killed from outside, and gone, before the server comes back.
    await killSandbox(sandbox);
    server = await startTestServer(ENV, undefined, {
      dataDir: server.dataDir,
      databaseUrl: server.databaseUrl,
    });
    const found = await instance();
    expect(found.state).toBe('stopped');
    expect(found.failureReason).toContain('ended without a stop');
    expect((await usage()).every((u) => u.closed)).toBe(true);
  });

  it('stops a running instance when its project is archived, and launches no more there', async () => {
    const res = await api('POST', `/api/v1/instances/${instanceId}/restart`, owner);
    expect(res.status).toBe(202);
    expect((await settle(['requested', 'starting'])).state).toBe('running');
    expect((await api('POST', `/api/v1/projects/${projectId}/archive`, owner)).status).toBe(200);
    const stopped = await settle(['running', 'stopping']);
    expect(stopped).toMatchObject({
      state: 'stopped',
      failureReason: 'stopped because the project was archived',
    });
    expect((await usage()).every((u) => u.closed)).toBe(true);
    const launch = await api('POST', `/api/v1/projects/${projectId}/instances`, owner, {
      type: 'cpu.xsmall',
    });
    expect(launch.status).toBe(409);
    expect(await detail(launch)).toContain('archived');
  });

  it('lets an admin enable paid types for the project', async () => {
    const res = await api('PUT', `/api/v1/admin/projects/${projectId}/paid-instances`, admin, {
      enabled: true,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ projectId, paidInstances: true });
  });
});

describe('the instance type catalogue from LANTERN_INSTANCE_TYPES', () => {
  it("serves the admin's file, and refuses to start on a file that is not a catalogue", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lantern-types-'));
    try {
      const file = join(dir, 'types.json');
      const small = {
        name: 'cpu.tiny',
        title: 'Tiny CPU (free)',
        vcpus: 1,
        memoryMib: 2048,
        gpu: null,
        diskGib: 10,
        priceCentsPerHour: 0,
      };
      await writeFile(file, JSON.stringify([small]));
      const custom = await startTestServer({
        LANTERN_INSTANCE_TYPES: file,
        LANTERN_INSTANCE_START_WAIT_MS: '0',
      });
      try {
        const someone = await createSignedInUser(custom, {
          email: 'tess@example.org',
          roles: ['researcher'],
          password: PASSWORD,
        });
        const res = await request(custom, 'GET', '/api/v1/instance-types', someone);
        expect(await res.json()).toEqual({ types: [small] });

        // Two launches of a free type at once from two projects (no project lock between them):
        // one goes through and the other is the same 429, whether the check refuses it or (when
        // the transactions overlap, as they can on PostgreSQL) the quota's unique index.
        await chmod(custom.dataDir, 0o711);
        const projects: string[] = [];
        for (const title of ['First study', 'Second study']) {
          const made = await request(custom, 'POST', '/api/v1/projects', someone, {
            title,
            purpose: 'Whether two launches at once can both take the free quota.',
            datasets: [],
          });
          projects.push(((await made.json()) as { id: string }).id);
        }
        const answers = await Promise.all(
          projects.map((id) =>
            request(custom, 'POST', `/api/v1/projects/${id}/instances`, someone, {
              type: 'cpu.tiny',
            }),
          ),
        );
        expect(answers.map((a) => a.status).sort()).toEqual([202, 429]);
        const refused = answers.find((a) => a.status === 429);
        // The race lost at the unique index is the same refusal, with the same code.
        expect(await problem(refused ?? new Response('{}'))).toMatchObject({
          code: 'free_instance_quota',
          detail: expect.stringContaining('free instances are one per person') as unknown,
        });
        await stopLeftoverInstances(custom);
      } finally {
        await custom.close();
      }
      await writeFile(file, JSON.stringify([small, small]));
      await expect(startTestServer({ LANTERN_INSTANCE_TYPES: file })).rejects.toThrow(
        /LANTERN_INSTANCE_TYPES: .* is not a valid catalogue .*cpu\.tiny is listed twice/su,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a launch that runs within the wait, and one whose server died before it started', () => {
  it('answers 201 with the instance running when it starts within the wait, and a restart 200', async () => {
    // Long enough for any start here: the answer comes when the notebook answers, not after it.
    const waiting = await startTestServer({ LANTERN_INSTANCE_START_WAIT_MS: '60000' });
    try {
      await chmod(waiting.dataDir, 0o711);
      const someone = await createSignedInUser(waiting, {
        email: 'wanda@example.org',
        roles: ['researcher'],
        password: PASSWORD,
      });
      const made = await request(waiting, 'POST', '/api/v1/projects', someone, {
        title: 'Waiting study',
        purpose: 'Whether a launch that starts within the wait answers 201.',
        datasets: [],
      });
      const project = ((await made.json()) as { id: string }).id;
      const res = await request(waiting, 'POST', `/api/v1/projects/${project}/instances`, someone, {
        type: 'cpu.xsmall',
      });
      const launched = (await res.json()) as Instance;
      expect(res.status, JSON.stringify(launched)).toBe(201);
      expect(launched.state, launched.failureReason ?? '').toBe('running');
      expect(res.headers.get('location')).toBe(`/api/v1/instances/${launched.id}`);
      // Running means the notebook answers: the proxy reaches it at once.
      const status = await request(waiting, 'GET', `/instances/${launched.id}/api/status`, someone);
      expect(status.status).toBe(200);
      // The launch is the researcher's; the notebook answering is the system's news.
      await waiting.flushAudit();
      const events = await waiting.ctx.services.audit.list({ projectId: project, limit: 50 });
      const actorOf = (action: string) =>
        events
          .map((e) => JSON.parse(e.body) as { action: string; actor: string })
          .find((e) => e.action === action)?.actor;
      expect(actorOf('instance.launch')).toBe(`user:${someone.id}`);
      expect(actorOf('instance.ready')).toBe('system:lantern');

      const stop = await request(waiting, 'POST', `/api/v1/instances/${launched.id}/stop`, someone);
      expect(stop.status).toBe(202);
      await expect
        .poll(async () => {
          const now = await request(waiting, 'GET', `/api/v1/instances/${launched.id}`, someone);
          return ((await now.json()) as Instance).state;
        })
        .toBe('stopped');
      const again = await request(
        waiting,
        'POST',
        `/api/v1/instances/${launched.id}/restart`,
        someone,
      );
      expect(again.status).toBe(200);
      expect(((await again.json()) as Instance).state).toBe('running');
      await stopLeftoverInstances(waiting);
    } finally {
      await waiting.close();
    }
  });

  it('starts a launch recorded as requested by a server that died before it started it', async () => {
    const first = await startTestServer({ LANTERN_INSTANCE_POLL_MS: '100' });
    let second: TestServer | null = null;
    try {
      await chmod(first.dataDir, 0o711);
      const someone = await createSignedInUser(first, {
        email: 'rita@example.org',
        roles: ['researcher'],
        password: PASSWORD,
      });
      const made = await request(first, 'POST', '/api/v1/projects', someone, {
        title: 'Interrupted study',
        purpose: 'Whether a launch outlives the server that recorded it.',
        datasets: [],
      });
      const project = ((await made.json()) as { id: string }).id;
      // What a launch's transaction leaves when its process dies right after it commits: the
      // row, requested, and no start anywhere (this server's reconciler stopped first).
      await first.ctx.instanceReconciler.stop();
      const id = 'ins_00000000000000aa';
      await recordRequestedLaunch(first, { id, projectId: project, userId: someone.id });
      await first.close({ keep: true });
      second = await startTestServer({ LANTERN_INSTANCE_POLL_MS: '100' }, undefined, {
        dataDir: first.dataDir,
        databaseUrl: first.databaseUrl,
      });
      const server = second;
      await expect
        .poll(
          async () => {
            const now = await request(server, 'GET', `/api/v1/instances/${id}`, someone);
            const instance = (await now.json()) as Instance;
            return `${instance.state} ${instance.failureReason ?? ''}`.trim();
          },
          { timeout: 90_000, interval: 100 },
        )
        .toBe('running');
      await server.flushAudit();
      const events = await server.ctx.services.audit.list({ projectId: project, limit: 50 });
      const actions = events.map((e) => (JSON.parse(e.body) as { action: string }).action);
      expect(actions).toEqual(expect.arrayContaining(['instance.start', 'instance.ready']));
      await stopLeftoverInstances(server);
    } finally {
      await (second ?? first).close();
    }
  });
});
