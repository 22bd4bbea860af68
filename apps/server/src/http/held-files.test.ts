/**
 * The review of files an ingest held back (issue 6), through HTTP: the list, the rendered preview
 * (curators only), decisions one by one and in bulk, the publication gate, the audit trail, the
 * quarantine kept apart from published objects and swept like them.
 */
import { cp, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { parseAuditBody } from '@lantern/core/audit';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoCatalogue } from '../services/ingest/demo-catalogue.js';
import { LocalObjectStore, type ObjectStore } from '../storage/object-store.js';
import { request } from '../testing/http.js';
import {
  draftObjectKeys,
  draftTableColumn,
  quarantineKeyOf as quarantineKeyOfHeld,
} from '../testing/ingest.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

const SLUG = 'demo-knee-xray';
const BASE = `/api/v1/datasets/${SLUG}/draft`;

interface HeldFile {
  id: string;
  path: string;
  table: string;
  column: string;
  format: string;
  reason: string;
  previewable: boolean;
  decision: string | null;
  note: string | null;
  by: string | null;
  at: string | null;
}
interface HeldReview {
  ingest: string | null;
  files: HeldFile[];
  open: number;
  blocked: boolean;
}
interface Problem {
  source: string;
  severity: string;
  code: string;
  table: string;
  message: string;
}

let server: TestServer;
let curator: SignedInUser;
let researcher: SignedInUser;
let work: string;
let held: HeldFile[];

function draftFiles(): Promise<Map<string, string>> {
  return draftObjectKeys(server.ctx, SLUG);
}

function quarantineKeyOf(file: HeldFile): Promise<string | null> {
  return quarantineKeyOfHeld(server.ctx, file.id);
}

async function publicationProblems(): Promise<Problem[]> {
  const res = await request(server, 'GET', `${BASE}/publication`, curator);
  expect(res.status).toBe(200);
  return ((await res.json()) as { problems: Problem[] }).problems;
}

/** The values of one column of a draft table, read from its stored CSV. */
function tableColumn(table: string, column: string): Promise<(string | null)[]> {
  return draftTableColumn(server.ctx, SLUG, table, column);
}

/** Makes a local object look stored `ms` ago. */
async function age(store: ObjectStore, key: string, ms: number): Promise<void> {
  if (!(store instanceof LocalObjectStore)) {
    throw new Error('the test server stores objects in local files');
  }
  const hex = key.slice('sha256/'.length);
  const path = join(store.root, 'sha256', hex.slice(0, 2), hex);
  const then = new Date((await stat(path)).mtime.getTime() - ms);
  await utimes(path, then, then);
}

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}

