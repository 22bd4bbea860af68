import { DEFAULT_INSTANCE_TYPES, type InstanceType } from '@lantern/core/instances';
import { describe, expect, it } from 'vitest';
import {
  batchScript,
  gpuGres,
  isLive,
  jobPhase,
  parseCompletionLog,
  parseSbatchOutput,
  parseScontrolJobs,
  RELAY_STOPPED_EXIT,
  sbatchArguments,
  shellQuote,
} from './slurm-job.js';

const type = (name: string): InstanceType => {
  const found = DEFAULT_INSTANCE_TYPES.find((t) => t.name === name);
  if (found === undefined) {
    throw new Error(`no type ${name}`);
  }
  return found;
};
const placement = { folder: '/shared/i1', scriptPath: '/shared/i1/job.sh' };

describe('sbatch arguments', () => {
  it('ask for the type’s vCPUs and memory, name the job after the instance, and pass no environment', () => {
    expect(sbatchArguments('i1', type('cpu.small'), placement)).toEqual([
      '--parsable',
      '--job-name=lantern-i1',
      '--output=/shared/i1/slurm-%j.out',
      '--chdir=/shared/i1',
      '--export=NONE',
      '--nodes=1',
      '--ntasks=1',
      '--cpus-per-task=4',
      '--mem=16384M',
      '/shared/i1/job.sh',
    ]);
  });

  it('ask for GPUs as generic resources, and a partition and account when configured', () => {
    expect(gpuGres(type('gpu.a100'))).toBe('gpu:a100:1');
    expect(gpuGres(type('cpu.xsmall'))).toBeNull();
    const args = sbatchArguments('i2', type('gpu.h100'), {
      ...placement,
      partition: 'gpu',
      account: 'lantern',
    });
    expect(args).toContain('--gres=gpu:h100:1');
    expect(args).toContain('--cpus-per-task=26');
    expect(args.slice(-3)).toEqual(['--partition=gpu', '--account=lantern', '/shared/i1/job.sh']);
  });

  it('read the job id sbatch --parsable prints, with or without a cluster', () => {
    expect(parseSbatchOutput('42\n')).toBe('42');
    expect(parseSbatchOutput('42;cluster-a\n')).toBe('42');
    expect(parseSbatchOutput('Submitted batch job 42')).toBeNull();
    expect(parseSbatchOutput('')).toBeNull();
  });
});

describe('the batch script', () => {
  it('execs the command with every word quoted for the shell', () => {
    expect(shellQuote('/usr/bin/bwrap')).toBe('/usr/bin/bwrap');
    expect(shellQuote("it's $(here)")).toBe(`'it'\\''s $(here)'`);
    expect(() => shellQuote('a\0b')).toThrow(/NUL/u);
    const script = batchScript('i1', ['/usr/bin/bwrap', '--args', '4', 'a b; rm -rf /'], {
      fd: 4,
      file: "/srv/it's/bwrap-args",
    });
    expect(script).toBe(
      '#!/bin/sh\n' +
        '# Lantern notebook instance i1: a sandboxed Jupyter server (bubblewrap, no network).\n' +
        '# Written by the Lantern server; its resources are in the sbatch arguments.\n' +
        "exec /usr/bin/bwrap \\\n  --args \\\n  4 \\\n  'a b; rm -rf /' \\\n  4<'/srv/it'\\''s/bwrap-args'\n",
    );
  });

  it('with a relay, runs it and the sandbox, and ends the job when either ends (the relay’s end with its own exit code)', () => {
    const script = batchScript('i1', ['/usr/bin/bwrap', '--args', '4'], {
      fd: 4,
      file: '/srv/i1/bwrap-args',
      relay: ['/usr/bin/python3', '/opt/python/slurm-relay.py', '--bind=0.0.0.0', "--x=it's"],
    });
    expect(script.split('\n')[0]).toBe('#!/bin/bash');
    expect(script.split('\n').slice(3)).toEqual([
      "# The relay carries the server's connections to the notebook and ngsci's to the server;",
      '# whichever of the two ends first ends the other, and the job.',
      '/usr/bin/python3 \\',
      '  /opt/python/slurm-relay.py \\',
      '  --bind=0.0.0.0 \\',
      "  '--x=it'\\''s' \\",
      '  --parent "$$" &',
      'relay=$!',
      '/usr/bin/bwrap \\',
      '  --args \\',
      '  4 \\',
      '  4</srv/i1/bwrap-args &',
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
    ]);
  });
});

