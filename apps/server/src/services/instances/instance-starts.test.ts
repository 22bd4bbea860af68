/**
 * Starts that die half-way, and starts of several replicas (issue 8's hardening), with the real
 * local backend (Debian's Jupyter in bubblewrap) and two instance services on one database, as
 * two server replicas would be. The backends here pass everything to the real one, and either
 * hold the handle of a sandbox that runs (a replica whose start is slow to finish) or lose it (a
 * start that fails after the sandbox started):
 *
 * - a start still under way on one replica, its lease renewed, is left alone by another replica's
 *   reconciler; once its lease has run out, that reconciler fails it and stops its sandbox, found
 *   by the instance's id (no handle was ever stored);
 * - a start that fails after the backend started the sandbox stops that sandbox;
 * - a replica booting (restore) does the same as a reconciler: a start whose lease runs is left
 *   to its replica, an abandoned one failed and its sandbox stopped.
 */
import { chmod } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  BackendHandle,
  BackendState,
  ComputeBackend,
  ComputeBackendKind,
  LaunchSpec,
} from '../../compute/compute-backend.js';
import { instancesRepository } from '../../repositories/instances/instances.repository.js';
import type { ComponentCheck } from '../../storage/object-store.js';
import { request } from '../../testing/http.js';
import { isSandboxAlive, stopLeftoverInstances } from '../../testing/instances.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../../testing/users.js';
import type { InstanceService } from './instance.service.js';

/** The real backend, except that each start's handle is held until `release`, or lost. */
class HandleHoldingBackend implements ComputeBackend {
  readonly kind: ComputeBackendKind;
  readonly startPollMs: number;
  /** The handles the real backend returned, in order. */
  readonly started: BackendHandle[] = [];
  private released: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => {
    this.released = resolve;
  });

  constructor(
    private readonly real: ComputeBackend,
    private readonly afterStart: 'hold' | 'lose',
  ) {
    this.kind = real.kind;
    this.startPollMs = real.startPollMs ?? 1000;
  }

  check(): Promise<ComponentCheck> {
    return this.real.check();
  }

  bindsPlatformSocket(handle?: BackendHandle): boolean {
    return this.real.bindsPlatformSocket(handle);
  }

  async start(spec: LaunchSpec): Promise<BackendHandle> {
    const handle = await this.real.start(spec);
    this.started.push(handle);
    if (this.afterStart === 'lose') {
      throw new Error('the sandbox started, and its handle was lost');
    }
    await this.gate;
    return handle;
  }

  release(): void {
    this.released();
  }

  find(instanceId: string): Promise<BackendHandle | null> {
    return this.real.find(instanceId);
  }

  poll(handle: BackendHandle): Promise<BackendState> {
    return this.real.poll(handle);
  }

  stop(handle: BackendHandle): Promise<void> {
    return this.real.stop(handle);
  }

  restore(handles: readonly BackendHandle[]): Promise<BackendState[]> {
    return this.real.restore(handles);
  }
}

const PASSWORD = 'seven quiet rivers under the hill';
const HOUR_MS = 60 * 60 * 1000;

let server: TestServer;
let researcher: SignedInUser;
let projectId: string;
const replicas: InstanceService[] = [];

async function rowOf(instanceId: string) {
  const row = await instancesRepository.byId(server.ctx.database.db, instanceId);
  if (row === undefined) {
    throw new Error(`no instance ${instanceId}`);
  }
  return row;
}

async function firstStarted(backend: HandleHoldingBackend): Promise<BackendHandle> {
  await expect.poll(() => backend.started.length, { timeout: 60_000, interval: 50 }).toBe(1);
  const [handle] = backend.started;
  if (handle === undefined) {
    throw new Error('nothing started');
  }
  return handle;
}

beforeAll(async () => {
  server = await startTestServer({
    LANTERN_INSTANCE_POLL_MS: '100',
    LANTERN_INSTANCE_START_WAIT_MS: '0',
  });
  // The sandbox user (uid 4242) opens the binds: the data directory must be traversable.
  await chmod(server.dataDir, 0o711);
  researcher = await createSignedInUser(server, {
    email: 'rhea@example.org',
    roles: ['researcher'],
    password: PASSWORD,
  });
  const made = await request(server, 'POST', '/api/v1/projects', researcher, {
    title: 'Replicated study',
    purpose: 'Whether starts survive the replicas that run them.',
    datasets: [],
  });
  expect(made.status).toBe(201);
  projectId = ((await made.json()) as { id: string }).id;
});

afterAll(async () => {
  for (const replica of replicas) {
    await replica.close();
  }
  await stopLeftoverInstances(server);
  await server.close();
});

