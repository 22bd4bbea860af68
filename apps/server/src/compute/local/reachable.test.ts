import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SANDBOX_USER } from '../sandbox-command.js';
import { LocalComputeBackend } from './local-backend.js';
import { unreachableBy } from './reachable.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lantern-reachable-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('folders the sandbox user must reach', () => {
  it('names the first folder on the way that others may not traverse, and none once they may', async () => {
    const home = join(root, 'home');
    const data = join(home, 'clone', '.lantern');
    await mkdir(data, { recursive: true });
    await chmod(root, 0o755);
    await chmod(home, 0o700);
    expect(await unreachableBy(data, DEFAULT_SANDBOX_USER)).toEqual({ folder: home, mode: '700' });
    // A folder not made yet is made traversable when needed: nothing stops it.
    expect(await unreachableBy(join(home, 'nothing', 'here'), DEFAULT_SANDBOX_USER)).toEqual({
      folder: home,
      mode: '700',
    });
    await chmod(home, 0o711);
    expect(await unreachableBy(data, DEFAULT_SANDBOX_USER)).toBeNull();
  });

  it('says so on the status page: the local backend is not ready under an untraversable folder', async () => {
    const home = join(root, 'private');
    const data = join(home, '.lantern');
    await mkdir(data, { recursive: true });
    await chmod(home, 0o700);
    const backend = new LocalComputeBackend({ dataDir: data });
    const check = await backend.check();
    // Without bwrap or root the check stops earlier, with its own reason; here (CI runs as root
    // with the runtime packages) it reaches the folders.
    if (check.detail.includes('not installed') || check.detail.includes('must run as root')) {
      throw new Error(`the local backend cannot be checked here: ${check.detail}`);
    }
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`${home} is mode 700`);
    expect(check.detail).toContain(`chmod o+x ${home}`);
    await chmod(home, 0o711);
    expect(await backend.check()).toMatchObject({ ok: true });
  });
});
