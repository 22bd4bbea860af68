/**
 * The sandboxed notebook's command line, shared by every backend that runs it on a host whose
 * folders it binds (local processes, Slurm jobs): Debian's jupyter_server inside bubblewrap, with
 * no network at all (`--unshare-all` leaves only a loopback of its own), the layout Nightingale's
 * code expects (`/home/ngsci` private to the user, `/home/ngsci/project` shared by the project,
 * `/home/ngsci/datasets/<slug>/<version>` read-only), Jupyter listening on a UNIX socket in the
 * instance's folder, the platform's socket folder bound at `/run/lantern`, and python/ngsci on
 * PYTHONPATH. The sandbox runs as an unprivileged user (setpriv, no capabilities) under
 * per-process limits (prlimit); a backend that can also puts it in cgroups.
 *
 * Pure: a LaunchSpec and host paths in, argv and file contents out. Secrets never go on a command
 * line (another user of the host can read argv in /proc): bubblewrap reads its options, which
 * carry the tokens in `--setenv`, from a file descriptor (`--args`), fed by a pipe (local) or by a
 * 0600 file the batch script opens (Slurm).
 */
import { basename, dirname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetSlugSchema, parseVersion } from '@lantern/core/catalog';
import type { LaunchSpec } from './compute-backend.js';

export const BWRAP = '/usr/bin/bwrap';
export const SETPRIV = '/usr/bin/setpriv';
export const PRLIMIT = '/usr/bin/prlimit';
/** Debian's Python, which has the python3-* science stack (a PATH python may be pyenv's). */
export const PYTHON = '/usr/bin/python3';

/** The unprivileged user a sandbox runs as when the server is root, `ngsci` inside. */
export const DEFAULT_SANDBOX_USER: SandboxUser = { uid: 4242, gid: 4242 };
export const SANDBOX_USER_NAME = 'ngsci';

/** Paths inside the sandbox; code written for Nightingale expects the `/home/ngsci` ones. */
export const SANDBOX_HOME = '/home/ngsci';
export const SANDBOX_PROJECT = `${SANDBOX_HOME}/project`;
export const SANDBOX_DATASETS = `${SANDBOX_HOME}/datasets`;
/** The instance folder's run/ is bound here; Jupyter makes its socket in it. */
export const SANDBOX_RUN = '/run/jupyter';
export const JUPYTER_SOCKET_NAME = 'jupyter.sock';
/** The folder of the platform's socket inside (its folder, not the socket: see `bwrapOptions`). */
export const SANDBOX_PLATFORM_DIR = '/run/lantern';
/** Where python/ngsci is bound, on PYTHONPATH. */
export const SANDBOX_PYTHON_LIB = '/opt/lantern/python';

/** python/ngsci of this repository (from src/compute or dist/compute alike). */
export const DEFAULT_PYTHON_LIB = fileURLToPath(new URL('../../../../python', import.meta.url));

/** The fd bubblewrap writes `{"child-pid": N}` to, and the fd it reads its options from. */
export const INFO_FD = 3;
export const ARGS_FD = 4;

/** Per-process limits (prlimit(1)) unless a backend gives its own; threads count towards nproc. */
export const DEFAULT_LIMITS: SandboxLimits = { nproc: 4096, nofile: 4096, addressSpaceBytes: null };

/** Environment names the sandbox sets itself; a spec's `env` naming one is refused. */
export const RESERVED_ENV = [
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'PATH',
  'PYTHONPATH',
  'JUPYTER_TOKEN',
  'JUPYTER_RUNTIME_DIR',
  'IPYTHONDIR',
  'NG_INSTANCE_ID',
  'LANTERN_PLATFORM_SOCKET',
  'LANTERN_PLATFORM_PATH',
  'LANTERN_PLATFORM_TOKEN',
  'LANTERN_PLATFORM_TOKEN_FILE',
] as const;

export interface SandboxUser {
  uid: number;
  gid: number;
}

export interface SandboxLimits {
  nproc: number;
  nofile: number;
  /** prlimit's address-space limit in bytes, where no memory cgroup limits the sandbox. */
  addressSpaceBytes: number | null;
}

