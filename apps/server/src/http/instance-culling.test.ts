import { chmod } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopLeftoverInstances } from '../testing/instances.js';
import { request, type As } from '../testing/http.js';
import { jupyterApi, JupyterKernel, type Execution } from '../testing/jupyter-kernel.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

// Idle culling with the real local backend (issue 8): Debian's Jupyter in its sandbox, the
// reconciler every 100 ms, culling after 60 minutes with a 10-minute warning. Time is the instance
// service's clock, moved forward by the test: nothing waits an hour, and nothing here asserts how
// long anything took. A kernel busy in `time.sleep` two hours past its last activity is kept; once
// idle, the instance is warned (audited, emailed, `idleStopAt`), traffic through the proxy
// withdraws the warning, and at the end of the next warning it is stopped with why, usage closed.
// A kernel Jupyter wrongly calls idle mid-cell is asked itself before any stop, and keeps it.

const ENV = {
  LANTERN_INSTANCE_POLL_MS: '100',
  LANTERN_INSTANCE_IDLE_MINUTES: '60',
  LANTERN_INSTANCE_IDLE_WARNING_MINUTES: '10',
};
const MINUTE = 60_000;
const PASSWORD = 'seven quiet rivers under the hill';

let server: TestServer;
let owner: SignedInUser;
let projectId: string;
let instanceId: string;
let kernel: JupyterKernel | undefined;
/** How far the service's clock is ahead of the machine's. */
let aheadMs = 0;
const clock = () => new Date(Date.now() + aheadMs);

interface Instance {
  id: string;
  state: string;
  failureReason: string | null;
  lastActivityAt: string | null;
  idleStopAt: string | null;
}

const api = (method: string, path: string, as: As = {}, body?: unknown) =>
  request(server, method, path, as, body);

async function instance(): Promise<Instance> {
  const res = await api('GET', `/api/v1/instances/${instanceId}`, owner);
  expect(res.status).toBe(200);
  return (await res.json()) as Instance;
}

