import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestUploadService, UPLOAD_IDLE_MS } from '../services/ingest/ingest-uploads.service.js';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

// Remote ingest: a delivery declared, sent file by file into a staging folder, run in the
// background and followed; the staging folder is gone when the run ends, whatever happened.
let server: TestServer;
let curator: SignedInUser;
let work: string;
let delivery: string;
let files: { path: string; size: number }[];
/** What the upload sent in one go made: a resumed one makes the same. */
let uninterrupted: Upload['summary'] = null;

interface Upload {
  id: string;
  status: string;
  files: { declared: number; received: number };
  bytes: { declared: number; received: number };
  progress: {
    phase: string;
    bytes: number;
    elapsedMs: number;
    bytesPerSecond: number | null;
    secondsLeft: number | null;
  } | null;
  summary: {
    dataset: string;
    counts: { tables: number; files: number; stored: number; deduplicated: number; held: number };
    tables: unknown[];
    held: unknown[];
    phi: { blocked: boolean };
    next: string;
  } | null;
  problems: { path: string; message: string }[];
}

async function listFiles(dir: string, prefix = ''): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      out.push(...(await listFiles(dir, path)));
    } else {
      out.push({ path, size: (await stat(join(dir, path))).size });
    }
  }
  return out;
}

/** A file's place in the declared list, which names it in URLs. */
/** Where the server stages the bytes of an upload's file while it arrives. */
function partOf(id: string, path: string): string {
  return join(server.ctx.config.dataDir, 'ingest-staging', id, 'parts', `${indexOf(path)}`);
}

