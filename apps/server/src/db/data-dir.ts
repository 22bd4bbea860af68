import { constants } from 'node:fs';
import { access, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A data directory that cannot be used; `message` is one line saying which and what to do. */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

/** The data directory is held by another live Lantern process (a server, or another command). */
export class DataDirInUseError extends DataDirError {
  constructor(
    readonly dir: string,
    readonly holder: { pid: number; purpose: string },
  ) {
    super(
      `data directory ${dir} is in use by another Lantern process (pid ${holder.pid}, ${holder.purpose}); stop it first or choose another with --data-dir`,
    );
    this.name = 'DataDirInUseError';
  }
}

const LOCK_FILE = 'lantern.pid';

/** Creates the data directory if needed and checks that this process may write to it. */
export async function prepareDataDir(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => null);
  if (existing !== null && !existing.isDirectory()) {
    throw new DataDirError(
      `data directory ${dir} is not a directory; choose another with --data-dir`,
    );
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new DataDirError(
      `data directory ${dir} cannot be created (${describe(error)}); choose another with --data-dir`,
    );
  }
  try {
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
    const probe = join(dir, `.write-probe-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
  } catch (error) {
    throw new DataDirError(
      `data directory ${dir} is not writable by this user (${describe(error)}); fix its permissions or choose another with --data-dir`,
    );
  }
}

/** Held while a process uses a data directory; `release` gives it up. */
export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Takes the data directory for this process. PGlite has no lock of its own, and two processes
 * writing one PGlite directory corrupt it, so a second process is refused with the first one's pid.
 * A lock left by a process that no longer runs is taken over.
 */
export async function lockDataDir(dir: string, purpose: string): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n${purpose}\n`);
      await handle.close();
      return {
        release: async () => {
          const holder = await readHolder(path);
          if (holder?.pid === process.pid) {
            await rm(path, { force: true });
          }
        },
      };
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) {
        throw new DataDirError(`data directory ${dir} cannot be locked (${describe(error)})`);
      }
    }
    const holder = await readHolder(path);
    if (holder !== null && holder.pid !== process.pid && isAlive(holder.pid)) {
      throw new DataDirInUseError(dir, holder);
    }
    // Stale: its process is gone. Remove and try once more.
    await rm(path, { force: true });
  }
  throw new DataDirError(
    `data directory ${dir} is being locked by another process at the same time; try again`,
  );
}

async function readHolder(path: string): Promise<{ pid: number; purpose: string } | null> {
  try {
    const [pidLine = '', purpose = 'unknown'] = (await readFile(path, 'utf8')).split('\n');
    const pid = Number.parseInt(pidLine, 10);
    return Number.isSafeInteger(pid) && pid > 0 ? { pid, purpose } : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return isErrno(error, 'EPERM');
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

function describe(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return error instanceof Error ? error.message : String(error);
}
