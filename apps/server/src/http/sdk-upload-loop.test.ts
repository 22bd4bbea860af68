import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLanternClient, type LanternClient } from '@lantern/sdk';
import {
  remainingToSend,
  sendUploadFiles,
  type LocalFile,
  type UploadTransport,
} from '@lantern/sdk/upload';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

// The SDK's resumable upload loop (`@lantern/sdk/upload`, used by `lantern ingest --server` and
// the web's ingest page) against the real upload routes: files in small chunks, several at once,
// and a file another sender began (a process killed before it) going on from the server's bytes
// after the 409 its stale offset earns. A synthetic knee delivery: made-up people.
let server: TestServer;
let curator: LanternClient;
let work: string;
let delivery: string;

interface DeliveryFile extends LocalFile {
  sha256: string;
}

async function listDelivery(dir: string): Promise<DeliveryFile[]> {
  const files: DeliveryFile[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const absolute = join(entry.parentPath, entry.name);
      const path = absolute.slice(dir.length + 1);
      const bytes = await readFile(absolute);
      files.push({
        path,
        size: (await stat(absolute)).size,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Chunks through the SDK client, counted: which file, from which byte, how many bytes. */
function countingTransport(id: string, sent: { index: number; offset: number; bytes: number }[]) {
  const transport: UploadTransport<DeliveryFile> = {
    async sendChunk({ index, local, offset, end }) {
      const blob = await openAsBlob(join(delivery, local.path));
      sent.push({ index, offset, bytes: end - offset });
      return curator.putIngestUploadFile(id, index, blob.slice(offset, end), offset);
    },
    listFiles: () => curator.listIngestUploadFiles(id),
  };
  return transport;
}

beforeAll(async () => {
  server = await startTestServer();
  const user = await createSignedInUser(server, {
    email: 'curator@example.org',
    roles: ['curator'],
    password: 'six slow boats on the river',
  });
  const made = await request(server, 'POST', '/api/v1/auth/tokens', user, {
    name: 'upload scripts',
    scope: ['catalog.curate'],
    expiresInDays: 1,
  });
  const { token } = (await made.json()) as { token: string };
  curator = createLanternClient({ baseUrl: server.url, token });
  work = await mkdtemp(join(tmpdir(), 'lantern-upload-loop-'));
  delivery = join(work, 'knee-1');
  await generateKneeXrayDelivery({ out: delivery, scale: 0.25, seed: 9, delivery: 1 });
}, 120_000);

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe(`the SDK's upload loop on ${TEST_DIALECT}`, () => {
  it('sends chunks a few files at a time, goes on from the bytes another sender left, and the ingest runs', async () => {
    const files = await listDelivery(delivery);
    const total = files.reduce((sum, f) => sum + f.size, 0);
    const made = await curator.createIngestUpload(
      files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
    );
    const declared = await curator.listIngestUploadFiles(made.id);
    const { pending, held, problems } = remainingToSend(declared, files);
    expect(problems).toEqual([]);

    // Another sender (a command killed since) sent the first 100,000 bytes of the largest file
    // after this client asked: its first chunk of that file starts at a byte the server is past.
    const big = pending.reduce((a, b) => (b.local.size > a.local.size ? b : a));
    const bigBytes = await readFile(join(delivery, big.local.path));
    const early = 100_000;
    expect(big.local.size).toBeGreaterThan(early);
    await curator.putIngestUploadFile(
      made.id,
      big.index,
      new Blob([bigBytes.subarray(0, early)]),
      0,
    );

    const sent: { index: number; offset: number; bytes: number }[] = [];
    const retried: unknown[] = [];
    let reported = 0;
    let completed = 0;
    await sendUploadFiles({
      files: pending,
      transport: countingTransport(made.id, sent),
      chunkBytes: 64 * 1024,
      parallel: 3,
      onBytes: (bytes) => {
        reported = bytes;
      },
      onFile: () => {
        completed += 1;
      },
      onRetry: (failure) => retried.push(failure),
      // No waiting in a test: the retry asks the server at once.
      wait: () => Promise.resolve(),
    });

    // One 409, for the stale offset; the file went on from the server's bytes.
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatchObject({ status: 409, code: 'conflict' });
    const bigChunks = sent.filter((c) => c.index === big.index);
    expect(bigChunks[0]?.offset).toBe(0);
    expect(bigChunks[1]?.offset).toBe(early);
    // Every other byte once, in chunks of at most 64 KiB; the refused chunk is the only one twice.
    expect(sent.every((c) => c.bytes <= 64 * 1024)).toBe(true);
    const refused = bigChunks[0]?.bytes ?? 0;
    expect(sent.reduce((sum, c) => sum + c.bytes, 0) - refused).toBe(total - held - early);
    expect(completed).toBe(pending.length);
    expect(reported).toBe(total - held);

    const upload = await curator.getIngestUpload(made.id);
    expect(upload.bytes).toEqual({ declared: total, received: total });
    expect(upload.files).toEqual({ declared: files.length, received: files.length });
    await curator.runIngestUpload(made.id);
    await expect
      .poll(async () => (await curator.getIngestUpload(made.id)).status, { timeout: 60_000 })
      .toBe('done');
    const done = await curator.getIngestUpload(made.id);
    expect(done.summary?.dataset).toBe('demo-knee-xray');
    expect(done.summary?.counts.files).toBeGreaterThan(0);
  });
});
