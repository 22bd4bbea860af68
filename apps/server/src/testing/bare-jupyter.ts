/**
 * Debian's jupyter_server started bare (no sandbox) on a loopback TCP port, as a Kubernetes Pod's
 * notebook is reached by URL: for tests of what the server asks a notebook, against the real one.
 * It runs in a process group of its own, so that stopping it stops its kernels too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notebookAnswers } from '../compute/notebook-probe.js';
import { freePort } from './test-server.js';

export interface BareJupyter {
  /** `http://127.0.0.1:<port>`, the notebook's endpoint. */
  url: string;
  baseUrl: string;
  token: string;
  /** Stops the server and its kernels, and removes its folder. */
  stop(): Promise<void>;
}

const BASE_URL = '/instances/ins_bare0000000000/';

/**
 * The arguments of Debian's jupyter_server (`/usr/bin/python3` then these) started bare, as a
 * person would on one machine: loopback TCP on `port`, served under `baseUrl` from `rootDir`.
 */
export function bareJupyterArgs(options: {
  port: number;
  baseUrl: string;
  rootDir: string;
}): string[] {
  return [
    '-m',
    'jupyter_server',
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${options.port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.base_url=${options.baseUrl}`,
    `--ServerApp.root_dir=${options.rootDir}`,
    '--ServerApp.open_browser=False',
    '--ServerApp.allow_root=True',
  ];
}

/** Starts the server and waits (up to `timeoutMs`) until it answers with its token. */
export async function startBareJupyter(timeoutMs = 60_000): Promise<BareJupyter> {
  const root = await mkdtemp(join(tmpdir(), 'lantern-bare-jupyter-'));
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  const child = spawn(
    '/usr/bin/python3',
    bareJupyterArgs({ port, baseUrl: BASE_URL, rootDir: root }),
    {
      // Kernels started without a path work where the server does.
      cwd: root,
      detached: true,
      stdio: 'ignore',
      env: {
        PATH: '/usr/bin:/bin',
        HOME: root,
        JUPYTER_TOKEN: token,
        JUPYTER_RUNTIME_DIR: join(root, 'runtime'),
        JUPYTER_CONFIG_DIR: join(root, 'config'),
        JUPYTER_DATA_DIR: join(root, 'data'),
        IPYTHONDIR: join(root, 'ipython'),
      },
    },
  );
  const stop = async () => {
    await stopGroup(child);
    await rm(root, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + timeoutMs;
  while (!(await notebookAnswers({ url }, BASE_URL, token))) {
    if (child.exitCode !== null || performance.now() > deadline) {
      await stop();
      throw new Error(`jupyter_server did not answer on ${url} (exit ${String(child.exitCode)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, baseUrl: BASE_URL, token, stop };
}

/** SIGTERM to the child's process group, then SIGKILL to what is left of it once the child is gone. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) {
    return;
  }
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(pid, 'SIGTERM');
  await exited;
  signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}