describe('what Slurm says of a job', () => {
  // As printed by Slurm 22.05 (`scontrol show job -o`), shortened.
  const shown =
    'JobId=7 JobName=lantern-i1 UserId=root(0) JobState=RUNNING Reason=None Dependency=(null) ExitCode=0:0 RunTime=00:00:01 NumCPUs=1\n' +
    'JobId=8 JobName=lantern-i2 UserId=root(0) JobState=PENDING Reason=Resources Dependency=(null) ExitCode=0:0\n' +
    'JobId=9 JobName=lantern-i3 UserId=root(0) JobState=CANCELLED Reason=None Dependency=(null) ExitCode=0:15\n' +
    'JobId=10 JobName=lantern-i4 UserId=root(0) JobState=PENDING Reason=PartitionConfig ExitCode=0:0\n' +
    'JobId=11 JobName=lantern-i5 UserId=root(0) JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0\n';

  it('reads scontrol’s lines into records and each into a phase', () => {
    const jobs = parseScontrolJobs(shown);
    expect(jobs.map((j) => [j.jobId, j.state, j.reason, j.exitCode])).toEqual([
      ['7', 'RUNNING', 'None', '0:0'],
      ['8', 'PENDING', 'Resources', '0:0'],
      ['9', 'CANCELLED', 'None', '0:15'],
      ['10', 'PENDING', 'PartitionConfig', '0:0'],
      ['11', 'FAILED', 'NonZeroExitCode', '1:0'],
    ]);
    expect(jobs.map((job) => jobPhase(job))).toEqual([
      { phase: 'running' },
      { phase: 'waiting', detail: 'Slurm job 8 is pending (Resources)' },
      { phase: 'ended', detail: 'Slurm job 9 was cancelled' },
      {
        phase: 'failed',
        reason:
          'Slurm job 10 can never start on this cluster (PartitionConfig): the instance type asks for more than its nodes or partition allow',
      },
      { phase: 'failed', reason: 'Slurm job 11 ended FAILED, exit code 1:0' },
    ]);
    expect(jobs.map(isLive)).toEqual([true, true, false, true, false]);
    // A relayed job that exits RELAY_STOPPED_EXIT lost its relay; any other job so is a failure.
    const [relayStopped] = parseScontrolJobs(
      `JobId=12 JobState=FAILED Reason=NonZeroExitCode ExitCode=${RELAY_STOPPED_EXIT}:0`,
    );
    expect(relayStopped && jobPhase(relayStopped, { relayed: true })).toEqual({
      phase: 'failed',
      reason: `the notebook's relay stopped, and Slurm job 12 ended with it (FAILED, exit code ${RELAY_STOPPED_EXIT}:0)`,
    });
    expect(relayStopped && jobPhase(relayStopped)).toEqual({
      phase: 'failed',
      reason: `Slurm job 12 ended FAILED, exit code ${RELAY_STOPPED_EXIT}:0`,
    });
    expect(parseScontrolJobs('No jobs in the system\n')).toEqual([]);
  });

  it('reads the completion log of sacct -c', () => {
    expect(parseCompletionLog('12|COMPLETED|0:0\n13|CANCELLED by 0|0:15\n\nnonsense\n')).toEqual([
      { jobId: '12', state: 'COMPLETED', reason: null, exitCode: '0:0' },
      { jobId: '13', state: 'CANCELLED', reason: null, exitCode: '0:15' },
    ]);
    const [completed] = parseCompletionLog('12|COMPLETED|0:0\n');
    expect(completed === undefined ? null : jobPhase(completed)).toEqual({
      phase: 'ended',
      detail: 'Slurm job 12 completed: the notebook server exited',
    });
  });

  it('counts a job still being torn down as live, and ending', () => {
    const [completing] = parseScontrolJobs('JobId=5 JobState=COMPLETING Reason=None ExitCode=0:0');
    expect(completing && isLive(completing)).toBe(true);
    expect(completing && jobPhase(completing)).toEqual({
      phase: 'ending',
      detail: 'Slurm job 5 is ending (COMPLETING)',
    });
  });
});
