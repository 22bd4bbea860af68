import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  credentialsPath,
  normalizeServerUrl,
  readCredentials,
  writeCredentials,
} from './credentials.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-credentials-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = {
  token: 'lnt_secret',
  tokenId: 'tok_1',
  tokenName: 'laptop',
  user: 'ada@example.org',
  savedAt: '2025-01-01T00:00:00.000Z',
};

describe('credentialsPath', () => {
  it('follows XDG_CONFIG_HOME, and ignores it when empty or relative (XDG Base Directory spec)', () => {
    expect(credentialsPath({ XDG_CONFIG_HOME: '/x/config' })).toBe(
      '/x/config/lantern/credentials.json',
    );
    const fallback = join(homedir(), '.config', 'lantern', 'credentials.json');
    expect(credentialsPath({})).toBe(fallback);
    expect(credentialsPath({ XDG_CONFIG_HOME: '' })).toBe(fallback);
    expect(credentialsPath({ XDG_CONFIG_HOME: 'relative/config' })).toBe(fallback);
  });
});

describe('normalizeServerUrl', () => {
  it('keys one server one way, whatever trailing slashes', () => {
    expect(normalizeServerUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(normalizeServerUrl('HTTPS://Lantern.Example.org/base//')).toBe(
      'https://lantern.example.org/base',
    );
  });

  it('refuses what is not a plain http(s) URL', () => {
    for (const bad of ['lantern.example.org', 'ftp://x', 'https://u:p@x', 'https://x/?a=1']) {
      expect(() => normalizeServerUrl(bad), bad).toThrow();
    }
  });
});

describe('writeCredentials', () => {
  it('tightens a file and directory left readable by others, and leaves no temporary file', async () => {
    const lanternDir = join(dir, 'lantern');
    const path = join(lanternDir, 'credentials.json');
    await mkdir(lanternDir, { mode: 0o755 });
    await chmod(lanternDir, 0o755);
    await writeFile(path, '{"servers":{}}', { mode: 0o644 });
    await chmod(path, 0o644);

    await writeCredentials(path, { servers: { 'http://127.0.0.1:8080': entry } });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(lanternDir)).mode & 0o777).toBe(0o700);
    expect(await readdir(lanternDir)).toEqual(['credentials.json']);
    expect(await readCredentials(path)).toEqual({ servers: { 'http://127.0.0.1:8080': entry } });
  });

  it('reads no file as no credentials, and a damaged one as a one-line error', async () => {
    const path = join(dir, 'credentials.json');
    expect(await readCredentials(path)).toEqual({ servers: {} });
    await writeFile(path, '{"servers":');
    await expect(readCredentials(path)).rejects.toThrow(
      `${path} is not valid JSON; delete it and run lantern login`,
    );
  });
});
