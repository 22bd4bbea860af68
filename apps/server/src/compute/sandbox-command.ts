/**
 * The sandboxed notebook's command line, shared by every backend that runs it on a host it can
 * bind folders on (local processes, Slurm jobs): Debian's jupyter_server inside bubblewrap, with
 * no network at all, the dataset versions read-only at `/home/ngsci/datasets/<slug>/<version>/`,
 * the project's folder read-write at `/home/ngsci/project`, the user's home at `/home/ngsci`,
 * Jupyter listening on a UNIX socket in a host folder, and the platform's socket bound in.
 *
 * Pure: a LaunchSpec and host paths in, argv and file contents out. Secrets never go on the command
 * line (another user of the host can read argv in /proc): Jupyter's token and the platform token
 * are in files under the instance's config folder, readable only by the sandbox's user.
 */
import { isAbsolute } from 'node:path';
import { datasetSlugSchema, parseVersion } from '@lantern/core/catalog';
import type { LaunchSpec } from './compute-backend.js';

export const BWRAP = '/usr/bin/bwrap';
export const SETPRIV = '/usr/bin/setpriv';
export const PRLIMIT = '/usr/bin/prlimit';
/** Debian's Python, which has the python3-* science stack (not a pyenv shim on PATH). */
export const SANDBOX_PYTHON = '/usr/bin/python3';

/** Paths inside the sandbox; code written for Nightingale expects the `/home/ngsci` ones. */
export const SANDBOX_HOME = '/home/ngsci';
export const SANDBOX_DATASETS = `${SANDBOX_HOME}/datasets`;
export const SANDBOX_PROJECT = `${SANDBOX_HOME}/project`;
/** The host's run folder is bound here; Jupyter makes its socket in it. */
export const SANDBOX_RUN_DIR = '/run/jupyter';
export const SANDBOX_JUPYTER_SOCKET = `${SANDBOX_RUN_DIR}/jupyter.sock`;
/** The host's config folder (`sandboxFiles`), read-only: Jupyter's config and the platform token. */
export const SANDBOX_CONFIG_DIR = '/run/lantern/config';
/** The server's socket for the `ngsci` module (NG_PLATFORM_SOCKET inside). */
export const SANDBOX_PLATFORM_SOCKET = '/run/lantern/platform.sock';
/** The file holding the per-instance platform token (NG_PLATFORM_TOKEN_FILE inside). */
export const SANDBOX_PLATFORM_TOKEN_FILE = `${SANDBOX_CONFIG_DIR}/platform-token`;

/** Host folders made for one instance by its backend. */
export interface SandboxPaths {
  /** Bound at /run/jupyter; writable by the sandbox's user, who makes Jupyter's socket there. */
  runDir: string;
  /** Holds `sandboxFiles`' files; bound read-only at /run/lantern/config. */
  configDir: string;
}

export interface SandboxOptions {
  /**
   * The unprivileged user the sandbox runs as (setpriv), when the caller is root: bubblewrap run
   * as root would make root-owned host files count as the sandbox user's own. Undefined: the
   * sandbox runs as the caller.
   */
  user?: { uid: number; gid: number } | undefined;
  /** Kill the sandbox when bwrap's parent dies (for a parent that waits on it, not a script that returns). */
  dieWithParent: boolean;
  /** Per-process limits (prlimit): processes of the user, open files, and address space if set. */
  limits?: { nproc: number; nofile: number; addressSpaceBytes?: number | undefined } | undefined;
}

/** Thrown when a launch spec cannot be made into a safe command line. */
export class SandboxSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxSpecError';
  }
}

type SandboxLimits = NonNullable<SandboxOptions['limits']>;

const DEFAULT_LIMITS: SandboxLimits = { nproc: 512, nofile: 4096 };

/**
 * The argv that runs the instance's notebook: [setpriv …] prlimit … -- bwrap … python3 -m
 * jupyter_server …. Throws SandboxSpecError for a path that is not absolute, a dataset slug or
 * version that is not one, a dataset mounted twice, or an environment name that is not one.
 */
