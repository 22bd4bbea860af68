import { spawn } from 'node:child_process';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createLanternClient } from '@lantern/sdk';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInFirstAdmin } from './testing/first-admin.js';
import { LANTERN_BIN, runCli, startLantern, type RunningLantern } from './testing/run-cli.js';
import { startUploadProxy, type UploadProxy } from './testing/upload-proxy.js';

// `lantern ingest --server` resumes (issue 6): a synthetic knee X-ray delivery (made-up people)
// sent through a proxy that counts each chunk's bytes. Killed half-way and started again, the
// command sends only what the server does not hold, and the draft is the one an unbroken upload
// makes; a connection dropped mid-chunk and a 503 are retried from what the server holds.
const SLUG = 'demo-knee-xray';

let work: string;
let delivery: string;
let total: number;
/** The report of an unbroken upload to a server of its own, the reference. */
let reference: Record<string, unknown>;
let lantern: RunningLantern;
let token: string;

interface Report {
  ingest: string;
  counts: { files: number; stored: number; deduplicated: number; held: number; bytes: number };
}

function envOf(home: string) {
  return { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), LANTERN_TOKEN: token };
}

/** The uploads begun, as the command recorded them to resume (one file each). */
async function recordedUploads(home: string): Promise<{ id: string; delivery: string }[]> {
  const dir = join(home, 'config', 'lantern', 'uploads');
  const files = await readdir(dir).catch(() => []);
  return Promise.all(
    files.map(
      async (file) =>
        JSON.parse(await readFile(join(dir, file), 'utf8')) as { id: string; delivery: string },
    ),
  );
}

/** The files of a folder, as `lantern ingest --server` declares them: paths and sizes. */
async function filesOf(dir: string): Promise<{ path: string; size: number }[]> {
  const files: { path: string; size: number }[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const absolute = join(entry.parentPath, entry.name);
      files.push({ path: relative(dir, absolute), size: (await stat(absolute)).size });
    }
  }
  return files;
}

async function sizeOf(dir: string): Promise<number> {
  return (await filesOf(dir)).reduce((sum, f) => sum + f.size, 0);
}

/** A report without its ingest id, which names the run. */
function withoutId(report: Record<string, unknown>): Record<string, unknown> {
  const { ingest: _ingest, ...rest } = report;
  return rest;
}

async function startWithToken(dataDir: string, password: string) {
  // One deployment key for both servers: the same pseudonyms, so the same draft.
  const started = await startLantern(['--data-dir', dataDir], {
    LANTERN_SECRET_KEY_FILE: join(work, 'secret.key'),
  });
  const admin = await signInFirstAdmin(started, password);
  return {
    started,
    secret: (await admin.makeToken('ingest', ['public', 'catalog.curate'])).secret,
  };
}

/**
 * Runs `lantern ingest DIR --server` through the proxy, slowed down, and stops it with `signal`
 * (SIGKILL: no chance to tidy up; SIGINT: Ctrl-C) once more than `bytes` of the delivery have
 * gone through. Returns its exit code and what it wrote to stderr.
 */
