import { createReadStream } from 'node:fs';
import { cp, mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { AppError } from '@lantern/core';
import { parseAuditBody } from '@lantern/core/audit';
import { readCsv, readDicom } from '@lantern/formats';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldFileRepository } from '../../repositories/ingest/held-file.repository.js';
import { INTERRUPTED } from '../../repositories/ingest/ingest.repository.js';
import { request } from '../../testing/http.js';
import { draftObjects } from '../../testing/ingest.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../../testing/users.js';
import { seedDemoCatalogue } from './demo-catalogue.js';
import { INGEST_STALE_MS } from './ingest.service.js';

let server: TestServer;
let curator: SignedInUser;
let work: string;
let delivery: string;
/** Every identifier the partner's delivery carries: MRNs, names, accession numbers, phones. */
let identifiers: string[];

async function column(path: string, name: string): Promise<string[]> {
  const table = await readCsv(createReadStream(path), { name: path });
  const index = table.columns.indexOf(name);
  const values: string[] = [];
  for await (const row of table) {
    const value = row.values[index];
    if (value !== null && value !== undefined && value !== '') {
      values.push(value);
    }
  }
  return values;
}

/** The rows of a CSV table, as objects keyed by column. */
async function rowsOf(bytes: Buffer, name: string): Promise<Record<string, string>[]> {
  const table = await readCsv(Readable.from([bytes]), { name });
  const rows: Record<string, string>[] = [];
  for await (const row of table) {
    rows.push(Object.fromEntries(table.columns.map((c, i) => [c, row.values[i] ?? ''])));
  }
  return rows;
}

/** Days since 1970 of an ISO date (YYYY-MM-DD) or a DICOM DA (YYYYMMDD). */
function dayNumber(date: string): number {
  const match = /^(\d{4})-?(\d{2})-?(\d{2})$/u.exec(date);
  if (match === null) {
    throw new Error(`not a date: ${date}`);
  }
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / 86_400_000;
}

beforeAll(async () => {
  server = await startTestServer();
  curator = await createSignedInUser(server, {
    email: 'curator@example.org',
    roles: ['curator'],
    password: 'a long curator passphrase',
  });
  work = await mkdtemp(join(tmpdir(), 'lantern-ingest-'));
  delivery = join(work, 'knee-1');
  await generateKneeXrayDelivery({ out: delivery, scale: 0.25, seed: 5, delivery: 1 });
  identifiers = [
    ...(await column(join(delivery, 'tables/patients.csv'), 'mrn')),
    ...(await column(join(delivery, 'tables/patients.csv'), 'patient_name')),
    ...(await column(join(delivery, 'tables/patients.csv'), 'phone')),
    ...(await column(join(delivery, 'tables/xrays.csv'), 'accession')),
  ];
}, 120_000);

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

/** An ingest run of the knee radiographs' draft, as another process would have recorded it. */
async function insertRun(id: string, status: 'running' | 'done'): Promise<{ draftId: string }> {
  const { datasetId, draftId } = await server.ctx.services.catalog.draftIds('demo-knee-xray');
  await server.ctx.database.db
    .insertInto('ingest_run')
    .values({
      id,
      dataset_id: datasetId,
      version_id: draftId,
      status,
      partner: 'Example Health System',
      counts: '{}',
      problems: '[]',
      held: '[]',
      phi_findings: '[]',
      phi_decisions: '[]',
      created_by: 'system:lantern',
    })
    .execute();
  return { draftId };
}

