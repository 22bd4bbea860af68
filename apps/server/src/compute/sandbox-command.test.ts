import { DEFAULT_INSTANCE_TYPES } from '@lantern/core/instances';
import { describe, expect, it } from 'vitest';
import type { LaunchSpec } from './compute-backend.js';
import {
  BWRAP,
  sandboxCommand,
  sandboxEnvironment,
  sandboxFiles,
  SandboxSpecError,
  SETPRIV,
} from './sandbox-command.js';

const TYPE = DEFAULT_INSTANCE_TYPES[0];
if (TYPE === undefined) {
  throw new Error('no default instance type');
}

const spec: LaunchSpec = {
  instanceId: 'inst1',
  type: TYPE,
  baseUrl: '/instances/inst1/',
  token: 'jupyter-secret',
  datasets: [
    { slug: 'brca-psj-path', version: '2.1', hostPath: '/data/views/brca/2.1' },
    { slug: 'arrest-ntuh-ecg', version: '1.0', hostPath: '/data/views/arrest/1.0' },
  ],
  projectPath: '/data/projects/p1',
  homePath: '/data/homes/u1',
  platformSocket: '/run/lantern/platform.sock',
  platformToken: 'platform-secret',
  env: { LANTERN_FLAVOUR: 'test', NG_INSTANCE_ID: 'forged', HOME: '/root' },
};
const paths = { runDir: '/srv/i/inst1/run', configDir: '/srv/i/inst1/config' };

/** The argument after each occurrence of `flag`, as [source, destination] pairs for mounts. */
function mounts(argv: readonly string[], flag: string): [string, string][] {
  const found: [string, string][] = [];
  argv.forEach((arg, i) => {
    if (arg === flag) {
      found.push([argv[i + 1] ?? '', argv[i + 2] ?? '']);
    }
  });
  return found;
}

