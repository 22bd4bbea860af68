/**
 * Instances as Slurm batch jobs, for institutions with an HPC cluster (issue 8): the same
 * sandboxed notebook as the local backend (sandbox-command.ts), submitted with `sbatch` with the
 * instance type's resources, followed with `scontrol show job` (and `sacct -c`, the completion
 * log, once the controller has forgotten the job), stopped with `scancel`.
 *
 * Each instance has a folder under a directory shared by the server and the compute nodes: the
 * batch script, the job's output, bubblewrap's options and Jupyter's token (mode 0600: the
 * script hands the options to bubblewrap on a file descriptor, so no token is on a command line),
 * the sandbox's passwd and group, and the run folder where Jupyter makes its UNIX socket. Without
 * a relay, the server reaches the notebook through that socket, and ngsci the server through the
 * server's own platform socket, so the job must run where the server does (a single-node cluster).
 * With a relay (`relay` in the options, LANTERN_SLURM_RELAY), the batch script also starts
 * python/slurm-relay.py outside the sandbox: TLS on an ephemeral port of the compute node to
 * Jupyter's socket (a per-instance certificate the handle pins, and a per-instance secret), and a
 * socket in the instance's platform/ folder, bound into the sandbox, to the server's /platform over
 * TCP (slurm-relay.ts). Then jobs may run on any node that shares the instances folder.
 *
 * Commands run with execFile and their arguments as a list, with SLURM_CONF from configuration and
 * none of the server's environment: nothing a user chooses is ever read by a shell.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, chown, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComponentCheck } from '../../storage/object-store.js';
import type {
  BackendHandle,
  BackendState,
  ComputeBackend,
  LaunchSpec,
  NotebookEndpoint,
} from '../compute-backend.js';
import { notebookAnswers } from '../notebook-probe.js';
import { prepareSandboxFolders } from '../sandbox-folders.js';
import {
  ARGS_FD,
  bwrapOptions,
  checkLaunchSpec,
  DEFAULT_PYTHON_LIB,
  encodeBwrapOptions,
  jupyterSocketPath,
  isInstanceId,
  launcherArgs,
  sandboxFiles,
  type SandboxUser,
} from '../sandbox-command.js';
import {
  batchScript,
  isLive,
  jobName,
  jobPhase,
  parseCompletionLog,
  parseSbatchOutput,
  parseScontrolJobs,
  sbatchArguments,
  type JobRecord,
} from './slurm-job.js';
import {
  OPENSSL,
  platformPathOf,
  prepareRelay,
  readRelayAddress,
  relayArgs,
  relayFiles,
  type RelaySettings,
} from './slurm-relay.js';

export interface SlurmBackendOptions {
  /** The cluster's slurm.conf (SLURM_CONF for every command). */
  slurmConf: string;
  /** A folder the server and the compute nodes share; one sub-folder per instance. */
  sharedDir: string;
  partition?: string | undefined;
  account?: string | undefined;
  /** The unprivileged user the sandbox runs as when jobs run as root (the server's user). */
  sandboxUser: SandboxUser;
  /** The folder holding the `ngsci` package, as the compute nodes see it; python/ by default. */
  pythonLib?: string | undefined;
  /** Where sbatch, scontrol, sacct and scancel are. */
  binDir?: string | undefined;
  /** How long `stop` waits for a cancelled job's processes to end (Slurm's KillWait and more). */
  stopTimeoutMs?: number | undefined;
  /** A relay in each job, for jobs on other nodes than the server's; none when undefined. */
  relay?: RelaySettings | undefined;
}

/** Thrown when Slurm refuses or fails a command; the message carries Slurm's own reason. */
export class SlurmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlurmError';
  }
}

/** What a Slurm handle's details hold, to find the instance again after a restart. */
interface SlurmDetails {
  instanceId: string;
  folder: string;
  socketPath: string;
  baseUrl: string;
  /** The pinned SHA-256 fingerprint of the relay's certificate; absent without a relay. */
  relayFingerprint256?: string;
}

