/**
 * NumPy ECG files in a delivery (issue 6, step 4; "never leak"): each `.npy` and `.npz` is written
 * again by @lantern/deid with nothing but its arrays, so that a partner's header keys, padding text,
 * ZIP comments, extra fields, timestamps and member names never reach a stored object; an archive
 * with a member named like a patient, or an array of Python objects, is held back with nothing of
 * it stored and a reason quoting nothing from it. Every byte of both object stores is searched.
 */
import { readNpy, readNpz, writeEcgNpz, writeNpy, writeZip, type NpyArray } from '@lantern/formats';
import { npyWithHeaderText, Random, simulateEcg } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  draftObjects,
  ecgDeliveryManifest,
  everyStoredObject,
  ingestTestDelivery,
  type IngestedDelivery,
} from '../../testing/ingest.js';
import { TEST_DIALECT } from '../../testing/test-server.js';

const SLUG = 'numpy-ingest-test';

/** What the partner planted: names, MRNs, an accession number, a date (the table's are of 2019). */
const PLANTED = ['Jane Quinlan', 'QUINLAN', '4455667', '5566778', 'ACC-208-1', '2024-03-04'];

const ECG = simulateEcg(
  {
    heartRate: 64,
    rrStd: 0.03,
    lfHfRatio: 0.5,
    respirationHz: 0.25,
    axisDegrees: 30,
    posteriorTiltDegrees: 10,
    qtFactor: 1,
    stLevel: 0,
    tScale: 1,
    amplitudeMv: 1.1,
    noiseUv: 6,
    wanderUv: 20,
  },
  new Random(6),
);
const CLEAN_NPZ = writeEcgNpz(ECG);
const WAVEFORM: NpyArray = readNpz(CLEAN_NPZ, { name: 'clean.npz' }).get('waveform') ?? {
  shape: [0],
  data: new Int16Array(0),
};

/** An .npy of `array` whose header has the text `dict` (and its padding), as a partner wrote it. */
function npyWithHeader(array: NpyArray, dict: string): Uint8Array {
  const canonical = writeNpy(array);
  return npyWithHeaderText(dict, canonical.subarray(canonical.length - array.data.byteLength));
}

const PLANTED_HEADER =
  "{'descr': '<i2', 'patient': 'Jane Quinlan', 'fortran_order': False, 'shape': (12, 5000), " +
  "'mrn': '4455667', }  # ACC-208-1 acquired 2024-03-04";

/** The delivery: its manifest, its table and its files, by path. */
const DELIVERY: Record<string, Uint8Array | string> = {
  'delivery.yaml': ecgDeliveryManifest(SLUG, 'waveform'),
  'tables/ecgs.csv': `mrn,accession,acquired,waveform
4455667,ACC-208-1,2019-03-04,clean.npz
4455667,ACC-208-2,2019-03-04,planted.npz
5566778,ACC-5566-1,2019-06-01,planted.npy
5566778,ACC-5566-2,2019-06-02,named.npz
5566778,ACC-5566-3,2019-06-03,pickled.npy
`,
  // As the demo writes it: kept byte for byte.
  'files/clean.npz': CLEAN_NPZ,
  // Everything a ZIP and a header can carry besides the arrays, in a savez_compressed archive.
  'files/planted.npz': writeZip(
    [
      {
        name: 'waveform.npy',
        data: npyWithHeader(WAVEFORM, PLANTED_HEADER),
        comment: 'Jane Quinlan MRN 4455667',
        extra: Uint8Array.from([0xfe, 0xca, 9, 0, ...new TextEncoder().encode('ACC-208-1')]),
        modified: { year: 2024, month: 3, day: 4, hour: 9, minute: 30, second: 0 },
      },
    ],
    { compress: true, comment: 'QUINLAN^JANE 2024-03-04' },
  ),
  'files/planted.npy': npyWithHeader(WAVEFORM, PLANTED_HEADER),
  // Held: a member named after the patient; an array of pickled Python objects.
  'files/named.npz': writeZip([
    { name: 'waveform.npy', data: writeNpy(WAVEFORM) },
    { name: 'Jane_Quinlan_5566778.npy', data: writeNpy(WAVEFORM) },
  ]),
  'files/pickled.npy': npyWithHeader(
    { shape: [7], data: Uint8Array.from(new TextEncoder().encode('QUINLAN')) },
    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
  ),
};

let ingested: IngestedDelivery;

beforeAll(async () => {
  ingested = await ingestTestDelivery(DELIVERY);
}, 120_000);

afterAll(() => ingested.close());

describe(`NumPy files ingested on ${TEST_DIALECT}`, () => {
  it('stores the readable files with their arrays as delivered, and holds back the two others', async () => {
    expect(ingested.report.counts).toMatchObject({ files: 5, held: 2 });
    // The two archives rewritten are the same bytes: one object, whichever worker stored it first.
    expect(ingested.report.counts.stored + ingested.report.counts.deduplicated).toBe(3);
    const files = await draftObjects(ingested.server.ctx, SLUG);
    const npz = [...files].filter(([path]) => path.endsWith('.npz')).map(([, bytes]) => bytes);
    const npy = [...files].filter(([path]) => path.endsWith('.npy')).map(([, bytes]) => bytes);
    expect([npz.length, npy.length]).toEqual([2, 1]);
    // Both delivered archives hold the same arrays: rewritten, they are the demo's bytes.
    for (const bytes of npz) {
      expect(bytes.equals(Buffer.from(CLEAN_NPZ))).toBe(true);
    }
    expect(npy[0]?.equals(Buffer.from(writeNpy(WAVEFORM)))).toBe(true);
    const array = readNpy(new Uint8Array(npy[0] ?? []), { name: 'stored.npy' });
    expect(array.shape).toEqual([12, 5000]);
    expect([...array.data]).toEqual([...WAVEFORM.data]);
  });

  it('writes none of the planted text into any stored object', async () => {
    const objects = await everyStoredObject(ingested.server.ctx);
    expect(objects.length).toBeGreaterThanOrEqual(3);
    for (const { key, bytes } of objects) {
      const text = bytes.toString('latin1');
      for (const planted of [...PLANTED, 'Quinlan']) {
        expect(text.includes(planted), `${planted} in ${key}`).toBe(false);
      }
    }
  });

  it('holds back what it cannot de-identify, naming nothing from it', async () => {
    const review = await ingested.server.ctx.services.heldFiles.review(SLUG);
    expect(review.files.map((f) => [f.format, f.previewable, f.decision])).toEqual([
      ['unreadable', false, null],
      ['unreadable', false, null],
    ]);
    expect(review.files.map((f) => f.reason).sort()).toEqual([
      'the NumPy file cannot be de-identified (member 2 is not an array with a safe name (a lead or waveform name)); held back, nothing stored',
      'the NumPy file cannot be de-identified (the dtype is not a plain number (bool, integer, float, complex)); held back, nothing stored',
    ]);
    for (const file of review.files) {
      expect(`${file.path} ${file.reason}`).not.toMatch(/Quinlan|5566778|named|pickled/u);
    }
    expect(review.blocked).toBe(true);
  });
});
