/**
 * What the compute benchmarks share: free TCP ports, child processes started and stopped (their
 * stderr kept for when they fail) and their CPU time, polling a URL until it answers, and
 * percentiles.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `url` every `intervalMs` until it answers 200 (each poll a real request), or fails after
 * `ms` with the last answer.
 */
export async function waitFor(
  url: string,
  headers: Record<string, string>,
  ms: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = performance.now() + ms;
  let last = 'no answer';
  while (performance.now() < deadline) {
    try {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status === 200) {
        return;
      }
      last = `status ${res.status}`;
    } catch (error) {
      last = String(error);
    }
    await delay(intervalMs);
  }
  throw new Error(`${url} did not answer 200 within ${ms} ms (${last})`);
}

/** Children being stopped, whose exit status is then no news. */
const stopping = new WeakSet<ChildProcess>();

/** Starts `command`; an exit this script did not ask for is reported with the end of its stderr. */
export function startProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-4000);
  });
  child.once('exit', (code, signal) => {
    if (!stopping.has(child) && code !== null && code !== 0) {
      process.stderr.write(
        `${command} exited ${code}${signal === null ? '' : ` (${signal})`}:\n${err}\n`,
      );
    }
  });
  return child;
}

/** A started child's process id (spawn leaves it undefined only when the start failed). */
export function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) {
    throw new Error(`${child.spawnfile} did not start`);
  }
  return child.pid;
}

/** Clock ticks per second, the unit of /proc's CPU times. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU time (user + system, in seconds) a process has spent so far, from /proc/<pid>/stat (proc(5)). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (which may hold spaces) are fixed: utime and stime are the
  // 14th and 15th of the line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** SIGTERM, and waits for the exit. */
export function stopProcess(child: ChildProcess): Promise<void> {
  stopping.add(child);
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** The `p`th percentile, interpolated between the closest ranks; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) {
    return NaN;
  }
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] ?? NaN;
  const b = sorted[high] ?? NaN;
  return a + (b - a) * (rank - low);
}
