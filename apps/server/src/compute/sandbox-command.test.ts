import { DEFAULT_INSTANCE_TYPES } from '@lantern/core/instances';
import { describe, expect, it } from 'vitest';
import type { LaunchSpec } from './compute-backend.js';
import {
  ARGS_FD,
  BWRAP,
  bwrapOptions,
  DEFAULT_SANDBOX_USER,
  encodeBwrapOptions,
  jupyterSocketPath,
  launcherArgs,
  PRLIMIT,
  sandboxEnvironment,
  sandboxFiles,
  SandboxSpecError,
  SETPRIV,
} from './sandbox-command.js';

const TYPE = DEFAULT_INSTANCE_TYPES[0];
if (TYPE === undefined) {
  throw new Error('no default instance type');
}

const JUPYTER_SECRET = 'jupyter-secret-0123456789';
const PLATFORM_SECRET = 'platform-secret-0123456789';

const spec: LaunchSpec = {
  instanceId: 'inst1',
  type: TYPE,
  baseUrl: '/instances/inst1/',
  token: JUPYTER_SECRET,
  datasets: [
    { slug: 'brca-psj-path', version: '2.1', hostPath: '/data/views/brca/2.1' },
    { slug: 'arrest-ntuh-ecg', version: '1.0', hostPath: '/data/views/arrest/1.0' },
  ],
  projectPath: '/data/projects/p1',
  homePath: '/data/homes/u1',
  platformSocket: '/srv/run/platform.sock',
  platformToken: PLATFORM_SECRET,
  env: { LANTERN_FLAVOUR: 'test' },
};
const paths = { folder: '/srv/i/inst1', pythonLib: '/repo/python' };

/** The two arguments after each occurrence of `flag` (a mount's source and destination). */
function pairs(argv: readonly string[], flag: string): [string, string][] {
  const found: [string, string][] = [];
  argv.forEach((arg, i) => {
    if (arg === flag) {
      found.push([argv[i + 1] ?? '', argv[i + 2] ?? '']);
    }
  });
  return found;
}

describe('the launcher’s command line', () => {
  it('drops to the sandbox user with no capabilities, limits processes, and has bwrap read its options from a fd', () => {
    const argv = launcherArgs(spec, { user: { uid: 4242, gid: 4243 } });
    expect(argv.slice(0, 6)).toEqual([
      SETPRIV,
      '--reuid=4242',
      '--regid=4243',
      '--clear-groups',
      '--inh-caps=-all',
      '--no-new-privs',
    ]);
    const bwrap = argv.indexOf(BWRAP);
    expect(argv.slice(6, bwrap)).toEqual([PRLIMIT, '--nofile=4096', '--nproc=4096', '--']);
    expect(argv.slice(bwrap)).toEqual([
      BWRAP,
      '--args',
      String(ARGS_FD),
      '/usr/bin/python3',
      '-m',
      'jupyter_server',
      '--ServerApp.sock=/run/jupyter/jupyter.sock',
      '--ServerApp.sock_mode=0600',
      '--ServerApp.base_url=/instances/inst1/',
      '--ServerApp.root_dir=/home/ngsci',
      '--ServerApp.open_browser=False',
    ]);
  });

  it('runs as the caller without setpriv, and gives an address-space limit to prlimit', () => {
    const argv = launcherArgs(spec, {
      limits: { nproc: 64, nofile: 256, addressSpaceBytes: 2 ** 31 },
    });
    expect(argv.slice(0, 5)).toEqual([
      PRLIMIT,
      '--nofile=256',
      '--nproc=64',
      '--as=2147483648',
      '--',
    ]);
    expect(argv).not.toContain(SETPRIV);
  });

  it('never carries a secret', () => {
    const argv = launcherArgs(spec, { user: DEFAULT_SANDBOX_USER }).join(' ');
    expect(argv).not.toContain(JUPYTER_SECRET);
    expect(argv).not.toContain(PLATFORM_SECRET);
  });
});