async function ingestUntilKilled(
  proxy: UploadProxy,
  dir: string,
  home: string,
  bytes: number,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<{ code: number | null; stderr: string }> {
  // Slow enough that the command is stopped in the middle of the delivery.
  proxy.throttle(400 * 1024);
  const child = spawn(process.execPath, [LANTERN_BIN, 'ingest', dir, '--server', proxy.url], {
    env: { ...process.env, ...envOf(home) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((done) => child.once('close', done));
  await expect
    .poll(() => proxy.forwarded(), { timeout: 60_000, interval: 50 })
    .toBeGreaterThan(bytes);
  child.kill(signal);
  const code = await exited;
  proxy.throttle(Number.POSITIVE_INFINITY);
  return { code, stderr };
}

/**
 * A copy of the delivery (`name`) whose `lantern ingest --server` was killed once `fraction` of it
 * went through a new proxy; the upload it recorded.
 */
async function killedCopy(name: string, fraction: number) {
  const home = join(work, `home-${name}`);
  const copy = join(work, `knee-1-${name}`);
  await cp(delivery, copy, { recursive: true });
  const proxy = await startUploadProxy(lantern.url);
  try {
    await ingestUntilKilled(proxy, copy, home, total * fraction);
  } catch (error) {
    await proxy.close();
    throw error;
  }
  const old = (await recordedUploads(home))[0]?.id ?? '';
  expect(old).toMatch(/^upl_/u);
  return { home, copy, proxy, old };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-cli-resume-'));
  delivery = join(work, 'knee-1');
  await generateKneeXrayDelivery({ out: delivery, scale: 0.25, delivery: 1 });
  total = await sizeOf(delivery);

  const unbroken = await startWithToken(join(work, 'data-unbroken'), 'nine knees by a cold lake');
  try {
    token = unbroken.secret;
    const result = await runCli(
      ['ingest', delivery, '--server', unbroken.started.url, '--json'],
      envOf(join(work, 'home-unbroken')),
    );
    expect(result.code, result.stderr).toBe(0);
    reference = JSON.parse(result.stdout) as Record<string, unknown>;
  } finally {
    await unbroken.started.stop();
  }

  const resumed = await startWithToken(join(work, 'data'), 'twelve knees under a slow moon');
  lantern = resumed.started;
  token = resumed.secret;
}, 180_000);

afterAll(async () => {
  await lantern.stop();
  await rm(work, { recursive: true, force: true });
});

describe('lantern ingest --server, resumed', () => {
  it('killed half-way and started again, sends only the rest and makes the same draft', async () => {
    const home = join(work, 'home-killed');
    const proxy: UploadProxy = await startUploadProxy(lantern.url);
    try {
      await ingestUntilKilled(proxy, delivery, home, total * 0.4);

      // The command recorded its upload; the server holds part of the delivery.
      const recorded = await recordedUploads(home);
      expect(recorded).toMatchObject([{ delivery }]);
      const id = recorded[0]?.id ?? '';
      const client = createLanternClient({ baseUrl: lantern.url, token });
      // The server may still be writing what arrived before the kill: asked until it is done.
      let held = 0;
      await expect
        .poll(async () => {
          const files = await client.listIngestUploadFiles(id);
          held = files.reduce((sum, f) => sum + f.received, 0);
          return held;
        })
        .toBeGreaterThan(0);
      expect(held).toBeLessThan(total);
      const firstRun = proxy.forwarded();

      const again = await runCli(
        ['ingest', delivery, '--server', proxy.url, '--json'],
        envOf(home),
      );
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(
        new RegExp(
          `^Resuming the upload ${id}: the server holds .+ of .+ \\(\\d+ of 37 files\\)\\.`,
        ),
      );
      const report = JSON.parse(again.stdout) as Record<string, unknown>;
      expect(report['dataset']).toBe(SLUG);
      expect(withoutId(report)).toEqual(withoutId(reference));

      // Each byte once, or close: the second run sent only what the server lacked (it may have
      // kept a little more than it said when asked), and what went twice is at most the chunks in
      // flight at the kill.
      const secondRun = proxy.forwarded() - firstRun;
      expect(secondRun).toBeLessThanOrEqual(total - held);
      expect(firstRun + secondRun - total).toBeLessThan(3 * 400 * 1024);
      // The upload ran: nothing is left to resume.
      expect(await recordedUploads(home)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  // Ctrl-C ended the command in silence: nothing said that the server kept the bytes sent, nor
  // that the same command sends the rest.
  it('stopped with Ctrl-C, says what the server keeps and how to send the rest', async () => {
    const home = join(work, 'home-interrupted');
    const proxy = await startUploadProxy(lantern.url);
    try {
      const stopped = await ingestUntilKilled(proxy, delivery, home, total * 0.3, 'SIGINT');
      expect(stopped.code).toBe(130);
      const id = (await recordedUploads(home))[0]?.id ?? '';
      expect(id).toMatch(/^upl_/u);
      expect(stopped.stderr.trimEnd().split('\n').at(-1)).toBe(
        `lantern: stopped. The server keeps what it received of the upload ${id} for an hour: run the same command again to send the rest (--resume ${id} names it).`,
      );

      const again = await runCli(
        ['ingest', delivery, '--server', proxy.url, '--json'],
        envOf(home),
      );
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(new RegExp(`^Resuming the upload ${id}: `));
    } finally {
      await proxy.close();
    }
  });

  it('retries a dropped connection and a 503 from what the server holds', async () => {
    const home = join(work, 'home-dropped');
    const proxy = await startUploadProxy(lantern.url);
    try {
      proxy.dropChunkAfter(200_000);
      proxy.failNextChunk();
      const result = await runCli(
        ['ingest', delivery, '--server', proxy.url, '--json'],
        envOf(home),
      );
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as Report;
      // The same delivery again: every file identical to what the server stored before.
      expect(report.counts.stored).toBe(0);
      expect(report.counts.deduplicated + report.counts.held).toBe(report.counts.files);

      expect(proxy.failed()).toBe(1);
      // The dropped chunk's file went on from a byte the server held, not from its start.
      const dropped = proxy.chunks.find((c) => c.cut);
      expect(dropped).toMatchObject({ offset: 0, bytes: 200_000 });
      const after = proxy.chunks.filter((c) => c.index === dropped?.index && c !== dropped);
      expect(after.some((c) => c.offset > 0)).toBe(true);
      expect(proxy.forwarded() - total).toBeLessThanOrEqual(200_000);
    } finally {
      await proxy.close();
    }
  });

  it('started again on a folder changed since, cancels the old upload and sends the delivery anew', async () => {
    const { home, copy, proxy, old } = await killedCopy('changed', 0.2);
    try {
      // A comment added to the manifest: another size than declared.
      await appendFile(join(copy, 'delivery.yaml'), '# edited after the upload began\n');

      const again = await runCli(['ingest', copy, '--server', proxy.url, '--json'], envOf(home));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(
        new RegExp(
          `^The upload ${old} was cancelled: this folder is not the one it declared \\(delivery\\.yaml: \\d+ bytes here, \\d+ declared for this upload\\)\\. Sending the delivery anew\\.\n$`,
        ),
      );
      const client = createLanternClient({ baseUrl: lantern.url, token });
      await expect(client.getIngestUpload(old)).rejects.toMatchObject({ status: 404 });
      expect(await recordedUploads(home)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('started again on a folder with a file changed in place (same size) that the server holds whole, sends the delivery anew', async () => {
    const { home, copy, proxy, old } = await killedCopy('same-size', 0.3);
    try {
      const client = createLanternClient({ baseUrl: lantern.url, token });
      // An image the server holds whole (checked against the SHA-256 sent with its last chunk).
      let whole: { path: string; size: number } | undefined;
      await expect
        .poll(async () => {
          const files = await client.listIngestUploadFiles(old);
          whole = files.find(
            (f) => f.path.endsWith('.dcm') && f.received === f.size && f.sha256 !== null,
          );
          return whole;
        })
        .toBeDefined();
      const path = whole?.path ?? '';
      // The last byte of its pixels changed in place: the size is the same, the bytes are not.
      const bytes = await readFile(join(copy, path));
      bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 0xff;
      await writeFile(join(copy, path), bytes);

      const again = await runCli(['ingest', copy, '--server', proxy.url, '--json'], envOf(home));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain(
        `The upload ${old} was cancelled: this folder is not the one it declared (${path}: changed since it was declared for this upload). Sending the delivery anew.\n`,
      );
      await expect(client.getIngestUpload(old)).rejects.toMatchObject({ status: 404 });
    } finally {
      await proxy.close();
    }
  });

  it('resumed after the first bytes of a file half sent changed, sends that file again from its start', async () => {
    const copy = join(work, 'knee-1-first-bytes');
    await cp(delivery, copy, { recursive: true });
    // An upload of the folder whose first image the server holds half of.
    const files = await filesOf(copy);
    const client = createLanternClient({ baseUrl: lantern.url, token });
    const { id } = await client.createIngestUpload(files);
    const index = files.findIndex((f) => f.path.endsWith('.dcm'));
    const path = files[index]?.path ?? '';
    const bytes = await readFile(join(copy, path));
    const half = bytes.length >> 1;
    await client.putIngestUploadFile(id, index, bytes.subarray(0, half), 0);
    // Its first byte (of the DICOM preamble) changed in place since: what the server holds is stale.
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    await writeFile(join(copy, path), bytes);

    const proxy = await startUploadProxy(lantern.url);
    try {
      const again = await runCli(
        ['ingest', copy, '--server', proxy.url, '--resume', id, '--json'],
        envOf(join(work, 'home-first-bytes')),
      );
      expect(again.code, again.stderr).toBe(0);
      // Its rest went with the SHA-256 of the file as it is, which the server refused (its first
      // bytes are not those); the file was sent again from its start, and taken.
      const sends = proxy.chunks.filter((c) => c.index === index);
      expect(sends.map((c) => [c.offset, c.bytes])).toEqual([
        [half, bytes.length - half],
        [0, bytes.length],
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('--resume names an upload; one the server does not have is refused, saying so', async () => {
    const home = join(work, 'home-named');
    const result = await runCli(
      ['ingest', delivery, '--server', lantern.url, '--resume', 'upl_00000000000000000000'],
      envOf(home),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'lantern: cannot resume the upload upl_00000000000000000000: the server has no such upload (cancelled, or expired after an hour unused)\n',
    );
  });
});
