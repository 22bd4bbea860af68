/**
 * WFDB records in a delivery (issue 6, step 4): the header a table's files column names is
 * de-identified (comments, record name, base date), its signal files travel with it as they are,
 * and both are stored under the published record's name; a record that cannot be read is held
 * back with nothing of it stored. One record carries scipy's real MIT-BIH excerpt (record 208,
 * lead MLII) in format 212; another a simulated 12-lead ECG in format 16.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeEcg,
  parseWfdbHeader,
  readEcgNpz,
  readWfdb,
  writeWfdb,
  type Ecg,
} from '@lantern/formats';
import { Random, simulateEcg } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftObjects, ecgDeliveryManifest } from '../../testing/ingest.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../../testing/test-server.js';
import type { IngestReport } from './ingest.service.js';

/** scipy's real ECG excerpt (python3-scipy, installed by scripts/debian-packages.sh test). */
const SCIPY_ECG = '/usr/lib/python3/dist-packages/scipy/misc/ecg.dat';
const SLUG = 'wfdb-ingest-test';

/** Identifiers the partner's delivery carries, in the table and in the headers' comments. */
const IDENTIFIERS = ['4455667', '5566778', '6677889', '7788990', 'ACC-208-1', 'Jane Quinlan'];

let server: TestServer;
let work: string;
let report: IngestReport;
let realEcg: Ecg;
let simulated: Ecg;

// A synthetic delivery for a test; the ECG samples of record 208 are MIT-BIH's (via scipy).
const MANIFEST = ecgDeliveryManifest(SLUG, 'header');