/** The longest UNIX socket path Linux takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;
/** The most of a job's output read for a failure's reason: its last lines. */
const OUTPUT_TAIL_BYTES = 2048;

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class SlurmComputeBackend implements ComputeBackend {
  readonly kind = 'slurm';
  private readonly binDir: string;
  private readonly stopTimeoutMs: number;
  /** Jobs run as the server's user: root drops to the sandbox user, anyone else runs as itself. */
  private readonly asRoot: boolean;

  constructor(private readonly options: SlurmBackendOptions) {
    this.binDir = options.binDir ?? '/usr/bin';
    this.stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
    this.asRoot = process.getuid?.() === 0;
  }

  /** A job without a relay binds the server's socket; a relayed one binds its relay's instead. */
  bindsPlatformSocket(handle?: BackendHandle): boolean {
    return handle === undefined
      ? this.options.relay === undefined
      : slurmDetails(handle).relayFingerprint256 === undefined;
  }

  async check(): Promise<ComponentCheck> {
    try {
      await access(this.options.sharedDir, constants.W_OK | constants.X_OK);
    } catch {
      return {
        ok: false,
        detail: `the Slurm instances folder ${this.options.sharedDir} is not writable here`,
      };
    }
    const ping = await this.run('scontrol', ['ping']);
    if (ping.code !== 0 || !/\bis UP\b/u.test(ping.stdout)) {
      return {
        ok: false,
        detail: `the Slurm controller does not answer (SLURM_CONF=${this.options.slurmConf}): ${slurmMessage(ping)}`,
      };
    }
    const relay = this.options.relay;
    if (relay === undefined) {
      return { ok: true, detail: `Slurm batch jobs (${ping.stdout.trim()})` };
    }
    try {
      await access(OPENSSL, constants.X_OK);
    } catch {
      return {
        ok: false,
        detail: `${OPENSSL} is missing: the relays' certificates cannot be made`,
      };
    }
    return {
      ok: true,
      detail: `Slurm batch jobs with relays, ngsci's calls to ${relay.platformUrl} (${ping.stdout.trim()})`,
    };
  }

  async start(spec: LaunchSpec): Promise<BackendHandle> {
    checkLaunchSpec(spec);
    // Idempotent by instance: a job left by an earlier start of it (one whose server died before
    // it stored the handle) is cancelled first, so that one instance never runs twice.
    const leftover = await this.find(spec.instanceId);
    if (leftover !== null) {
      await this.stop(leftover);
    }
    const folder = join(this.options.sharedDir, spec.instanceId);
    const socketPath = jupyterSocketPath(folder);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new SlurmError(
        `the notebook's socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; choose a shorter instances folder`,
      );
    }
    const relay = this.options.relay;
    const files = relayFiles(folder);
    if (relay !== undefined && Buffer.byteLength(files.platformSocket) > MAX_SOCKET_PATH) {
      throw new SlurmError(
        `the relay's platform socket path ${files.platformSocket} is longer than ${MAX_SOCKET_PATH} bytes; choose a shorter instances folder`,
      );
    }
    const pythonLib = this.options.pythonLib ?? DEFAULT_PYTHON_LIB;
    const user = this.sandboxUser();
    const argv = launcherArgs(spec, { user: this.asRoot ? user : undefined });
    const options = bwrapOptions(
      // With a relay, ngsci's socket is the relay's, in the instance's folder.
      relay === undefined ? spec : { ...spec, platformSocket: files.platformSocket },
      {
        folder,
        pythonLib,
        platformPath: relay === undefined ? undefined : platformPathOf(relay.platformUrl),
      },
      // The batch script runs the sandbox and waits on it: the job ends with it, and it with the job.
      { dieWithParent: true, infoFd: false },
    );
    await prepareSandboxFolders(spec, this.asRoot ? user : undefined);
    const scriptPath = join(folder, 'job.sh');
    const optionsPath = join(folder, 'bwrap-args');
    await this.prepareFolder(folder, spec.token, user, {
      script: batchScript(spec.instanceId, argv, {
        fd: ARGS_FD,
        file: optionsPath,
        relay:
          relay === undefined
            ? undefined
            : relayArgs(files, relay, { pythonLib, jupyterSocket: socketPath }),
      }),
      options: encodeBwrapOptions(options),
    });
    let pin: string | undefined;
    if (relay !== undefined) {
      try {
        pin = (await prepareRelay(files, spec.instanceId)).fingerprint256;
      } catch (error) {
        await rm(folder, { recursive: true, force: true });
        throw error;
      }
    }
    const submitted = await this.run(
      'sbatch',
      sbatchArguments(spec.instanceId, spec.type, {
        folder,
        scriptPath,
        partition: this.options.partition,
        account: this.options.account,
      }),
    );
    const jobId = submitted.code === 0 ? parseSbatchOutput(submitted.stdout) : null;
    if (jobId === null) {
      await rm(folder, { recursive: true, force: true });
      throw new SlurmError(
        `Slurm refused instance ${spec.instanceId} (${spec.type.name}): ${slurmMessage(submitted)}`,
      );
    }
    const details: SlurmDetails = {
      instanceId: spec.instanceId,
      folder,
      socketPath,
      baseUrl: spec.baseUrl,
      ...(pin === undefined ? {} : { relayFingerprint256: pin }),
    };
    return { kind: 'slurm', ref: jobId, details: { ...details } };
  }

  /** The live job of `instanceId`, by its job name (`lantern-<id>`), as squeue lists it. */
  async find(instanceId: string): Promise<BackendHandle | null> {
    if (!isInstanceId(instanceId)) {
      throw new SlurmError(`the instance id ${JSON.stringify(instanceId)} is not one`);
    }
    const listed = await this.run('squeue', [
      '--noheader',
      `--name=${jobName(instanceId)}`,
      '--format=%i',
    ]);
    if (listed.code !== 0) {
      throw new SlurmError(`squeue failed: ${slurmMessage(listed)}`);
    }
    const ids = listed.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((id) => /^\d+$/u.test(id));
    const records = await this.records(ids);
    const live = ids.find((id) => {
      const record = records.get(id);
      return record !== undefined && isLive(record);
    });
    if (live === undefined) {
      return null;
    }
    const folder = join(this.options.sharedDir, instanceId);
    const details: SlurmDetails = {
      instanceId,
      folder,
      socketPath: jupyterSocketPath(folder),
      baseUrl: `/instances/${instanceId}/`,
    };
    return { kind: 'slurm', ref: live, details: { ...details } };
  }

  async poll(handle: BackendHandle): Promise<BackendState> {
    const [state] = await this.restore([handle]);
    return state ?? { state: 'failed', reason: `no state for Slurm job ${handle.ref}` };
  }

  async stop(handle: BackendHandle): Promise<void> {
    const details = slurmDetails(handle);
    const cancelled = await this.run('scancel', [handle.ref]);
    if (cancelled.code !== 0 && !/invalid job id|already complet/iu.test(cancelled.stderr)) {
      throw new SlurmError(`scancel ${handle.ref} failed: ${slurmMessage(cancelled)}`);
    }
    const deadline = Date.now() + this.stopTimeoutMs;
    for (;;) {
      const record = (await this.records([handle.ref])).get(handle.ref);
      if (record === undefined || !isLive(record)) {
        break;
      }
      if (Date.now() > deadline) {
        throw new SlurmError(
          `Slurm job ${handle.ref} is still ${record.state} ${this.stopTimeoutMs} ms after scancel`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await rm(details.folder, { recursive: true, force: true });
  }

  /** Every job read at once: the controller's jobs in one call, the completion log for the rest. */
  async restore(handles: readonly BackendHandle[]): Promise<BackendState[]> {
    const records = await this.records(handles.map((h) => h.ref));
    return Promise.all(handles.map((handle) => this.stateOf(handle, records.get(handle.ref))));
  }

  /**
   * What Slurm knows of these jobs: `scontrol show job -o` (jobs in the controller's memory), then
   * `sacct -c` (the completion log) for those it has forgotten. A job in neither is absent.
   */
  async records(jobIds: readonly string[]): Promise<Map<string, JobRecord>> {
    const wanted = new Set(jobIds.filter((id) => /^\d+$/u.test(id)));
    const found = new Map<string, JobRecord>();
    if (wanted.size === 0) {
      return found;
    }
    const args =
      wanted.size === 1 ? ['show', 'job', '-o', [...wanted][0] ?? ''] : ['show', 'job', '-o'];
    const shown = await this.run('scontrol', args);
    if (shown.code !== 0 && !/invalid job id/iu.test(shown.stderr)) {
      throw new SlurmError(`scontrol show job failed: ${slurmMessage(shown)}`);
    }
    for (const record of parseScontrolJobs(shown.stdout)) {
      if (wanted.has(record.jobId)) {
        found.set(record.jobId, record);
      }
    }
    const forgotten = [...wanted].filter((id) => !found.has(id));
    for (const record of await this.completionLog(forgotten)) {
      found.set(record.jobId, record);
    }
    return found;
  }

  /** Finished jobs from `sacct -c` (no slurmdbd needed); the last record of a job wins. */
  async completionLog(jobIds: readonly string[]): Promise<JobRecord[]> {
    if (jobIds.length === 0) {
      return [];
    }
    const log = await this.run('sacct', [
      '-c',
      '-n',
      '-P',
      '-o',
      'jobid,state,exitcode',
      '-j',
      jobIds.join(','),
    ]);
    if (log.code !== 0) {
      throw new SlurmError(`sacct -c failed: ${slurmMessage(log)}`);
    }
    return parseCompletionLog(log.stdout);
  }

  private async stateOf(
    handle: BackendHandle,
    record: JobRecord | undefined,
  ): Promise<BackendState> {
    if (handle.kind !== 'slurm') {
      return { state: 'failed', reason: `a ${handle.kind} instance is not a Slurm job` };
    }
    const details = slurmDetails(handle);
    if (record === undefined) {
      return { state: 'stopped', detail: `Slurm no longer knows job ${handle.ref}` };
    }
    const phase = jobPhase(record, { relayed: details.relayFingerprint256 !== undefined });
    switch (phase.phase) {
      case 'waiting':
        return { state: 'starting', detail: phase.detail };
      case 'ending':
      case 'ended':
        return { state: 'stopped', detail: phase.detail };
      case 'failed': {
        const output = await outputTail(join(details.folder, `slurm-${handle.ref}.out`));
        return {
          state: 'failed',
          reason: output === '' ? phase.reason : `${phase.reason}: ${output}`,
        };
      }
      case 'running': {
        const endpoint = await this.endpointOf(details);
        if ('detail' in endpoint) {
          return { state: 'starting', detail: `Slurm job ${handle.ref} runs; ${endpoint.detail}` };
        }
        const token = await readToken(details.folder);
        if (token !== null && (await notebookAnswers(endpoint, details.baseUrl, token))) {
          return { state: 'running', endpoint };
        }
        return {
          state: 'starting',
          detail: `Slurm job ${handle.ref} runs; the notebook does not answer yet`,
        };
      }
    }
  }

  /**
   * Where the notebook of a running job is reached: its socket, or its relay once the relay has
   * written its address (with the certificate the handle pins). Which one is the handle's to say,
   * not the configuration's: a job keeps the way it was launched with.
   */
  private async endpointOf(details: SlurmDetails): Promise<NotebookEndpoint | { detail: string }> {
    if (details.relayFingerprint256 === undefined) {
      return { socketPath: details.socketPath };
    }
    const address = await readRelayAddress(relayFiles(details.folder), details.relayFingerprint256);
    switch (address.state) {
      case 'listening':
        return { relay: address.endpoint };
      case 'not-yet':
        return { detail: 'its relay does not listen yet' };
      case 'wrong':
        return { detail: address.reason };
    }
  }

  private sandboxUser(): SandboxUser {
    if (this.asRoot) {
      return this.options.sandboxUser;
    }
    return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  }

  /**
   * The instance's folder, made afresh: the batch script, bubblewrap's options and Jupyter's token
   * (the server's, 0600), etc/ (passwd and group naming `ngsci`) and run/ (the sandbox user's).
   */
  private async prepareFolder(
    folder: string,
    token: string,
    user: SandboxUser,
    files: { script: string; options: string },
  ): Promise<void> {
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true, mode: 0o711 });
    await chmod(folder, 0o711);
    await mkdir(join(folder, 'etc'), { mode: 0o755 });
    for (const file of sandboxFiles(user)) {
      await writeFile(join(folder, file.name), file.content, { mode: file.mode });
    }
    await mkdir(join(folder, 'run'), { mode: 0o700 });
    await this.giveToSandbox(join(folder, 'run'), user);
    await writeFile(join(folder, 'token'), token, { mode: 0o600 });
    await writeFile(join(folder, 'bwrap-args'), files.options, { mode: 0o600 });
    await writeFile(join(folder, 'job.sh'), files.script, { mode: 0o700 });
  }

  private async giveToSandbox(path: string, user: SandboxUser): Promise<void> {
    if (this.asRoot) {
      await chown(path, user.uid, user.gid);
    }
  }

  /** One Slurm command, its exit code and output; never a shell, never the server's environment. */
  private run(command: string, args: readonly string[]): Promise<CommandResult> {
    return new Promise((resolve) => {
      execFile(
        join(this.binDir, command),
        args,
        {
          env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', SLURM_CONF: this.options.slurmConf },
          timeout: 30_000,
          maxBuffer: 16 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          resolve({
            code,
            stdout,
            stderr: code === -1 && stderr === '' ? (error?.message ?? '') : stderr,
          });
        },
      );
    });
  }
}

