import { readdir, readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { BackendHandle } from '../compute/compute-backend.js';
import { isSameProcessAlive, signalProcess } from '../compute/local/processes.js';
import { instancesRepository } from '../repositories/instances/instances.repository.js';
import { request, type As } from './http.js';
import type { TestServer } from './test-server.js';

const localHandle = z.object({
  kind: z.literal('local'),
  ref: z.string(),
  details: z.object({ pid: z.number().int().positive(), startTime: z.string() }).loose(),
});

/**
 * Stops, through the backend itself, every instance the database still calls live: sandboxes
 * outlive servers by design, so a test that failed half-way must not leave one running.
 */
export async function stopLeftoverInstances(server: TestServer): Promise<void> {
  for (const row of await instancesRepository.liveInstances(server.ctx.database.db)) {
    if (row.handle !== null) {
      await server.ctx.compute.stop(JSON.parse(row.handle) as BackendHandle);
    }
  }
}

/**
 * Launches a `cpu.xsmall` instance of `projectId` through the API as `as`, mounting `datasets`,
 * and waits (each look a real GET, at most `timeoutMs`) until it runs; its id. A launch that ends
 * in another state throws, with the state and why.
 */
export async function launchRunningInstance(
  server: TestServer,
  as: As,
  projectId: string,
  datasets: { slug: string; version: string }[],
  timeoutMs = 90_000,
): Promise<string> {
  const launched = await request(server, 'POST', `/api/v1/projects/${projectId}/instances`, as, {
    type: 'cpu.xsmall',
    datasets,
  });
  if (launched.status !== 202) {
    throw new Error(`the launch was answered ${launched.status}: ${await launched.text()}`);
  }
  const { id } = (await launched.json()) as { id: string };
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const res = await request(server, 'GET', `/api/v1/instances/${id}`, as);
    const { state, error } = (await res.json()) as { state: string; error?: string | null };
    if (state === 'running') {
      return id;
    }
    if (!['requested', 'starting'].includes(state) || performance.now() > deadline) {
      throw new Error(`instance ${id} is ${state}, not running: ${error ?? 'no reason given'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A local instance's sandbox: its pid 1 and that process's start time, from its handle. */
export async function sandboxOf(
  server: TestServer,
  instanceId: string,
): Promise<{ pid: number; startTime: string }> {
  const row = await instancesRepository.byId(server.ctx.database.db, instanceId);
  return localHandle.parse(JSON.parse(row?.handle ?? 'null')).details;
}

/** Whether the local sandbox of `handle` (its pid 1, the same process) still runs. */
export function isSandboxAlive(handle: BackendHandle): Promise<boolean> {
  const { pid, startTime } = localHandle.parse(handle).details;
  return isSameProcessAlive(pid, startTime);
}

/**
 * Kills a sandbox from outside (SIGKILL to its pid 1, as a crash or an operator would) and waits
 * until it is gone.
 */
export async function killSandbox(sandbox: { pid: number; startTime: string }): Promise<void> {
  signalProcess(sandbox.pid, 'SIGKILL');
  while (await isSameProcessAlive(sandbox.pid, sandbox.startTime)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A stopped instance with one closed usage record, written straight in the database as the
 * reconciler would have: for tests of what usage costs, with times chosen by hand.
 */
export async function recordUsageDirectly(
  server: TestServer,
  usage: {
    instanceId: string;
    projectId: string;
    userId: string;
    type: string;
    priceCentsPerHour: number;
    startedAt: Date;
    endedAt: Date;
  },
): Promise<void> {
  await server.ctx.database.db.transaction().execute(async (trx) => {
    await instancesRepository.insert(trx, {
      id: usage.instanceId,
      project_id: usage.projectId,
      user_id: usage.userId,
      type_name: usage.type,
      free: usage.priceCentsPerHour === 0,
      state: 'stopped',
      backend_kind: server.ctx.compute.kind,
      datasets: '[]',
      started_at: usage.startedAt,
      stopped_at: usage.endedAt,
    });
    await instancesRepository.openUsage(trx, {
      id: `use_${usage.instanceId.slice('ins_'.length)}`,
      instance_id: usage.instanceId,
      type_name: usage.type,
      price_cents_per_hour: usage.priceCentsPerHour,
      user_id: usage.userId,
      project_id: usage.projectId,
      started_at: usage.startedAt,
      ended_at: usage.endedAt,
      closed: true,
    });
  });
}

/**
 * What a launch's transaction leaves when its process dies right after the commit: the instance's
 * row, `requested`, its start not begun anywhere. Free, of the free type `cpu.xsmall`, no datasets.
 */
export async function recordRequestedLaunch(
  server: TestServer,
  launch: { id: string; projectId: string; userId: string },
): Promise<void> {
  await server.ctx.database.db.transaction().execute((trx) =>
    instancesRepository.insert(trx, {
      id: launch.id,
      project_id: launch.projectId,
      user_id: launch.userId,
      type_name: 'cpu.xsmall',
      free: true,
      state: 'requested',
      backend_kind: server.ctx.compute.kind,
      datasets: '[]',
    }),
  );
}

/** An instance as a member of its project reads it through the API (a real GET, which must answer). */
export async function readInstance(
  server: TestServer,
  as: As,
  instanceId: string,
): Promise<{ id: string; state: string; failureReason: string | null }> {
  const res = await request(server, 'GET', `/api/v1/instances/${instanceId}`, as);
  if (res.status !== 200) {
    throw new Error(`GET instance ${instanceId}: ${res.status} ${await res.text()}`);
  }
  return (await res.json()) as { id: string; state: string; failureReason: string | null };
}

/**
 * Host processes whose command line names `text` (a sandbox's argv names its base URL, a Slurm
 * relay's its instance's folder), as `pid: argv`, for tests that look for what runs of an instance.
 */
export async function processesNaming(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/u.test(name))) {
    try {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (cmdline.includes(text)) {
        found.push(`${pid}: ${cmdline.slice(0, 120)}`);
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
