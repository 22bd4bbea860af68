import { createInterface } from 'node:readline/promises';
import { CliError } from './cli-error.js';

/**
 * Asks on the terminal without echoing what is typed or pasted (a secret must not stay on screen
 * or in the scrollback). The question goes to stderr so that stdout stays the command's output.
 */
export function promptHidden(question: string): Promise<string> {
  const { stdin, stderr } = process;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error: CliError | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      if (error === null) {
        resolve(value);
      } else {
        reject(error);
      }
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          finish(null);
          return;
        }
        if (char === '\u0003') {
          finish(new CliError(130, 'cancelled; nothing was saved'));
          return;
        }
        if (char === '\u007f' || char === '\b') {
          value = value.slice(0, -1);
        } else if (char >= ' ') {
          value += char;
        }
      }
    };
    // Raw mode before the question: nothing typed after it appears is echoed.
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stderr.write(question);
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** Everything on stdin until it closes (`lantern login --with-token < file`). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Asks a yes/no question on the terminal (on stderr, so that stdout stays the command's output);
 * only "y" or "yes" is a yes, and Ctrl-D or an empty answer is the default, no.
 */
export async function confirm(question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const closed = new Promise<string>((resolve) => terminal.once('close', () => resolve('')));
    const interrupted = new Promise<never>((_resolve, reject) =>
      terminal.once('SIGINT', () => reject(new CliError(130, 'cancelled'))),
    );
    const answer = await Promise.race([terminal.question(question), closed, interrupted]);
    return /^\s*y(es)?\s*$/iu.test(answer);
  } finally {
    terminal.close();
  }
}