describe(`starts and replicas on ${TEST_DIALECT} with the local backend`, () => {
  it("leaves another replica's start alone while its lease is renewed, then fails it and stops its sandbox", async () => {
    const slow = new HandleHoldingBackend(server.ctx.compute, 'hold');
    const starter = server.ctx.services.instances.replicaWith(slow, { startLeaseMs: 3000 });
    replicas.push(starter);
    const launched = await starter.launch(researcher.id, projectId, {
      type: 'cpu.xsmall',
      datasets: [],
    });
    expect(launched.pending).toBe(true);
    const id = launched.instance.id;
    const sandbox = await firstStarted(slow);

    // The sandbox runs, its handle not stored yet: the start is under way, and its lease renewed.
    const claimed = await rowOf(id);
    expect(claimed).toMatchObject({
      state: 'starting',
      handle: null,
      start_owner: starter.replica,
    });
    const leased = claimed.start_lease_until?.getTime() ?? 0;
    await expect
      .poll(async () => (await rowOf(id)).start_lease_until?.getTime() ?? 0, {
        timeout: 10_000,
        interval: 50,
      })
      .toBeGreaterThan(leased);

    // The server's own service is the other replica: its reconciler leaves the start alone.
    await server.ctx.services.instances.reconcile();
    expect(await rowOf(id)).toMatchObject({ state: 'starting', failure_reason: null });
    expect(await isSandboxAlive(sandbox)).toBe(true);

    // Later than the lease (a replica whose clock is an hour on, as if the starter had died): the
    // start is failed, and its sandbox, known by nothing but the instance's id, stopped.
    const later = server.ctx.services.instances.replicaWith(server.ctx.compute, {
      now: () => new Date(Date.now() + HOUR_MS),
    });
    replicas.push(later);
    await later.reconcile();
    expect(await rowOf(id)).toMatchObject({
      state: 'failed',
      handle: null,
      failure_reason: 'the server stopped while it was starting this instance',
    });
    expect(await isSandboxAlive(sandbox)).toBe(false);
    expect(await server.ctx.compute.find(id)).toBeNull();

    // The starter comes back with its handle: taken over, it stores nothing and starts nothing.
    slow.release();
    await starter.close();
    expect(await rowOf(id)).toMatchObject({ state: 'failed', handle: null });
    expect(await isSandboxAlive(sandbox)).toBe(false);
  });

  it('stops the sandbox of a start that failed after the backend started it', async () => {
    const losing = new HandleHoldingBackend(server.ctx.compute, 'lose');
    const starter = server.ctx.services.instances.replicaWith(losing);
    replicas.push(starter);
    const launched = await starter.launch(researcher.id, projectId, {
      type: 'cpu.xsmall',
      datasets: [],
    });
    const id = launched.instance.id;
    const sandbox = await firstStarted(losing);
    await expect
      .poll(async () => (await rowOf(id)).state, { timeout: 60_000, interval: 50 })
      .toBe('failed');
    // The failure is recorded before the sandbox is stopped: wait for the start to finish.
    await starter.close();
    expect((await rowOf(id)).failure_reason).toBe('the sandbox started, and its handle was lost');
    expect(await isSandboxAlive(sandbox)).toBe(false);
    expect(await server.ctx.compute.find(id)).toBeNull();
  });

  it('at boot, leaves a start whose lease runs to its replica, and fails an abandoned one and stops its sandbox', async () => {
    const slow = new HandleHoldingBackend(server.ctx.compute, 'hold');
    const starter = server.ctx.services.instances.replicaWith(slow, { startLeaseMs: 3000 });
    replicas.push(starter);
    const launched = await starter.launch(researcher.id, projectId, {
      type: 'cpu.xsmall',
      datasets: [],
    });
    const id = launched.instance.id;
    const sandbox = await firstStarted(slow);

    // A replica booting now: the lease runs, so the start is its replica's still.
    const booted = server.ctx.services.instances.replicaWith(server.ctx.compute);
    replicas.push(booted);
    await booted.restore();
    expect(await rowOf(id)).toMatchObject({ state: 'starting', failure_reason: null });
    expect(await isSandboxAlive(sandbox)).toBe(true);

    // A replica booting after the lease ran out: the start died with its server.
    const bootedLater = server.ctx.services.instances.replicaWith(server.ctx.compute, {
      now: () => new Date(Date.now() + HOUR_MS),
    });
    replicas.push(bootedLater);
    await bootedLater.restore();
    expect(await rowOf(id)).toMatchObject({
      state: 'failed',
      failure_reason: 'the server stopped while it was starting this instance',
    });
    expect(await isSandboxAlive(sandbox)).toBe(false);
    slow.release();
    await starter.close();
  });
});
