/**
 * The local backend for real (issue 8): Debian's jupyter_server in a bubblewrap sandbox, as uid
 * 4242, behind a UNIX socket. One instance (A) is started by another process that then exits, as a
 * server would before a restart, and is found again by a new backend; the tests then share it: a
 * cell over the kernel websocket reads the dataset view and computes on it with numpy; the dataset
 * mount is read-only; there is no network; the environment and `ngsci` reach the platform socket;
 * the type's limits hold. A second instance (B, prlimit only) is killed from outside and restored
 * as stopped; a third fails at once and says why. A is stopped last, and nothing of it is left.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstanceType } from '@lantern/core/instances';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../storage/object-store.js';
import { jupyterApi, JupyterKernel } from '../../testing/jupyter-kernel.js';
import type { BackendHandle, BackendState, LaunchSpec } from '../compute-backend.js';
import { DatasetViews } from '../dataset-view.js';
import { LocalComputeBackend, LocalLaunchError, type LocalHandleDetails } from './local-backend.js';
import { isSameProcessAlive, pidNamespaceOf, processesInNamespace } from './processes.js';
import { DEFAULT_SANDBOX_USER, SandboxSpecError } from '../sandbox-command.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../../testing/start-instance-then-exit.ts', import.meta.url));
const SLUG = 'lantern-test-measurements';
const VERSION = '1.0';

/** A small type: 1 vCPU, 1 GiB (enough for Jupyter, a kernel and numpy). */
const TEST_TYPE: InstanceType = {
  name: 'cpu.test',
  title: 'Test CPU',
  vcpus: 1,
  memoryMib: 1024,
  gpu: null,
  diskGib: 1,
  priceCentsPerHour: 0,
};

/** 200 rows of value = 3 × i: their sum is 3 × 19900 = 59700. */
const CSV = `patient_ngsci_id,value\n${Array.from({ length: 200 }, (_, i) => `p${i},${3 * i}`).join('\n')}\n`;

let work: string;
let dataDir: string;
let viewPath: string;
let platform: Server;
let platformSocket: string;
const platformRequests: { method: string; url: string; authorization: string }[] = [];
let handleA: BackendHandle;
let specA: LaunchSpec;
let kernel: JupyterKernel;
const started: BackendHandle[] = [];

const token = () => randomBytes(24).toString('hex');
const detailsOf = (handle: BackendHandle) => handle.details as unknown as LocalHandleDetails;

function specFor(id: string, overrides: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    instanceId: id,
    type: TEST_TYPE,
    baseUrl: `/instances/${id}/`,
    token: token(),
    datasets: [{ slug: SLUG, version: VERSION, hostPath: viewPath }],
    projectPath: join(work, 'projects', `project-${id}`),
    homePath: join(work, 'homes', `home-${id}`),
    platformSocket,
    platformToken: token(),
    env: { LANTERN_TEST_GREETING: 'hello from the spec' },
    ...overrides,
  };
}

/** Polls until the instance leaves `starting` (each poll a real look at the process and socket). */
async function settle(
  backend: LocalComputeBackend,
  handle: BackendHandle,
  timeoutMs = 90_000,
): Promise<BackendState> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const state = await backend.poll(handle);
    if (state.state !== 'starting' || performance.now() > deadline) {
      return state;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts an instance in another process that exits once it has the handle. */
async function startInAnotherProcess(spec: LaunchSpec): Promise<BackendHandle> {
  const specFile = join(work, `spec-${spec.instanceId}.json`);
  await writeFile(specFile, JSON.stringify(spec), { mode: 0o600 });
  const child = spawn(
    process.execPath,
    ['--conditions=lantern-source', '--import', 'tsx', CHILD, dataDir, specFile],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, err).toBe(0);
  return JSON.parse(out) as BackendHandle;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => resolve(body));
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-local-'));
  // bwrap opens the binds as the sandbox user: the folders on the way must be traversable.
  await chmod(work, 0o711);
  dataDir = join(work, 'data');
  await mkdir(dataDir, { mode: 0o711 });
  await mkdir(join(work, 'homes'), { mode: 0o711 });
  await mkdir(join(work, 'projects'), { mode: 0o711 });

  const store = new LocalObjectStore(dataDir);
  await store.init();
  const stored = await store.put(Readable.from([Buffer.from(CSV)]));
  viewPath = await new DatasetViews(dataDir, store).materialise({
    slug: SLUG,
    version: VERSION,
    files: [{ path: 'tables/measurements.csv', objectKey: stored.key, size: stored.size }],
  });

  // The platform's socket, as the instance service will serve it: the test answers `ngsci`.
  await mkdir(join(work, 'platform'), { mode: 0o755 });
  platformSocket = join(work, 'platform', 'platform.sock');
  platform = createHttpServer((req, res) => {
    platformRequests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization ?? '',
    });
    void readBody(req).then(() => {
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          datasets: [
            { slug: SLUG, version: VERSION, path: `/home/ngsci/datasets/${SLUG}/${VERSION}` },
          ],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => platform.listen(platformSocket, resolve));
  await chmod(platformSocket, 0o666);

  specA = specFor('inst-a');
  handleA = await startInAnotherProcess(specA);
  started.push(handleA);
});