/** Host folders of one instance, made by its backend. */
export interface SandboxPaths {
  /**
   * The instance's folder: etc/passwd and etc/group naming `ngsci` (`sandboxFiles`), and run/,
   * writable by the sandbox's user, where Jupyter makes its socket.
   */
  folder: string;
  /** The folder holding the `ngsci` package (python/). */
  pythonLib: string;
  /**
   * The path prefix of the platform's calls on its socket (`LANTERN_PLATFORM_PATH`), when the
   * socket is a relay to the server's HTTP (`/platform`); unset for the server's own socket.
   */
  platformPath?: string | undefined;
}

export interface SandboxOptions {
  /**
   * The unprivileged user the sandbox runs as (setpriv), when the caller is root: bubblewrap run
   * as root would make root-owned host files count as the sandbox user's own. Undefined: the
   * sandbox runs as the caller.
   */
  user?: SandboxUser | undefined;
  /**
   * Kill the sandbox when bwrap's parent dies: for a parent that waits on it (a Slurm job's
   * script), not for a local instance, which outlives a server restart.
   */
  dieWithParent: boolean;
  /** Have bwrap write its sandbox's pid 1 to INFO_FD (the local backend finds it again by it). */
  infoFd: boolean;
  limits?: SandboxLimits | undefined;
}

/** Thrown when a launch spec cannot be made into a safe command line; says every problem. */
export class SandboxSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxSpecError';
  }
}

/** Where Jupyter's socket is on the host, for an instance folder. */
export function jupyterSocketPath(folder: string): string {
  return `${folder}/run/${JUPYTER_SOCKET_NAME}`;
}

/**
 * The argv: [setpriv …] prlimit … -- bwrap --args ARGS_FD python3 -m jupyter_server …. bwrap
 * reads its options (`bwrapOptions`, NUL-separated) from ARGS_FD; it takes the command it runs
 * only from its command line, which holds no secret.
 */
