/**
 * The command line of a local instance, as data (no I/O): who it runs as (setpriv to the sandbox
 * user, no capabilities), its per-process limits (prlimit), and the bubblewrap sandbox around
 * `/usr/bin/python3 -m jupyter_server` listening on a UNIX socket. The layout inside follows
 * Nightingale's: `/home/ngsci` private, `/home/ngsci/project` shared by the project,
 * `/home/ngsci/datasets/<slug>/<version>` read-only; no network at all (`--unshare-all` leaves only
 * a loopback of its own); the platform reached over a socket bound into `/run/lantern`.
 *
 * No `--die-with-parent`: an instance outlives a server restart, and the server stops it by the
 * sandbox's pid 1 (killing pid 1 of a pid namespace kills everything in it).
 */
import { basename, dirname } from 'node:path';

export const SETPRIV = '/usr/bin/setpriv';
export const PRLIMIT = '/usr/bin/prlimit';
export const BWRAP = '/usr/bin/bwrap';
/** Debian's Python, which has the python3-* packages (a PATH python may be pyenv's). */
export const PYTHON = '/usr/bin/python3';

/** The unprivileged user every sandbox runs as, `ngsci` inside. */
export const SANDBOX_UID = 4242;
export const SANDBOX_USER = 'ngsci';
export const SANDBOX_HOME = '/home/ngsci';
export const SANDBOX_PROJECT = '/home/ngsci/project';
export const SANDBOX_DATASETS = '/home/ngsci/datasets';
/** Where Jupyter's socket is inside; the host sees it at `<instance folder>/run/jupyter.sock`. */
export const SANDBOX_RUN = '/run/jupyter';
export const JUPYTER_SOCKET_NAME = 'jupyter.sock';
/** The folder of the platform's socket inside. */
export const SANDBOX_PLATFORM_DIR = '/run/lantern';
/** Where python/ngsci is bound, on PYTHONPATH. */
export const SANDBOX_PYTHON_LIB = '/opt/lantern/python';

/** The fd bubblewrap writes `{"child-pid": N}` to, and the fd it reads its arguments from. */
export const INFO_FD = 3;
export const ARGS_FD = 4;

/** Per-process limits (prlimit(1)); threads count towards nproc. */
export const NOFILE = 4096;
export const NPROC = 4096;

/** Environment names the backend sets itself; the spec's `env` cannot replace them. */
export const RESERVED_ENV = [
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'PATH',
  'PYTHONPATH',
  'JUPYTER_TOKEN',
  'JUPYTER_RUNTIME_DIR',
  'NG_INSTANCE_ID',
  'LANTERN_PLATFORM_SOCKET',
  'LANTERN_PLATFORM_TOKEN',
] as const;

/** What one sandbox binds and runs. Host paths are absolute. */
export interface SandboxPlan {
  instanceId: string;
  baseUrl: string;
  token: string;
  /** The instance's folder: etc/passwd and etc/group for `ngsci`, run/ for the socket. */
  folder: string;
  homePath: string;
  projectPath: string;
  datasets: readonly { slug: string; version: string; hostPath: string }[];
  platformSocket: string;
  platformToken: string;
  /** The folder holding the `ngsci` package (python/). */
  pythonLib: string;
  env: Readonly<Record<string, string>>;
  /** prlimit's address-space limit in bytes, where no memory cgroup limits the sandbox. */
  addressSpaceBytes: number | null;
}

/**
 * setpriv and prlimit, then bubblewrap reading its options from ARGS_FD (kept out of `ps`: they
 * hold the tokens), then the command it runs, which bubblewrap takes only from its command line.
 */
