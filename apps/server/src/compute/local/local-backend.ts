/**
 * Instances as local processes sandboxed by bubblewrap: the embedded default (issue 8).
 *
 * `start` prepares the instance's folder under `<data dir>/instances/<id>` (an /etc/passwd where
 * uid 4242 is `ngsci`, a run/ folder for Jupyter's socket, the log, the token), puts the sandbox
 * in cgroup v1 groups sized from the instance type where it can (prlimit's address-space limit
 * where it cannot), and spawns setpriv + prlimit + bwrap running Debian's jupyter_server on a UNIX
 * socket (sandbox-command.ts). The sandbox is detached from the server: it outlives a server
 * restart, and is found again by the pid of its pid 1 (bwrap's --info-fd) with that process's
 * start time, so a recycled pid is never taken for it. `poll` asks Jupyter's api/status over the
 * socket; `stop` asks Jupyter to stop, then kills the sandbox's pid 1, which takes every process
 * of its pid namespace with it; home and project folders stay.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, chown, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import type { ComponentCheck } from '../../storage/object-store.js';
import type {
  BackendHandle,
  BackendState,
  ComputeBackend,
  LaunchSpec,
} from '../compute-backend.js';
import { notebookAnswers } from '../notebook-probe.js';
import { prepareSandboxFolders } from '../sandbox-folders.js';
import {
  BWRAP,
  bwrapOptions,
  checkLaunchSpec,
  isInstanceId,
  DEFAULT_LIMITS,
  DEFAULT_PYTHON_LIB,
  DEFAULT_SANDBOX_USER,
  encodeBwrapOptions,
  jupyterSocketPath,
  launcherArgs,
  PRLIMIT,
  PYTHON,
  sandboxFiles,
  SETPRIV,
  ARGS_FD,
} from '../sandbox-command.js';
import { createCgroups, limitsOf, procsFileOf, removeCgroups } from './cgroups.js';
import { unreachableBy, unreachableMessage } from './reachable.js';
import { childrenOf, isSameProcessAlive, readProcessStat, signalProcess } from './processes.js';

/** The sandbox's user (`ngsci` inside): the server runs as root and drops to it. */
const SANDBOX = DEFAULT_SANDBOX_USER;

/** A UNIX socket's path holds at most 107 bytes and its NUL (sun_path, unix(7)). */
const MAX_SOCKET_PATH = 107;

/**
 * Joins the cgroups named by its arguments (as root, before anything is dropped), then execs the
 * rest: `sh -c SCRIPT sh N procs-file… command…`. Everything the command starts inherits them.
 */
const JOIN_CGROUPS_AND_EXEC =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n - 1)); done; exec "$@"';

/** What the local backend keeps in a handle's details; no secret (the token is in the folder). */
const detailsSchema = z.object({
  folder: z.string().min(1),
  /** The sandbox's pid 1, as the host sees it, and its start time (clock ticks after boot). */
  pid: z.number().int().positive(),
  startTime: z.string().regex(/^\d+$/u),
  socketPath: z.string().min(1),
  baseUrl: z.string().min(1),
  limits: z.enum(['cgroup-v1', 'prlimit']),
  cgroups: z.array(z.string()),
});
export type LocalHandleDetails = z.infer<typeof detailsSchema>;
const keptHandleSchema = z.object({
  kind: z.literal('local'),
  ref: z.string(),
  details: detailsSchema,
});
/** The handle a start keeps in the instance's folder, for `find`. */
const HANDLE_FILE = 'handle.json';

/** The launcher's argv (no secret) and bubblewrap's options, sent on ARGS_FD. */
interface SandboxLaunch {
  argv: string[];
  options: string[];
}

/** A launch refused or failed before the sandbox existed; `message` says why. */
export class LocalLaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalLaunchError';
  }
}

export interface LocalComputeOptions {
  /** The data directory: instance folders go in `<dataDir>/instances`. */
  dataDir: string;
  /** Limits by cgroup v1 where writable (`auto`), or by prlimit only (`off`). */
  cgroups?: 'auto' | 'off';
  /** The folder holding the `ngsci` package; this repository's python/ by default. */
  pythonLib?: string;
  /** How long Jupyter has to stop its kernels before the sandbox is killed. */
  stopGraceMs?: number;
  /** How long bubblewrap has to report its sandbox's pid. */
  launchTimeoutMs?: number;
}

export class LocalComputeBackend implements ComputeBackend {
  readonly kind = 'local';
  /** A poll is a look in /proc and a connect to a local socket: every 25 ms costs little. */
  readonly startPollMs = 25;
  private readonly root: string;
  private readonly cgroups: 'auto' | 'off';
  private readonly pythonLib: string;
  private readonly stopGraceMs: number;
  private readonly launchTimeoutMs: number;