export function sandboxCommand(
  spec: LaunchSpec,
  paths: SandboxPaths,
  options: SandboxOptions,
): string[] {
  checkSpec(spec, paths);
  const argv: string[] = [];
  if (options.user !== undefined) {
    argv.push(
      SETPRIV,
      `--reuid=${options.user.uid}`,
      `--regid=${options.user.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
    );
  }
  const limits = options.limits ?? DEFAULT_LIMITS;
  argv.push(PRLIMIT, `--nproc=${limits.nproc}`, `--nofile=${limits.nofile}`);
  if (limits.addressSpaceBytes !== undefined) {
    argv.push(`--as=${limits.addressSpaceBytes}`);
  }
  argv.push('--', BWRAP, '--unshare-all', '--new-session', '--clearenv');
  if (options.dieWithParent) {
    argv.push('--die-with-parent');
  }
  argv.push(...systemMounts(paths), ...homeMounts(spec), ...socketMounts(spec, paths));
  argv.push('--hostname', 'sandbox');
  for (const [name, value] of Object.entries(sandboxEnvironment(spec))) {
    argv.push('--setenv', name, value);
  }
  argv.push('--chdir', SANDBOX_HOME, ...jupyterCommand(spec));
  return argv;
}

/** The host's programs read-only, and its /etc with the sandbox's own passwd and group. */
function systemMounts(paths: SandboxPaths): string[] {
  return [
    ...['--ro-bind', '/usr', '/usr'],
    ...['--symlink', 'usr/bin', '/bin'],
    ...['--symlink', 'usr/lib', '/lib'],
    ...['--symlink', 'usr/lib64', '/lib64'],
    ...['--symlink', 'usr/sbin', '/sbin'],
    ...['--ro-bind', '/etc', '/etc'],
    ...['--ro-bind', `${paths.configDir}/passwd`, '/etc/passwd'],
    ...['--ro-bind', `${paths.configDir}/group`, '/etc/group'],
    ...['--proc', '/proc'],
    ...['--dev', '/dev'],
    ...['--tmpfs', '/tmp'],
    ...['--tmpfs', '/run'],
    ...['--tmpfs', '/home'],
  ];
}

/**
 * /home/ngsci (the user's), its project folder, and the datasets: each version read-only on an
 * empty folder that is itself made read-only once they are in (nothing can be added beside them).
 */
function homeMounts(spec: LaunchSpec): string[] {
  const argv = [
    ...['--bind', spec.homePath, SANDBOX_HOME],
    ...['--bind', spec.projectPath, SANDBOX_PROJECT],
    ...['--tmpfs', SANDBOX_DATASETS],
  ];
  const datasets = [...spec.datasets].sort(
    (a, b) => a.slug.localeCompare(b.slug) || a.version.localeCompare(b.version),
  );
  for (const dataset of datasets) {
    argv.push(
      '--ro-bind',
      dataset.hostPath,
      `${SANDBOX_DATASETS}/${dataset.slug}/${dataset.version}`,
    );
  }
  argv.push('--remount-ro', SANDBOX_DATASETS);
  return argv;
}

/** Jupyter's run folder, the config folder (read-only) and the platform's socket. */
function socketMounts(spec: LaunchSpec, paths: SandboxPaths): string[] {
  return [
    ...['--bind', paths.runDir, SANDBOX_RUN_DIR],
    ...['--ro-bind', paths.configDir, SANDBOX_CONFIG_DIR],
    ...['--bind', spec.platformSocket, SANDBOX_PLATFORM_SOCKET],
  ];
}

/** The environment inside: fixed names first, then the spec's own (which cannot replace them). */
export function sandboxEnvironment(spec: LaunchSpec): Record<string, string> {
  const fixed: Record<string, string> = {
    HOME: SANDBOX_HOME,
    USER: 'ngsci',
    LANG: 'C.UTF-8',
    PATH: '/usr/bin:/bin',
    JUPYTER_CONFIG_DIR: SANDBOX_CONFIG_DIR,
    JUPYTER_RUNTIME_DIR: '/tmp/jupyter-runtime',
    IPYTHONDIR: '/tmp/ipython',
    NG_INSTANCE_ID: spec.instanceId,
    NG_PLATFORM_SOCKET: SANDBOX_PLATFORM_SOCKET,
    NG_PLATFORM_TOKEN_FILE: SANDBOX_PLATFORM_TOKEN_FILE,
  };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (!(name in fixed)) {
      env[name] = value;
    }
  }
  return { ...env, ...fixed };
}

/** Debian's jupyter_server on the socket, under the proxy's base URL; the token is in its config. */
function jupyterCommand(spec: LaunchSpec): string[] {
  return [
    SANDBOX_PYTHON,
    '-m',
    'jupyter_server',
    `--ServerApp.sock=${SANDBOX_JUPYTER_SOCKET}`,
    '--ServerApp.sock_mode=0600',
    `--ServerApp.base_url=${spec.baseUrl}`,
    `--ServerApp.root_dir=${SANDBOX_HOME}`,
    '--ServerApp.open_browser=False',
  ];
}

/** A file the backend writes into the instance's config folder, owned by the sandbox's user. */
export interface SandboxFile {
  name: string;
  content: string;
  /** 0o644 for passwd and group, 0o600 for the secrets. */
  mode: number;
}

/**
 * The config folder's files: passwd and group naming the sandbox's user `ngsci`, Jupyter's config
 * (the token, which the command line never carries) and the platform token for `ngsci`.
 */
export function sandboxFiles(spec: LaunchSpec, user: { uid: number; gid: number }): SandboxFile[] {
  const jupyterConfig = {
    ServerApp: { token: spec.token, password: '', allow_remote_access: false },
  };
  return [
    {
      name: 'passwd',
      content:
        'root:x:0:0::/root:/usr/sbin/nologin\n' +
        `ngsci:x:${user.uid}:${user.gid}::${SANDBOX_HOME}:/bin/bash\n` +
        'nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n',
      mode: 0o644,
    },
    {
      name: 'group',
      content: `root:x:0:\nngsci:x:${user.gid}:\nnogroup:x:65534:\n`,
      mode: 0o644,
    },
    {
      name: 'jupyter_server_config.json',
      content: `${JSON.stringify(jupyterConfig, null, 2)}\n`,
      mode: 0o600,
    },
    { name: 'platform-token', content: `${spec.platformToken}\n`, mode: 0o600 },
  ];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/u;

function checkSpec(spec: LaunchSpec, paths: SandboxPaths): void {
  const absolute: [string, string][] = [
    ['projectPath', spec.projectPath],
    ['homePath', spec.homePath],
    ['platformSocket', spec.platformSocket],
    ['runDir', paths.runDir],
    ['configDir', paths.configDir],
    ...spec.datasets.map((d): [string, string] => [`dataset ${d.slug}`, d.hostPath]),
  ];
  for (const [what, path] of absolute) {
    if (!isAbsolute(path) || path.includes('\0')) {
      throw new SandboxSpecError(`${what} must be an absolute path, not ${JSON.stringify(path)}`);
    }
  }
  if (!/^\/instances\/[^/\s]+\/$/u.test(spec.baseUrl)) {
    throw new SandboxSpecError(`the base URL must be /instances/<id>/, not ${spec.baseUrl}`);
  }
  const seen = new Set<string>();
  for (const dataset of spec.datasets) {
    if (!datasetSlugSchema.safeParse(dataset.slug).success) {
      throw new SandboxSpecError(`${JSON.stringify(dataset.slug)} is not a dataset slug`);
    }
    if (parseVersion(dataset.version) === null) {
      throw new SandboxSpecError(
        `${JSON.stringify(dataset.version)} is not a version of ${dataset.slug}`,
      );
    }
    const key = `${dataset.slug}/${dataset.version}`;
    if (seen.has(key)) {
      throw new SandboxSpecError(`${key} is mounted twice`);
    }
    seen.add(key);
  }
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(name) || value.includes('\0')) {
      throw new SandboxSpecError(`${JSON.stringify(name)} is not an environment variable name`);
    }
  }
}
