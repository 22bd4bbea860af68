/**
 * A notebook instance as a Slurm batch job, as data (issue 8): the `sbatch` arguments that ask for
 * the instance type's resources, the batch script that runs the sandboxed notebook, and what
 * `scontrol show job -o` and `sacct -c` say of a job, read into a state. Pure, so that the Slurm
 * backend's commands are tested as values and its I/O stays in slurm-backend.ts.
 */
import type { InstanceType } from '@lantern/core/instances';

/** Where a job's own files go, and the cluster's placement options. */
export interface SbatchPlacement {
  /** The instance's folder on the shared file system: the batch script and the job's output. */
  folder: string;
  scriptPath: string;
  partition?: string | undefined;
  account?: string | undefined;
}

/** The job name carries the instance id, so that `squeue` and `sacct` show whose it is. */
export function jobName(instanceId: string): string {
  return `lantern-${instanceId}`;
}

/**
 * The GPU request for a type, as a generic resource: `gpu:<model>:<count>`, the model in lower
 * case as sites name their GPU types in gres.conf (`gpu:a100:1`). Null for CPU types.
 */
export function gpuGres(type: InstanceType): string | null {
  return type.gpu === null ? null : `gpu:${type.gpu.model.toLowerCase()}:${type.gpu.count}`;
}

/**
 * `sbatch` arguments for one instance: one task on one node with the type's vCPUs and memory (and
 * GPUs), the job's output in the instance folder, and none of the server's environment (which
 * holds its secrets): the script needs none of it.
 */
export function sbatchArguments(
  instanceId: string,
  type: InstanceType,
  placement: SbatchPlacement,
): string[] {
  const args = [
    '--parsable',
    `--job-name=${jobName(instanceId)}`,
    `--output=${placement.folder}/slurm-%j.out`,
    `--chdir=${placement.folder}`,
    '--export=NONE',
    '--nodes=1',
    '--ntasks=1',
    `--cpus-per-task=${type.vcpus}`,
    `--mem=${type.memoryMib}M`,
  ];
  const gres = gpuGres(type);
  if (gres !== null) {
    args.push(`--gres=${gres}`);
  }
  if (placement.partition !== undefined) {
    args.push(`--partition=${placement.partition}`);
  }
  if (placement.account !== undefined) {
    args.push(`--account=${placement.account}`);
  }
  args.push(placement.scriptPath);
  return args;
}