  constructor(options: LocalComputeOptions) {
    this.root = join(options.dataDir, 'instances');
    this.cgroups = options.cgroups ?? 'auto';
    this.pythonLib = options.pythonLib ?? DEFAULT_PYTHON_LIB;
    this.stopGraceMs = options.stopGraceMs ?? 10_000;
    this.launchTimeoutMs = options.launchTimeoutMs ?? 15_000;
  }

  /** Every local sandbox binds the server's platform socket: it is on the same host. */
  bindsPlatformSocket(): boolean {
    return true;
  }

  async check(): Promise<ComponentCheck> {
    for (const program of [BWRAP, SETPRIV, PRLIMIT, PYTHON]) {
      try {
        await access(program, constants.X_OK);
      } catch {
        return {
          ok: false,
          detail: `${program} is not installed; run scripts/debian-packages.sh runtime as root`,
        };
      }
    }
    if (process.getuid?.() !== 0) {
      return {
        ok: false,
        detail: `the server must run as root to start sandboxes as uid ${SANDBOX.uid}`,
      };
    }
    for (const [what, path] of [
      ['the data directory', dirname(this.root)],
      ['the ngsci module', this.pythonLib],
    ] as const) {
      const blocked = await unreachableBy(path, SANDBOX);
      if (blocked !== null) {
        return { ok: false, detail: unreachableMessage(what, path, blocked, SANDBOX) };
      }
    }
    return { ok: true, detail: 'sandboxed local processes (bubblewrap, Jupyter Server)' };
  }

  async start(spec: LaunchSpec): Promise<BackendHandle> {
    checkLaunchSpec(spec);
    // Idempotent by instance: a sandbox left by an earlier start of it (one whose server died
    // before it stored the handle) is stopped first, so that one instance never runs twice.
    const leftover = await this.find(spec.instanceId);
    if (leftover !== null) {
      await this.stop(leftover);
    }
    const folder = join(this.root, spec.instanceId);
    const socketPath = jupyterSocketPath(folder);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new LocalLaunchError(
        `the instance's socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter data directory`,
      );
    }
    await this.checkSources(spec);
    await this.prepareFolder(folder, spec.token);
    await prepareSandboxFolders(spec, SANDBOX);