beforeAll(async () => {
  server = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'lantern-wfdb-'));
  const files = join(work, 'files');
  await mkdir(join(work, 'tables'), { recursive: true });
  await mkdir(join(files, 'mitdb'), { recursive: true });
  await mkdir(join(files, 'cart'), { recursive: true });
  await writeFile(join(work, 'delivery.yaml'), MANIFEST);

  // Record 208 from scipy's real excerpt, in format 212, with a header as a hospital might keep it.
  const real = readEcgNpz(new Uint8Array(await readFile(SCIPY_ECG)), {
    name: 'ecg.dat',
    arrayName: 'ecg',
    samplingRate: 360,
    units: 'adu',
    leads: ['MLII'],
  });
  realEcg = makeEcg(
    { ...real, samples: real.samples.map((lead) => Int16Array.from(lead)) },
    'ecg.dat',
  );
  const record208 = writeWfdb(realEcg, {
    recordName: '208',
    format: 212,
    baseline: 1024,
    gain: 200,
    comments: ['69 M 1085 1629 x1', 'Patient: Jane Quinlan MRN 4455667', 'Age: 69'],
  });
  const header208 = record208.header.replace(
    /^208 1 360 108000$/mu,
    '208 1 360 108000 10:11:12 04/03/2019',
  );
  await writeFile(join(files, 'mitdb/208.hea'), header208);
  for (const [name, bytes] of record208.files) {
    await writeFile(join(files, 'mitdb', name), bytes);
  }

  // A simulated 12-lead ECG in format 16 (stored microvolts, units "uV").
  simulated = simulateEcg(
    {
      heartRate: 72,
      rrStd: 0.04,
      lfHfRatio: 0.5,
      respirationHz: 0.25,
      axisDegrees: 45,
      posteriorTiltDegrees: 10,
      qtFactor: 1,
      stLevel: 0,
      tScale: 1,
      amplitudeMv: 1.2,
      noiseUv: 8,
      wanderUv: 30,
    },
    new Random(2024),
  );
  const cart = writeWfdb(simulated, {
    recordName: 'ECG_5566778',
    format: 16,
    gain: 1,
    units: 'uV',
    comments: ['<age>: 54 <sex>: F <dx>: 426783006', 'MRN 5566778 room 12'],
  });
  await writeFile(join(files, 'cart/ECG_5566778.hea'), cart.header);
  for (const [name, bytes] of cart.files) {
    await writeFile(join(files, 'cart', name), bytes);
  }

  // A record whose signal file is cut short, and one whose samples do not add up to its checksum.
  await writeFile(join(files, 'cart/short.hea'), 'short 1 500 5000\nshort.dat 16 200 16 0\n');
  await writeFile(join(files, 'cart/short.dat'), new Uint8Array(100));
  await writeFile(join(files, 'cart/bad.hea'), 'bad 1 500 4\nbad.dat 16 200 16 0 5 999\n');
  await writeFile(join(files, 'cart/bad.dat'), Uint8Array.from([5, 0, 1, 0, 2, 0, 3, 0]));

  await writeFile(
    join(work, 'tables/ecgs.csv'),
    [
      'mrn,accession,acquired,header',
      '4455667,ACC-208-1,2019-03-04,mitdb/208.hea',
      '5566778,ACC-5566-2,2021-06-01,cart/ECG_5566778.hea',
      '6677889,ACC-6677-3,2021-06-02,cart/bad.hea',
      '7788990,ACC-7788-4,2021-06-03,cart/short.hea',
      '',
    ].join('\n'),
  );
  report = await server.ctx.services.ingest.ingestDirectory(work, { actor: 'system:lantern' });
}, 120_000);

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe(`WFDB records ingested on ${TEST_DIALECT}`, () => {
  it('stores each readable record, header and signal file, under the published record name', async () => {
    const objects = await draftObjects(server.ctx, SLUG);
    const headers = [...objects.keys()].filter((path) => path.endsWith('.hea'));
    expect(headers).toHaveLength(2);
    expect(report.counts).toMatchObject({ files: 6, stored: 4, held: 2 });
    const samples: Ecg[] = [];
    for (const path of headers) {
      const record = path.slice(path.lastIndexOf('/') + 1, -'.hea'.length);
      const folder = path.slice(0, path.lastIndexOf('/'));
      const header = objects.get(path) ?? Buffer.alloc(0);
      const parsed = parseWfdbHeader(header, { name: path });
      expect(parsed.recordName).toBe(record);
      expect(parsed.signals.every((s) => s.fileName === `${record}.dat`)).toBe(true);
      const dat = objects.get(`${folder}/${record}.dat`);
      expect(dat, `${folder}/${record}.dat`).toBeDefined();
      // The record reads back whole: lengths, checksums and every sample as delivered.
      const back = readWfdb(header, new Map([[`${record}.dat`, dat ?? Buffer.alloc(0)]]), {
        name: path,
        digital: true,
      });
      samples.push(back.ecg);
    }
    const bySignals = new Map(samples.map((ecg) => [ecg.leads.length, ecg]));
    expect(bySignals.get(1)?.samples[0]).toEqual(realEcg.samples[0]);
    expect(bySignals.get(12)?.samples.map((lead) => [...lead])).toEqual(
      simulated.samples.map((lead) => [...lead]),
    );
    expect(bySignals.get(12)?.leads).toEqual(simulated.leads);
  });

  it('cleans the headers: comments reduced to age, sex and codes, the base date shifted', async () => {
    const objects = await draftObjects(server.ctx, SLUG);
    const texts = [...objects]
      .filter(([path]) => path.endsWith('.hea'))
      .map(([, bytes]) => bytes.toString('latin1'));
    const mitdb = texts.find((text) => / 1 360 108000 /u.test(text)) ?? '';
    expect(mitdb.split('\n').filter((line) => line.startsWith('#'))).toEqual([
      '# 69 M',
      '# Age: 69',
    ]);
    const recordLine = mitdb.split('\n')[0] ?? '';
    expect(recordLine).toMatch(/ 10:11:12 \d{2}\/\d{2}\/\d{4}$/u);
    expect(recordLine).not.toContain('04/03/2019');
    const cart = texts.find((text) => / 12 500 5000/u.test(text)) ?? '';
    expect(cart.split('\n').filter((line) => line.startsWith('#'))).toEqual([
      '# <age>: 54 <sex>: F <dx>: 426783006',
    ]);
    // No identifier in any stored byte, tables included.
    for (const [path, bytes] of objects) {
      const text = bytes.toString('latin1');
      for (const identifier of [...IDENTIFIERS, '208', 'ECG_5566778', '1085 1629']) {
        if (path.endsWith('.hea') || path.endsWith('.csv')) {
          expect(text, `${identifier} in ${path}`).not.toContain(identifier);
        }
      }
    }
  });

  it('holds back a record that cannot be read, storing nothing of it and naming nothing in it', async () => {
    const review = await server.ctx.services.heldFiles.review(SLUG);
    expect(review.files.map((f) => [f.format, f.previewable, f.decision])).toEqual([
      ['unreadable', false, null],
      ['unreadable', false, null],
    ]);
    const reasons = review.files.map((f) => f.reason).sort();
    expect(reasons).toEqual([
      'the WFDB record cannot be read (invalid_wfdb); held back, nothing stored',
      'the WFDB record cannot be read (truncated); held back, nothing stored',
    ]);
    const objects = await draftObjects(server.ctx, SLUG);
    for (const file of review.files) {
      expect(objects.has(file.path)).toBe(false);
      expect(objects.has(file.path.replace(/\.hea$/u, '.dat'))).toBe(false);
    }
    // Nothing to release: excluded, the cells that named them are emptied and publication unblocked.
    const refused = await server.ctx.services.heldFiles
      .decide(SLUG, [{ file: review.files[0]?.id ?? '', action: 'release', note: 'fine' }])
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(refused).toMatchObject({ code: 'validation_failed' });
    const decided = await server.ctx.services.heldFiles.decide(
      SLUG,
      review.files.map((f) => ({ file: f.id, action: 'exclude' as const })),
    );
    expect(decided).toMatchObject({ open: 0, blocked: false });
    const table =
      (await draftObjects(server.ctx, SLUG)).get('tables/ecgs.csv')?.toString('utf8') ?? '';
    const rows = table.trim().split(/\r?\n/u).slice(1);
    expect(rows).toHaveLength(4);
    expect(rows.filter((row) => row.endsWith(',')).length).toBe(2);
  });
});
