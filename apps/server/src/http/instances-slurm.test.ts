import { execFile } from 'node:child_process';
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAuditBody } from '@lantern/core/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTinyDataset } from '../testing/datasets.js';
import { processesNaming, readInstance, stopLeftoverInstances } from '../testing/instances.js';
import { request } from '../testing/http.js';
import { JupyterKernel } from '../testing/jupyter-kernel.js';
import { startThrowawaySlurm, type ThrowawaySlurm } from '../testing/slurm.js';
import { freePort, startTestServer, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

// Instances on Slurm with relays (LANTERN_SLURM_RELAY=on) through the real server (issue 8): a real
// single-node Slurm (munged, slurmctld, slurmd) started here as root runs the sandboxed notebook
// and its relay (python/slurm-relay.py) as a batch job. The server serves no platform socket for
// it (ngsci's socket is the relay's, which carries its calls to /platform/v1), and when the relay
// dies the job ends and the instance fails with why.
const exec = promisify(execFile);
const PASSWORD = 'seven quiet rivers under the hill';
const OPEN = 'demo-slurm-ecg';
/** Starts on Slurm wait for the scheduler and a notebook's Python: generously. */
const SETTLE_MS = 120_000;

type Instance = Awaited<ReturnType<typeof readInstance>>;

let slurm: ThrowawaySlurm;
let server: TestServer;
let owner: SignedInUser;
let projectId: string;
let instanceId: string;

/** Reads the instance until it leaves `passing` states (the reconciler moves it). */
async function settle(passing: string[]): Promise<Instance> {
  const deadline = performance.now() + SETTLE_MS;
  for (;;) {
    const now = await readInstance(server, owner, instanceId);
    if (!passing.includes(now.state) || performance.now() > deadline) {
      return now;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Slurm's jobs of the instance still in the queue. */
async function queued(): Promise<string> {
  const { stdout } = await exec('squeue', ['--noheader', `--name=lantern-${instanceId}`], {
    env: { ...process.env, SLURM_CONF: slurm.slurmConf },
  });
  return stdout.trim();
}

beforeAll(async () => {
  slurm = await startThrowawaySlurm();
  // The relays carry ngsci's calls to the server's URL, which must be known before it listens.
  const port = await freePort();
  server = await startTestServer(
    {
      LANTERN_COMPUTE_BACKEND: 'slurm',
      LANTERN_SLURM_CONF: slurm.slurmConf,
      LANTERN_SLURM_INSTANCES_DIR: join(slurm.dir, 'instances'),
      LANTERN_SLURM_RELAY: 'on',
      LANTERN_SLURM_RELAY_BIND: '127.0.0.1',
      LANTERN_SLURM_PLATFORM_URL: `http://127.0.0.1:${port}`,
      LANTERN_INSTANCE_POLL_MS: '100',
      LANTERN_INSTANCE_START_WAIT_MS: '0',
    },
    undefined,
    { port },
  );
  // The sandbox user (uid 4242) opens the binds: the data directory must be traversable.
  await chmod(server.dataDir, 0o711);
  const curator = await createSignedInUser(server, {
    email: 'curator@example.org',
    roles: ['curator'],
    password: PASSWORD,
  });
  owner = await createSignedInUser(server, {
    email: 'olive@example.org',
    roles: ['researcher'],
    password: PASSWORD,
  });
  await publishTinyDataset(server, curator, OPEN, 'open', 3);
  const res = await request(server, 'POST', '/api/v1/projects', owner, {
    title: 'Arrest from resting ECGs on the cluster',
    purpose: 'Whether the morphology of a resting ECG predicts sudden cardiac arrest.',
    datasets: [{ slug: OPEN, version: '1.0' }],
  });
  expect(res.status).toBe(201);
  projectId = ((await res.json()) as { id: string }).id;
}, 120_000);

afterAll(async () => {
  if (server !== undefined) {
    await stopLeftoverInstances(server);
    await server.close();
  }
  await slurm?.stop();
}, 120_000);

describe('instances on Slurm with relays, through the server', () => {
  it('runs a relayed instance with no platform socket of the server’s: ngsci’s calls go through the relay to /platform/v1', async () => {
    const res = await request(server, 'POST', `/api/v1/projects/${projectId}/instances`, owner, {
      type: 'cpu.xsmall',
      datasets: [{ slug: OPEN, version: '1.0' }],
    });
    expect(res.status).toBe(202);
    instanceId = ((await res.json()) as Instance).id;
    const running = await settle(['requested', 'starting']);
    expect(running.state, running.failureReason ?? '').toBe('running');

    // The server made no socket (nor its folder) for it; the relay's socket is in its job folder.
    await expect(stat(join(server.dataDir, 'platform', instanceId))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const relaySocket = join(slurm.dir, 'instances', instanceId, 'platform', 'platform.sock');
    expect((await stat(relaySocket)).isSocket()).toBe(true);

    // Through the instance proxy, as a browser on Lantern's pages would (its cookie and Origin).
    const kernel = await JupyterKernel.openAt(`${server.url}/instances/${instanceId}/`, {
      cookie: owner.cookie,
      origin: server.url,
    });
    try {
      const cell = await kernel.execute(
        'import ngsci\nprint([(d.slug, d.version) for d in ngsci.datasets()])',
      );
      expect(cell).toMatchObject({ status: 'ok', output: `[('${OPEN}', '1.0')]\n` });
    } finally {
      await kernel.close();
    }
    await server.flushAudit();
    const calls = await server.ctx.services.audit.list({ limit: 100, action: 'platform.call' });
    expect(calls.map((event) => parseAuditBody(event.body))).toContainEqual(
      expect.objectContaining({
        outcome: 'allowed',
        details: expect.objectContaining({
          via: 'http',
          instance: instanceId,
          status: 200,
        }) as unknown,
      }),
    );
  }, 180_000);

  it('fails the instance when its relay dies: the job ends, and the instance says the relay stopped', async () => {
    const folder = join(slurm.dir, 'instances', instanceId);
    const relays = await processesNaming(`--cert=${folder}/relay/cert.pem`);
    expect(relays).toHaveLength(1);
    process.kill(Number(relays[0]?.split(':')[0]), 'SIGKILL');

    const failed = await settle(['running']);
    expect(failed.state).toBe('failed');
    expect(failed.failureReason).toMatch(
      /^the notebook's relay stopped, and Slurm job \d+ ended with it \(FAILED, exit code 75:0\): .*lantern: the relay exited with status 137; the notebook is stopped with it$/u,
    );
    expect(await queued()).toBe('');
    expect(await processesNaming(`/instances/${instanceId}/`)).toEqual([]);
  }, 180_000);
});