/** A handle's details, checked: a handle persisted by an older server may lack some. */
function slurmDetails(handle: BackendHandle): SlurmDetails {
  const { instanceId, folder, socketPath, baseUrl, relayFingerprint256 } = handle.details;
  if (
    typeof instanceId !== 'string' ||
    typeof folder !== 'string' ||
    typeof socketPath !== 'string' ||
    typeof baseUrl !== 'string'
  ) {
    throw new SlurmError(`the handle of Slurm job ${handle.ref} lacks its instance's folder`);
  }
  if (relayFingerprint256 !== undefined && typeof relayFingerprint256 !== 'string') {
    throw new SlurmError(`the handle of Slurm job ${handle.ref} has a relay pin that is not one`);
  }
  return {
    instanceId,
    folder,
    socketPath,
    baseUrl,
    ...(relayFingerprint256 === undefined ? {} : { relayFingerprint256 }),
  };
}

/** Slurm's own words for a failure: stderr without the command's "sbatch: error:" prefixes. */
function slurmMessage(result: CommandResult): string {
  const text = (result.stderr.trim() === '' ? result.stdout : result.stderr)
    .split('\n')
    .map((line) =>
      line.replace(/^\w+: error: /u, '').replace(/^Batch job submission failed: /u, ''),
    )
    .filter((line) => line.trim() !== '')
    .join('; ');
  return text === '' ? `exit code ${result.code}` : text;
}

/** Jupyter's token, from the instance's folder (the handle never holds it). */
async function readToken(folder: string): Promise<string | null> {
  try {
    return await readFile(join(folder, 'token'), 'utf8');
  } catch {
    return null;
  }
}

/** The last lines of a job's output, at most 2 KiB, on one line; empty if there is none. */
async function outputTail(path: string): Promise<string> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await file.stat();
    const length = Math.min(size, OUTPUT_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, size - length);
    return buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-5)
      .join(' | ');
  } finally {
    await file.close();
  }
}
