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

interface Upload {
  id: string;
  status: string;
  files: { declared: number; received: number };
  progress: {
    phase: string;
    bytes: number;
    elapsedMs: number;
    bytesPerSecond: number | null;
    secondsLeft: number | null;
  } | null;
  summary: {
    dataset: string;
    counts: { tables: number; files: number; stored: number; held: number };
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

function putFile(id: string, path: string, body: Uint8Array, as: SignedInUser = curator) {
  return fetch(`${server.url}/api/v1/ingests/${id}/files/${encodeURIComponent(path)}`, {
    method: 'PUT',
    headers: {
      'x-lantern-csrf': '1',
      cookie: as.cookie,
      'content-type': 'application/octet-stream',
    },
    body,
  });
}

async function sendAll(id: string, list: { path: string }[]): Promise<void> {
  for (const file of list) {
    const res = await putFile(id, file.path, await readFile(join(delivery, file.path)));
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
    expect((await putFile(id, 'files/extra.dcm', new Uint8Array(4))).status).toBe(404);
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
    const staged = await readdir(join(server.ctx.config.dataDir, 'ingest-staging', id, 'tables'));
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
    const sending = fetch(
      `${server.url}/api/v1/ingests/${id}/files/${encodeURIComponent(big.path)}`,
      {
        method: 'PUT',
        headers: {
          'x-lantern-csrf': '1',
          cookie: curator.cookie,
          'content-type': 'application/octet-stream',
        },
        body,
        duplex: 'half',
      },
    ).then(
      async (res) => (await res.text(), res.status),
      () => 'reset',
    );
    const folder = join(server.ctx.config.dataDir, 'ingest-staging', id);
    const partOf = async () =>
      (await listFiles(folder).catch(() => [])).some((f) => f.path.includes('.part-'));
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
    await sendAll(id, partial);
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
      join(work, 'run'),
      server.ctx.services.ingest,
      server.ctx.services.catalog,
      () => (now += 5),
    );
    const owner = `user:${curator.id}`;
    const made = await uploads.create(owner, files);
    for (const file of files) {
      const bytes = await readFile(join(delivery, file.path));
      await uploads.putFile(owner, made.id, file.path, Readable.from([bytes]));
    }
    const started = uploads.run(owner, made.id);
    expect(started.status).toBe('running');
    await expect(uploads.cancel(owner, made.id)).rejects.toThrow(/cannot be cancelled/u);

    let view = uploads.get(owner, made.id);
    while (view.status === 'running') {
      await new Promise((done) => setTimeout(done, 50));
      view = uploads.get(owner, made.id);
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
    expect(uploads.get(owner, made.id).progress?.elapsedMs).toBe(progress?.elapsedMs);
    await uploads.cancel(owner, made.id);
    expect(() => uploads.get(owner, made.id)).toThrow(/no upload/u);
  });
});

describe('uploads left unrun', () => {
  it('expire after an hour idle, files and all; a closing server and a start remove them too', async () => {
    let now = 0;
    const dataDir = join(work, 'expiry');
    const uploads = new IngestUploadService(
      dataDir,
      server.ctx.services.ingest,
      server.ctx.services.catalog,
      () => now,
    );
    const owner = 'user:someone';
    const manifest = await readFile(join(delivery, 'delivery.yaml'));
    const made = await uploads.create(owner, files);
    await uploads.putFile(owner, made.id, 'delivery.yaml', Readable.from([manifest]));
    expect(await readdir(join(dataDir, 'ingest-staging', made.id))).toEqual(['delivery.yaml']);

    now += UPLOAD_IDLE_MS;
    expect(await uploads.expire()).toBe(0);
    now += 1;
    expect(await uploads.expire()).toBe(1);
    expect(await readdir(join(dataDir, 'ingest-staging'))).toEqual([]);
    expect(() => uploads.get(owner, made.id)).toThrow(/no upload/u);

    const pending = await uploads.create(owner, files);
    await uploads.putFile(owner, pending.id, 'delivery.yaml', Readable.from([manifest]));
    await uploads.close();
    expect(await readdir(join(dataDir, 'ingest-staging'))).toEqual([]);

    await mkdir(join(dataDir, 'ingest-staging', 'upl_left_by_a_crash'), { recursive: true });
    await uploads.sweep();
    expect(await stat(join(dataDir, 'ingest-staging')).catch(() => null)).toBeNull();
  });
});