beforeAll(async () => {
  server = await startTestServer();
  curator = await createSignedInUser(server, {
    email: 'held-curator@example.org',
    roles: ['curator'],
    password: 'a long curator passphrase',
  });
  researcher = await createSignedInUser(server, {
    email: 'held-researcher@example.org',
    roles: ['researcher'],
    password: 'a long researcher passphrase',
  });
  work = await mkdtemp(join(tmpdir(), 'lantern-held-'));
  // Seed 3 at this scale delivers 38 radiographs, four flagged Burned In Annotation YES (seed 7
  // had 36 and four until each patient drew from their own derived generator, for the synth pool).
  await generateKneeXrayDelivery({ out: join(work, 'knee'), scale: 0.25, seed: 3, delivery: 1 });
  await server.ctx.services.ingest.ingestDirectory(join(work, 'knee'), {
    actor: 'system:lantern',
  });
}, 120_000);

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe(`held files reviewed on ${TEST_DIALECT}`, () => {
  it('lists the held images, kept in the quarantine and out of the draft, and blocks publication', async () => {
    const res = await request(server, 'GET', `${BASE}/held`, curator);
    expect(res.status).toBe(200);
    const review = (await res.json()) as HeldReview;
    held = review.files;
    expect(held.length).toBe(4);
    expect(review).toMatchObject({ open: 4, blocked: true });
    for (const file of held) {
      expect(file).toMatchObject({
        table: 'xrays',
        column: 'path',
        format: 'dicom',
        previewable: true,
        decision: null,
      });
      expect(file.reason).toMatch(/Burned In Annotation is YES/u);
    }
    const files = await draftFiles();
    for (const file of held) {
      expect(files.has(file.path)).toBe(false);
      const key = await quarantineKeyOf(file);
      expect(key).toMatch(/^sha256\/[0-9a-f]{64}$/u);
      // In the quarantine, and not among the published objects.
      expect(await server.ctx.quarantineStore.head(key ?? '')).not.toBeNull();
      expect(await server.ctx.objectStore.head(key ?? '')).toBeNull();
      expect([...files.values()]).not.toContain(key);
    }
    // The table still names them until they are decided.
    const paths = await tableColumn('xrays', 'path');
    for (const file of held) {
      expect(paths).toContain(file.path);
    }

    const problems = await publicationProblems();
    const undecided = problems.filter((p) => p.code === 'held-file-undecided');
    expect(undecided.map((p) => p.severity)).toEqual([
      'blocking',
      'blocking',
      'blocking',
      'blocking',
    ]);
    expect(undecided[0]?.message).toContain(held[0]?.path ?? '?');
  });

  it('blocks a draft whose last ingest held files before they were reviewable (before migration 0020)', async () => {
    // As such a run looks: its held files listed in the run, none kept for review.
    const db = server.ctx.database.db;
    const rows = await db.selectFrom('ingest_held_file').selectAll().execute();
    expect(rows).toHaveLength(4);
    await db.deleteFrom('ingest_held_file').execute();
    try {
      const problems = await publicationProblems();
      expect(problems.filter((p) => p.code === 'held-file-undecided')).toEqual([]);
      const unreviewable = problems.filter((p) => p.code === 'held-files-unreviewable');
      expect(unreviewable.map((p) => p.severity)).toEqual(['blocking']);
      expect(unreviewable[0]?.message).toMatch(/held back 4 files .*ingest the delivery again/u);
    } finally {
      await db
        .insertInto('ingest_held_file')
        .values(
          rows.map(({ created_at: _created, size, ...row }) => ({
            ...row,
            size: size === null ? null : Number(size),
          })),
        )
        .execute();
    }
    expect((await publicationProblems()).map((p) => p.code)).not.toContain(
      'held-files-unreviewable',
    );
  });

  it('renders a held image as a PNG for curators only', async () => {
    const file = held[0];
    const res = await request(server, 'GET', `${BASE}/held/${file?.id ?? ''}/preview`, curator);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    const png = new Uint8Array(await res.arrayBuffer());
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    const [width, height] = [view.getUint32(16), view.getUint32(20)];
    expect(Math.max(width, height)).toBeLessThanOrEqual(1024);
    expect(Math.min(width, height)).toBeGreaterThan(16);
    // Grayscale, and not blank: the VOI window spreads the radiograph over the 8 bits.
    expect(png[25]).toBe(0);
    const idatLength = view.getUint32(33);
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    expect(raw.length).toBe((width + 1) * height);
    const levels = new Set(raw.filter((_, i) => i % (width + 1) !== 0));
    expect(levels.size).toBeGreaterThan(32);

    expect(
      (await request(server, 'GET', `${BASE}/held/${file?.id ?? ''}/preview`, researcher)).status,
    ).toBe(403);
    expect((await request(server, 'GET', `${BASE}/held/${file?.id ?? ''}/preview`)).status).toBe(
      401,
    );
    expect((await request(server, 'GET', `${BASE}/held`, researcher)).status).toBe(403);
    expect(
      (await request(server, 'GET', `${BASE}/held/held_nothing/preview`, curator)).status,
    ).toBe(404);
  });

  it('refuses decisions that are not whole: no note for a release, an unknown file, a stranger', async () => {
    const [first] = held;
    const noNote = await request(server, 'POST', `${BASE}/held/decisions`, curator, {
      decisions: [{ file: first?.id, action: 'release', note: '  ' }],
    });
    expect(noNote.status).toBe(400);
    const unknown = await request(server, 'POST', `${BASE}/held/decisions`, curator, {
      decisions: [
        { file: first?.id, action: 'exclude' },
        { file: 'held_nothing', action: 'exclude' },
      ],
    });
    expect(unknown.status).toBe(400);
    const twice = await request(server, 'POST', `${BASE}/held/decisions`, curator, {
      decisions: [
        { file: first?.id, action: 'exclude' },
        { file: first?.id, action: 'exclude' },
      ],
    });
    expect(twice.status).toBe(400);
    const stranger = await request(server, 'POST', `${BASE}/held/decisions`, researcher, {
      decisions: [{ file: first?.id, action: 'exclude' }],
    });
    expect(stranger.status).toBe(403);
    // Nothing was decided by any of them.
    const review = (await (
      await request(server, 'GET', `${BASE}/held`, curator)
    ).json()) as HeldReview;
    expect(review.open).toBe(4);
  });

  it('releases one with its note (stored content-addressed, in the draft) and excludes the rest in bulk', async () => {
    const [first, ...rest] = held;
    const note = 'The burned-in text is the laterality marker "L" and nothing else.';
    const released = await request(server, 'POST', `${BASE}/held/decisions`, curator, {
      decisions: [{ file: first?.id, action: 'release', note }],
    });
    expect(released.status).toBe(200);
    const after = (await released.json()) as HeldReview;
    expect(after).toMatchObject({ open: 3, blocked: true });
    expect(after.files.find((f) => f.id === first?.id)).toMatchObject({
      decision: 'release',
      note,
      by: 'held-curator@example.org',
    });
    const key = await quarantineKeyOf(first as HeldFile);
    const files = await draftFiles();
    expect(files.get(first?.path ?? '')).toBe(key);
    expect(await server.ctx.objectStore.head(key ?? '')).not.toBeNull();

    const excluded = await request(server, 'POST', `${BASE}/held/decisions`, curator, {
      decisions: rest.map((file) => ({ file: file.id, action: 'exclude' })),
    });
    expect(excluded.status).toBe(200);
    expect(await excluded.json()).toMatchObject({ open: 0, blocked: false });
    const draft = await draftFiles();
    for (const file of rest) {
      expect(draft.has(file.path)).toBe(false);
    }
    // Excluded files' cells are emptied; their rows stay; the released file is still named.
    const paths = await tableColumn('xrays', 'path');
    expect(paths.length).toBe(38);
    expect(paths.filter((p) => p === null).length).toBe(3);
    expect(paths).toContain(first?.path);
    for (const file of rest) {
      expect(paths).not.toContain(file.path);
    }

    const again = await request(server, 'POST', `${BASE}/held/decisions`, curator, {
      decisions: [{ file: rest[0]?.id, action: 'release', note: 'changed my mind' }],
    });
    expect(again.status).toBe(409);

    const problems = await publicationProblems();
    expect(problems.filter((p) => p.code === 'held-file-undecided')).toEqual([]);
    expect(problems).toContainEqual(
      expect.objectContaining({ code: 'files-excluded', severity: 'warning' }),
    );
  });

  it('audits every decision, by the curator who took it', async () => {
    await server.flushAudit();
    const releases = await server.ctx.services.audit.list({
      limit: 10,
      action: 'ingest.held_release',
    });
    const exclusions = await server.ctx.services.audit.list({
      limit: 10,
      action: 'ingest.held_exclude',
    });
    expect(releases).toHaveLength(1);
    expect(exclusions).toHaveLength(3);
    for (const event of [...releases, ...exclusions]) {
      const body = parseAuditBody(event.body);
      expect(body.actor).toBe(`user:${curator.id}`);
      expect(body.target).toBe(`dataset:${SLUG}`);
    }
    const details = exclusions.map((event) => parseAuditBody(event.body).details);
    expect(details.map((d) => d['file']).sort()).toEqual(
      held
        .slice(1)
        .map((f) => f.id)
        .sort(),
    );
  });

  it('sweeps from the quarantine what no draft holds, and keeps what the review still shows', async () => {
    const stray = await server.ctx.quarantineStore.put(bytes('quarantined, then the process died'));
    await age(server.ctx.quarantineStore, stray.key, 61 * 60_000);
    const keys = await Promise.all(held.map((file) => quarantineKeyOf(file)));
    for (const key of keys) {
      await age(server.ctx.quarantineStore, key ?? '', 61 * 60_000);
    }
    const swept = await server.ctx.services.quarantineSweep.sweep();
    expect(swept).toMatchObject({ skipped: null, deleted: 1 });
    expect(await server.ctx.quarantineStore.head(stray.key)).toBeNull();
    for (const key of keys) {
      expect(await server.ctx.quarantineStore.head(key ?? '')).not.toBeNull();
    }
    // The published store's sweep does not look in the quarantine, nor take the released file.
    await server.ctx.services.objectSweep.sweep();
    expect(await server.ctx.objectStore.head(keys[0] ?? '')).not.toBeNull();
  });

  it('the demo catalogue excludes burned-in radiographs and publishes; the quarantine empties', async () => {
    const events: { error?: string }[] = [];
    const published = await seedDemoCatalogue(server.ctx.services, {
      scale: 0.25,
      datasets: [SLUG],
      onProgress: (event) => events.push(event),
    });
    expect(events.filter((e) => e.error !== undefined)).toEqual([]);
    expect(published).toEqual([`${SLUG} 1.0`, `${SLUG} 1.1`]);
    const version = await server.ctx.services.catalog.version(SLUG, '1.1', true);
    const excluded = await server.ctx.database.db
      .selectFrom('ingest_held_file')
      .innerJoin('dataset_version', 'dataset_version.id', 'ingest_held_file.version_id')
      .select(['ingest_held_file.path', 'ingest_held_file.decision'])
      .where('dataset_version.number', '=', '1.1')
      .execute();
    expect(excluded.length).toBeGreaterThan(0);
    expect(excluded.every((file) => file.decision === 'exclude')).toBe(true);
    for (const file of excluded) {
      expect(version.files.some((f) => f.path === file.path)).toBe(false);
    }
    // Published: no draft's review needs the quarantine any more.
    for await (const object of server.ctx.quarantineStore.list()) {
      await age(server.ctx.quarantineStore, object.key, 61 * 60_000);
    }
    await server.ctx.services.quarantineSweep.sweep();
    const left: string[] = [];
    for await (const object of server.ctx.quarantineStore.list()) {
      left.push(object.key);
    }
    expect(left).toEqual([]);
  }, 180_000);

  // A file named .dcm that is not DICOM was held, and publication asked to "release it, saying why
  // its pixels do not identify anyone", which the release then refused: nothing of it was kept.
  it('says a file no de-identifier reads can only be excluded, or delivered again readable', async () => {
    const slug = 'demo-knee-unreadable';
    const dir = join(work, 'unreadable');
    await cp(join(work, 'knee'), dir, { recursive: true });
    const manifest = join(dir, 'delivery.yaml');
    await writeFile(
      manifest,
      (await readFile(manifest, 'utf8')).replace(`dataset: ${SLUG}`, `dataset: ${slug}`),
    );
    const named = (await readdir(join(dir, 'files'), { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
    await writeFile(named[0] ?? '', 'not DICOM at all');
    await server.ctx.services.ingest.ingestDirectory(dir, { actor: 'system:lantern' });

    const review = (await (
      await request(server, 'GET', `/api/v1/datasets/${slug}/draft/held`, curator)
    ).json()) as HeldReview;
    const unreadable = review.files.filter((f) => f.format === 'unreadable');
    expect(unreadable).toHaveLength(1);
    const res = await request(server, 'GET', `/api/v1/datasets/${slug}/draft/publication`, curator);
    const problems = ((await res.json()) as { problems: Problem[] }).problems.filter(
      (p) => p.code === 'held-file-undecided',
    );
    const path = unreadable[0]?.path ?? '?';
    expect(problems.find((p) => p.message.startsWith(path))?.message).toBe(
      `${path} is held back (${unreadable[0]?.reason ?? '?'}): nothing of it could be read, so it cannot be released; exclude it, or ask the partner for a readable file and ingest the delivery again`,
    );
    // The images held for their pixels are still for a person to look at.
    expect(problems.filter((p) => !p.message.startsWith(path)).map((p) => p.message)).toEqual(
      review.files
        .filter((f) => f.format !== 'unreadable')
        .map(
          (f) =>
            `${f.path} is held back for review (${f.reason}); release it, saying why what it shows identifies no one, or exclude it`,
        ),
    );
  }, 120_000);
});
