import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { DataDirError, lockDataDir, prepareDataDir } from './data-dir.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-datadir-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('prepareDataDir', () => {
  it('creates a missing directory', async () => {
    await prepareDataDir(join(dir, 'a', 'b'));
  });

  it('says so in one line when the path is a file', async () => {
    await writeFile(join(dir, 'file'), 'x');
    await expect(prepareDataDir(join(dir, 'file'))).rejects.toThrow(
      new DataDirError(
        `data directory ${join(dir, 'file')} is not a directory; choose another with --data-dir`,
      ),
    );
  });

  it('says so when it cannot be created', async () => {
    await writeFile(join(dir, 'file'), 'x');
    await expect(prepareDataDir(join(dir, 'file', 'sub'))).rejects.toThrow(
      /cannot be created \(ENOTDIR\)/,
    );
  });
});

describe('lockDataDir', () => {
  it('refuses a second holder while the first lives, naming its pid', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      await writeFile(join(dir, 'lantern.pid'), `${sleeper.pid}\nlantern start\n`);
      await expect(lockDataDir(dir, 'test')).rejects.toThrow(
        `in use by another Lantern process (pid ${sleeper.pid}, lantern start)`,
      );
    } finally {
      sleeper.kill();
    }
  });

  it('takes over a lock whose process is gone, and releases it', async () => {
    await writeFile(join(dir, 'lantern.pid'), '999999999\nlantern start\n');
    const lock = await lockDataDir(dir, 'test');
    expect(await readFile(join(dir, 'lantern.pid'), 'utf8')).toBe(`${process.pid}\ntest\n`);
    await lock.release();
    await expect(readFile(join(dir, 'lantern.pid'))).rejects.toThrow(/ENOENT/);
  });
});

describe('openDatabase on a damaged PGlite directory', () => {
  it('says it is corrupt and what to do, in one line', async () => {
    await mkdir(join(dir, 'db'));
    await writeFile(join(dir, 'db', 'PG_VERSION'), 'not a version\n');
    const error = await openDatabase({ dataDir: dir, databaseUrl: undefined }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DataDirError);
    expect((error as Error).message).toMatch(/cannot be opened .*corrupt.*move it aside/);
    expect((error as Error).message).not.toContain('\n');
  });
});