    const cgroups =
      this.cgroups === 'auto'
        ? await createCgroups(`lantern-${spec.instanceId}`, limitsOf(spec.type))
        : null;
    const launch: SandboxLaunch = {
      argv: launcherArgs(spec, {
        user: SANDBOX,
        limits: {
          ...DEFAULT_LIMITS,
          addressSpaceBytes: cgroups === null ? spec.type.memoryMib * 1024 * 1024 : null,
        },
      }),
      options: bwrapOptions(
        spec,
        { folder, pythonLib: this.pythonLib },
        // No --die-with-parent: an instance outlives a server restart, and is stopped by its pid 1.
        { dieWithParent: false, infoFd: true },
      ),
    };
    try {
      const pid = await this.spawnSandbox(folder, launch, cgroups ?? []);
      const startTime = (await readProcessStat(pid))?.startTime ?? '0';
      const details: LocalHandleDetails = {
        folder,
        pid,
        startTime,
        socketPath,
        baseUrl: spec.baseUrl,
        limits: cgroups === null ? 'prlimit' : 'cgroup-v1',
        cgroups: cgroups ?? [],
      };
      const handle: BackendHandle = { kind: 'local', ref: String(pid), details };
      // Kept beside the sandbox, so that `find` knows it by the instance's id alone.
      await writeFile(join(folder, HANDLE_FILE), JSON.stringify(handle), { mode: 0o600 });
      return handle;
    } catch (error) {
      await removeCgroups(cgroups ?? [], 2000);
      throw error;
    }
  }

  /**
   * The sandbox of `instanceId` while it lives, from the handle its start kept in the instance's
   * folder (or, when the start went no further than the spawn, the pid bwrap reported).
   */
  async find(instanceId: string): Promise<BackendHandle | null> {
    if (!isInstanceId(instanceId)) {
      throw new LocalLaunchError(`the instance id ${JSON.stringify(instanceId)} is not one`);
    }
    const folder = join(this.root, instanceId);
    let handle: BackendHandle | null = null;
    try {
      const kept = JSON.parse(await readFile(join(folder, HANDLE_FILE), 'utf8')) as unknown;
      const parsed = keptHandleSchema.safeParse(kept);
      handle = parsed.success
        ? { kind: 'local', ref: parsed.data.ref, details: parsed.data.details }
        : null;
    } catch {
      // No handle kept (yet): the start may have gone no further than the spawn.
    }
    if (handle === null) {
      const pid = await readChildPid(join(folder, 'info.json')).catch(() => null);
      const stat = pid === null ? null : await readProcessStat(pid);
      if (pid === null || stat === null) {
        return null;
      }
      const details: LocalHandleDetails = {
        folder,
        pid,
        startTime: stat.startTime,
        socketPath: jupyterSocketPath(folder),
        baseUrl: `/instances/${instanceId}/`,
        limits: 'prlimit',
        cgroups: [],
      };
      handle = { kind: 'local', ref: String(pid), details };
    }
    const details = detailsOf(handle);
    return (await isSameProcessAlive(details.pid, details.startTime)) ? handle : null;
  }

  async poll(handle: BackendHandle): Promise<BackendState> {
    const details = detailsOf(handle);
    if (!(await isSameProcessAlive(details.pid, details.startTime))) {
      return this.gone(details);
    }
    const token = await readFile(join(details.folder, 'token'), 'utf8');
    if (!(await notebookAnswers({ socketPath: details.socketPath }, details.baseUrl, token))) {
      return { state: 'starting', detail: 'waiting for the notebook server to answer' };
    }
    // Remembered, so that its end later reads as a stop rather than a failed start.
    await writeFile(join(details.folder, 'ready'), '');
    return { state: 'running', endpoint: { socketPath: details.socketPath } };
  }

  async stop(handle: BackendHandle): Promise<void> {
    const details = detailsOf(handle);
    await writeFile(join(details.folder, 'stopped'), '');
    const alive = () => isSameProcessAlive(details.pid, details.startTime);
    if (await alive()) {
      // Jupyter (pid 1's child) shuts its kernels down on SIGTERM, and pid 1 ends with it. Pid 1
      // itself ignores SIGTERM from outside its namespace (pid_namespaces(7)), but not SIGKILL.
      for (const child of await childrenOf(details.pid)) {
        signalProcess(child, 'SIGTERM');
      }
      if (!(await waitUntil(async () => !(await alive()), this.stopGraceMs))) {
        signalProcess(details.pid, 'SIGKILL');
        if (!(await waitUntil(async () => !(await alive()), 10_000))) {
          throw new LocalLaunchError(`the sandbox's pid ${details.pid} outlived SIGKILL`);
        }
      }
    }
    const left = await removeCgroups(details.cgroups, 10_000);
    if (left.length > 0) {
      throw new LocalLaunchError(`processes are still in ${left.join(', ')} after the stop`);
    }
    await rm(details.socketPath, { force: true });
  }

  async restore(handles: readonly BackendHandle[]): Promise<BackendState[]> {
    return Promise.all(
      handles.map(async (handle): Promise<BackendState> => {
        try {
          return await this.poll(handle);
        } catch (error) {
          return { state: 'failed', reason: `cannot be found again: ${messageOf(error)}` };
        }
      }),
    );
  }

  /** The sandbox is gone: stopped by us, ended after it ran, or failed before it answered. */
  private async gone(details: LocalHandleDetails): Promise<BackendState> {
    await removeCgroups(details.cgroups);
    const tail = await logTail(join(details.folder, 'jupyter.log'));
    if (await exists(join(details.folder, 'stopped'))) {
      return { state: 'stopped', detail: 'stopped' };
    }
    if (await exists(join(details.folder, 'ready'))) {
      return {
        state: 'stopped',
        detail: `the notebook server ended without a stop${tail === '' ? '' : `: ${tail}`}`,
      };
    }
    return {
      state: 'failed',
      reason: `the notebook server ended before it answered${tail === '' ? '' : `: ${tail}`}`,
    };
  }

  /** The folder of one instance, made afresh for each start (home and project live elsewhere). */
  private async prepareFolder(folder: string, token: string): Promise<void> {
    // Traversable, not listable, by the sandbox user: bwrap opens the binds below as uid 4242.
    await mkdir(this.root, { recursive: true });
    await chmod(this.root, 0o711);
    await mkdir(folder, { recursive: true });
    await chmod(folder, 0o711);
    for (const name of ['info.json', HANDLE_FILE, 'ready', 'stopped', 'token']) {
      await rm(join(folder, name), { force: true });
    }
    await rm(join(folder, 'run'), { recursive: true, force: true });
    await mkdir(join(folder, 'etc'), { recursive: true, mode: 0o755 });
    for (const file of sandboxFiles(SANDBOX)) {
      await writeFile(join(folder, file.name), file.content, { mode: file.mode });
    }
    await mkdir(join(folder, 'run'), { mode: 0o700 });
    await chown(join(folder, 'run'), SANDBOX.uid, SANDBOX.gid);
    await writeFile(join(folder, 'token'), token, { mode: 0o600 });
  }

  /** Every folder bound into the sandbox exists and is a folder (a missing bind fails obscurely). */
  private async checkSources(spec: LaunchSpec): Promise<void> {
    const sources = [
      ...spec.datasets.map((mount) => ({
        what: `the dataset ${mount.slug} ${mount.version}`,
        path: mount.hostPath,
      })),
      { what: "the platform socket's folder", path: dirname(spec.platformSocket) },
      { what: 'the ngsci module', path: this.pythonLib },
    ];
    for (const { what, path } of sources) {
      const stats = await stat(path).catch(() => null);
      if (stats === null || !stats.isDirectory()) {
        throw new LocalLaunchError(`${what} is not a folder here (${path})`);
      }
      const blocked = await unreachableBy(path, SANDBOX);
      if (blocked !== null) {
        throw new LocalLaunchError(unreachableMessage(what, path, blocked, SANDBOX));
      }
    }
  }

  /**
   * Spawns the sandbox, detached (its own session, not waited for), and returns its pid 1 once
   * bwrap reports it; throws with the log's tail if it ends before.
   */
  private async spawnSandbox(
    folder: string,
    launch: SandboxLaunch,
    cgroups: readonly string[],
  ): Promise<number> {
    const infoPath = join(folder, 'info.json');
    const logPath = join(folder, 'jupyter.log');
    const log = await open(logPath, 'w', 0o600);
    const info = await open(infoPath, 'w', 0o600);
    // Set by the launcher's events, read by the loop below.
    const launcher: { ended: string | null } = { ended: null };
    try {
      const child = spawn(
        '/bin/sh',
        [
          '-c',
          JOIN_CGROUPS_AND_EXEC,
          'lantern-launch',
          String(cgroups.length),
          ...cgroups.map(procsFileOf),
          ...launch.argv,
        ],
        {
          detached: true,
          env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
          // fd 3 is bwrap's --info-fd (INFO_FD), fd 4 its --args (ARGS_FD).
          stdio: ['ignore', log.fd, log.fd, info.fd, 'pipe'],
        },
      );
      child.once('error', (error) => {
        launcher.ended = error.message;
      });
      child.once('exit', (code, signal) => {
        launcher.ended = signal === null ? `exit status ${code}` : `signal ${signal}`;
      });
      child.unref();
      const args = child.stdio[ARGS_FD];
      if (!(args instanceof Writable)) {
        throw new LocalLaunchError('no pipe for the sandbox arguments');
      }
      args.end(encodeBwrapOptions(launch.options), () => args.destroy());
    } finally {
      await log.close();
      await info.close();
    }
    const deadline = performance.now() + this.launchTimeoutMs;
    for (;;) {
      const pid = await readChildPid(infoPath);
      if (pid !== null) {
        return pid;
      }
      if (launcher.ended !== null || performance.now() > deadline) {
        const tail = await logTail(logPath);
        throw new LocalLaunchError(
          `the sandbox did not start (${launcher.ended ?? 'no pid reported in time'})${tail === '' ? '' : `: ${tail}`}`,
        );
      }
      await delay(10);
    }
  }
}

function detailsOf(handle: BackendHandle): LocalHandleDetails {
  if (handle.kind !== 'local') {
    throw new LocalLaunchError(`a ${handle.kind} handle given to the local backend`);
  }
  const parsed = detailsSchema.safeParse(handle.details);
  if (!parsed.success) {
    throw new LocalLaunchError(`a local handle without its details (${parsed.error.message})`);
  }
  return parsed.data;
}

/** `{"child-pid": N}` as bwrap writes it to its info fd, once whole. */
async function readChildPid(path: string): Promise<number | null> {
  const text = await readFile(path, 'utf8');
  try {
    const pid: unknown = (JSON.parse(text) as Record<string, unknown>)['child-pid'];
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The last lines of a log that say something, for a reason shown to people. */
async function logTail(path: string, maxChars = 600): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const tail = lines.slice(-6).join(' | ');
  return tail.length > maxChars ? `…${tail.slice(-maxChars)}` : tail;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Waits for `condition`, looking every 20 ms, up to `timeoutMs`; whether it came true. */
async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) {
      return true;
    }
    if (performance.now() > deadline) {
      return false;
    }
    await delay(20);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