describe('the sandbox command line', () => {
  const argv = sandboxCommand(spec, paths, {
    user: { uid: 4242, gid: 4243 },
    dieWithParent: true,
  });

  it('drops to the sandbox user, limits processes, and runs bwrap with everything unshared', () => {
    expect(argv.slice(0, 5)).toEqual([
      SETPRIV,
      '--reuid=4242',
      '--regid=4243',
      '--clear-groups',
      '--inh-caps=-all',
    ]);
    const bwrap = argv.indexOf(BWRAP);
    expect(argv.slice(5, bwrap)).toEqual([
      '/usr/bin/prlimit',
      '--nproc=512',
      '--nofile=4096',
      '--',
    ]);
    expect(argv.slice(bwrap + 1, bwrap + 5)).toEqual([
      '--unshare-all',
      '--new-session',
      '--clearenv',
      '--die-with-parent',
    ]);
    expect(argv).not.toContain('--share-net');
  });

  it('mounts datasets read-only under a read-only folder, the project and home read-write', () => {
    expect(mounts(argv, '--bind')).toEqual([
      ['/data/homes/u1', '/home/ngsci'],
      ['/data/projects/p1', '/home/ngsci/project'],
      ['/srv/i/inst1/run', '/run/jupyter'],
      ['/run/lantern/platform.sock', '/run/lantern/platform.sock'],
    ]);
    const readOnly = mounts(argv, '--ro-bind');
    expect(readOnly).toContainEqual([
      '/data/views/arrest/1.0',
      '/home/ngsci/datasets/arrest-ntuh-ecg/1.0',
    ]);
    expect(readOnly).toContainEqual([
      '/data/views/brca/2.1',
      '/home/ngsci/datasets/brca-psj-path/2.1',
    ]);
    expect(readOnly).toContainEqual(['/srv/i/inst1/config', '/run/lantern/config']);
    expect(readOnly).toContainEqual(['/srv/i/inst1/config/passwd', '/etc/passwd']);
    // The datasets' folder is a tmpfs made read-only after the versions are bound into it.
    const tmpfs = argv.indexOf('/home/ngsci/datasets');
    const remount = argv.indexOf('--remount-ro');
    expect(argv[tmpfs - 1]).toBe('--tmpfs');
    expect(argv[remount + 1]).toBe('/home/ngsci/datasets');
    expect(remount).toBeGreaterThan(argv.lastIndexOf('/home/ngsci/datasets/brca-psj-path/2.1'));
  });

  it('runs Debian’s jupyter_server on a socket under the base URL, never with a secret in argv', () => {
    const python = argv.indexOf('/usr/bin/python3');
    expect(argv.slice(python)).toEqual([
      '/usr/bin/python3',
      '-m',
      'jupyter_server',
      '--ServerApp.sock=/run/jupyter/jupyter.sock',
      '--ServerApp.sock_mode=0600',
      '--ServerApp.base_url=/instances/inst1/',
      '--ServerApp.root_dir=/home/ngsci',
      '--ServerApp.open_browser=False',
    ]);
    expect(argv.join(' ')).not.toContain('jupyter-secret');
    expect(argv.join(' ')).not.toContain('platform-secret');
  });

  it('sets NG_INSTANCE_ID and the platform’s paths, which the spec’s env cannot replace', () => {
    const env = sandboxEnvironment(spec);
    expect(env).toMatchObject({
      NG_INSTANCE_ID: 'inst1',
      HOME: '/home/ngsci',
      NG_PLATFORM_SOCKET: '/run/lantern/platform.sock',
      NG_PLATFORM_TOKEN_FILE: '/run/lantern/config/platform-token',
      LANTERN_FLAVOUR: 'test',
    });
    const set = mounts(argv, '--setenv');
    expect(set).toContainEqual(['NG_INSTANCE_ID', 'inst1']);
    expect(set).not.toContainEqual(['NG_INSTANCE_ID', 'forged']);
  });

  it('runs as the caller without setpriv, and gives an address-space limit to prlimit', () => {
    const own = sandboxCommand(spec, paths, {
      dieWithParent: false,
      limits: { nproc: 64, nofile: 256, addressSpaceBytes: 2 ** 31 },
    });
    expect(own.slice(0, 5)).toEqual([
      '/usr/bin/prlimit',
      '--nproc=64',
      '--nofile=256',
      '--as=2147483648',
      '--',
    ]);
    expect(own).not.toContain('--die-with-parent');
  });

  it('refuses what would escape the layout: bad slugs and versions, relative paths, odd names', () => {
    const bad = (change: Partial<LaunchSpec>) => () =>
      sandboxCommand({ ...spec, ...change }, paths, { dieWithParent: true });
    const ds = { slug: 'arrest-ntuh-ecg', version: '1.0', hostPath: '/d' };
    expect(bad({ datasets: [{ ...ds, slug: '../etc' }] })).toThrow(SandboxSpecError);
    expect(bad({ datasets: [{ ...ds, version: '1.0/../..' }] })).toThrow(/not a version/u);
    expect(bad({ datasets: [ds, ds] })).toThrow(/mounted twice/u);
    expect(bad({ datasets: [{ ...ds, hostPath: 'relative' }] })).toThrow(/absolute/u);
    expect(bad({ projectPath: 'p' })).toThrow(/projectPath must be an absolute path/u);
    expect(bad({ baseUrl: '/elsewhere/' })).toThrow(/base URL/u);
    expect(bad({ env: { 'A=B': 'x' } })).toThrow(/environment variable/u);
  });
});

describe('the sandbox files', () => {
  it('name the user ngsci and hold the tokens in files only its user reads', () => {
    const files = sandboxFiles(spec, { uid: 4242, gid: 4243 });
    const byName = new Map(files.map((f) => [f.name, f]));
    expect(byName.get('passwd')?.content).toContain('ngsci:x:4242:4243::/home/ngsci:/bin/bash\n');
    expect(byName.get('group')?.content).toContain('ngsci:x:4243:\n');
    const config = byName.get('jupyter_server_config.json');
    expect(config?.mode).toBe(0o600);
    expect(JSON.parse(config?.content ?? '{}')).toEqual({
      ServerApp: { token: 'jupyter-secret', password: '', allow_remote_access: false },
    });
    expect(byName.get('platform-token')).toEqual({
      name: 'platform-token',
      content: 'platform-secret\n',
      mode: 0o600,
    });
  });
});