/** A word for a POSIX shell, quoted whole: nothing in it is expanded. */
export function shellQuote(word: string): string {
  if (word.includes('\0')) {
    throw new Error('a shell word cannot hold a NUL character');
  }
  return /^[A-Za-z0-9_./=:,@%+-]+$/u.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The batch script's exit code when the relay stopped while the notebook ran: the script ends the
 * sandbox with it and exits so (Slurm records the job FAILED with `75:0`), and `jobPhase` reads it
 * as the relay's failure. 75 (EX_TEMPFAIL) is no code Jupyter, bubblewrap, setpriv or prlimit
 * exit with.
 */
export const RELAY_STOPPED_EXIT = 75;

/**
 * The batch script: it replaces itself with the sandboxed notebook, so that the job lives exactly
 * as long as the notebook, and `scancel` signals it directly. Each word is quoted. bubblewrap's
 * options, which hold the tokens, are not in it: the script opens `options.file` (0600) on the fd
 * bubblewrap reads them from (`--args <fd>`), before setpriv drops to the sandbox's user.
 *
 * With a relay (`relay`: its argv, slurm-relay.ts), the notebook is reachable only while both run,
 * so the job lives while both do: the script starts the relay (told the script's pid, `--parent`,
 * so that it exits with the script) and the sandbox, both in the background, and waits for either
 * to end (bash's `wait -n`: POSIX sh waits for one given child at a time). The sandbox ending
 * stops the relay and the job exits with the sandbox's status; the relay ending (a crash, a kill)
 * stops the sandbox and the job exits RELAY_STOPPED_EXIT, saying so in its output.
 */
export function batchScript(
  instanceId: string,
  argv: readonly string[],
  options: { fd: number; file: string; relay?: readonly string[] | undefined },
): string {
  const sandbox = `${argv.map(shellQuote).join(' \\\n  ')} \\\n  ${options.fd}<${shellQuote(options.file)}`;
  const about = [
    `# Lantern notebook instance ${instanceId}: a sandboxed Jupyter server (bubblewrap, no network).`,
    '# Written by the Lantern server; its resources are in the sbatch arguments.',
  ];
  if (options.relay === undefined) {
    return ['#!/bin/sh', ...about, `exec ${sandbox}`, ''].join('\n');
  }
  return [
    '#!/bin/bash',
    ...about,
    "# The relay carries the server's connections to the notebook and ngsci's to the server;",
    '# whichever of the two ends first ends the other, and the job.',
    `${options.relay.map(shellQuote).join(' \\\n  ')} \\\n  --parent "$$" &`,
    'relay=$!',
    `${sandbox} &`,
    'sandbox=$!',
    'wait -n',
    'status=$?',
    'if ! kill -0 "$relay" 2>/dev/null; then',
    '  echo "lantern: the relay exited with status $status; the notebook is stopped with it" >&2',
    '  kill "$sandbox" 2>/dev/null',
    '  wait "$sandbox"',
    `  exit ${RELAY_STOPPED_EXIT}`,
    'fi',
    'kill "$relay" 2>/dev/null',
    'wait "$relay"',
    'exit "$status"',
    '',
  ].join('\n');
}

/** `sbatch --parsable` prints `<job id>` or `<job id>;<cluster>`. */
export function parseSbatchOutput(stdout: string): string | null {
  const match = /^(\d+)(?:;\S+)?$/u.exec(stdout.trim());
  return match?.[1] ?? null;
}

/** What Slurm says of a job: its state, why it waits, its exit code. */
export interface JobRecord {
  jobId: string;
  /** RUNNING, PENDING, COMPLETED, CANCELLED, FAILED … (a `+` suffix, as in CANCELLED+, removed). */
  state: string;
  /** Why a pending job waits (`Resources`, `Priority`), or `None`. */
  reason: string | null;
  /** `exit:signal`, as Slurm prints it. */
  exitCode: string | null;
}

/** The value of `key=` in one `scontrol -o` line (values end at the next space). */
function field(line: string, key: string): string | null {
  const match = new RegExp(`(?:^|\\s)${key}=(\\S*)`, 'u').exec(line);
  return match?.[1] ?? null;
}

/** The jobs in `scontrol show job -o` output, one line each. */
export function parseScontrolJobs(stdout: string): JobRecord[] {
  const jobs: JobRecord[] = [];
  for (const line of stdout.split('\n')) {
    const jobId = field(line, 'JobId');
    const state = field(line, 'JobState');
    if (jobId === null || state === null) {
      continue;
    }
    jobs.push({
      jobId,
      state: state.replace(/\+$/u, ''),
      reason: field(line, 'Reason'),
      exitCode: field(line, 'ExitCode'),
    });
  }
  return jobs;
}

/** The jobs in `sacct -c -n -P -o jobid,state,exitcode` output (the completion log). */
export function parseCompletionLog(stdout: string): JobRecord[] {
  const jobs: JobRecord[] = [];
  for (const line of stdout.split('\n')) {
    const [jobId, state, exitCode] = line.trim().split('|');
    if (jobId === undefined || state === undefined || !/^\d+$/u.test(jobId) || state === '') {
      continue;
    }
    // "CANCELLED by 0" in some versions: the first word is the state.
    jobs.push({
      jobId,
      state: (state.split(' ')[0] ?? state).replace(/\+$/u, ''),
      reason: null,
      exitCode: exitCode ?? null,
    });
  }
  return jobs;
}

/** States in which the job has not started its script yet. */
const WAITING = new Set(['PENDING', 'CONFIGURING', 'REQUEUED', 'RESIZING', 'SUSPENDED', 'STOPPED']);
/** States in which the job's processes still run (or are being killed). */
const LIVE = new Set([...WAITING, 'RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT']);
/**
 * Reasons a pending job waits for ever: what it asks for is more than the partition allows or any
 * node has (a cluster without EnforcePartLimits takes such jobs and leaves them pending).
 */
const NEVER_STARTS = new Set([
  'PartitionConfig',
  'PartitionNodeLimit',
  'PartitionTimeLimit',
  'BadConstraints',
  'InvalidAccount',
  'InvalidQOS',
]);
/** Ends that are not failures: the notebook exited, or someone cancelled the job. */
const ENDED_CLEANLY = new Set(['COMPLETED', 'CANCELLED']);

/** Whether the job still holds processes (anything before its end is recorded). */
export function isLive(record: JobRecord): boolean {
  return LIVE.has(record.state);
}

/** How a job reads as an instance state, before asking the notebook whether it answers. */
export type JobPhase =
  | { phase: 'waiting'; detail: string }
  | { phase: 'running' }
  | { phase: 'ending'; detail: string }
  | { phase: 'ended'; detail: string }
  | { phase: 'failed'; reason: string };

/**
 * How a job reads as an instance state. `relayed`: the job runs a relay (its handle pins one), so
 * an exit with RELAY_STOPPED_EXIT is the relay's failure, said as such.
 */
export function jobPhase(record: JobRecord, options: { relayed?: boolean } = {}): JobPhase {
  const { jobId, state } = record;
  if (state === 'PENDING' && record.reason !== null && NEVER_STARTS.has(record.reason)) {
    return {
      phase: 'failed',
      reason: `Slurm job ${jobId} can never start on this cluster (${record.reason}): the instance type asks for more than its nodes or partition allow`,
    };
  }
  if (WAITING.has(state)) {
    const why = record.reason !== null && record.reason !== 'None' ? ` (${record.reason})` : '';
    return { phase: 'waiting', detail: `Slurm job ${jobId} is ${state.toLowerCase()}${why}` };
  }
  if (state === 'RUNNING') {
    return { phase: 'running' };
  }
  if (LIVE.has(state)) {
    return { phase: 'ending', detail: `Slurm job ${jobId} is ending (${state})` };
  }
  if (ENDED_CLEANLY.has(state)) {
    return {
      phase: 'ended',
      detail:
        state === 'CANCELLED'
          ? `Slurm job ${jobId} was cancelled`
          : `Slurm job ${jobId} completed: the notebook server exited`,
    };
  }
  const exit = record.exitCode !== null ? `, exit code ${record.exitCode}` : '';
  if (options.relayed === true && record.exitCode === `${RELAY_STOPPED_EXIT}:0`) {
    return {
      phase: 'failed',
      reason: `the notebook's relay stopped, and Slurm job ${jobId} ended with it (${state}${exit})`,
    };
  }
  return { phase: 'failed', reason: `Slurm job ${jobId} ended ${state}${exit}` };
}
