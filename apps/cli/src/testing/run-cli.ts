import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built `lantern` command, run as a user runs it. */
export const LANTERN_BIN = fileURLToPath(new URL('../../bin/lantern.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lantern <args>` to completion, with `stdin` as its input (none by default). */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  stdin = '',
): Promise<CliResult> {
  return startCli(args, env, stdin).result;
}

/**
 * Starts `lantern <args>` with `stdin` as its input: the process, to signal while it runs, and
 * what it ends with.
 */
export function startCli(
  args: readonly string[],
  env: Record<string, string> = {},
  stdin = '',
): { process: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [LANTERN_BIN, ...args], {
    env: { ...process.env, ...env },
  });
  child.stdin.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
  return { process: child, result };
}

/**
 * Runs `lantern <args>` on a pseudo-terminal (script(1)), as a person at a terminal: once
 * `question` shows, `reply` is typed (nothing is, without a question). Resolves to the exit code
 * and what the terminal showed.
 */
export async function answerOnTerminal(
  args: readonly string[],
  env: Record<string, string>,
  question?: string,
  reply = '',
): Promise<{ code: number | null; screen: string }> {
  const child = spawn(
    'script',
    [
      '-qec',
      [process.execPath, LANTERN_BIN, ...args].map((arg) => `'${arg}'`).join(' '),
      '/dev/null',
    ],
    {
      env: { ...process.env, ...env },
    },
  );
  let screen = '';
  let typed = false;
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    if (!typed && question !== undefined && screen.includes(question)) {
      typed = true;
      child.stdin.write(`${reply}\r`);
    }
  });
  const code = await new Promise<number | null>((done) => child.once('close', done));
  child.stdin.destroy();
  return { code, screen };
}

/** A `lantern start` running in the background, with the URL it printed. */
export interface RunningLantern {
  url: string;
  process: ChildProcess;
  output: () => string;
  /** Sends SIGTERM and resolves to the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `lantern start --port 0 …` and waits until it has printed its whole banner: where it
 * listens and, on the first start, the first admin's set-password link.
 */
export function startLantern(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<RunningLantern> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [LANTERN_BIN, 'start', '--no-demo', '--port', '0', ...args],
      {
        env: { ...process.env, LANTERN_LOG_LEVEL: 'warn', ...env },
      },
    );
    let output = '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /is running at (http:\/\/\S+?)\/?\s/.exec(output);
      if (match?.[1] !== undefined && output.includes('stop with Ctrl-C')) {
        resolve({
          url: match[1],
          process: child,
          output: () => output,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      reject(new Error(`lantern start exited with ${String(code)} before listening:\n${output}`));
    });
  });
}