describe(`ingest of a partner's delivery on ${TEST_DIALECT}`, () => {
  it('refuses a broken delivery with every problem, and stores nothing', async () => {
    const broken = join(work, 'broken');
    await cp(delivery, broken, { recursive: true });
    await unlink(join(broken, 'tables/outcomes.csv'));
    const xray = (await column(join(broken, 'tables/xrays.csv'), 'path'))[0] ?? '';
    await unlink(join(broken, 'files', xray));
    const refused = await server.ctx.services.ingest
      .ingestDirectory(broken, { actor: 'system:lantern' })
      .then(
        () => null,
        (error: unknown) => error as AppError,
      );
    expect(refused?.code).toBe('validation_failed');
    const messages = (refused?.errors ?? []).map((e) => `${e.path} ${e.message}`);
    expect(messages.some((m) => m.startsWith('tables/outcomes.csv table_missing'))).toBe(true);
    expect(messages.some((m) => / file_missing/u.test(m))).toBe(true);
    expect(await server.ctx.services.catalog.exists('demo-knee-xray')).toBe(false);
  });

  it('publishes tables and DICOM files with no identifier left in any stored byte', async () => {
    const report = await server.ctx.services.ingest.ingestDirectory(delivery, {
      actor: 'system:lantern',
    });
    expect(report.counts.tables).toBe(3);
    expect(report.counts.files).toBeGreaterThan(4);
    expect(report.counts.stored + report.counts.held).toBe(report.counts.files);
    const tables = report.draft.snapshot.tables;
    expect(tables.map((t) => t.name).sort()).toEqual(['outcomes', 'patients', 'xrays']);
    const xrays = tables.find((t) => t.name === 'xrays');
    expect(xrays?.columns.slice(0, 2).map((c) => c.name)).toEqual(['patient_ngsci_id', 'xray_id']);
    expect(xrays?.columns.map((c) => c.name)).not.toContain('referring_physician');
    expect(xrays?.foreignKeys).toEqual([
      {
        columns: ['patient_ngsci_id'],
        references: { table: 'patients', columns: ['patient_ngsci_id'] },
      },
    ]);
    expect(tables.find((t) => t.name === 'patients')?.primaryKey).toEqual(['patient_ngsci_id']);

    const stored = [...(await draftObjects(server.ctx, 'demo-knee-xray'))].map(([path, bytes]) => ({
      path,
      bytes,
    }));
    const dicom = stored.filter((file) => file.path.endsWith('.dcm'));
    expect(dicom.length).toBe(report.counts.stored);
    for (const file of stored) {
      const text = file.bytes.toString('latin1');
      for (const identifier of identifiers) {
        expect(text.includes(identifier), `${identifier} in ${file.path}`).toBe(false);
      }
    }
    const read = readDicom(dicom[0]?.bytes ?? new Uint8Array(), { name: 'first' });
    expect(read.dataset.string(0x00120062)).toBe('YES'); // Patient Identity Removed
    expect(read.dataset.string(0x00100020)).toMatch(/^[a-z0-9]{20}$/u);
    // Images with burned-in text are held back, not stored.
    for (const held of report.held) {
      expect(stored.some((file) => file.path === held.path)).toBe(false);
    }
  });

  it("shifts a patient's dates by one offset, in the xrays table and DICOM headers alike", async () => {
    const stored = await draftObjects(server.ctx, 'demo-knee-xray');
    const published = await rowsOf(stored.get('tables/xrays.csv') ?? Buffer.alloc(0), 'xrays');
    const source = await rowsOf(await readFile(join(delivery, 'tables/xrays.csv')), 'source');
    // The table is streamed row by row: row i of the published table is row i of the delivery's.
    expect(published.length).toBe(source.length);
    const offsets = new Map<string, Set<number>>();
    const pseudonyms = new Map<string, Set<string>>();
    // StudyDate, SeriesDate, AcquisitionDate, ContentDate.
    const dateTags = [0x00080020, 0x00080021, 0x00080022, 0x00080023];
    let headersChecked = 0;
    for (const [i, row] of published.entries()) {
      const from = source[i] ?? {};
      const mrn = from['mrn'] ?? '';
      const offset = dayNumber(row['exam_date'] ?? '') - dayNumber(from['exam_date'] ?? '');
      offsets.set(mrn, (offsets.get(mrn) ?? new Set()).add(offset));
      pseudonyms.set(mrn, (pseudonyms.get(mrn) ?? new Set()).add(row['patient_ngsci_id'] ?? ''));
      const bytes = stored.get(row['path'] ?? '');
      if (bytes === undefined) {
        continue; // held back (burned-in text): not stored
      }
      const original = readDicom(await readFile(join(delivery, 'files', from['path'] ?? '')), {
        name: from['path'] ?? '',
      }).dataset;
      const shifted = readDicom(bytes, { name: row['path'] ?? '' }).dataset;
      // The header's study date is the table's exam date, before and after the shift.
      expect(original.string(0x00080020)).toBe((from['exam_date'] ?? '').replaceAll('-', ''));
      expect(shifted.string(0x00080020)).toBe((row['exam_date'] ?? '').replaceAll('-', ''));
      for (const tag of dateTags) {
        const before = original.string(tag);
        if (before !== null && before !== '') {
          expect(dayNumber(shifted.string(tag) ?? '') - dayNumber(before), `tag ${tag}`).toBe(
            offset,
          );
          headersChecked += 1;
        }
      }
    }
    expect(headersChecked).toBeGreaterThan(0);
    // The other tables' dates move by the same offset as the patient's exams.
    let tableDatesChecked = 0;
    for (const [table, columns] of [
      ['patients', ['birth_date']],
      ['outcomes', ['tkr_date', 'follow_up_end_date']],
    ] as const) {
      const after = await rowsOf(stored.get(`tables/${table}.csv`) ?? Buffer.alloc(0), table);
      const before = await rowsOf(await readFile(join(delivery, `tables/${table}.csv`)), table);
      expect(after.length).toBe(before.length);
      for (const [i, row] of after.entries()) {
        const from = before[i] ?? {};
        const expected = offsets.get(from['mrn'] ?? '');
        for (const name of columns) {
          const value = from[name] ?? '';
          if (expected === undefined || value === '') {
            continue;
          }
          expect(dayNumber(row[name] ?? '') - dayNumber(value), `${table}.${name}`).toBe(
            [...expected][0],
          );
          tableDatesChecked += 1;
        }
      }
    }
    expect(tableDatesChecked).toBeGreaterThan(0);
    for (const [, patientOffsets] of offsets) {
      expect(patientOffsets.size).toBe(1);
      expect([...patientOffsets][0]).not.toBe(0);
    }
    for (const [, ids] of pseudonyms) {
      expect(ids.size).toBe(1);
    }
    // Each patient has an offset of their own.
    const distinct = new Set([...offsets.values()].map((set) => [...set][0]));
    expect(offsets.size).toBeGreaterThan(3);
    expect(distinct.size).toBeGreaterThan(offsets.size / 2);
  });

  it('blocks publication until each PHI finding has a decision', async () => {
    const review = await request(
      server,
      'GET',
      '/api/v1/datasets/demo-knee-xray/draft/phi',
      curator,
    );
    expect(review.status).toBe(200);
    const body = (await review.json()) as {
      findings: { id: string; table: string; column: string; kind: string }[];
      blocked: boolean;
    };
    expect(body.blocked).toBe(true);
    expect(body.findings).toContainEqual(
      expect.objectContaining({ table: 'patients', column: 'birth_date', kind: 'birth-date' }),
    );
    const preview = await request(
      server,
      'GET',
      '/api/v1/datasets/demo-knee-xray/draft/publication',
      curator,
    );
    const problems = (
      (await preview.json()) as { problems: { source: string; severity: string }[] }
    ).problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ source: 'phi', severity: 'blocking' }),
    );

    const unknown = await request(
      server,
      'POST',
      '/api/v1/datasets/demo-knee-xray/draft/phi/decisions',
      curator,
      { decisions: [{ action: 'confirm', finding: 'patients.nothing:name', note: 'no' }] },
    );
    expect(unknown.status).toBe(400);

    const columns = [...new Set(body.findings.map((f) => `${f.table}.${f.column}`))];
    const decided = await request(
      server,
      'POST',
      '/api/v1/datasets/demo-knee-xray/draft/phi/decisions',
      curator,
      {
        decisions: columns.map((c) => {
          const [table = '', column = ''] = c.split('.');
          return { action: 'drop', table, column };
        }),
      },
    );
    expect(decided.status).toBe(200);
    expect(((await decided.json()) as { blocked: boolean }).blocked).toBe(false);
    const after = await server.ctx.services.catalog.version('demo-knee-xray', 'draft', true);
    expect(
      after.snapshot.tables.find((t) => t.name === 'patients')?.columns.map((c) => c.name),
    ).not.toContain('birth_date');
    const again = await request(
      server,
      'GET',
      '/api/v1/datasets/demo-knee-xray/draft/publication',
      curator,
    );
    // Held files block on their own (held-files.test.ts); every PHI finding is decided.
    expect(
      (
        (await again.json()) as { problems: { source: string; severity: string; code: string }[] }
      ).problems.filter(
        (p) => p.source === 'phi' && p.severity === 'blocking' && p.code.startsWith('phi-'),
      ),
    ).toEqual([]);
  });

  it('stores nothing twice when the same files are delivered again', async () => {
    const report = await server.ctx.services.ingest.ingestDirectory(delivery, {
      actor: 'system:lantern',
    });
    expect(report.counts.stored).toBe(0);
    expect(report.counts.deduplicated + report.counts.held).toBe(report.counts.files);
  });

  it('is refused to people who are not curators', async () => {
    const researcher = await createSignedInUser(server, {
      email: 'researcher@example.org',
      roles: ['researcher'],
      password: 'a long researcher passphrase',
    });
    const review = await request(
      server,
      'GET',
      '/api/v1/datasets/demo-knee-xray/draft/phi',
      researcher,
    );
    expect(review.status).toBe(403);
  });

  it('records a run that holds more files than one statement binds on PostgreSQL', async () => {
    const db = server.ctx.database.db;
    const { draftId } = await insertRun('ing_many_held', 'done');
    // 5,000 rows of 14 columns: 70,000 parameters, past the 65,535 one statement may bind.
    const many = Array.from({ length: 5000 }, (_, index) => ({
      id: `held_many_${index}`,
      ingest_id: 'ing_many_held',
      version_id: draftId,
      path: `files/many/${index}.dcm`,
      table_name: 'xrays',
      column_name: 'path',
      format: 'dicom' as const,
      reason: 'burned-in annotation',
      quarantine_key: null,
      size: index,
      decision: null,
      note: null,
      decided_by: null,
      decided_at: null,
    }));
    try {
      await heldFileRepository.insert(db, many);
      const held = await heldFileRepository.ofRun(db, 'ing_many_held');
      expect(held).toHaveLength(5000);
    } finally {
      await db.deleteFrom('ingest_held_file').where('ingest_id', '=', 'ing_many_held').execute();
      await db.deleteFrom('ingest_run').where('id', '=', 'ing_many_held').execute();
    }
  });

  it("marks interrupted a run whose heartbeat stopped, not another replica's live one", async () => {
    const db = server.ctx.database.db;
    // A run another process is doing (its heartbeat fresh), as on a PostgreSQL shared by replicas.
    await insertRun('ing_elsewhere', 'running');
    expect(await server.ctx.services.ingest.recoverInterrupted(INGEST_STALE_MS)).toBe(0);
    const preview = await server.ctx.services.catalog.preview('demo-knee-xray');
    expect(preview.problems).toContainEqual(
      expect.objectContaining({ code: 'ingest-unfinished', severity: 'blocking' }),
    );
    // Its process died: no beat for longer than INGEST_STALE_MS.
    await db
      .updateTable('ingest_run')
      .set({ heartbeat_at: sql<Date>`now() - interval '6 minutes'` })
      .where('id', '=', 'ing_elsewhere')
      .execute();
    expect(await server.ctx.services.ingest.recoverInterrupted(INGEST_STALE_MS)).toBe(1);
    const run = await db
      .selectFrom('ingest_run')
      .select(['status', 'error', 'finished_at'])
      .where('id', '=', 'ing_elsewhere')
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed', error: INTERRUPTED });
    expect(run.finished_at).not.toBeNull();
    await server.flushAudit();
    const events = await server.ctx.services.audit.list({
      limit: 5,
      action: 'ingest.interrupted',
    });
    expect(events.map((e) => parseAuditBody(e.body).details)).toEqual([
      { runs: ['ing_elsewhere'] },
    ]);
    // Until the delivery is ingested again, the draft cannot be published.
    expect(
      (await server.ctx.services.catalog.preview('demo-knee-xray')).problems.map((p) => p.code),
    ).toContain('ingest-unfinished');
    await server.ctx.services.ingest.ingestDirectory(delivery, { actor: 'system:lantern' });
    expect(
      (await server.ctx.services.catalog.preview('demo-knee-xray')).problems.map((p) => p.code),
    ).not.toContain('ingest-unfinished');
  });
});