afterAll(async () => {
  const backend = new LocalComputeBackend({ dataDir, stopGraceMs: 2000 });
  await kernel?.close();
  for (const handle of started) {
    await backend.stop(handle);
  }
  await new Promise((resolve) => platform.close(resolve));
  await rm(work, { recursive: true, force: true });
});

describe('LocalComputeBackend', () => {
  it('keeps an instance running after the process that started it exits, and a new backend restores it as running', async () => {
    const details = detailsOf(handleA);
    expect(handleA.kind).toBe('local');
    expect(handleA.ref).toBe(String(details.pid));
    // The handle is all a restarted server has: JSON, no token in it.
    const persisted = JSON.parse(JSON.stringify(handleA)) as BackendHandle;
    expect(JSON.stringify(persisted)).not.toContain(specA.token);

    const afterRestart = new LocalComputeBackend({ dataDir });
    expect(await settle(afterRestart, persisted)).toEqual({
      state: 'running',
      endpoint: { socketPath: join(dataDir, 'instances', 'inst-a', 'run', 'jupyter.sock') },
    });
    expect(await new LocalComputeBackend({ dataDir }).restore([persisted])).toEqual([
      { state: 'running', endpoint: { socketPath: details.socketPath } },
    ]);
    // Jupyter answers only with the token.
    const base = specA.baseUrl;
    expect((await jupyterApi(details.socketPath, null, 'GET', `${base}api/kernels`)).status).toBe(
      403,
    );
    kernel = await JupyterKernel.open(details.socketPath, base, specA.token);
  });

  it('runs a cell over the kernel websocket that reads the dataset file and computes on it with numpy, as ngsci with NG_INSTANCE_ID set', async () => {
    const run = await kernel.execute(
      [
        'import os, numpy, pandas',
        `table = pandas.read_csv('/home/ngsci/datasets/${SLUG}/${VERSION}/tables/measurements.csv')`,
        "print('sum', int(numpy.sum(table['value'].to_numpy())), 'rows', len(table))",
        "print('who', os.getuid(), os.environ['USER'], os.uname().nodename, os.getcwd())",
        "print('id', os.environ['NG_INSTANCE_ID'], os.environ['LANTERN_TEST_GREETING'])",
      ].join('\n'),
    );
    expect(run.status, run.output).toBe('ok');
    expect(run.output).toContain('sum 59700 rows 200');
    expect(run.output).toContain(`who ${DEFAULT_SANDBOX_USER.uid} ngsci sandbox /home/ngsci`);
    expect(run.output).toContain('id inst-a hello from the spec');
  });

  it('refuses writes into the dataset mount, and writes the project as the sandbox user', async () => {
    const run = await kernel.execute(
      [
        `for path, mode in [('/home/ngsci/datasets/${SLUG}/${VERSION}/new.txt', 'w'),`,
        `                   ('/home/ngsci/datasets/${SLUG}/${VERSION}/tables/measurements.csv', 'a'),`,
        "                   ('/home/ngsci/datasets/planted.txt', 'w')]:",
        '    try:',
        '        open(path, mode).write("x")',
        "        print('WROTE', path)",
        '    except OSError as error:',
        "        print('refused', error.errno)",
        "open('/home/ngsci/project/result.txt', 'w').write('from the kernel\\n')",
        "print('project ok')",
      ].join('\n'),
    );
    expect(run.status, run.output).toBe('ok');
    expect(run.output).not.toContain('WROTE');
    // EROFS (30): a read-only file system; a dataset file is also not writable by mode (EACCES, 13).
    expect(run.output.match(/refused (30|13)\n/gu), run.output).toHaveLength(3);
    expect(run.output.match(/refused 30\n/gu), run.output).toHaveLength(2);
    const written = await stat(join(specA.projectPath, 'result.txt'));
    expect(written.uid).toBe(DEFAULT_SANDBOX_USER.uid);
    expect(await readFile(join(viewPath, 'tables', 'measurements.csv'), 'utf8')).toBe(CSV);
  });

  it('has no network: only a loopback of its own, no route, and the host loopback is out of reach', async () => {
    const listener = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as AddressInfo;
    try {
      const run = await kernel.execute(
        [
          'import socket',
          "print('interfaces', [name for _, name in socket.if_nameindex()])",
          "print('routes', len(open('/proc/net/route').read().splitlines()) - 1)",
          'try:',
          `    socket.create_connection(('127.0.0.1', ${port}), timeout=5)`,
          "    print('CONNECTED')",
          'except OSError as error:',
          "    print('refused', error.errno)",
        ].join('\n'),
      );
      expect(run.status, run.output).toBe('ok');
      expect(run.output).toContain("interfaces ['lo']");
      expect(run.output).toContain('routes 0');
      // ECONNREFUSED (111): the sandbox's loopback is not the host's.
      expect(run.output).toContain('refused 111');
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it('reaches the platform through its socket with ngsci, importable inside, with the instance token', async () => {
    const before = platformRequests.length;
    const run = await kernel.execute(
      [
        'import ngsci',
        "print('instance', ngsci.instance_id())",
        "print('datasets', [(d.slug, d.version, d.path) for d in ngsci.datasets()])",
      ].join('\n'),
    );
    expect(run.status, run.output).toBe('ok');
    expect(run.output).toContain('instance inst-a');
    expect(run.output).toContain(
      `datasets [('${SLUG}', '${VERSION}', '/home/ngsci/datasets/${SLUG}/${VERSION}')]`,
    );
    expect(platformRequests.slice(before)).toEqual([
      { method: 'GET', url: '/v1/datasets', authorization: `Bearer ${specA.platformToken}` },
    ]);
  });

  it("holds the type's limits: the sandbox is in its cgroups, and a kernel over the memory limit is killed while the server lives", async () => {
    const details = detailsOf(handleA);
    expect(details.limits).toBe('cgroup-v1');
    const [memory, cpu, pids] = details.cgroups;
    expect(await readFile(join(memory ?? '', 'memory.limit_in_bytes'), 'utf8')).toBe(
      `${1024 * 1024 * 1024}\n`,
    );
    expect(await readFile(join(cpu ?? '', 'cpu.cfs_quota_us'), 'utf8')).toBe('100000\n');
    expect(await readFile(join(pids ?? '', 'pids.max'), 'utf8')).toBe('1024\n');
    const members = (await readFile(join(memory ?? '', 'cgroup.procs'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '');
    expect(members).toContain(String(details.pid));

    const hungry = await JupyterKernel.open(details.socketPath, specA.baseUrl, specA.token);
    try {
      const run = await hungry.execute(
        [
          'import numpy',
          'block = numpy.ones(2 * 1024**3 // 8)  # 2 GiB, every page touched',
          "print('ALLOCATED', block.nbytes)",
        ].join('\n'),
      );
      expect(run.output).not.toContain('ALLOCATED');
      // Killed by the kernel's OOM killer of its cgroup; Jupyter restarts it.
      expect(run.status, run.output).toBe('died');
    } finally {
      await hungry.close();
    }
    const oom = await readFile(join(memory ?? '', 'memory.oom_control'), 'utf8');
    expect(Number(/^oom_kill (\d+)$/mu.exec(oom)?.[1])).toBeGreaterThanOrEqual(1);
    expect(
      Number(await readFile(join(memory ?? '', 'memory.max_usage_in_bytes'), 'utf8')),
    ).toBeLessThanOrEqual(1024 * 1024 * 1024);
    expect((await new LocalComputeBackend({ dataDir }).poll(handleA)).state).toBe('running');
    // The shared kernel was not the one killed.
    expect((await kernel.execute("print('still here')")).output).toContain('still here');
  }, 120_000);

  it('limits memory by prlimit where cgroups are off, and restores an instance killed from outside as stopped', async () => {
    const backend = new LocalComputeBackend({ dataDir, cgroups: 'off' });
    const spec = specFor('inst-b', { type: { ...TEST_TYPE, memoryMib: 2048 } });
    const handle = await backend.start(spec);
    started.push(handle);
    expect(detailsOf(handle)).toMatchObject({ limits: 'prlimit', cgroups: [] });
    expect((await settle(backend, handle)).state).toBe('running');

    const b = await JupyterKernel.open(detailsOf(handle).socketPath, spec.baseUrl, spec.token);
    try {
      const run = await b.execute(
        [
          "print([line.split()[3] for line in open('/proc/self/limits') if line.startswith('Max address space')])",
          'import numpy',
          'try:',
          '    block = numpy.ones(3 * 1024**3 // 8)',
          "    print('ALLOCATED')",
          'except MemoryError:',
          "    print('MemoryError')",
        ].join('\n'),
      );
      expect(run.status, run.output).toBe('ok');
      expect(run.output).toContain(`['${2048 * 1024 * 1024}']`);
      expect(run.output).toContain('MemoryError');
    } finally {
      await b.close();
    }

    process.kill(detailsOf(handle).pid, 'SIGKILL');
    // As a restart would find it: the process gone (killing is not instantaneous).
    while (await isSameProcessAlive(detailsOf(handle).pid, detailsOf(handle).startTime)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [state] = await new LocalComputeBackend({ dataDir }).restore([
      JSON.parse(JSON.stringify(handle)) as BackendHandle,
    ]);
    expect(state?.state).toBe('stopped');
    expect(state?.state === 'stopped' ? state.detail : '').toContain('ended without a stop');
  });

  it('finds a sandbox by its instance id alone, and a second start of the instance stops the first', async () => {
    const backend = new LocalComputeBackend({ dataDir });
    expect(await backend.find('inst-e')).toBeNull();
    const first = await backend.start(specFor('inst-e'));
    started.push(first);
    // What a server that died before storing the handle leaves: another backend finds it.
    expect(await new LocalComputeBackend({ dataDir }).find('inst-e')).toEqual(first);
    // Started again (a start taken over): the first sandbox is stopped, one runs.
    const second = await backend.start(specFor('inst-e'));
    started.push(second);
    expect(await isSameProcessAlive(detailsOf(first).pid, detailsOf(first).startTime)).toBe(false);
    expect(await backend.find('inst-e')).toEqual(second);
    await backend.stop(second);
    expect(await backend.find('inst-e')).toBeNull();
    await expect(backend.find('../escape')).rejects.toThrow(LocalLaunchError);
  });

  it('reports a notebook server that ends before it answers as failed, with the reason from its log', async () => {
    const backend = new LocalComputeBackend({ dataDir });
    // A Python that cannot find its standard library stops at once, as a broken install would.
    const handle = await backend.start(
      specFor('inst-c', { env: { PYTHONHOME: '/nonexistent-python-home' } }),
    );
    started.push(handle);
    const state = await settle(backend, handle);
    expect(state.state).toBe('failed');
    expect(state.state === 'failed' ? state.reason : '').toMatch(
      /ended before it answered: .*encodings/u,
    );
    // Its cgroups went with it.
    for (const dir of detailsOf(handle).cgroups) {
      await expect(stat(dir)).rejects.toThrow(/ENOENT/u);
    }
  });

  it('refuses a launch whose names would become paths or reserved variables', async () => {
    const backend = new LocalComputeBackend({ dataDir });
    await expect(backend.start(specFor('../escape'))).rejects.toThrow(SandboxSpecError);
    await expect(
      backend.start(specFor('inst-d', { env: { JUPYTER_TOKEN: 'chosen' } })),
    ).rejects.toThrow(/JUPYTER_TOKEN/u);
    await expect(
      backend.start(
        specFor('inst-d', {
          datasets: [{ slug: '..', version: VERSION, hostPath: viewPath }],
        }),
      ),
    ).rejects.toThrow(/dataset mount/u);
    await expect(
      backend.start(
        specFor('inst-d', {
          datasets: [{ slug: SLUG, version: VERSION, hostPath: join(work, 'missing') }],
        }),
      ),
    ).rejects.toThrow(LocalLaunchError);
    await expect(
      backend.start(
        specFor('inst-d', {
          datasets: [{ slug: SLUG, version: VERSION, hostPath: join(work, 'missing') }],
        }),
      ),
    ).rejects.toThrow(/is not a folder here/u);
  });

  it('stops an instance and leaves nothing of it running, its home and project kept', async () => {
    const details = detailsOf(handleA);
    const namespace = await pidNamespaceOf(details.pid);
    expect(namespace).not.toBeNull();
    const inside = await processesInNamespace(namespace ?? '');
    // pid 1 (bwrap), jupyter_server and the shared kernel at least.
    expect(inside.length).toBeGreaterThanOrEqual(3);
    await kernel.close();

    const backend = new LocalComputeBackend({ dataDir, stopGraceMs: 5000 });
    await backend.stop(handleA);
    expect(await isSameProcessAlive(details.pid, details.startTime)).toBe(false);
    expect(await processesInNamespace(namespace ?? '')).toEqual([]);
    for (const dir of details.cgroups) {
      await expect(stat(dir)).rejects.toThrow(/ENOENT/u);
    }
    expect(await readFile(join(specA.projectPath, 'result.txt'), 'utf8')).toBe('from the kernel\n');
    expect((await stat(specA.homePath)).isDirectory()).toBe(true);
    expect(await backend.poll(handleA)).toEqual({ state: 'stopped', detail: 'stopped' });
    // Stopping again is not an error.
    await backend.stop(handleA);
  });
});