export function launcherArgs(
  spec: Pick<LaunchSpec, 'baseUrl'>,
  options: Pick<SandboxOptions, 'user' | 'limits'>,
): string[] {
  const argv: string[] = [];
  if (options.user !== undefined) {
    argv.push(
      SETPRIV,
      `--reuid=${options.user.uid}`,
      `--regid=${options.user.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--no-new-privs',
    );
  }
  const limits = options.limits ?? DEFAULT_LIMITS;
  argv.push(PRLIMIT, `--nofile=${limits.nofile}`, `--nproc=${limits.nproc}`);
  if (limits.addressSpaceBytes !== null) {
    argv.push(`--as=${limits.addressSpaceBytes}`);
  }
  argv.push('--', BWRAP, '--args', String(ARGS_FD), ...jupyterCommand(spec.baseUrl));
  return argv;
}

/** Debian's jupyter_server on the socket, under the proxy's base URL; the token is in its env. */
function jupyterCommand(baseUrl: string): string[] {
  return [
    PYTHON,
    '-m',
    'jupyter_server',
    `--ServerApp.sock=${SANDBOX_RUN}/${JUPYTER_SOCKET_NAME}`,
    '--ServerApp.sock_mode=0600',
    `--ServerApp.base_url=${baseUrl}`,
    `--ServerApp.root_dir=${SANDBOX_HOME}`,
    '--ServerApp.open_browser=False',
  ];
}

/**
 * bubblewrap's options, one per element (sent NUL-separated on ARGS_FD: they hold the tokens).
 * Later mounts go over earlier ones. Throws SandboxSpecError for a spec that is not safe to run.
 */
export function bwrapOptions(
  spec: LaunchSpec,
  paths: SandboxPaths,
  options: Pick<SandboxOptions, 'dieWithParent' | 'infoFd'>,
): string[] {
  checkLaunchSpec(spec);
  checkAbsolute([
    ['the instance folder', paths.folder],
    ['the ngsci module', paths.pythonLib],
  ]);
  return [
    ...['--unshare-all', '--new-session', '--clearenv'],
    ...(options.dieWithParent ? ['--die-with-parent'] : []),
    ...(options.infoFd ? ['--info-fd', String(INFO_FD)] : []),
    ...['--hostname', 'sandbox'],
    ...systemMounts(paths),
    ...homeMounts(spec),
    ...['--bind', `${paths.folder}/run`, SANDBOX_RUN],
    // The socket's folder, not the socket: a server restart makes a new socket there, which a
    // bind of the old file would not see.
    ...['--ro-bind', dirname(spec.platformSocket), SANDBOX_PLATFORM_DIR],
    ...['--ro-bind', paths.pythonLib, SANDBOX_PYTHON_LIB],
    ...Object.entries(sandboxEnvironment(spec)).flatMap(([name, value]) => [
      '--setenv',
      name,
      value,
    ]),
    // jupyter_server reads its token from here (not argv, which any process inside could list).
    ...['--setenv', 'JUPYTER_TOKEN', spec.token],
    ...['--setenv', 'LANTERN_PLATFORM_TOKEN', spec.platformToken],
    ...(paths.platformPath === undefined
      ? []
      : ['--setenv', 'LANTERN_PLATFORM_PATH', paths.platformPath]),
    ...['--chdir', SANDBOX_HOME],
  ];
}

/** bubblewrap's options as `--args` reads them: each followed by a NUL. */
export function encodeBwrapOptions(options: readonly string[]): string {
  return options.map((option) => `${option}\0`).join('');
}

/** The host's programs read-only, and its /etc with the sandbox's own passwd and group. */
function systemMounts(paths: SandboxPaths): string[] {
  return [
    // Debian's Python and its packages live under /usr.
    ...['--ro-bind', '/usr', '/usr'],
    ...['--symlink', 'usr/bin', '/bin', '--symlink', 'usr/sbin', '/sbin'],
    ...['--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64'],
    ...['--ro-bind', '/etc', '/etc'],
    ...['--ro-bind', `${paths.folder}/etc/passwd`, '/etc/passwd'],
    ...['--ro-bind', `${paths.folder}/etc/group`, '/etc/group'],
    ...['--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/run'],
  ];
}

/**
 * The user's home, the project inside it, then the datasets on a read-only tmpfs of their own (so
 * no mount point is ever made in the user's home folder, and nothing can be added beside them).
 */
function homeMounts(spec: LaunchSpec): string[] {
  const datasets = [...spec.datasets].sort(
    (a, b) => a.slug.localeCompare(b.slug) || a.version.localeCompare(b.version),
  );
  return [
    ...['--bind', spec.homePath, SANDBOX_HOME],
    ...['--bind', spec.projectPath, SANDBOX_PROJECT],
    ...['--tmpfs', SANDBOX_DATASETS],
    ...datasets.flatMap((mount) => [
      '--ro-bind',
      mount.hostPath,
      `${SANDBOX_DATASETS}/${mount.slug}/${mount.version}`,
    ]),
    ...['--remount-ro', SANDBOX_DATASETS],
  ];
}

/**
 * The environment inside, without its secrets (which `bwrapOptions` adds): the spec's own first,
 * then the fixed names. Also the base of a Kubernetes Pod's environment.
 */
export function sandboxEnvironment(spec: LaunchSpec): Record<string, string> {
  const fixed = {
    HOME: SANDBOX_HOME,
    USER: SANDBOX_USER_NAME,
    LOGNAME: SANDBOX_USER_NAME,
    LANG: 'C.UTF-8',
    PATH: '/usr/bin:/bin',
    PYTHONPATH: SANDBOX_PYTHON_LIB,
    JUPYTER_RUNTIME_DIR: '/tmp/jupyter-runtime',
    IPYTHONDIR: '/tmp/ipython',
    NG_INSTANCE_ID: spec.instanceId,
    LANTERN_PLATFORM_SOCKET: `${SANDBOX_PLATFORM_DIR}/${basename(spec.platformSocket)}`,
  } satisfies Partial<Record<(typeof RESERVED_ENV)[number], string>>;
  return { ...spec.env, ...fixed };
}

/** A file the backend writes into the instance's folder (`etc/passwd`, `etc/group`). */
export interface SandboxFile {
  name: string;
  content: string;
  mode: number;
}

/** /etc/passwd and /etc/group inside: root, `ngsci` as the sandbox's user, nobody. */
export function sandboxFiles(user: SandboxUser): SandboxFile[] {
  return [
    {
      name: 'etc/passwd',
      content: [
        'root:x:0:0::/root:/usr/sbin/nologin',
        `${SANDBOX_USER_NAME}:x:${user.uid}:${user.gid}::${SANDBOX_HOME}:/bin/bash`,
        'nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin',
        '',
      ].join('\n'),
      mode: 0o644,
    },
    {
      name: 'etc/group',
      content: ['root:x:0:', `${SANDBOX_USER_NAME}:x:${user.gid}:`, 'nogroup:x:65534:', ''].join(
        '\n',
      ),
      mode: 0o644,
    },
  ];
}

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/u;
const BASE_URL = /^\/instances\/[A-Za-z0-9_-]{1,64}\/$/u;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/u;
const MIN_TOKEN_LENGTH = 16;

/**
 * A spec's names become paths, mount points and arguments: each is checked before any is used.
 * Throws SandboxSpecError naming every problem at once.
 */
/** Whether `id` may name an instance's folders and sandbox (checked before any path is made). */
export function isInstanceId(id: string): boolean {
  return INSTANCE_ID.test(id);
}

export function checkLaunchSpec(spec: LaunchSpec): void {
  const problems: string[] = [];
  if (!INSTANCE_ID.test(spec.instanceId)) {
    problems.push(`the instance id ${JSON.stringify(spec.instanceId)} is not one`);
  }
  if (!BASE_URL.test(spec.baseUrl)) {
    problems.push(`the base URL must be /instances/<id>/, not ${JSON.stringify(spec.baseUrl)}`);
  }
  if (spec.token.length < MIN_TOKEN_LENGTH || spec.platformToken.length < MIN_TOKEN_LENGTH) {
    problems.push(`a token shorter than ${MIN_TOKEN_LENGTH} characters`);
  }
  problems.push(
    ...absoluteProblems([
      ['projectPath', spec.projectPath],
      ['homePath', spec.homePath],
      ['platformSocket', spec.platformSocket],
      ...spec.datasets.map((d): [string, string] => [`the dataset ${d.slug}`, d.hostPath]),
    ]),
  );
  const mounted = new Set<string>();
  for (const mount of spec.datasets) {
    if (!datasetSlugSchema.safeParse(mount.slug).success) {
      problems.push(`the dataset mount's slug ${JSON.stringify(mount.slug)} is not a slug`);
    } else if (parseVersion(mount.version) === null) {
      problems.push(
        `the dataset mount's version ${JSON.stringify(mount.version)} is not a version of ${mount.slug}`,
      );
    }
    const at = `${mount.slug}/${mount.version}`;
    if (mounted.has(at)) {
      problems.push(`${at} is mounted twice`);
    }
    mounted.add(at);
  }
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(name)) {
      problems.push(`${JSON.stringify(name)} is not an environment variable name`);
    } else if ((RESERVED_ENV as readonly string[]).includes(name)) {
      problems.push(`the environment variable ${name} is the sandbox's own`);
    }
    if (value.includes('\0')) {
      problems.push(`the environment variable ${name} holds a NUL character`);
    }
  }
  if (spec.token.includes('\0') || spec.platformToken.includes('\0')) {
    problems.push('a token holds a NUL character');
  }
  if (problems.length > 0) {
    throw new SandboxSpecError(`cannot launch: ${problems.join('; ')}`);
  }
}

function absoluteProblems(paths: readonly [string, string][]): string[] {
  return paths
    .filter(([, path]) => !isAbsolute(path) || path.includes('\0'))
    .map(([what, path]) => `${what} must be an absolute path, not ${JSON.stringify(path)}`);
}

function checkAbsolute(paths: readonly [string, string][]): void {
  const problems = absoluteProblems(paths);
  if (problems.length > 0) {
    throw new SandboxSpecError(`cannot launch: ${problems.join('; ')}`);
  }
}