describe(`the demo catalogue on ${TEST_DIALECT}`, () => {
  it('ingests, documents and publishes two versions of a demo dataset, marked synthetic', async () => {
    const events: { dataset: string; version?: string; error?: string }[] = [];
    const published = await seedDemoCatalogue(server.ctx.services, {
      scale: 0.25,
      datasets: ['demo-arrest-ecg'],
      onProgress: (event) => events.push(event),
    });
    expect(events.filter((e) => e.error !== undefined)).toEqual([]);
    expect(published).toEqual(['demo-arrest-ecg 1.0', 'demo-arrest-ecg 1.1']);
    const list = await request(server, 'GET', '/api/v1/datasets?modality=ecg');
    expect(await list.json()).toMatchObject({
      datasets: [{ slug: 'demo-arrest-ecg', synthetic: true, latestVersion: '1.1' }],
    });
    const version = await server.ctx.services.catalog.version('demo-arrest-ecg', '1.1', false);
    expect(version.documentation.map((d) => d.kind)).toContain('problem');
    expect(version.files.some((f) => f.path.endsWith('.npz'))).toBe(true);
    // GE MUSE XML files are cleaned of their demographics and published too.
    expect(version.files.some((f) => f.path.endsWith('.xml'))).toBe(true);
  }, 120_000);

  it('shows the public the catalog and documentation, and no data: no object, no byte, no PHI review', async () => {
    const page = await request(server, 'GET', '/api/v1/datasets/demo-arrest-ecg/versions/1.1');
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('patient_ngsci_id');
    // Paths and sizes are documentation; the content-addressed keys that would fetch bytes are not.
    expect(text).not.toMatch(/sha256\/[0-9a-f]{64}/u);
    const file = JSON.parse(text) as { files: { path: string }[] };
    const first = file.files[0]?.path ?? '';
    for (const path of [
      `/api/v1/datasets/demo-arrest-ecg/versions/1.1/files/${first}`,
      `/api/v1/datasets/demo-arrest-ecg/versions/1.1/${first}`,
      `/api/v1/datasets/demo-arrest-ecg/files/${first}`,
    ]) {
      expect((await request(server, 'GET', path)).status, path).toBe(404);
    }
    expect((await request(server, 'GET', '/api/v1/datasets/demo-knee-xray/draft/phi')).status).toBe(
      401,
    );
  });
});
