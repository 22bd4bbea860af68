/**
 * A new delivery into a reviewed dataset keeps the curator's decisions (issue 6): ingesting the
 * same delivery again reopened every PHI finding and held file, and said nothing. Through the
 * ingest service and HTTP, on the real database.
 */
import { createReadStream } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuditBody } from '@lantern/core/audit';
import { describeIngestSummary } from '@lantern/core/ingest';
import { formatCsvRow, readCsv } from '@lantern/formats';
import { DEMO_CATALOGUE, generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../../testing/http.js';
import { draftObjectKeys, draftTableColumn } from '../../testing/ingest.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../../testing/users.js';
import { dictionaryOf } from './demo-catalogue.js';
import { summarize } from './ingest-summary.js';
import type { IngestReport } from './ingest.service.js';

const SLUG = 'demo-knee-xray';
const BASE = `/api/v1/datasets/${SLUG}/draft`;
const BIRTH_DATE = 'patients.birth_date:birth-date';
const CONFIRM_NOTE = 'Shifted per patient by the ingest: not an exact date of birth.';
const RELEASE_NOTE = 'Only the laterality marker "L" is burned in.';

interface Review {
  ingest: string;
  open: string[];
  blocked: boolean;
  decisions: { action: string; finding?: string; note?: string; by: string | null }[];
}
interface HeldReview {
  ingest: string;
  open: number;
  files: { id: string; path: string; decision: string | null; note: string | null }[];
}

let server: TestServer;
let curator: SignedInUser;
let work: string;
let delivery: string;
/** The first ingest, reviewed by hand. */
let first: string;
let held: HeldReview['files'];

async function get<T>(path: string): Promise<T> {
  const res = await request(server, 'GET', `${BASE}${path}`, curator);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function ingest(dir: string): Promise<IngestReport> {
  return server.ctx.services.ingest.ingestDirectory(dir, { actor: `user:${curator.id}` });
}

/** The details of audit events of `action` that carried a decision. */
async function carriedEvents(action: string): Promise<Record<string, unknown>[]> {
  await server.flushAudit();
  const events = await server.ctx.services.audit.list({ limit: 50, action });
  return events
    .map((event) => parseAuditBody(event.body).details)
    .filter((details) => details['carried'] !== undefined);
}

beforeAll(async () => {
  server = await startTestServer();
  curator = await createSignedInUser(server, {
    email: 'carry-curator@example.org',
    roles: ['curator'],
    password: 'a long curator passphrase',
  });
  work = await mkdtemp(join(tmpdir(), 'lantern-carry-'));
  delivery = join(work, 'knee-1');
  // Seed 3 at this scale: one PHI finding (birth_date) and four radiographs with burned-in text.
  await generateKneeXrayDelivery({ out: delivery, scale: 0.25, seed: 3, delivery: 1 });
  first = (await ingest(delivery)).id;

  const confirmed = await request(server, 'POST', `${BASE}/phi/decisions`, curator, {
    decisions: [{ action: 'confirm', finding: BIRTH_DATE, note: CONFIRM_NOTE }],
  });
  expect(confirmed.status).toBe(200);
  held = (await get<HeldReview>('/held')).files;
  expect(held).toHaveLength(4);
  const [release, ...exclude] = held;
  const decided = await request(server, 'POST', `${BASE}/held/decisions`, curator, {
    decisions: [
      { file: release?.id, action: 'release', note: RELEASE_NOTE },
      ...exclude.map((file) => ({ file: file.id, action: 'exclude' })),
    ],
  });
  expect(decided.status).toBe(200);
}, 120_000);

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe(`a new delivery into a reviewed draft on ${TEST_DIALECT}`, () => {
  it("keeps the curator's decisions when the same delivery is ingested again", async () => {
    const report = await ingest(delivery);
    expect(report.decisions).toEqual({
      from: first,
      kept: { phi: 1, held: 4 },
      dropped: [],
      open: { findings: 0, held: 0 },
    });
    expect(report.phi.blocked).toBe(false);

    const review = await get<Review>('/phi');
    expect(review).toMatchObject({ ingest: report.id, open: [], blocked: false });
    expect(review.decisions).toEqual([
      expect.objectContaining({
        action: 'confirm',
        finding: BIRTH_DATE,
        note: CONFIRM_NOTE,
        by: 'carry-curator@example.org',
      }),
    ]);
    const heldNow = await get<HeldReview>('/held');
    expect(heldNow).toMatchObject({ ingest: report.id, open: 0 });
    const [release, ...exclude] = held;
    expect(heldNow.files.find((f) => f.path === release?.path)).toMatchObject({
      decision: 'release',
      note: RELEASE_NOTE,
    });
    expect(heldNow.files.filter((f) => f.decision === 'exclude').map((f) => f.path)).toEqual(
      exclude.map((f) => f.path),
    );

    // Carried out as by hand: the released file is in the draft, the excluded ones' cells empty.
    const files = await draftObjectKeys(server.ctx, SLUG);
    expect(files.has(release?.path ?? '')).toBe(true);
    const paths = await draftTableColumn(server.ctx, SLUG, 'xrays', 'path');
    expect(paths.filter((p) => p === null)).toHaveLength(3);
    for (const file of exclude) {
      expect(files.has(file.path)).toBe(false);
      expect(paths).not.toContain(file.path);
    }
    const problems = (await server.ctx.services.catalog.preview(SLUG)).problems;
    expect(
      problems.filter((p) => p.code.startsWith('phi-') || p.code === 'held-file-undecided'),
    ).toEqual([]);
  });

  it('audits each carried decision with its original decider and note; the chain verifies', async () => {
    const phi = await carriedEvents('ingest.phi_decisions');
    expect(phi).toEqual([
      {
        dropped: 0,
        confirmed: 1,
        carried: {
          from: first,
          by: `user:${curator.id}`,
          at: expect.any(String) as unknown,
          note: CONFIRM_NOTE,
        },
      },
    ]);
    const released = await carriedEvents('ingest.held_release');
    const excluded = await carriedEvents('ingest.held_exclude');
    expect(released.map((d) => d['carried'])).toEqual([
      expect.objectContaining({ from: first, by: `user:${curator.id}`, note: RELEASE_NOTE }),
    ]);
    expect(excluded).toHaveLength(3);
    expect((await server.ctx.services.audit.verify()).ok).toBe(true);
  });

  it('reports dropped, not kept, a decision whose finding is gone', async () => {
    const corrected = join(work, 'knee-corrected');
    await cp(delivery, corrected, { recursive: true });
    // The partner's corrected delivery leaves birth_date empty: the finding confirmed is gone.
    const table = await readCsv(createReadStream(join(delivery, 'tables/patients.csv')), {
      name: 'patients.csv',
    });
    const column = table.columns.indexOf('birth_date');
    const lines = [formatCsvRow(table.columns)];
    for await (const row of table) {
      lines.push(formatCsvRow(row.values.map((v, i) => (i === column ? '' : v))));
    }
    await writeFile(join(corrected, 'tables/patients.csv'), lines.join(''));

    const report = await ingest(corrected);
    expect(report.phi.findings).toEqual([]);
    expect(report.decisions).toMatchObject({
      kept: { phi: 0, held: 4 },
      dropped: [{ action: 'confirm', target: BIRTH_DATE }],
      open: { findings: 0, held: 0 },
    });
    expect((await get<Review>('/phi')).decisions).toEqual([]);
    const text = describeIngestSummary(
      summarize(corrected, report, await server.ctx.services.catalog.preview(SLUG)),
    );
    expect(text).toContain(
      `  dropped  confirm ${BIRTH_DATE}: what it decided is no longer in this delivery`,
    );
    expect(text).toContainEqual(
      expect.stringMatching(/^Decisions of the review before \(ingest ing_\w+\): 4 kept /u),
    );
  });

  it('carries the decisions of the last published version to the next draft: 1.1, not 2.0', async () => {
    const slug = 'knee-carry-published';
    const demo = DEMO_CATALOGUE.find((d) => d.dataset.slug === SLUG);
    if (demo === undefined) {
      throw new Error(`no demo ${SLUG}`);
    }
    const one = join(work, 'published-1');
    const two = join(work, 'published-2');
    await generateKneeXrayDelivery({ out: one, scale: 0.25, seed: 5, delivery: 1 });
    await generateKneeXrayDelivery({ out: two, scale: 0.25, seed: 5, delivery: 2, reuse: one });
    for (const dir of [one, two]) {
      const manifest = join(dir, 'delivery.yaml');
      await writeFile(
        manifest,
        (await readFile(manifest, 'utf8')).replace(`dataset: ${SLUG}\n`, `dataset: ${slug}\n`),
      );
    }
    const { ingest: service, heldFiles, catalog } = server.ctx.services;
    const options = { actor: `user:${curator.id}`, dataset: { ...demo.dataset, slug } };
    await service.ingestDirectory(one, options);
    await service.decidePhi(slug, [{ action: 'drop', table: 'patients', column: 'birth_date' }]);
    const review = await heldFiles.review(slug);
    await heldFiles.decide(
      slug,
      review.files.map((file) => ({ file: file.id, action: 'exclude' as const })),
    );
    await catalog.setDocumentation(slug, demo.documentation);
    await catalog.setDictionary(
      slug,
      dictionaryOf(demo, await catalog.version(slug, 'draft', true)),
    );
    expect((await catalog.publish(`user:${curator.id}`, slug, { notes: 'first' })).version).toBe(
      '1.0',
    );

    const next = await service.ingestDirectory(two, options);
    expect(next.decisions).toMatchObject({
      from: review.ingest,
      kept: { phi: 1, held: review.files.length },
      dropped: [],
    });
    const patients = next.draft.snapshot.tables.find((t) => t.name === 'patients');
    expect(patients?.columns.map((c) => c.name)).not.toContain('birth_date');
    // Seed 5: its second delivery adds rows and nothing else (seed 3's changes a column's type).
    expect(await catalog.preview(slug)).toMatchObject({ version: '1.1', level: 'minor' });
  }, 120_000);
});
