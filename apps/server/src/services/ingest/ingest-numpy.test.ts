/**
 * NumPy ECG files in a delivery (issue 6, step 4; "never leak"): each `.npy` and `.npz` is written
 * again by @lantern/deid with nothing but its arrays, so that a partner's header keys, padding text,
 * ZIP comments, extra fields, timestamps and member names never reach a stored object. An archive
 * with an array named like a patient is written with that array renamed and held in the quarantine,
 * as a DICOM image with burned-in text is: a curator sees its arrays plotted, then releases it into
 * the draft or excludes it. An array of Python objects is held back with nothing of it stored. Every
 * reason quotes nothing from the file, and every byte of both object stores is searched.
 */
import { inflateSync } from 'node:zlib';
import { readNpy, readNpz, writeEcgNpz, writeNpy, writeZip, type NpyArray } from '@lantern/formats';
import { npyWithHeaderText, Random, simulateEcg } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeldFileView } from './held-files.service.js';
import { request } from '../../testing/http.js';
import {
  draftObjectKeys,
  draftObjects,
  draftTableColumn,
  ecgDeliveryManifest,
  everyStoredObject,
  ingestTestDelivery,
  objectBytes,
  quarantineKeyOf,
  type IngestedDelivery,
} from '../../testing/ingest.js';
import { TEST_DIALECT } from '../../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../../testing/users.js';

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
5566778,ACC-5566-4,2019-06-04,scores.npz
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
  // Held in the quarantine, renamed: an array named after the patient; one named as no ECG
  // array is (what it holds is for a curator to see).
  'files/named.npz': writeZip([
    { name: 'waveform.npy', data: writeNpy(WAVEFORM) },
    { name: 'Jane_Quinlan_5566778.npy', data: writeNpy(WAVEFORM) },
  ]),
  'files/scores.npz': writeZip([
    { name: 'waveform.npy', data: writeNpy(WAVEFORM) },
    { name: 'qt_ms.npy', data: writeNpy({ shape: [3], data: Int16Array.of(402, 398, 410) }) },
  ]),
  // Held with nothing kept: an array of pickled Python objects.
  'files/pickled.npy': npyWithHeader(
    { shape: [7], data: Uint8Array.from(new TextEncoder().encode('QUINLAN')) },
    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
  ),
};

let ingested: IngestedDelivery;
let curator: SignedInUser;
let researcher: SignedInUser;
const HELD = `/api/v1/datasets/${SLUG}/draft/held`;

/** The delivered files, in the order of the table's rows. */
const DELIVERED = [
  'clean.npz',
  'planted.npz',
  'planted.npy',
  'named.npz',
  'pickled.npy',
  'scores.npz',
];

/** The held files by the delivered file they stand for (their paths are pseudonymous). */
async function heldFiles(): Promise<Map<string, HeldFileView>> {
  const review = await ingested.server.ctx.services.heldFiles.review(SLUG);
  const cells = await draftTableColumn(ingested.server.ctx, SLUG, 'ecgs', 'waveform');
  return new Map(
    review.files.map((file) => [DELIVERED[cells.indexOf(file.path)] ?? file.path, file]),
  );
}

beforeAll(async () => {
  ingested = await ingestTestDelivery(DELIVERY);
  curator = await createSignedInUser(ingested.server, {
    email: 'numpy-curator@example.org',
    roles: ['curator'],
    password: 'a long curator passphrase',
  });
  researcher = await createSignedInUser(ingested.server, {
    email: 'numpy-researcher@example.org',
    roles: ['researcher'],
    password: 'a long researcher passphrase',
  });
}, 120_000);

afterAll(() => ingested.close());

