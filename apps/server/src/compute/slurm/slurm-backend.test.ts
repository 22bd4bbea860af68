import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_INSTANCE_TYPES, type InstanceType } from '@lantern/core/instances';
import { DEFAULT_RELEASE_LIMITS } from '@lantern/core/releases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerPlatformCall } from '../../services/instances/platform-socket.js';
import { processesNaming } from '../../testing/instances.js';
import { JupyterKernel } from '../../testing/jupyter-kernel.js';
import { startThrowawaySlurm, type ThrowawaySlurm } from '../../testing/slurm.js';
import type { BackendHandle, BackendState, LaunchSpec, RelayEndpoint } from '../compute-backend.js';
import { RelayConnectError } from '../notebook-connector.js';
import { requestNotebook, requestOverSocket } from '../notebook-probe.js';
import { InstanceProxy, type ResolvedInstance } from '../proxy/instance-proxy.js';
import { SlurmComputeBackend, SlurmError } from './slurm-backend.js';
import { isLive } from './slurm-job.js';

// A real single-node Slurm (munged, slurmctld, slurmd) started here as root, and real Jupyter
// servers in bubblewrap run by its jobs.
const exec = promisify(execFile);
const SANDBOX = { uid: 4242, gid: 4242 };
/** Small enough that two run side by side on a 2-CPU machine. */
const TEST_TYPE: InstanceType = {
  name: 'cpu.test',
  title: 'Test CPU',
  vcpus: 1,
  memoryMib: 768,
  gpu: null,
  diskGib: 1,
  priceCentsPerHour: 0,
};

let slurm: ThrowawaySlurm;
let root: string;
let platform: Server;
let backend: SlurmComputeBackend;

beforeAll(async () => {
  slurm = await startThrowawaySlurm();
  root = await mkdtemp('/tmp/lantern-slurm-test.');
  await chmod(root, 0o755);
  await mkdir(join(root, 'instances'), { mode: 0o755 });
  const dataset = join(root, 'datasets', 'arrest-ntuh-ecg', '1.0');
  await mkdir(dataset, { recursive: true, mode: 0o755 });
  await writeFile(join(dataset, 'ecg.csv'), 'ecg_id,rate\n1,72\n2,88\n', { mode: 0o644 });
  platform = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => platform.listen(join(root, 'platform.sock'), resolve));
  await chmod(join(root, 'platform.sock'), 0o666);
  backend = new SlurmComputeBackend({
    slurmConf: slurm.slurmConf,
    sharedDir: join(root, 'instances'),
    sandboxUser: SANDBOX,
  });
}, 120_000);

afterAll(async () => {
  await slurm?.stop();
  await new Promise((resolve) => platform?.close(resolve));
  if (root !== undefined) {
    await rm(root, { recursive: true, force: true });
  }
}, 60_000);

/** A launch of a fresh instance, with its own project and home folders owned by the sandbox user. */
async function newSpec(type: InstanceType = TEST_TYPE): Promise<LaunchSpec> {
  const instanceId = `i${randomBytes(5).toString('hex')}`;
  const projectPath = join(root, `project-${instanceId}`);
  const homePath = join(root, `home-${instanceId}`);
  for (const dir of [projectPath, homePath]) {
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, SANDBOX.uid, SANDBOX.gid);
  }
  return {
    instanceId,
    type,
    baseUrl: `/instances/${instanceId}/`,
    token: randomBytes(24).toString('hex'),
    datasets: [
      {
        slug: 'arrest-ntuh-ecg',
        version: '1.0',
        hostPath: join(root, 'datasets', 'arrest-ntuh-ecg', '1.0'),
      },
    ],
    projectPath,
    homePath,
    platformSocket: join(root, 'platform.sock'),
    platformToken: randomBytes(16).toString('hex'),
    env: { LANTERN_TEST: 'slurm' },
  };
}

