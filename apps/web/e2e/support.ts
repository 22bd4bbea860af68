import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** The `lantern` command, run as users run it (the built CLI). */
export const LANTERN_BIN = fileURLToPath(new URL('../../cli/bin/lantern.js', import.meta.url));
export const SCREENSHOTS = fileURLToPath(
  new URL('../../../test-results/screenshots/', import.meta.url),
);

/** A `lantern start` on a free port: its URL, everything it printed, and a way to stop it. */
export interface RunningLantern {
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts `lantern start --port 0` on `dir`, with `env` added to this process's environment (a
 * compute backend, a limit), and resolves once the whole banner is printed (the first start also
 * prints the first admin's set-password link).
 */
export function startLantern(
  dir: string,
  env: Readonly<Record<string, string>> = {},
): Promise<RunningLantern> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [LANTERN_BIN, 'start', '--no-demo', '--port', '0', '--data-dir', dir],
      { env: { ...process.env, LANTERN_LOG_LEVEL: 'warn', ...env } },
    );
    let output = '';
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /is running at (http:\/\/\S+?)\/?\s/.exec(output)?.[1];
      if (url !== undefined && /stop with Ctrl-C/.test(output)) {
        resolve({ url, output: () => output, stop: () => (child.kill('SIGTERM'), exited) });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`lantern start exited before listening:\n${output}`)));
  });
}

/**
 * Debian's Chromium, headless; without the background-networking flags it keeps dialling
 * Google's hosts, which this closed network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--disable-gpu', '--disable-quic', '--disable-background-networking', '--no-first-run'],
  });
}

/** A page of `context` that accepts every confirmation (and records what each asked). */
export async function pageOf(context: BrowserContext): Promise<{ page: Page; asked: string[] }> {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1100, height: 900 });
  const asked: string[] = [];
  page.on('dialog', (dialog) => {
    asked.push(dialog.message());
    void dialog.accept();
  });
  return { page, asked };
}