describe(`NumPy files ingested on ${TEST_DIALECT}`, () => {
  it('stores the readable files with their arrays as delivered, and holds back the three others', async () => {
    expect(ingested.report.counts).toMatchObject({ files: 6, held: 3 });
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

  it('holds back what it cannot de-identify, and what it renamed, naming nothing from it', async () => {
    const held = await heldFiles();
    const seen = (name: string) => {
      const file = held.get(name);
      return [file?.format, file?.previewable, file?.decision, file?.reason];
    };
    const renamed = (member: string) =>
      `arrays not named as ECG arrays are (lead or waveform names) were renamed (member 2 to ${member}); a curator looks at what they hold before they are published; held back for review`;
    expect(seen('named.npz')).toEqual(['numpy', true, null, renamed('arr_1')]);
    expect(seen('scores.npz')).toEqual(['numpy', true, null, renamed('arr_1')]);
    expect(seen('pickled.npy')).toEqual([
      'unreadable',
      false,
      null,
      'the NumPy file cannot be de-identified (the dtype is not a plain number (bool, integer, float, complex)); held back, nothing stored',
    ]);
    for (const file of held.values()) {
      expect(`${file.path} ${file.reason}`).not.toMatch(
        /Quinlan|5566778|named\.npz|pickled|qt_ms/u,
      );
    }
    expect((await ingested.server.ctx.services.heldFiles.review(SLUG)).blocked).toBe(true);
  });

  it('keeps a held archive in the quarantine with its arrays as delivered, renamed, out of the draft', async () => {
    const held = await heldFiles();
    const named = held.get('named.npz');
    const key = await quarantineKeyOf(ingested.server.ctx, named?.id ?? '');
    const bytes = await objectBytes(ingested.server.ctx.quarantineStore, key ?? '');
    const arrays = readNpz(new Uint8Array(bytes), { name: 'quarantined.npz' });
    expect([...arrays.keys()]).toEqual(['waveform', 'arr_1']);
    expect([...(arrays.get('arr_1')?.data ?? [])]).toEqual([...WAVEFORM.data]);
    expect(named?.size).toBe(bytes.length);
    const draft = await draftObjectKeys(ingested.server.ctx, SLUG);
    expect(draft.has(named?.path ?? '')).toBe(false);
    expect(await ingested.server.ctx.objectStore.head(key ?? '')).toBeNull();
  });

  it("previews a held archive's arrays as a PNG, for curators only", async () => {
    const file = (await heldFiles()).get('named.npz');
    const path = `${HELD}/${file?.id ?? ''}/preview`;
    const res = await request(ingested.server, 'GET', path, curator);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = new Uint8Array(await res.arrayBuffer());
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    const [width, height] = [view.getUint32(16), view.getUint32(20)];
    // Two arrays of twelve leads: the first 24 traces of 48 pixels and a rule between them,
    // shrunk to 1024 pixels a side.
    expect([width, height]).toEqual([512, Math.ceil((24 * 48 + 9) / 2)]);
    const raw = inflateSync(png.subarray(41, 41 + view.getUint32(33)));
    const pixels = raw.filter((_, i) => i % (width + 1) !== 0);
    // Traces drawn on white: every column of each of the 24 bands has ink in it.
    expect(pixels.filter((level) => level < 255).length).toBeGreaterThan(24 * width);
    expect(pixels.includes(0)).toBe(true);
    expect((await request(ingested.server, 'GET', path, researcher)).status).toBe(403);
    const unreadable = (await heldFiles()).get('pickled.npy');
    expect(
      (await request(ingested.server, 'GET', `${HELD}/${unreadable?.id ?? ''}/preview`, curator))
        .status,
    ).toBe(404);
  });

  it('releases one into the draft with a note, and excludes the others, emptying their cells', async () => {
    const held = await heldFiles();
    const [named, scores, pickled] = ['named.npz', 'scores.npz', 'pickled.npy'].map((name) =>
      held.get(name),
    );
    const noNote = await request(ingested.server, 'POST', `${HELD}/decisions`, curator, {
      decisions: [{ file: named?.id, action: 'release', note: ' ' }],
    });
    expect(noNote.status).toBe(400);
    const note = 'Both arrays are the same 12-lead ECG; the second name was the only identifier.';
    const decided = await request(ingested.server, 'POST', `${HELD}/decisions`, curator, {
      decisions: [
        { file: named?.id, action: 'release', note },
        { file: scores?.id, action: 'exclude' },
        { file: pickled?.id, action: 'exclude' },
      ],
    });
    expect(decided.status).toBe(200);
    expect(await decided.json()).toMatchObject({ open: 0, blocked: false });
    const draft = await draftObjectKeys(ingested.server.ctx, SLUG);
    const key = await quarantineKeyOf(ingested.server.ctx, named?.id ?? '');
    expect(draft.get(named?.path ?? '')).toBe(key);
    const released = await objectBytes(ingested.server.ctx.objectStore, key ?? '');
    expect([...readNpz(new Uint8Array(released), { name: 'released.npz' }).keys()]).toEqual([
      'waveform',
      'arr_1',
    ]);
    expect(draft.has(scores?.path ?? '')).toBe(false);
    const cells = await draftTableColumn(ingested.server.ctx, SLUG, 'ecgs', 'waveform');
    expect(cells).toContain(named?.path);
    expect(cells.filter((cell) => cell === null).length).toBe(2);
  });
});