/** Reads the instance (a real GET each time) until `done` holds of it; the last reading. */
async function until(done: (now: Instance) => boolean, timeoutMs = 90_000): Promise<Instance> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const now = await instance();
    if (done(now) || performance.now() > deadline) {
      return now;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function notebook(): Promise<{ socketPath: string; baseUrl: string; token: string }> {
  const connection = await server.ctx.services.instances.connection(instanceId);
  if (connection === null || !('socketPath' in connection.endpoint)) {
    throw new Error('the instance has no notebook socket');
  }
  return { ...connection, socketPath: connection.endpoint.socketPath };
}

/** The kernels' execution states, as Jupyter reports them. */
async function kernelStates(): Promise<string[]> {
  const { socketPath, baseUrl, token } = await notebook();
  const res = await jupyterApi(socketPath, token, 'GET', `${baseUrl}api/kernels`);
  return (res.body as { execution_state: string }[]).map((k) => k.execution_state);
}

/** Interrupts the kernel's running `cell` and waits for the kernel to be idle again. */
async function interrupt(cell: Promise<Execution> | undefined): Promise<void> {
  const { socketPath, baseUrl, token } = await notebook();
  const interrupted = await jupyterApi(
    socketPath,
    token,
    'POST',
    `${baseUrl}api/kernels/${kernel?.id ?? ''}/interrupt`,
  );
  expect(interrupted.status).toBe(204);
  expect((await cell)?.output).toContain('KeyboardInterrupt');
  await expect.poll(kernelStates, { timeout: 60_000 }).toEqual(['idle']);
}

async function auditOf(action: string): Promise<Record<string, unknown>[]> {
  await server.flushAudit();
  const events = await server.ctx.services.audit.list({ projectId, limit: 500 });
  return events
    .map((e) => JSON.parse(e.body) as { action: string; target?: string; details?: unknown })
    .filter((e) => e.action === action && e.target === `instance:${instanceId}`)
    .map((e) => (e.details ?? {}) as Record<string, unknown>);
}

/** Moves the service's clock `minutes` past the instance's last recorded activity. */
async function idleFor(minutes: number): Promise<void> {
  const last = Date.parse((await instance()).lastActivityAt ?? '');
  expect(Number.isNaN(last)).toBe(false);
  aheadMs = last + minutes * MINUTE - Date.now();
}

beforeAll(async () => {
  server = await startTestServer(ENV, undefined, { now: clock });
  // The sandbox user (uid 4242) opens the binds: the data directory must be traversable.
  await chmod(server.dataDir, 0o711);
  owner = await createSignedInUser(server, {
    email: 'iris@example.org',
    roles: ['researcher'],
    password: PASSWORD,
  });
  const made = await api('POST', '/api/v1/projects', owner, {
    title: 'Long-running training',
    purpose: 'Whether a model trained for hours survives the idle culler while it trains.',
    datasets: [],
  });
  expect(made.status).toBe(201);
  projectId = ((await made.json()) as { id: string }).id;
  const launched = await api('POST', `/api/v1/projects/${projectId}/instances`, owner, {
    type: 'cpu.xsmall',
  });
  // 201 when it runs within LANTERN_INSTANCE_START_WAIT_MS, else 202 while it starts.
  expect([201, 202]).toContain(launched.status);
  instanceId = ((await launched.json()) as { id: string }).id;
  const running = await until((now) => now.state !== 'starting' && now.state !== 'requested');
  expect(running.state, running.failureReason ?? '').toBe('running');
  const { socketPath, baseUrl, token } = await notebook();
  kernel = await JupyterKernel.open(socketPath, baseUrl, token);
  await kernel.settle();
}, 120_000);

afterAll(async () => {
  await kernel?.close();
  await stopLeftoverInstances(server);
  await server.close();
});

describe(`idle culling with the local backend, on ${TEST_DIALECT}`, () => {
  it('keeps an instance whose kernel is busy in a long cell, long past the idle time, and counts it as activity', async () => {
    const cell = kernel?.execute('import time\ntime.sleep(600)');
    await expect.poll(kernelStates, { timeout: 60_000 }).toContain('busy');

    const before = Date.parse((await instance()).lastActivityAt ?? '');
    // Two hours past any activity: anything but a busy kernel would be warned and stopped.
    await idleFor(120);
    const kept = await until(
      (now) =>
        Date.parse(now.lastActivityAt ?? '') >= before + 120 * MINUTE ||
        now.idleStopAt !== null ||
        now.state !== 'running',
    );
    expect(kept).toMatchObject({ state: 'running', idleStopAt: null });
    // The culler looked and found the kernel busy: that is activity now, on the service's clock.
    expect(Date.parse(kept.lastActivityAt ?? '')).toBeGreaterThanOrEqual(before + 120 * MINUTE);
    expect(await auditOf('instance.idle_warning')).toEqual([]);

    // The cell is interrupted; the kernel goes idle.
    await interrupt(cell);
  }, 120_000);

  it('asks every kernel before a stop, and keeps one that runs a cell while Jupyter calls it idle (a warning was given)', async () => {
    // The cell says `idle` on iopub itself as it starts, as the status messages of a websocket's
    // nudge do mid-cell (jupyter_server 1.23): Jupyter then records the kernel idle while it runs.
    let began = false;
    const cell = kernel?.execute(
      "import time\nget_ipython().kernel._publish_status('idle', 'shell')\ntime.sleep(600)",
      () => {
        began = true;
      },
    );
    await expect.poll(() => began, { timeout: 60_000 }).toBe(true);
    await expect.poll(kernelStates, { timeout: 60_000 }).toEqual(['idle']);

    // Jupyter's word is enough for a warning (a notice, which any use withdraws) …
    await idleFor(51);
    const warned = await until((now) => now.idleStopAt !== null || now.state !== 'running');
    expect(warned.state).toBe('running');
    // … not for the stop: at the stop every kernel is asked, and this one does not reply.
    aheadMs = Date.parse(warned.idleStopAt ?? '') + MINUTE - Date.now();
    const stopAt = Date.parse(warned.idleStopAt ?? '');
    const kept = await until(
      (now) => Date.parse(now.lastActivityAt ?? '') >= stopAt || now.state !== 'running',
    );
    expect(kept).toMatchObject({ state: 'running', idleStopAt: null });
    expect(await auditOf('instance.idle_stop')).toEqual([]);

    await interrupt(cell);
  }, 120_000);

  it('warns an idle instance 10 minutes before its stop: idleStopAt, an audit event, an email to its launcher', async () => {
    await idleFor(51);
    const warned = await until((now) => now.idleStopAt !== null || now.state !== 'running');
    expect(warned.state).toBe('running');
    const last = Date.parse(warned.lastActivityAt ?? '');
    const stopAt = Date.parse(warned.idleStopAt ?? '');
    // Idle for the whole hour, and warned for the whole ten minutes, whichever is later.
    expect(stopAt).toBeGreaterThanOrEqual(last + 60 * MINUTE);

    // The second: the test before was warned once too.
    const warnings = await auditOf('instance.idle_warning');
    expect(warnings).toHaveLength(2);
    expect(warnings).toContainEqual(
      expect.objectContaining({ idleMinutes: 51, stopAt: warned.idleStopAt }),
    );
    const mail = await server.ctx.services.email.list({ limit: 50 });
    const sent = mail.filter((m) => m.kind === 'instance.idle_warning');
    expect(sent).toHaveLength(2);
    for (const one of sent) {
      expect(one.to_address).toBe('iris@example.org');
      expect(one.subject).toContain('Long-running training');
      expect(one.body_text).toContain(instanceId);
      expect(one.body_text).toContain(`/projects/${projectId}`);
    }
  }, 120_000);

  it('withdraws the warning when the notebook is used through the proxy', async () => {
    const res = await api('GET', `/instances/${instanceId}/api/contents`, owner);
    expect(res.status).toBe(200);
    const used = await until((now) => now.idleStopAt === null);
    expect(used.state).toBe('running');
    expect(used.idleStopAt).toBeNull();
  }, 120_000);

  it('stops the instance once idle past the warning, saying why, its usage closed and audited', async () => {
    await idleFor(52);
    const warned = await until((now) => now.idleStopAt !== null || now.state !== 'running');
    expect(warned.state).toBe('running');
    expect(await auditOf('instance.idle_warning')).toHaveLength(3);
    // Still running until the warning has stood its ten minutes.
    aheadMs = Date.parse(warned.idleStopAt ?? '') + MINUTE - Date.now();
    const stopped = await until((now) => now.state === 'stopped' || now.state === 'failed');
    expect(stopped.state).toBe('stopped');
    expect(stopped.failureReason).toMatch(/^stopped after \d+ minutes idle$/u);
    expect(stopped.idleStopAt).toBeNull();

    const usage = await api('GET', `/api/v1/instances/${instanceId}/usage`, owner);
    const records = ((await usage.json()) as { usage: { closed: boolean }[] }).usage;
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((u) => u.closed)).toBe(true);
    const stops = await auditOf('instance.idle_stop');
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({
      from: 'running',
      to: 'stopping',
      by: 'idle culler',
      reason: stopped.failureReason,
    });
    await kernel?.close();
    kernel = undefined;
  }, 120_000);
});