export function launcherArgs(plan: Pick<SandboxPlan, 'addressSpaceBytes' | 'baseUrl'>): string[] {
  return [
    SETPRIV,
    `--reuid=${SANDBOX_UID}`,
    `--regid=${SANDBOX_UID}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--no-new-privs',
    PRLIMIT,
    `--nofile=${NOFILE}`,
    `--nproc=${NPROC}`,
    ...(plan.addressSpaceBytes === null ? [] : [`--as=${plan.addressSpaceBytes}`]),
    '--',
    BWRAP,
    '--args',
    String(ARGS_FD),
    PYTHON,
    '-m',
    'jupyter_server',
    `--ServerApp.sock=${SANDBOX_RUN}/${JUPYTER_SOCKET_NAME}`,
    '--ServerApp.sock_mode=0600',
    `--ServerApp.base_url=${plan.baseUrl}`,
    `--ServerApp.root_dir=${SANDBOX_HOME}`,
    '--ServerApp.open_browser=False',
  ];
}

/**
 * bubblewrap's options, one per element (sent NUL-separated on ARGS_FD, so the tokens never
 * appear on a command line another user could read). Later mounts go over earlier ones, and
 * later `--setenv`s win, so the backend's own environment comes after the spec's.
 */
export function bwrapOptions(plan: SandboxPlan): string[] {
  return [
    '--unshare-all',
    '--new-session',
    '--clearenv',
    '--info-fd',
    String(INFO_FD),
    '--hostname',
    'sandbox',
    // The system, read-only: Debian's Python and its packages live under /usr.
    ...['--ro-bind', '/usr', '/usr'],
    ...['--symlink', 'usr/bin', '/bin', '--symlink', 'usr/sbin', '/sbin'],
    ...['--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64'],
    ...['--ro-bind', '/etc', '/etc'],
    ...['--ro-bind', `${plan.folder}/etc/passwd`, '/etc/passwd'],
    ...['--ro-bind', `${plan.folder}/etc/group`, '/etc/group'],
    ...['--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/run'],
    // The user's home, the project inside it, then the datasets on a read-only tmpfs of their own
    // (so no mount point is ever made in the user's home folder).
    ...['--bind', plan.homePath, SANDBOX_HOME],
    ...['--bind', plan.projectPath, SANDBOX_PROJECT],
    ...['--tmpfs', SANDBOX_DATASETS],
    ...plan.datasets.flatMap((mount) => [
      '--ro-bind',
      mount.hostPath,
      `${SANDBOX_DATASETS}/${mount.slug}/${mount.version}`,
    ]),
    ...['--remount-ro', SANDBOX_DATASETS],
    ...['--bind', `${plan.folder}/run`, SANDBOX_RUN],
    // The socket's folder, not the socket: a server restart makes a new socket there, which a
    // bind of the old file would not see.
    ...['--ro-bind', dirname(plan.platformSocket), SANDBOX_PLATFORM_DIR],
    ...['--ro-bind', plan.pythonLib, SANDBOX_PYTHON_LIB],
    ...Object.entries(plan.env).flatMap(([name, value]) => ['--setenv', name, value]),
    ...setenv({
      HOME: SANDBOX_HOME,
      USER: SANDBOX_USER,
      LOGNAME: SANDBOX_USER,
      LANG: 'C.UTF-8',
      PATH: '/usr/bin:/bin',
      PYTHONPATH: SANDBOX_PYTHON_LIB,
      // jupyter_server reads its token from here (not argv, which any process inside could list).
      JUPYTER_TOKEN: plan.token,
      JUPYTER_RUNTIME_DIR: '/tmp/jupyter-runtime',
      NG_INSTANCE_ID: plan.instanceId,
      LANTERN_PLATFORM_SOCKET: `${SANDBOX_PLATFORM_DIR}/${basename(plan.platformSocket)}`,
      LANTERN_PLATFORM_TOKEN: plan.platformToken,
    } satisfies Record<(typeof RESERVED_ENV)[number], string>),
    ...['--chdir', SANDBOX_HOME],
  ];
}

function setenv(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([name, value]) => ['--setenv', name, value]);
}

/** /etc/passwd inside: root, `ngsci` as the sandbox uid, nobody. */
export function passwdFile(): string {
  return [
    'root:x:0:0::/root:/usr/sbin/nologin',
    `${SANDBOX_USER}:x:${SANDBOX_UID}:${SANDBOX_UID}::${SANDBOX_HOME}:/bin/bash`,
    'nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin',
    '',
  ].join('\n');
}

export function groupFile(): string {
  return ['root:x:0:', `${SANDBOX_USER}:x:${SANDBOX_UID}:`, 'nogroup:x:65534:', ''].join('\n');
}