describe('bubblewrap’s options', () => {
  const options = bwrapOptions(spec, paths, { dieWithParent: false, infoFd: true });

  it('unshare everything, report the sandbox’s pid on the info fd, and die with the parent only when asked', () => {
    expect(options.slice(0, 5)).toEqual([
      '--unshare-all',
      '--new-session',
      '--clearenv',
      '--info-fd',
      '3',
    ]);
    expect(options).not.toContain('--share-net');
    expect(options).not.toContain('--die-with-parent');
    const slurm = bwrapOptions(spec, paths, { dieWithParent: true, infoFd: false });
    expect(slurm.slice(0, 4)).toEqual([
      '--unshare-all',
      '--new-session',
      '--clearenv',
      '--die-with-parent',
    ]);
    expect(slurm).not.toContain('--info-fd');
  });

  it('mount datasets read-only under a read-only folder, the project and home read-write', () => {
    expect(pairs(options, '--bind')).toEqual([
      ['/data/homes/u1', '/home/ngsci'],
      ['/data/projects/p1', '/home/ngsci/project'],
      ['/srv/i/inst1/run', '/run/jupyter'],
    ]);
    const readOnly = pairs(options, '--ro-bind');
    expect(readOnly).toEqual([
      ['/usr', '/usr'],
      ['/etc', '/etc'],
      ['/srv/i/inst1/etc/passwd', '/etc/passwd'],
      ['/srv/i/inst1/etc/group', '/etc/group'],
      ['/data/views/arrest/1.0', '/home/ngsci/datasets/arrest-ntuh-ecg/1.0'],
      ['/data/views/brca/2.1', '/home/ngsci/datasets/brca-psj-path/2.1'],
      // The platform socket's folder, so that a new socket after a server restart is seen.
      ['/srv/run', '/run/lantern'],
      ['/repo/python', '/opt/lantern/python'],
    ]);
    // The datasets' folder is a tmpfs made read-only after the versions are bound into it.
    const tmpfs = options.indexOf('/home/ngsci/datasets');
    const remount = options.indexOf('--remount-ro');
    expect(options[tmpfs - 1]).toBe('--tmpfs');
    expect(options[remount + 1]).toBe('/home/ngsci/datasets');
    expect(remount).toBeGreaterThan(options.indexOf('/home/ngsci/datasets/brca-psj-path/2.1'));
    expect(jupyterSocketPath(paths.folder)).toBe('/srv/i/inst1/run/jupyter.sock');
  });

  it('set NG_INSTANCE_ID, the platform’s socket and token, Jupyter’s token, and ngsci on PYTHONPATH', () => {
    const set = new Map(pairs(options, '--setenv'));
    expect(Object.fromEntries(set)).toEqual({
      LANTERN_FLAVOUR: 'test',
      HOME: '/home/ngsci',
      USER: 'ngsci',
      LOGNAME: 'ngsci',
      LANG: 'C.UTF-8',
      PATH: '/usr/bin:/bin',
      PYTHONPATH: '/opt/lantern/python',
      JUPYTER_RUNTIME_DIR: '/tmp/jupyter-runtime',
      IPYTHONDIR: '/tmp/ipython',
      NG_INSTANCE_ID: 'inst1',
      LANTERN_PLATFORM_SOCKET: '/run/lantern/platform.sock',
      JUPYTER_TOKEN: JUPYTER_SECRET,
      LANTERN_PLATFORM_TOKEN: PLATFORM_SECRET,
    });
    // The environment without secrets, which the Kubernetes Pod starts from.
    const env = sandboxEnvironment(spec);
    expect(Object.values(env)).not.toContain(JUPYTER_SECRET);
    expect(Object.values(env)).not.toContain(PLATFORM_SECRET);
    expect(options.slice(-2)).toEqual(['--chdir', '/home/ngsci']);
  });

  it('give ngsci the path prefix of a relay to the server’s HTTP, which no spec may set itself', () => {
    const relayed = bwrapOptions(
      { ...spec, platformSocket: '/srv/i/inst1/platform/platform.sock' },
      { ...paths, platformPath: '/platform' },
      { dieWithParent: true, infoFd: false },
    );
    const set = new Map(pairs(relayed, '--setenv'));
    expect(set.get('LANTERN_PLATFORM_PATH')).toBe('/platform');
    expect(set.get('LANTERN_PLATFORM_SOCKET')).toBe('/run/lantern/platform.sock');
    expect(pairs(relayed, '--ro-bind')).toContainEqual(['/srv/i/inst1/platform', '/run/lantern']);
    expect(new Map(pairs(options, '--setenv')).has('LANTERN_PLATFORM_PATH')).toBe(false);
    expect(() =>
      bwrapOptions({ ...spec, env: { LANTERN_PLATFORM_PATH: '/elsewhere' } }, paths, {
        dieWithParent: true,
        infoFd: false,
      }),
    ).toThrow(/the environment variable LANTERN_PLATFORM_PATH is the sandbox's own/u);
  });

  it('are encoded for --args with a NUL after each', () => {
    expect(encodeBwrapOptions(['--bind', 'a b', '/x'])).toBe('--bind\0a b\0/x\0');
  });

  it('refuse what would escape the layout: bad ids, slugs and versions, relative paths, reserved or odd names', () => {
    const bad = (change: Partial<LaunchSpec>) => () =>
      bwrapOptions({ ...spec, ...change }, paths, { dieWithParent: false, infoFd: false });
    const ds = { slug: 'arrest-ntuh-ecg', version: '1.0', hostPath: '/d' };
    expect(bad({ instanceId: '../escape' })).toThrow(SandboxSpecError);
    expect(bad({ instanceId: '../escape' })).toThrow(/instance id "..\/escape"/u);
    expect(bad({ datasets: [{ ...ds, slug: '../etc' }] })).toThrow(/slug "..\/etc" is not a slug/u);
    expect(bad({ datasets: [{ ...ds, version: '1.0/../..' }] })).toThrow(/not a version/u);
    expect(bad({ datasets: [ds, ds] })).toThrow(/mounted twice/u);
    expect(bad({ datasets: [{ ...ds, hostPath: 'relative' }] })).toThrow(/absolute/u);
    expect(bad({ projectPath: 'p' })).toThrow(/projectPath must be an absolute path/u);
    expect(bad({ baseUrl: '/elsewhere/' })).toThrow(/base URL/u);
    expect(bad({ token: 'short' })).toThrow(/shorter than 16/u);
    expect(bad({ env: { 'A=B': 'x' } })).toThrow(/environment variable name/u);
    expect(bad({ env: { NG_INSTANCE_ID: 'forged' } })).toThrow(/NG_INSTANCE_ID is the sandbox/u);
    expect(bad({ env: { JUPYTER_TOKEN: 'chosen' } })).toThrow(/JUPYTER_TOKEN/u);
    expect(bad({ env: { X: 'a\0b' } })).toThrow(/NUL/u);
    // Every problem at once.
    expect(bad({ instanceId: '..', projectPath: 'p' })).toThrow(/instance id .*; projectPath/u);
    expect(() =>
      bwrapOptions(spec, { ...paths, folder: 'rel' }, { dieWithParent: false, infoFd: false }),
    ).toThrow(/the instance folder must be an absolute path/u);
  });
});

describe('the sandbox files', () => {
  it('name the user ngsci in passwd and group', () => {
    const files = sandboxFiles({ uid: 4242, gid: 4243 });
    const byName = new Map(files.map((f) => [f.name, f]));
    expect([...byName.keys()]).toEqual(['etc/passwd', 'etc/group']);
    expect(byName.get('etc/passwd')?.content).toBe(
      'root:x:0:0::/root:/usr/sbin/nologin\n' +
        'ngsci:x:4242:4243::/home/ngsci:/bin/bash\n' +
        'nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n',
    );
    expect(byName.get('etc/group')?.content).toBe('root:x:0:\nngsci:x:4243:\nnogroup:x:65534:\n');
    expect(files.every((f) => f.mode === 0o644)).toBe(true);
  });
});
