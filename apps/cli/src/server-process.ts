import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Commands that act on a local data directory (`start`, `audit verify`) run the server's own entry
 * point as a child process, with the terminal passed through. The CLI never imports server code:
 * it only asks Node where the server's built entry is.
 */
export function serverEntry(): string {
  return fileURLToPath(import.meta.resolve('@lantern/server/main'));
}

/** The exit code of a command a signal ended (Ctrl-C), as shells say it: 128 + SIGINT's 2. */
export const INTERRUPTED = 128 + 2;

/**
 * Runs `lantern-server <args>` and resolves to its exit code (INTERRUPTED when a signal ended it).
 * Ctrl-C and SIGTERM are passed on.
 */
export function runServer(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serverEntry(), ...args], { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => () => {
      child.kill(signal);
    };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal === null ? 1 : INTERRUPTED));
    });
  });
}

/** Flags shared by the local commands, as the server expects them. */
export function localFlags(options: { dataDir?: string; port?: string; host?: string }): string[] {
  const args: string[] = [];
  if (options.dataDir !== undefined) {
    args.push('--data-dir', options.dataDir);
  }
  if (options.port !== undefined) {
    args.push('--port', options.port);
  }
  if (options.host !== undefined) {
    args.push('--host', options.host);
  }
  return args;
}