function indexOf(path: string, list: readonly { path: string }[] = files): number {
  const index = list.findIndex((f) => f.path === path);
  expect(index, path).toBeGreaterThanOrEqual(0);
  return index;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Sends a declared file whole, or a chunk of it at `offset`, with the file's SHA-256 if given. */
function putFile(
  id: string,
  path: string,
  body: Uint8Array,
  as: SignedInUser = curator,
  offset?: number,
  list: readonly { path: string }[] = files,
  sha256?: string,
) {
  const params = new URLSearchParams({
    ...(offset === undefined ? {} : { offset: String(offset) }),
    ...(sha256 === undefined ? {} : { sha256 }),
  }).toString();
  const query = params === '' ? '' : `?${params}`;
  return fetch(`${server.url}/api/v1/ingests/${id}/files/${indexOf(path, list)}${query}`, {
    method: 'PUT',
    headers: {
      'x-lantern-csrf': '1',
      cookie: as.cookie,
      'content-type': 'application/octet-stream',
    },
    body,
  });
}

async function sendAll(
  id: string,
  list: { path: string }[],
  declared: readonly { path: string }[] = files,
): Promise<void> {
  for (const file of list) {
    const bytes = await readFile(join(delivery, file.path));
    const res = await putFile(id, file.path, bytes, curator, undefined, declared, sha256(bytes));
    expect(res.status, file.path).toBe(200);
  }
}

/** Asks for the upload until its run has ended. */
async function finished(id: string): Promise<Upload> {
  for (;;) {
    const res = await request(server, 'GET', `/api/v1/ingests/${id}`, curator);
    const upload = (await res.json()) as Upload;
    if (upload.status !== 'running') {
      return upload;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function stagingEntries(): Promise<string[]> {
  return readdir(join(server.ctx.config.dataDir, 'ingest-staging')).catch(() => []);
}

beforeAll(async () => {
  server = await startTestServer();
  curator = await createSignedInUser(server, {
    email: 'curator@example.org',
    roles: ['curator'],
    password: 'a long curator passphrase',
  });
  work = await mkdtemp(join(tmpdir(), 'lantern-upload-'));
  delivery = join(work, 'knee-1');
  await generateKneeXrayDelivery({ out: delivery, scale: 0.25, seed: 3, delivery: 1 });
  files = await listFiles(delivery);
}, 120_000);

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe(`remote ingest on ${TEST_DIALECT}`, () => {
  it('refuses paths outside the delivery, and a delivery without delivery.yaml', async () => {
    const res = await request(server, 'POST', '/api/v1/ingests', curator, {
      files: [
        { path: '../etc/passwd', size: 1 },
        { path: '/abs', size: 1 },
        { path: 'a//b', size: 1 },
        { path: 'files\\x.dcm', size: 1 },
        { path: 'tables/x.csv', size: 1 },
        { path: 'tables/x.csv', size: 2 },
      ],
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(body.errors.map((e) => e.path)).toEqual([
      'body.files.0.path',
      'body.files.1.path',
      'body.files.2.path',
      'body.files.3.path',
      'body.files.5.path',
      'body.files',
    ]);
    expect(await stagingEntries()).toEqual([]);
  });

  it('takes only declared files of their declared size, ingests them, and deletes them', async () => {
    const created = await request(server, 'POST', '/api/v1/ingests', curator, { files });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as Upload;
    expect(id).toMatch(/^upl_[0-9a-f]{20}$/u);

    // Not declared; more bytes than declared; fewer bytes than declared.
    const extra = await fetch(`${server.url}/api/v1/ingests/${id}/files/${files.length}`, {
      method: 'PUT',
      headers: {
        'x-lantern-csrf': '1',
        cookie: curator.cookie,
        'content-type': 'application/octet-stream',
      },
      body: new Uint8Array(4),
    });
    expect(extra.status).toBe(404);
    const manifest = await readFile(join(delivery, 'delivery.yaml'));
    const longer = await putFile(id, 'delivery.yaml', Buffer.concat([manifest, Buffer.from('x')]));
    expect(longer.status).toBe(413);
    const shorter = await putFile(id, 'delivery.yaml', manifest.subarray(1));
    expect(shorter.status).toBe(400);

    // Not everything sent: no run.
    const early = await request(server, 'POST', `/api/v1/ingests/${id}/run`, curator);
    expect(early.status).toBe(400);

    // Someone else's upload is not found.
    const other = await createSignedInUser(server, {
      email: 'other-curator@example.org',
      roles: ['curator'],
      password: 'another long curator passphrase',
    });
    expect((await request(server, 'GET', `/api/v1/ingests/${id}`, other)).status).toBe(404);
    expect((await putFile(id, 'delivery.yaml', manifest, other)).status).toBe(404);

    await sendAll(id, files);
    const staged = await readdir(stagedOf(id, 'tables'));
    expect(staged.sort()).toEqual(['outcomes.csv', 'patients.csv', 'xrays.csv']);

    const run = await request(server, 'POST', `/api/v1/ingests/${id}/run`, curator);
    expect(run.status).toBe(202);
    const done = await finished(id);
    expect(done.status).toBe('done');
    expect(done.files).toEqual({ declared: files.length, received: files.length });
    expect(done.summary?.dataset).toBe('demo-knee-xray');
    expect(done.summary?.counts.tables).toBe(3);
    expect((done.summary?.counts.stored ?? 0) + (done.summary?.counts.held ?? 0)).toBe(
      done.summary?.counts.files,
    );
    expect(done.summary?.phi.blocked).toBe(true);
    expect(done.summary?.next).toMatch(/then lantern publish demo-knee-xray$/u);
    uninterrupted = done.summary;
    expect(await stagingEntries()).toEqual([]);

    // The run made the draft: its ingest is the curator's.
    const runs = await server.ctx.database.db
      .selectFrom('ingest_run')
      .select(['created_by', 'status'])
      .execute();
    expect(runs).toEqual([{ created_by: `user:${curator.id}`, status: 'done' }]);

    // The run's last progress: done, nothing left.
    expect(done.progress?.phase).toBe('done');
    expect(done.progress?.secondsLeft).toBeNull();

    // A finished upload takes no more files and no second run.
    expect((await putFile(id, 'delivery.yaml', manifest)).status).toBe(409);
    expect((await request(server, 'POST', `/api/v1/ingests/${id}/run`, curator)).status).toBe(409);

    // Its owner may forget it; nobody else may.
    expect((await request(server, 'DELETE', `/api/v1/ingests/${id}`, other)).status).toBe(404);
    expect((await request(server, 'DELETE', `/api/v1/ingests/${id}`, curator)).status).toBe(204);
    expect((await request(server, 'GET', `/api/v1/ingests/${id}`, curator)).status).toBe(404);
  });

  it('cancels an upload: a send in flight stops, the staging folder goes, only for its owner', async () => {
    const created = await request(server, 'POST', '/api/v1/ingests', curator, { files });
    const { id } = (await created.json()) as Upload;
    await sendAll(id, [{ path: 'delivery.yaml' }]);
    const other = await createSignedInUser(server, {
      email: 'third-curator@example.org',
      roles: ['curator'],
      password: 'a third long curator passphrase',
    });
    expect((await request(server, 'DELETE', `/api/v1/ingests/${id}`, other)).status).toBe(404);

    // A file half sent: its first half arrives, the rest waits until the upload is cancelled.
    const big = files.reduce((a, b) => (b.size > a.size ? b : a));
    const bytes = await readFile(join(delivery, big.path));
    let release: () => void = () => undefined;
    const held = new Promise<void>((done) => (release = done));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(bytes.subarray(0, bytes.length >> 1));
        await held;
        controller.enqueue(bytes.subarray(bytes.length >> 1));
        controller.close();
      },
    });
    const sending = fetch(`${server.url}/api/v1/ingests/${id}/files/${indexOf(big.path)}`, {
      method: 'PUT',
      headers: {
        'x-lantern-csrf': '1',
        cookie: curator.cookie,
        'content-type': 'application/octet-stream',
      },
      body,
      duplex: 'half',
    }).then(
      async (res) => (await res.text(), res.status),
      () => 'reset',
    );
    const folder = join(server.ctx.config.dataDir, 'ingest-staging', id);
    const partOf = async () =>
      (await listFiles(folder).catch(() => [])).some(
        (f) => f.path === `parts/${indexOf(big.path)}` && f.size > 0,
      );
    await expect.poll(partOf, { timeout: 20_000 }).toBe(true);

    expect((await request(server, 'DELETE', `/api/v1/ingests/${id}`, curator)).status).toBe(204);
    release();
    // The send is refused (its upload gone) or its connection closed; nothing of it stays.
    expect([409, 'reset']).toContain(await sending);
    expect(await stagingEntries()).not.toContain(id);
    // Regression: the refused send's connection was kept alive unreadable, and this request hung.
    expect((await request(server, 'GET', `/api/v1/ingests/${id}`, curator)).status).toBe(404);
    expect((await putFile(id, 'delivery.yaml', bytes)).status).toBe(404);
  });

  it('reports every problem of a refused delivery, and deletes it too', async () => {
    const partial = files.filter((f) => f.path !== 'tables/outcomes.csv');
    const created = await request(server, 'POST', '/api/v1/ingests', curator, { files: partial });
    const { id } = (await created.json()) as Upload;
    await sendAll(id, partial, partial);
    expect((await request(server, 'POST', `/api/v1/ingests/${id}/run`, curator)).status).toBe(202);
    const refused = await finished(id);
    expect(refused.status).toBe('refused');
    expect(refused.summary).toBeNull();
    expect(refused.problems.map((p) => `${p.path}: ${p.message}`)).toContainEqual(
      expect.stringMatching(/^tables\/outcomes\.csv: table_missing: /u),
    );
    expect(await stagingEntries()).toEqual([]);
  });

  it('is refused to people who are not curators', async () => {
    const researcher = await createSignedInUser(server, {
      email: 'researcher@example.org',
      roles: ['researcher'],
      password: 'a long researcher passphrase',
    });
    const res = await request(server, 'POST', '/api/v1/ingests', researcher, { files });
    expect(res.status).toBe(403);
  });
});

describe('a run', () => {
  it('cannot be cancelled, and says its rate and times, which stop at its end', async () => {
    // Each reading of the clock is 5 ms after the last.
    let now = 0;
    const uploads = new IngestUploadService(
      server.ctx.database.db,
      join(work, 'run'),
      server.ctx.services.ingest,
      server.ctx.services.catalog,
      () => (now += 5),
    );
    const owner = `user:${curator.id}`;
    const made = await uploads.create(owner, files);
    for (const [index, file] of files.entries()) {
      const bytes = await readFile(join(delivery, file.path));
      await uploads.putFile(owner, made.id, index, null, Readable.from([bytes]), sha256(bytes));
    }
    const started = await uploads.run(owner, made.id);
    expect(started.status).toBe('running');
    await expect(uploads.cancel(owner, made.id)).rejects.toThrow(/cannot be cancelled/u);

    let view = await uploads.get(owner, made.id);
    while (view.status === 'running') {
      await new Promise((done) => setTimeout(done, 50));
      view = await uploads.get(owner, made.id);
    }
    expect(view.status).toBe('done');
    const progress = view.progress;
    expect(progress?.phase).toBe('done');
    expect(progress?.elapsedMs).toBeGreaterThan(0);
    expect(progress?.bytesPerSecond).toBe(
      Math.round(((progress?.bytes ?? 0) * 1000) / (progress?.elapsedMs ?? 1)),
    );
    expect(progress?.secondsLeft).toBeNull();
    // Read again later, a finished run's times have not moved.
    now += 60_000;
    expect((await uploads.get(owner, made.id)).progress?.elapsedMs).toBe(progress?.elapsedMs);
    await uploads.cancel(owner, made.id);
    await expect(uploads.get(owner, made.id)).rejects.toThrow(/no upload/u);
  });
});

describe('uploads left unrun', () => {
  it('expire after an hour idle, files and all; a closing server keeps them, a start removes only what no upload wants', async () => {
    let now = 0;
    const dataDir = join(work, 'expiry');
    const uploads = new IngestUploadService(
      server.ctx.database.db,
      dataDir,
      server.ctx.services.ingest,
      server.ctx.services.catalog,
      () => now,
    );
    const owner = 'user:someone';
    const manifest = await readFile(join(delivery, 'delivery.yaml'));
    const yaml = indexOf('delivery.yaml');
    const made = await uploads.create(owner, files);
    await uploads.putFile(owner, made.id, yaml, null, Readable.from([manifest]), sha256(manifest));
    expect(await readdir(join(dataDir, 'ingest-staging', made.id, 'delivery'))).toEqual([
      'delivery.yaml',
    ]);

    now += UPLOAD_IDLE_MS;
    expect(await uploads.expire()).toBe(0);
    now += 1;
    expect(await uploads.expire()).toBe(1);
    expect(await readdir(join(dataDir, 'ingest-staging'))).toEqual([]);
    await expect(uploads.get(owner, made.id)).rejects.toThrow(/no upload/u);

    const pending = await uploads.create(owner, files);
    await uploads.putFile(
      owner,
      pending.id,
      yaml,
      null,
      Readable.from([manifest]),
      sha256(manifest),
    );
    await uploads.close();
    expect(await readdir(join(dataDir, 'ingest-staging'))).toEqual([pending.id]);

    await mkdir(join(dataDir, 'ingest-staging', 'upl_left_by_a_crash'), { recursive: true });
    await uploads.recover(0);
    expect(await readdir(join(dataDir, 'ingest-staging'))).toEqual([pending.id]);
    expect((await uploads.get(owner, pending.id)).files.received).toBe(1);
    await uploads.cancel(owner, pending.id);
    expect(await readdir(join(dataDir, 'ingest-staging'))).toEqual([]);
  });
});

interface UploadFile {
  index: number;
  path: string;
  size: number;
  sha256: string | null;
  received: number;
}

async function filesOf(id: string, as: SignedInUser = curator): Promise<UploadFile[]> {
  const res = await request(server, 'GET', `/api/v1/ingests/${id}/files`, as);
  expect(res.status).toBe(200);
  return ((await res.json()) as { files: UploadFile[] }).files;
}

async function receivedOf(id: string, path: string): Promise<number | undefined> {
  return (await filesOf(id)).find((f) => f.path === path)?.received;
}

/** Sends the rest of a file from byte `from`, with the SHA-256 of the whole of it. */
function putLast(id: string, path: string, bytes: Buffer, from: number) {
  return putFile(id, path, bytes.subarray(from), curator, from, files, sha256(bytes));
}

/** Where a complete file of an upload is staged. */
function stagedOf(id: string, path: string): string {
  return join(server.ctx.config.dataDir, 'ingest-staging', id, 'delivery', path);
}

/** The server holds `path` complete, as `bytes`, taken with their SHA-256. */
async function expectTaken(id: string, path: string, bytes: Buffer): Promise<void> {
  expect((await filesOf(id)).find((f) => f.path === path)).toMatchObject({
    received: bytes.length,
    sha256: sha256(bytes),
  });
  expect((await readFile(stagedOf(id, path))).equals(bytes)).toBe(true);
}

describe(`resumable uploads on ${TEST_DIALECT}`, () => {
  it('refuses a chunk at a wrong offset or too long, losing nothing; keeps what a dropped connection sent; hides it from other curators', async () => {
    const created = await request(server, 'POST', '/api/v1/ingests', curator, { files });
    const { id } = (await created.json()) as Upload;
    const big = files.reduce((a, b) => (b.size > a.size ? b : a));
    const bytes = await readFile(join(delivery, big.path));
    const third = Math.floor(bytes.length / 3);

    const first = await putFile(id, big.path, bytes.subarray(0, third), curator, 0);
    expect(first.status).toBe(200);
    expect(((await first.json()) as Upload).bytes.received).toBe(third);

    // Not where the server's bytes end: refused, naming where to send from.
    const wrong = await putFile(id, big.path, bytes.subarray(5, third + 5), curator, 5);
    expect(wrong.status).toBe(409);
    const problem = (await wrong.json()) as { detail: string };
    expect(problem.detail).toContain(`send from byte ${third}`);
    expect(await receivedOf(id, big.path)).toBe(third);

    // Past the declared size: refused, and the file is as it was.
    const longer = await putFile(
      id,
      big.path,
      Buffer.concat([bytes.subarray(third), Buffer.from('x')]),
      curator,
      third,
    );
    expect(longer.status).toBe(413);
    expect(await receivedOf(id, big.path)).toBe(third);
    const part = partOf(id, big.path);
    expect((await readFile(part)).equals(bytes.subarray(0, third))).toBe(true);

    // A chunk whose connection drops halfway: the bytes that arrived are kept.
    const twoThirds = 2 * third;
    const aborter = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(third, twoThirds));
      },
    });
    const dropped = fetch(
      `${server.url}/api/v1/ingests/${id}/files/${indexOf(big.path)}?offset=${third}`,
      {
        method: 'PUT',
        headers: {
          'x-lantern-csrf': '1',
          cookie: curator.cookie,
          'content-type': 'application/octet-stream',
        },
        body,
        duplex: 'half',
        signal: aborter.signal,
      },
    ).then(
      (res) => res.status,
      () => 'reset',
    );
    const size = async () => (await stat(part)).size;
    await expect.poll(size, { timeout: 20_000 }).toBe(twoThirds);
    aborter.abort();
    expect(await dropped).toBe('reset');
    await expect.poll(() => receivedOf(id, big.path), { timeout: 20_000 }).toBe(twoThirds);

    // Another curator sees none of it, and cannot send to it.
    const other = await createSignedInUser(server, {
      email: 'resume-other@example.org',
      roles: ['curator'],
      password: 'yet another long curator passphrase',
    });
    expect((await request(server, 'GET', `/api/v1/ingests/${id}/files`, other)).status).toBe(404);
    expect((await request(server, 'GET', `/api/v1/ingests/${id}`, other)).status).toBe(404);
    const theirs = await putFile(id, big.path, bytes.subarray(twoThirds), other, twoThirds);
    expect(theirs.status).toBe(404);
    expect(await receivedOf(id, big.path)).toBe(twoThirds);

    // The rest, with the file's SHA-256 (checked against the server's hash of every byte it kept,
    // the dropped chunk's among them), and the file is complete in the delivery.
    expect((await putLast(id, big.path, bytes, twoThirds)).status).toBe(200);
    await expectTaken(id, big.path, bytes);
    // Once complete, a chunk past its end is refused too.
    expect((await putFile(id, big.path, Buffer.from('x'), curator, bytes.length)).status).toBe(413);
    expect(await receivedOf(id, big.path)).toBe(bytes.length);
    expect((await request(server, 'DELETE', `/api/v1/ingests/${id}`, curator)).status).toBe(204);

    // The audit log has every send, naming files by their index: never the partner's file name
    // (here an accession number, a source identifier).
    await server.flushAudit();
    const audit = await server.ctx.database.db.selectFrom('audit_event').select('body').execute();
    const sends = audit.filter((e) => e.body.includes('ingest.upload_file'));
    expect(sends.length).toBeGreaterThanOrEqual(6);
    const name = big.path.split('/').at(-1) ?? big.path;
    expect(audit.filter((e) => e.body.includes(name.replace(/\.dcm$/u, '')))).toEqual([]);
  });

  it('lets a newer send of a file take over from one whose connection hangs, keeping what it sent', async () => {
    const created = await request(server, 'POST', '/api/v1/ingests', curator, { files });
    const { id } = (await created.json()) as Upload;
    const big = files.reduce((a, b) => (b.size > a.size ? b : a));
    const bytes = await readFile(join(delivery, big.path));
    const half = bytes.length >> 1;

    // A chunk whose first half arrives, then nothing: the client is gone, the server can't tell.
    const hung = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, half));
      },
    });
    const stalled = fetch(
      `${server.url}/api/v1/ingests/${id}/files/${indexOf(big.path)}?offset=0`,
      {
        method: 'PUT',
        headers: {
          'x-lantern-csrf': '1',
          cookie: curator.cookie,
          'content-type': 'application/octet-stream',
        },
        body: hung,
        duplex: 'half',
      },
    ).then(
      async (res) => ({ status: res.status, body: await res.text() }),
      () => 'reset' as const,
    );
    const part = partOf(id, big.path);
    await expect
      .poll(async () => (await stat(part).catch(() => null))?.size, {
        timeout: 20_000,
      })
      .toBe(half);
    // The database still says 0 (the send has not ended), so the client sends from 0 again: the
    // hung send stops and keeps its half, and the newer one is told where to go on from.
    expect(await receivedOf(id, big.path)).toBe(0);
    const again = await putFile(id, big.path, bytes, curator, 0);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { detail: string }).detail).toContain(`send from byte ${half}`);
    const earlier = await stalled;
    expect(earlier === 'reset' || earlier.status === 409).toBe(true);
    if (earlier !== 'reset') {
      expect(earlier.body).toContain('a newer send of it took over');
    }

    expect((await putLast(id, big.path, bytes, half)).status).toBe(200);
    await expectTaken(id, big.path, bytes);
    expect((await request(server, 'DELETE', `/api/v1/ingests/${id}`, curator)).status).toBe(204);
  });

  it('refuses a file whose bytes do not have the SHA-256 declared, and keeps none of them', async () => {
    const manifest = await readFile(join(delivery, 'delivery.yaml'));
    const declared = files.map((f) => ({
      ...f,
      ...(f.path === 'delivery.yaml' ? { sha256: sha256(Buffer.from('something else')) } : {}),
    }));
    const created = await request(server, 'POST', '/api/v1/ingests', curator, {
      files: declared,
    });
    const { id } = (await created.json()) as Upload;
    const res = await putFile(id, 'delivery.yaml', manifest);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/SHA-256/u);
    expect(await receivedOf(id, 'delivery.yaml')).toBe(0);
    expect((await request(server, 'DELETE', `/api/v1/ingests/${id}`, curator)).status).toBe(204);
  });

  it("checks the SHA-256 given with a file's last chunk against the bytes it received, and discards only that file on a mismatch", async () => {
    // Declared without hashes: a client hashing as it sends says each file's with its last chunk.
    const created = await request(server, 'POST', '/api/v1/ingests', curator, { files });
    const { id } = (await created.json()) as Upload;
    const big = files.reduce((a, b) => (b.size > a.size ? b : a));
    const small = files.find((f) => f.path === 'delivery.yaml') ?? big;
    const bytes = await readFile(join(delivery, big.path));
    const third = Math.floor(bytes.length / 3);
    const manifest = await readFile(join(delivery, small.path));
    expect(
      (await putFile(id, small.path, manifest, curator, 0, files, sha256(manifest))).status,
    ).toBe(200);
    expect((await putFile(id, big.path, bytes.subarray(0, third), curator, 0)).status).toBe(200);
    expect(
      (await putFile(id, big.path, bytes.subarray(third, 2 * third), curator, third)).status,
    ).toBe(200);

    // The last chunk says another file's SHA-256 (the file changed since its first bytes went):
    // refused as a conflict, and the file's bytes are discarded, to be sent again from the start.
    const wrong = await putFile(
      id,
      big.path,
      bytes.subarray(2 * third),
      curator,
      2 * third,
      files,
      sha256(Buffer.from('another file')),
    );
    expect(wrong.status).toBe(409);
    expect(((await wrong.json()) as { detail: string }).detail).toMatch(
      /the bytes received do not have the SHA-256 sent with its last chunk .*send the file again from its start/u,
    );
    expect(await receivedOf(id, big.path)).toBe(0);
    // A SHA-256 that is not one is refused before a byte is taken.
    expect((await putFile(id, big.path, bytes, curator, 0, files, 'ABC')).status).toBe(400);
    expect(await receivedOf(id, big.path)).toBe(0);
    // The other file is as it was: complete, with the SHA-256 it was checked against.
    const manifestRow = (await filesOf(id)).find((f) => f.path === small.path);
    expect(manifestRow).toMatchObject({ received: manifest.length, sha256: sha256(manifest) });

    // Sent again, the right SHA-256 with its last chunk: complete, and the list says its SHA-256.
    expect((await putFile(id, big.path, bytes.subarray(0, third), curator, 0)).status).toBe(200);
    expect((await putLast(id, big.path, bytes, third)).status).toBe(200);
    await expectTaken(id, big.path, bytes);
    expect((await request(server, 'DELETE', `/api/v1/ingests/${id}`, curator)).status).toBe(204);
  });

  it('takes no file unchecked: a send completing a file with no SHA-256 given or declared is refused, and only its bytes go', async () => {
    const created = await request(server, 'POST', '/api/v1/ingests', curator, { files });
    const { id } = (await created.json()) as Upload;
    const problemOf = async (res: Response) =>
      (await res.json()) as { code: string; errors: { path: string }[] };

    // Sent whole without a SHA-256: nothing of it is kept.
    const manifest = await readFile(join(delivery, 'delivery.yaml'));
    const whole = await putFile(id, 'delivery.yaml', manifest);
    expect(whole.status).toBe(400);
    expect(await problemOf(whole)).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'query.sha256' }],
    });
    expect(await receivedOf(id, 'delivery.yaml')).toBe(0);

    // In chunks: the last one without a SHA-256 is refused, and the bytes before it stay.
    const big = files.reduce((a, b) => (b.size > a.size ? b : a));
    const bytes = await readFile(join(delivery, big.path));
    const third = Math.floor(bytes.length / 3);
    expect((await putFile(id, big.path, bytes.subarray(0, third), curator, 0)).status).toBe(200);
    const last = await putFile(id, big.path, bytes.subarray(third), curator, third);
    expect(last.status).toBe(400);
    expect((await problemOf(last)).errors).toEqual([
      { path: 'query.sha256', message: 'required with the send that completes a file' },
    ]);
    expect(await receivedOf(id, big.path)).toBe(third);
    expect((await readFile(partOf(id, big.path))).equals(bytes.subarray(0, third))).toBe(true);
    expect(await stat(stagedOf(id, big.path)).catch(() => null)).toBeNull();

    // The same last chunk with the file's SHA-256: checked against every byte held, and taken.
    expect((await putLast(id, big.path, bytes, third)).status).toBe(200);
    await expectTaken(id, big.path, bytes);
    expect((await request(server, 'DELETE', `/api/v1/ingests/${id}`, curator)).status).toBe(204);
  });

  it('survives a server restart: only the missing bytes are sent, and the ingest makes what an uninterrupted upload made', async () => {
    const declared = await Promise.all(
      files.map(async (f) => ({ ...f, sha256: sha256(await readFile(join(delivery, f.path))) })),
    );
    const created = await request(server, 'POST', '/api/v1/ingests', curator, { files: declared });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as Upload;
    const total = files.reduce((sum, f) => sum + f.size, 0);

    // Half the files whole, and half of the largest of the others.
    const half = files.slice(0, files.length >> 1);
    await sendAll(id, half);
    const others = files.slice(files.length >> 1);
    const big = others.reduce((a, b) => (b.size > a.size ? b : a));
    const bigBytes = await readFile(join(delivery, big.path));
    const cut = bigBytes.length >> 1;
    expect((await putFile(id, big.path, bigBytes.subarray(0, cut), curator, 0)).status).toBe(200);
    const before = half.reduce((sum, f) => sum + f.size, 0) + cut;

    await server.close({ keep: true });
    server = await startTestServer({}, undefined, {
      dataDir: server.dataDir,
      databaseUrl: server.databaseUrl,
    });

    const resumed = (await (
      await request(server, 'GET', `/api/v1/ingests/${id}`, curator)
    ).json()) as Upload;
    expect(resumed.status).toBe('uploading');
    expect(resumed.bytes).toEqual({ declared: total, received: before });
    expect(resumed.files.received).toBe(half.length);

    // The client sends what the server lacks, and only that.
    let sent = 0;
    for (const file of await filesOf(id)) {
      if (file.received === file.size) {
        continue;
      }
      const rest = (await readFile(join(delivery, file.path))).subarray(file.received);
      const res = await putFile(id, file.path, rest, curator, file.received);
      expect(res.status, file.path).toBe(200);
      sent += rest.length;
    }
    expect(sent).toBe(total - before);

    expect((await request(server, 'POST', `/api/v1/ingests/${id}/run`, curator)).status).toBe(202);
    const done = await finished(id);
    expect(done.status).toBe('done');
    expect(await stagingEntries()).toEqual([]);
    expect(uninterrupted).not.toBeNull();
    // The same tables and held files; every stored file's de-identified bytes already stored by
    // the uninterrupted upload's ingest of the same delivery.
    expect(done.summary?.tables).toEqual(uninterrupted?.tables);
    expect(done.summary?.held).toEqual(uninterrupted?.held);
    expect(done.summary?.counts.files).toBe(uninterrupted?.counts.files);
    expect(done.summary?.counts.held).toBe(uninterrupted?.counts.held);
    expect(done.summary?.counts.stored).toBe(0);
    expect(done.summary?.counts.deduplicated).toBe(
      (uninterrupted?.counts.stored ?? 0) + (uninterrupted?.counts.deduplicated ?? 0),
    );
    // The run forgot the files' paths.
    const rows = await server.ctx.database.db
      .selectFrom('ingest_upload_file')
      .select('path')
      .where('upload_id', '=', id)
      .execute();
    expect(rows).toEqual([]);
  });

  it('fails, at a start, an upload whose run a stopped server left, and removes its folder', async () => {
    const created = await request(server, 'POST', '/api/v1/ingests', curator, { files });
    const { id } = (await created.json()) as Upload;
    await sendAll(id, files);
    // A run whose process died: the row says running, the folder is still there.
    await server.ctx.database.db
      .updateTable('ingest_upload')
      .set({ status: 'running', heartbeat_at: new Date(0) })
      .where('id', '=', id)
      .execute();
    await server.close({ keep: true });
    server = await startTestServer({}, undefined, {
      dataDir: server.dataDir,
      databaseUrl: server.databaseUrl,
    });
    const after = (await (
      await request(server, 'GET', `/api/v1/ingests/${id}`, curator)
    ).json()) as Upload & { error: string };
    expect(after.status).toBe('failed');
    expect(after.error).toMatch(/^interrupted: /u);
    expect(await stagingEntries()).toEqual([]);
  });
});
