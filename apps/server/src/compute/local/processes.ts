/**
 * What the local backend reads of processes in /proc (proc(5)): whether a pid is still the process
 * it launched (a pid is recycled; its start time tells the two apart), its children, and the pid
 * namespace it lives in. Linux only, as bubblewrap is.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** The fields of /proc/<pid>/stat the backend uses. */
export interface ProcessStat {
  pid: number;
  /** R, S, D, Z (zombie: exited, not yet reaped), T, X … */
  state: string;
  ppid: number;
  /** Clock ticks after boot at which the process started (field 22): with the pid, its identity. */
  startTime: string;
}

/** /proc/<pid>/stat, or null when there is no such process. */
export async function readProcessStat(pid: number): Promise<ProcessStat | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if (isGone(error)) {
      return null;
    }
    throw error;
  }
  return parseProcessStat(text);
}

/**
 * Parses one /proc/<pid>/stat line. The command name (field 2) is in parentheses and may itself
 * hold spaces and parentheses, so the fields after it are counted from its last `)`.
 */
export function parseProcessStat(text: string): ProcessStat | null {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) {
    return null;
  }
  const pid = Number(text.slice(0, open));
  const rest = text
    .slice(close + 1)
    .trim()
    .split(' ');
  // rest[0] is field 3 (state): field n is rest[n - 3].
  const state = rest[0];
  const ppid = Number(rest[1]);
  const startTime = rest[19];
  if (
    !Number.isInteger(pid) ||
    state === undefined ||
    !Number.isInteger(ppid) ||
    startTime === undefined ||
    !/^\d+$/u.test(startTime)
  ) {
    return null;
  }
  return { pid, state, ppid, startTime };
}

/**
 * Is `pid` still the process that started at `startTime`, and not yet exited? A zombie has exited
 * (only its parent has not collected it), and a pid with another start time is another process.
 */
export async function isSameProcessAlive(pid: number, startTime: string): Promise<boolean> {
  const stat = await readProcessStat(pid);
  return stat !== null && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** The live processes whose parent is `pid`. */
export async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/u.test(name)) {
      continue;
    }
    const stat = await readProcessStat(Number(name));
    if (stat !== null && stat.ppid === pid && stat.state !== 'Z') {
      children.push(stat.pid);
    }
  }
  return children;
}

/**
 * The pid namespace of `pid` (`pid:[4026532…]`), or null when it is gone or not ours to read (a
 * host's init may refuse even root).
 */
export async function pidNamespaceOf(pid: number): Promise<string | null> {
  try {
    return await readlink(`/proc/${pid}/ns/pid`);
  } catch (error) {
    if (isGone(error) || (error instanceof Error && 'code' in error && error.code === 'EACCES')) {
      return null;
    }
    throw error;
  }
}

/** The live processes in the pid namespace `namespace` (as pidNamespaceOf names it). */
export async function processesInNamespace(namespace: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (/^\d+$/u.test(name) && (await pidNamespaceOf(Number(name))) === namespace) {
      const stat = await readProcessStat(Number(name));
      if (stat !== null && stat.state !== 'Z') {
        found.push(stat.pid);
      }
    }
  }
  return found;
}

/** Sends `signal` to `pid`; a process already gone is not an error. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ESRCH')) {
      throw error;
    }
  }
}

/** A process that exited between listing and reading: ENOENT, or ESRCH for some files. */
function isGone(error: unknown): boolean {
  return (
    error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ESRCH')
  );
}