/** Polls until the backend says `want` (at most 300 polls, 200 ms apart), and returns that state. */
async function until(
  handle: BackendHandle,
  want: BackendState['state'],
  using = backend,
): Promise<BackendState> {
  let state: BackendState = await using.poll(handle);
  for (let i = 0; i < 300 && state.state !== want; i++) {
    if (state.state === 'failed') {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    state = await using.poll(handle);
  }
  expect(state).toMatchObject({ state: want });
  return state;
}

async function scontrol(jobId: string): Promise<string> {
  const { stdout } = await exec('scontrol', ['show', 'job', '-o', jobId], {
    env: { ...process.env, SLURM_CONF: slurm.slurmConf },
  });
  return stdout;
}

/** The ids of the jobs of `instanceId` in the queue (squeue: pending, running, ending). */
async function queuedJobs(instanceId: string): Promise<string[]> {
  const { stdout } = await exec(
    'squeue',
    ['--noheader', `--name=lantern-${instanceId}`, '--format=%i'],
    {
      env: { ...process.env, SLURM_CONF: slurm.slurmConf },
    },
  );
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** `key=`'s value in one `scontrol -o` line (ISO times like 2026-12-05T09:26:50 sort as text). */
function field(line: string, key: string): string {
  const value = new RegExp(`(?:^|\\s)${key}=(\\S+)`, 'u').exec(line)?.[1];
  if (value === undefined) {
    throw new Error(`no ${key} in ${line}`);
  }
  return value;
}

describe('the Slurm backend on a real single-node cluster', () => {
  it('says the controller answers', async () => {
    const check = await backend.check();
    expect(check).toMatchObject({ ok: true });
    expect(check.detail).toMatch(/is UP/u);
  });

  it('submits the type’s resources and runs a sandboxed Jupyter that answers on its socket', async () => {
    const spec = await newSpec();
    const handle = await backend.start(spec);
    expect(handle.kind).toBe('slurm');
    expect(handle.ref).toMatch(/^\d+$/u);
    const folder = join(root, 'instances', spec.instanceId);

    const job = await scontrol(handle.ref);
    expect(job).toContain(`JobName=lantern-${spec.instanceId} `);
    expect(job).toMatch(/ NumCPUs=1 /u);
    expect(job).toMatch(/ MinMemoryNode=768M /u);
    expect(job).toContain(`StdOut=${folder}/slurm-${handle.ref}.out`);
    const script = await readFile(join(folder, 'job.sh'), 'utf8');
    expect(script).toMatch(/^#!\/bin\/sh\n/u);
    expect(script).toContain('/usr/bin/bwrap');
    expect(script).not.toContain(spec.token);
    expect(script).not.toContain(spec.platformToken);
    // bubblewrap's options hold the tokens: in a file only the server reads, given on a fd.
    expect(script).toMatch(/--args \\\n {2}4 \\\n/u);
    expect(script).toContain(`4<${folder}/bwrap-args`);
    for (const secret of ['bwrap-args', 'token']) {
      expect((await stat(join(folder, secret))).mode & 0o777).toBe(0o600);
    }
    const options = (await readFile(join(folder, 'bwrap-args'), 'utf8')).split('\0');
    expect(options.slice(0, 4)).toEqual([
      '--unshare-all',
      '--new-session',
      '--clearenv',
      '--die-with-parent',
    ]);
    expect(options).toContain(spec.token);

    const running = await until(handle, 'running');
    const socketPath = join(folder, 'run', 'jupyter.sock');
    expect(running).toEqual({ state: 'running', endpoint: { socketPath } });

    const auth = { authorization: `token ${spec.token}` };
    const base = spec.baseUrl;
    expect((await requestOverSocket(socketPath, 'GET', `${base}api/status`)).status).toBe(403);
    const listing = await requestOverSocket(
      socketPath,
      'GET',
      `${base}api/contents/datasets/arrest-ntuh-ecg/1.0`,
      { headers: auth },
    );
    expect(listing.status).toBe(200);
    expect(
      (JSON.parse(listing.body) as { content: { name: string }[] }).content.map((f) => f.name),
    ).toEqual(['ecg.csv']);

    const put = (path: string) =>
      requestOverSocket(socketPath, 'PUT', `${base}api/contents/${path}`, {
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'file', format: 'text', content: 'from the notebook\n' }),
      });
    expect((await put('datasets/arrest-ntuh-ecg/1.0/new.txt')).status).toBeGreaterThanOrEqual(400);
    expect((await put('datasets/elsewhere.txt')).status).toBeGreaterThanOrEqual(400);
    expect((await put('project/result.txt')).status).toBe(201);
    const written = join(spec.projectPath, 'result.txt');
    expect(await readFile(written, 'utf8')).toBe('from the notebook\n');
    expect((await stat(written)).uid).toBe(SANDBOX.uid);

    await backend.stop(handle);
  });

  it('stops with scancel and leaves nothing behind', async () => {
    const spec = await newSpec();
    const handle = await backend.start(spec);
    await until(handle, 'running');
    const folder = join(root, 'instances', spec.instanceId);
    expect(await processesNaming(spec.baseUrl)).not.toEqual([]);

    await backend.stop(handle);
    expect(await scontrol(handle.ref)).toMatch(/ JobState=CANCELLED /u);
    expect(await processesNaming(spec.baseUrl)).toEqual([]);
    await expect(stat(folder)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await backend.poll(handle)).toEqual({
      state: 'stopped',
      detail: `Slurm job ${handle.ref} was cancelled`,
    });
    // Stopping what is already stopped is not an error.
    await backend.stop(handle);
  });

  it('restores after a restart: a running job re-attached, a cancelled one and a forgotten one stopped', async () => {
    const [a, b] = [await newSpec(), await newSpec()];
    const running = await backend.start(a);
    const cancelled = await backend.start(b);
    await until(running, 'running');
    await until(cancelled, 'running');
    // Cancelled behind the server's back, as an administrator of the cluster might.
    await exec('scancel', [cancelled.ref], {
      env: { ...process.env, SLURM_CONF: slurm.slurmConf },
    });
    const gone: BackendHandle = { ...cancelled, ref: '999999' };

    const restarted = new SlurmComputeBackend({
      slurmConf: slurm.slurmConf,
      sharedDir: join(root, 'instances'),
      sandboxUser: SANDBOX,
    });
    for (let i = 0; i < 150; i++) {
      const record = (await restarted.records([cancelled.ref])).get(cancelled.ref);
      if (record !== undefined && !isLive(record)) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const states = await restarted.restore([running, cancelled, gone]);
    expect(states).toEqual([
      {
        state: 'running',
        endpoint: { socketPath: join(root, 'instances', a.instanceId, 'run', 'jupyter.sock') },
      },
      { state: 'stopped', detail: `Slurm job ${cancelled.ref} was cancelled` },
      { state: 'stopped', detail: 'Slurm no longer knows job 999999' },
    ]);
    // Once the controller forgets a job, the completion log (sacct -c, no slurmdbd) still has it.
    expect(await restarted.completionLog([cancelled.ref])).toEqual([
      { jobId: cancelled.ref, state: 'CANCELLED', reason: null, exitCode: '0:0' },
    ]);

    await restarted.stop(running);
    await restarted.stop(cancelled);
    expect(await processesNaming(a.baseUrl)).toEqual([]);
  });

  it('finds an instance’s job by its id alone, and a new start of it cancels that job before it submits its own', async () => {
    const spec = await newSpec();
    const first = await backend.start(spec);
    await until(first, 'running');

    // A server that died before it stored the handle: the next one has only the instance's id.
    const restarted = new SlurmComputeBackend({
      slurmConf: slurm.slurmConf,
      sharedDir: join(root, 'instances'),
      sandboxUser: SANDBOX,
    });
    expect(await restarted.find(spec.instanceId)).toEqual({
      kind: 'slurm',
      ref: first.ref,
      details: first.details,
    });
    const second = await restarted.start(spec);
    expect(second.ref).not.toBe(first.ref);
    // By the time the new job was submitted, the first was cancelled and out of the queue.
    expect(await queuedJobs(spec.instanceId)).toEqual([second.ref]);
    expect(await scontrol(first.ref)).toMatch(/ JobState=CANCELLED /u);
    const ended = field(await scontrol(first.ref), 'EndTime');
    const submitted = field(await scontrol(second.ref), 'SubmitTime');
    expect(
      ended <= submitted,
      `${first.ref} ended ${ended}, ${second.ref} submitted ${submitted}`,
    ).toBe(true);

    await until(second, 'running', restarted);
    expect(await restarted.find(spec.instanceId)).toMatchObject({ ref: second.ref });
    await restarted.stop(second);
    expect(await restarted.find(spec.instanceId)).toBeNull();
    expect(await processesNaming(spec.baseUrl)).toEqual([]);
  });

  it('refuses a GPU type on a node without GPUs with Slurm’s reason, and leaves no folder', async () => {
    const gpu = DEFAULT_INSTANCE_TYPES.find((type) => type.name === 'gpu.t4');
    expect(gpu).toBeDefined();
    const spec = await newSpec(gpu);
    const refused = backend.start(spec);
    await expect(refused).rejects.toThrow(SlurmError);
    await expect(refused).rejects.toThrow(
      `Slurm refused instance ${spec.instanceId} (gpu.t4): Invalid generic resource (gres) specification`,
    );
    await expect(stat(join(root, 'instances', spec.instanceId))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('refuses a type larger than any node', async () => {
    const large = DEFAULT_INSTANCE_TYPES.find((type) => type.name === 'cpu.large');
    const spec = await newSpec(large);
    await expect(backend.start(spec)).rejects.toThrow(
      /^Slurm refused instance \w+ \(cpu\.large\): More processors requested than permitted$/u,
    );
  });
});

/**
 * The server's platform over HTTP as the route serves it (http/instances/platform.routes.ts):
 * `/platform/v1/…`, the instance named by X-NG-Instance-Id and proven by its platform token.
 */
function platformOverHttp(
  tokens: Map<string, string>,
  calls: string[],
): ReturnType<typeof createHttpServer> {
  const api = {
    authenticate: (instanceId: string, token: string) =>
      Promise.resolve(tokens.get(instanceId) === token),
    datasets: () =>
      Promise.resolve([
        {
          slug: 'arrest-ntuh-ecg',
          version: '1.0',
          path: '/home/ngsci/datasets/arrest-ntuh-ecg/1.0',
        },
      ]),
    stopFromInside: () => Promise.resolve('stopping'),
    submitContestEntry: () => Promise.resolve({ accepted: false, message: 'no contest here' }),
    requestRelease: () =>
      Promise.resolve({ id: 'rel_0000000000000000', state: 'pending', files: 1 }),
    releaseLimits: DEFAULT_RELEASE_LIMITS,
    maxReleaseArchiveBytes: 1024,
    // The server's audit log is not under test here: each call's record is "written".
    recordCall: () => Promise.resolve(),
    // Nothing should fail here: a failure surfaces as the test's unhandled error.
    logFailure: (error: unknown) => {
      throw error;
    },
  };
  return createHttpServer((req, res) => {
    const url = req.url ?? '/';
    calls.push(`${req.method ?? ''} ${url}`);
    if (!url.startsWith('/platform/v1/')) {
      res.writeHead(404).end();
      return;
    }
    const header = req.headers['x-ng-instance-id'];
    void answerPlatformCall(
      api,
      {
        instanceId: typeof header === 'string' ? header : '',
        via: 'http',
        path: url.slice('/platform'.length),
      },
      req,
      res,
    );
  });
}

async function listen(server: HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

describe('the Slurm backend with a relay (jobs on another node than the server’s)', () => {
  const tokens = new Map<string, string>();
  const platformCalls: string[] = [];
  let platformHttp: HttpServer;
  let relayed: SlurmComputeBackend;
  const proxy = new InstanceProxy();
  let target: ResolvedInstance | null = null;
  let proxyServer: HttpServer;
  let proxyOrigin: string;

  beforeAll(async () => {
    platformHttp = platformOverHttp(tokens, platformCalls);
    const platformPort = await listen(platformHttp);
    relayed = new SlurmComputeBackend({
      slurmConf: slurm.slurmConf,
      sharedDir: join(root, 'instances'),
      sandboxUser: SANDBOX,
      // The relay listens on the loopback here: the one node is both the server's and the job's.
      relay: { bind: '127.0.0.1', platformUrl: `http://127.0.0.1:${platformPort}` },
    });
    // The instance proxy as the server mounts it, for the one instance under test.
    proxyServer = createHttpServer((req, res) => {
      if (target === null) {
        res.writeHead(404).end();
        return;
      }
      void proxy.forward(req, res, target, req.url ?? '/', () => {
        res.writeHead(502).end();
      });
    });
    proxyServer.on('upgrade', (req, socket, head: Buffer) => {
      if (target === null) {
        socket.destroy();
        return;
      }
      void proxy.tunnel(req, socket, head, target, req.url ?? '/', () => undefined);
    });
    proxyOrigin = `http://127.0.0.1:${await listen(proxyServer)}`;
  });

  afterAll(async () => {
    proxy.close();
    await new Promise((resolve) => proxyServer?.close(resolve));
    await new Promise((resolve) => platformHttp?.close(resolve));
  });

  it('runs the notebook behind the relay: a cell through the proxy calls ngsci, wrong secrets and pins are refused, the relay ends with the job', async () => {
    const check = await relayed.check();
    expect(check).toMatchObject({ ok: true });
    expect(check.detail).toMatch(
      /^Slurm batch jobs with relays, ngsci's calls to http:\/\/127\.0\.0\.1:\d+ \(.* is UP\)$/u,
    );

    const spec = await newSpec();
    tokens.set(spec.instanceId, spec.platformToken);
    const handle = await relayed.start(spec);
    const folder = join(root, 'instances', spec.instanceId);

    // ngsci's socket is the relay's: the server serves none for this job, whatever the backend's
    // configuration says after a restart (a job keeps the way it was launched with).
    expect(relayed.bindsPlatformSocket()).toBe(false);
    expect(relayed.bindsPlatformSocket(handle)).toBe(false);
    expect(backend.bindsPlatformSocket(handle)).toBe(false);
    const { relayFingerprint256: _pin, ...unrelayed } = handle.details;
    expect(relayed.bindsPlatformSocket({ ...handle, details: unrelayed })).toBe(true);
    expect(backend.bindsPlatformSocket()).toBe(true);

    // The handle pins the certificate the server made; the secret stays in the folder (0600).
    const certificate = new X509Certificate(await readFile(join(folder, 'relay', 'cert.pem')));
    expect(handle.details['relayFingerprint256']).toBe(certificate.fingerprint256);
    const secret = (await readFile(join(folder, 'relay', 'secret'), 'utf8')).trim();
    expect(JSON.stringify(handle)).not.toContain(secret);
    for (const file of ['cert.pem', 'key.pem', 'secret']) {
      expect((await stat(join(folder, 'relay', file))).mode & 0o777).toBe(0o600);
    }
    const script = await readFile(join(folder, 'job.sh'), 'utf8');
    expect(script).toContain('/python/slurm-relay.py');
    expect(script).toContain(`--jupyter-socket=${folder}/run/jupyter.sock`);
    expect(script).not.toContain(secret);
    const options = (await readFile(join(folder, 'bwrap-args'), 'utf8')).split('\0');
    // ngsci's socket is the relay's, and its calls go under the server's /platform.
    expect(options.join(' ')).toContain(`--ro-bind ${folder}/platform /run/lantern`);
    expect(options.join(' ')).toContain('--setenv LANTERN_PLATFORM_PATH /platform');

    const running = await until(handle, 'running', relayed);
    if (running.state !== 'running' || !('relay' in running.endpoint)) {
      throw new Error(`not running behind a relay: ${JSON.stringify(running)}`);
    }
    const relay: RelayEndpoint = running.endpoint.relay;
    expect(relay).toMatchObject({
      host: '127.0.0.1',
      fingerprint256: certificate.fingerprint256,
      secret,
    });

    // After a server restart, the handle alone finds the relay again (no configuration needed).
    const restarted = new SlurmComputeBackend({
      slurmConf: slurm.slurmConf,
      sharedDir: join(root, 'instances'),
      sandboxUser: SANDBOX,
    });
    expect(await restarted.restore([handle])).toEqual([running]);

    // A cell through the proxy, over the kernel's websocket, calls the platform through the relay.
    target = { endpoint: running.endpoint, token: spec.token, projectId: 'p' };
    const kernel = await JupyterKernel.openAt(`${proxyOrigin}${spec.baseUrl}`, {
      Authorization: 'token not-the-token',
    });
    try {
      const cell = await kernel.execute(
        'import ngsci\nprint(ngsci.instance_id())\nprint([(d.slug, d.version) for d in ngsci.datasets()])',
      );
      expect(cell).toEqual({
        status: 'ok',
        output: `${spec.instanceId}\n[('arrest-ntuh-ecg', '1.0')]\n`,
        result: null,
      });
    } finally {
      await kernel.close();
    }
    // instance_id() is the sandbox's own NG_INSTANCE_ID; datasets() asked the server.
    expect(platformCalls).toEqual(['GET /platform/v1/datasets']);

    // Anyone without the secret, or a relay without the pinned certificate, gets nothing.
    const status = `${spec.baseUrl}api/status`;
    const auth = { headers: { authorization: `token ${spec.token}` } };
    expect((await requestNotebook({ relay }, 'GET', status, auth)).status).toBe(200);
    await expect(
      requestNotebook({ relay: { ...relay, secret: `${secret.slice(1)}x` } }, 'GET', status, auth),
    ).rejects.toThrow(/socket hang up|ECONNRESET/u);
    const otherPin = `00:${relay.fingerprint256.slice(3)}` === relay.fingerprint256 ? '01' : '00';
    await expect(
      requestNotebook(
        { relay: { ...relay, fingerprint256: `${otherPin}:${relay.fingerprint256.slice(3)}` } },
        'GET',
        status,
        auth,
      ),
    ).rejects.toThrow(RelayConnectError);

    target = null;
    expect(await processesNaming(`${folder}/relay/`)).not.toEqual([]);
    await relayed.stop(handle);
    // The relay went with the job: no process of it left, its port closed.
    expect(await processesNaming(`${folder}/relay/`)).toEqual([]);
    const refused = await new Promise<string>((resolve) => {
      const socket = netConnect({ host: relay.host, port: relay.port });
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  }, 120_000);

  it('fails an instance whose relay dies: the job ends, the notebook with it, and the reason says so', async () => {
    const spec = await newSpec();
    tokens.set(spec.instanceId, spec.platformToken);
    const handle = await relayed.start(spec);
    const folder = join(root, 'instances', spec.instanceId);
    await until(handle, 'running', relayed);

    // The relay's argv names its certificate in the instance's folder; the sandbox's does not.
    const relays = await processesNaming(`--cert=${folder}/relay/cert.pem`);
    expect(relays).toHaveLength(1);
    const pid = Number(relays[0]?.split(':')[0]);
    process.kill(pid, 'SIGKILL');

    const failed = await until(handle, 'failed', relayed);
    expect(failed).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(
        new RegExp(
          `^the notebook's relay stopped, and Slurm job ${handle.ref} ended with it \\(FAILED, exit code 75:0\\): .*lantern: the relay exited with status 137; the notebook is stopped with it$`,
          'u',
        ),
      ) as unknown,
    });
    // The job is gone from the queue, and nothing of the notebook runs on.
    const { stdout } = await exec('squeue', ['--noheader', `--name=lantern-${spec.instanceId}`], {
      env: { ...process.env, SLURM_CONF: slurm.slurmConf },
    });
    expect(stdout.trim()).toBe('');
    expect(await relayed.find(spec.instanceId)).toBeNull();
    expect(await processesNaming(spec.baseUrl)).toEqual([]);
    await relayed.stop(handle);
  }, 120_000);
});
