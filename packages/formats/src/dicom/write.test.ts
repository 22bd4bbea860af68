import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { TAG, type Vr } from './dictionary.js';
import { readDicom, type DicomDataset, type DicomFile } from './parse.js';
import { decodeFrame } from './pixels.js';
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  RLE_LOSSLESS,
} from './transfer-syntax.js';
import {
  changeDicomDataset,
  dicomDataset,
  DicomWriteError,
  writeDicom,
  writeDicomChunks,
} from './write.js';

/** Files written by others, shipped by Debian's python3-pydicom (scripts/debian-packages.sh test). */
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';

const NATIVE_SYNTAXES = [
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
];

const CONTENT_SEQUENCE = 0x0040a730;
const PRIVATE_CREATOR = 0x00090010;
const ROWS = 4;
const COLUMNS = 5;
const FRAMES = 3;

/** A stored value per sample of a 12-bit, 3-frame image, different in every frame. */
const sampleAt = (frame: number, i: number) => (frame * 1000 + i * 37) % 4096;

function nativePixels(): Uint8Array {
  const bytes = new Uint8Array(FRAMES * ROWS * COLUMNS * 2);
  const view = new DataView(bytes.buffer);
  for (let frame = 0; frame < FRAMES; frame += 1) {
    for (let i = 0; i < ROWS * COLUMNS; i += 1) {
      view.setUint16((frame * ROWS * COLUMNS + i) * 2, sampleAt(frame, i), true);
    }
  }
  return bytes;
}

/** Content items nested `depth` deep, each naming its level. */
function nestedItems(depth: number): DicomDataset[] {
  const entries = [
    { tag: TAG.CodeValue, vr: 'SH' as const, value: `LEVEL${depth}` },
    { tag: TAG.CodeMeaning, vr: 'LO' as const, value: `level ${depth}` },
  ];
  const inner =
    depth > 1 ? [{ tag: CONTENT_SEQUENCE, vr: 'SQ' as const, value: nestedItems(depth - 1) }] : [];
  return [dicomDataset([...entries, ...inner], { isItem: true })];
}

/** A secondary-capture image with text, numbers, a private block, sequences and 3 frames. */
function sampleDataset(): DicomDataset {
  return dicomDataset([
    { tag: TAG.SOPClassUID, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
    { tag: TAG.SOPInstanceUID, vr: 'UI', value: '2.25.1234567890123' },
    { tag: TAG.ImageType, vr: 'CS', value: ['DERIVED', 'SECONDARY'] },
    { tag: TAG.StudyDate, vr: 'DA', value: '20240131' },
    { tag: TAG.Modality, vr: 'CS', value: 'OT' },
    { tag: TAG.PatientName, vr: 'PN', value: 'Synthetic^Jane' },
    { tag: TAG.PatientID, vr: 'LO', value: 'MRN001' },
    { tag: PRIVATE_CREATOR, vr: 'LO', value: 'LANTERN TEST' },
    { tag: 0x00091001, vr: 'SS', value: [-5, 7] },
    { tag: 0x00091002, vr: 'FD', value: [Math.PI] },
    { tag: 0x00091003, vr: 'UL', value: 4_000_000_000 },
    { tag: TAG.SamplesPerPixel, vr: 'US', value: 1 },
    { tag: TAG.PhotometricInterpretation, vr: 'CS', value: 'MONOCHROME2' },
    { tag: TAG.NumberOfFrames, vr: 'IS', value: FRAMES },
    { tag: TAG.FrameIncrementPointer, vr: 'AT', value: 0x00181063 },
    { tag: TAG.Rows, vr: 'US', value: ROWS },
    { tag: TAG.Columns, vr: 'US', value: COLUMNS },
    { tag: TAG.PixelSpacing, vr: 'DS', value: [0.143, 0.143] },
    { tag: TAG.BitsAllocated, vr: 'US', value: 16 },
    { tag: TAG.BitsStored, vr: 'US', value: 12 },
    { tag: TAG.HighBit, vr: 'US', value: 11 },
    { tag: TAG.PixelRepresentation, vr: 'US', value: 0 },
    { tag: TAG.RescaleSlope, vr: 'DS', value: 1 / 3 },
    { tag: CONTENT_SEQUENCE, vr: 'SQ', value: nestedItems(3) },
    { tag: TAG.PixelData, vr: 'OW', value: nativePixels() },
  ]);
}

/** The code values along the first item of each nested content sequence. */
function nestedCodes(dataset: DicomDataset): string[] {
  const codes: string[] = [];
  let items = dataset.items(CONTENT_SEQUENCE);
  while (items[0] !== undefined) {
    codes.push(items[0].string(TAG.CodeValue) ?? '');
    items = items[0].items(CONTENT_SEQUENCE);
  }
  return codes;
}

const read = (bytes: Uint8Array, name = 'written.dcm') => readDicom(bytes, { name });

describe('writeDicom round trips through readDicom', () => {
  it.each(NATIVE_SYNTAXES)('writes %s that reads back value for value', (uid) => {
    const file = read(writeDicom({ dataset: sampleDataset(), transferSyntaxUid: uid }));
    expect(file.hasPreamble).toBe(true);
    expect(file.transferSyntax.uid).toBe(uid);
    expect(file.meta.string(TAG.TransferSyntaxUID)).toBe(uid);
    expect(file.meta.string(TAG.MediaStorageSOPClassUID)).toBe('1.2.840.10008.5.1.4.1.1.7');
    expect(file.meta.string(TAG.MediaStorageSOPInstanceUID)).toBe('2.25.1234567890123');
    const { dataset } = file;
    expect(dataset.strings(TAG.ImageType)).toEqual(['DERIVED', 'SECONDARY']);
    expect(dataset.string(TAG.PatientName)).toBe('Synthetic^Jane');
    expect(dataset.numbers(TAG.PixelSpacing)).toEqual([0.143, 0.143]);
    expect(dataset.number(TAG.RescaleSlope)).toBeCloseTo(1 / 3, 12);
    expect(dataset.number(TAG.FrameIncrementPointer)).toBe(0x00181063);
    expect(dataset.string(PRIVATE_CREATOR)).toBe('LANTERN TEST');
    expect(nestedCodes(dataset)).toEqual(['LEVEL3', 'LEVEL2', 'LEVEL1']);
    if (file.transferSyntax.isExplicitVr) {
      expect(dataset.numbers(0x00091001)).toEqual([-5, 7]);
      expect(dataset.numbers(0x00091002)).toEqual([Math.PI]);
      expect(dataset.numbers(0x00091003)).toEqual([4_000_000_000]);
    } else {
      // Implicit VR names no VRs: a private element the dictionary cannot know comes back UN.
      expect(dataset.get(0x00091001)?.vr).toBe('UN');
      expect([...(dataset.get(0x00091001)?.bytes ?? [])]).toEqual([0xfb, 0xff, 7, 0]);
    }
    for (let frame = 0; frame < FRAMES; frame += 1) {
      const decoded = decodeFrame(file, frame);
      expect([decoded.rows, decoded.columns]).toEqual([ROWS, COLUMNS]);
      expect([...decoded.data]).toEqual(
        Array.from({ length: ROWS * COLUMNS }, (_, i) => sampleAt(frame, i)),
      );
    }
  });

  it('writes the meta group with a group length that covers it exactly', () => {
    const bytes = writeDicom({
      dataset: sampleDataset(),
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(String.fromCharCode(...bytes.subarray(128, 132))).toBe('DICM');
    const groupLength = view.getUint32(132 + 8, true);
    const afterMeta = 132 + 12 + groupLength;
    expect(view.getUint16(afterMeta, true)).toBe(0x0008);
  });

  it('writes encapsulated fragments and the offset table as given (RLE, 2 frames)', () => {
    const frames = [0, 1].map((frame) => rleFrame(frame));
    const offsets = [0, frames[0] === undefined ? 0 : frames[0].length + 8];
    const dataset = dicomDataset([
      { tag: TAG.SOPClassUID, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: TAG.SOPInstanceUID, vr: 'UI', value: '2.25.99' },
      { tag: TAG.SamplesPerPixel, vr: 'US', value: 1 },
      { tag: TAG.PhotometricInterpretation, vr: 'CS', value: 'MONOCHROME2' },
      { tag: TAG.NumberOfFrames, vr: 'IS', value: 2 },
      { tag: TAG.Rows, vr: 'US', value: ROWS },
      { tag: TAG.Columns, vr: 'US', value: COLUMNS },
      { tag: TAG.BitsAllocated, vr: 'US', value: 8 },
      { tag: TAG.BitsStored, vr: 'US', value: 8 },
      { tag: TAG.HighBit, vr: 'US', value: 7 },
      { tag: TAG.PixelRepresentation, vr: 'US', value: 0 },
      { tag: TAG.PixelData, vr: 'OB', value: { offsetTable: offsets, fragments: frames } },
    ]);
    const file = read(writeDicom({ dataset, transferSyntaxUid: RLE_LOSSLESS }));
    const pixelData = file.dataset.get(TAG.PixelData);
    expect(pixelData?.encapsulated?.offsetTable).toEqual(offsets);
    expect(pixelData?.encapsulated?.fragments.map((f) => [...f.bytes])).toEqual(
      frames.map((f) => [...f]),
    );
    for (const frame of [0, 1]) {
      expect([...decodeFrame(file, frame).data]).toEqual(
        Array.from({ length: ROWS * COLUMNS }, (_, i) => (frame * 100 + i * 3) % 256),
      );
    }
  });
});

describe('writeDicomChunks', () => {
  it.each(NATIVE_SYNTAXES)(
    'in %s: the chunks, in order, are the bytes writeDicom writes',
    (uid) => {
      const file = { dataset: sampleDataset(), transferSyntaxUid: uid };
      const { chunks, size } = writeDicomChunks(file);
      expect(chunks.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(size);
      expect(Buffer.concat(chunks).equals(Buffer.from(writeDicom(file)))).toBe(true);
    },
  );

  it('joins the short pieces and leaves long pixel data a view of its value, not a copy', () => {
    const pixels = new Uint8Array(512 * 512).map((_, i) => (i * 7) & 0xff);
    const dataset = changeDicomDataset(sampleDataset(), {
      remove: [TAG.NumberOfFrames, TAG.FrameIncrementPointer],
      set: [
        { tag: TAG.Rows, vr: 'US', value: 512 },
        { tag: TAG.Columns, vr: 'US', value: 512 },
        { tag: TAG.PixelData, vr: 'OW', value: pixels },
      ],
    });
    const source = writeDicom({ dataset, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
    const { chunks, size } = writeDicomChunks({
      dataset: read(source).dataset,
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    });
    // The meta group and the elements before the pixel data in one chunk, the pixels in another.
    expect(chunks).toHaveLength(2);
    expect(chunks[1]?.buffer).toBe(source.buffer);
    expect(Buffer.from(chunks[1] ?? []).equals(Buffer.from(pixels))).toBe(true);
    expect(read(Buffer.concat(chunks, size)).dataset.get(TAG.PixelData)?.bytes.length).toBe(
      pixels.length,
    );
  });
});

/** One 8-bit frame in RLE Lossless (PS3.5 G.3): a 64-byte header and one literal-run segment. */
function rleFrame(frame: number): Uint8Array {
  const count = ROWS * COLUMNS;
  const segment = [
    count - 1,
    ...Array.from({ length: count }, (_, i) => (frame * 100 + i * 3) % 256),
  ];
  if (segment.length % 2 === 1) {
    segment.push(0x80); // a no-op run header pads the segment to even length
  }
  const bytes = new Uint8Array(64 + segment.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4, 64, true);
  bytes.set(segment, 64);
  return bytes;
}

/** The unit a VR's values are swapped in between byte orders (as write.ts does). */
const SWAP: Partial<Record<Vr, number>> = {
  US: 2,
  SS: 2,
  OW: 2,
  AT: 2,
  UL: 4,
  SL: 4,
  FL: 4,
  OF: 4,
  OL: 4,
  FD: 8,
  OD: 8,
  SV: 8,
  UV: 8,
  OV: 8,
};

/** An element's bytes in little endian order, without trailing padding. */
function littleEndianBytes(bytes: Uint8Array, vr: Vr, isLittleEndian: boolean): number[] {
  const size = SWAP[vr];
  const out = [...bytes];
  if (!isLittleEndian && size !== undefined) {
    for (let at = 0; at + size <= out.length; at += size) {
      out.splice(at, size, ...out.slice(at, at + size).reverse());
    }
  }
  return out;
}

/**
 * The differences between two datasets, element by element: the same tags, the same VRs (unless
 * one side was read implicit VR), the same values in little endian order (group lengths, which the
 * writer recomputes, by presence only), the same items and fragments.
 */
function differences(a: DicomDataset, b: DicomDataset, compareVr: boolean, path = ''): string[] {
  const found: string[] = [];
  const tags = new Set([...a.elements.keys(), ...b.elements.keys()]);
  for (const tag of tags) {
    const x = a.get(tag);
    const y = b.get(tag);
    const where = `${path}${tag.toString(16).padStart(8, '0')}`;
    if (x === undefined || y === undefined) {
      found.push(`${where}: only in ${x === undefined ? 'the copy' : 'the original'}`);
      continue;
    }
    // Encapsulated pixel data is written OB whatever it was read as (PS3.5 A.4).
    if (compareVr && x.vr !== y.vr && x.encapsulated === null) {
      found.push(`${where}: VR ${x.vr} became ${y.vr}`);
    }
    if ((tag & 0xffff) === 0) {
      continue;
    }
    const xb = littleEndianBytes(x.bytes, x.vr, a.isLittleEndian);
    const yb = littleEndianBytes(y.bytes, y.vr, b.isLittleEndian);
    // An odd-length value (which PS3.5 forbids, but files have) gains one padding byte.
    const isSameValue =
      yb.length === xb.length + (xb.length % 2) && xb.every((byte, i) => yb[i] === byte);
    if (!isSameValue) {
      found.push(`${where}: value differs`);
    }
    if (
      (x.items === null) !== (y.items === null) ||
      (x.items?.length ?? 0) !== (y.items?.length ?? 0)
    ) {
      found.push(`${where}: items differ`);
    }
    x.items?.forEach((item, i) => {
      const other = y.items?.[i];
      if (other !== undefined) {
        found.push(...differences(item, other, compareVr, `${where}/${i}/`));
      }
    });
    const fx = x.encapsulated;
    const fy = y.encapsulated;
    if (
      JSON.stringify(fx?.offsetTable) !== JSON.stringify(fy?.offsetTable) ||
      JSON.stringify(fx?.fragments.map((f) => [...f.bytes])) !==
        JSON.stringify(fy?.fragments.map((f) => [...f.bytes]))
    ) {
      found.push(`${where}: fragments differ`);
    }
  }
  return found;
}

/** pydicom's test files this reader reads, each with the transfer syntax it was read in. */
function pydicomFiles(): { name: string; file: DicomFile }[] {
  return readdirSync(PYDICOM)
    .filter((name) => name.endsWith('.dcm'))
    .flatMap((name) => {
      try {
        return [{ name, file: read(readFileSync(PYDICOM + name), name) }];
      } catch (error) {
        if (error instanceof FormatError) {
          return []; // the truncated and malformed files pydicom ships to test its errors
        }
        throw error;
      }
    });
}

describe('re-writing files written by other software (pydicom test files)', () => {
  const files = pydicomFiles();

  it('reads most of the files it re-writes', () => {
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'CT_small.dcm',
        'MR_small.dcm',
        'MR_small_RLE.dcm',
        'ExplVR_BigEnd.dcm',
        'image_dfl.dcm',
        'JPEG-lossy.dcm',
        'SC_rgb_rle_2frame.dcm',
        'rtplan.dcm',
        'nested_priv_SQ.dcm',
        'waveform_ecg.dcm',
      ]),
    );
  });

  it.each(pydicomFiles().map(({ name }) => name))(
    'writes %s in its own transfer syntax and reads back the same elements',
    (name) => {
      const original = files.find((f) => f.name === name)?.file;
      if (original === undefined) {
        throw new Error(`${name} was not read`);
      }
      const copy = read(
        writeDicom({
          meta: original.meta,
          dataset: original.dataset,
          transferSyntaxUid: original.transferSyntax.uid,
        }),
        name,
      );
      expect(copy.transferSyntax.uid).toBe(original.transferSyntax.uid);
      expect(differences(original.dataset, copy.dataset, true)).toEqual([]);
      for (const tag of original.meta.elements.keys()) {
        if (tag !== TAG.FileMetaInformationGroupLength) {
          expect(copy.meta.string(tag)).toBe(original.meta.string(tag));
        }
      }
    },
  );

  it.each([
    ['CT_small.dcm'],
    ['MR_small.dcm'],
    ['MR_small_bigendian.dcm'],
    ['MR_small_implicit.dcm'],
    ['ExplVR_BigEnd.dcm'],
    ['image_dfl.dcm'],
    ['rtplan.dcm'],
  ])('writes %s in every native transfer syntax with the same values and pixels', (name) => {
    const original = read(readFileSync(PYDICOM + name), name);
    for (const uid of NATIVE_SYNTAXES) {
      const copy = read(writeDicom({ dataset: original.dataset, transferSyntaxUid: uid }), name);
      const bothExplicit = copy.transferSyntax.isExplicitVr && original.transferSyntax.isExplicitVr;
      expect(differences(original.dataset, copy.dataset, bothExplicit)).toEqual([]);
      if (original.dataset.has(TAG.PixelData)) {
        expect([...decodeFrame(copy).data]).toEqual([...decodeFrame(original).data]);
      }
    }
  });
});

describe('pydicom reads what writeDicom writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-dicom-write-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('in every native transfer syntax: names, sequences and the pixel sum agree', () => {
    const paths = NATIVE_SYNTAXES.map((uid, i) => {
      const path = join(dir, `sample-${i}.dcm`);
      writeFileSync(path, writeDicom({ dataset: sampleDataset(), transferSyntaxUid: uid }));
      return path;
    });
    const script = [
      'import json, sys, pydicom',
      'out = []',
      'for path in sys.argv[1:]:',
      '    ds = pydicom.dcmread(path)',
      '    seq = ds.ContentSequence[0].ContentSequence[0].ContentSequence[0]',
      '    out.append([str(ds.file_meta.TransferSyntaxUID), str(ds.PatientName), int(ds.Rows),',
      '                int(ds.NumberOfFrames), str(seq.CodeValue), int(ds.pixel_array.sum())])',
      'print(json.dumps(out))',
    ].join('\n');
    const output = execFileSync('/usr/bin/python3', ['-c', script, ...paths], {
      encoding: 'utf8',
    });
    let expectedSum = 0;
    for (let frame = 0; frame < FRAMES; frame += 1) {
      for (let i = 0; i < ROWS * COLUMNS; i += 1) {
        expectedSum += sampleAt(frame, i);
      }
    }
    expect(JSON.parse(output)).toEqual(
      NATIVE_SYNTAXES.map((uid) => [uid, 'Synthetic^Jane', ROWS, FRAMES, 'LEVEL1', expectedSum]),
    );
  });
});

describe('building and changing datasets', () => {
  it('writes non-ASCII text as UTF-8 and declares ISO_IR 192', () => {
    const dataset = dicomDataset([{ tag: TAG.PatientName, vr: 'PN', value: 'Müller^Zoë' }]);
    const file = read(writeDicom({ dataset, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }));
    expect(file.dataset.string(TAG.SpecificCharacterSet)).toBe('ISO_IR 192');
    expect(file.dataset.string(TAG.PatientName)).toBe('Müller^Zoë');
  });

  it('keeps a Latin-1 dataset Latin-1 for ASCII changes, and re-encodes it all for UTF-8 ones', () => {
    const latin1 = read(
      writeDicom({
        dataset: dicomDataset([
          { tag: TAG.SpecificCharacterSet, vr: 'CS', value: 'ISO_IR 100' },
          {
            tag: TAG.PatientName,
            vr: 'PN',
            value: new Uint8Array(Buffer.from('Ström^Åsa', 'latin1')),
          },
        ]),
        transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
      }),
    ).dataset;
    expect(latin1.string(TAG.PatientName)).toBe('Ström^Åsa');
    const ascii = changeDicomDataset(latin1, {
      set: [{ tag: TAG.PatientID, vr: 'LO', value: 'P1' }],
    });
    expect(ascii.string(TAG.SpecificCharacterSet)).toBe('ISO_IR 100');
    expect(ascii.get(TAG.PatientName)?.bytes).toBe(latin1.get(TAG.PatientName)?.bytes);
    const utf8 = changeDicomDataset(latin1, {
      set: [{ tag: TAG.InstitutionName, vr: 'LO', value: 'Hôpital Zürich' }],
    });
    const reread = read(
      writeDicom({ dataset: utf8, transferSyntaxUid: IMPLICIT_VR_LITTLE_ENDIAN }),
    );
    expect(reread.dataset.string(TAG.SpecificCharacterSet)).toBe('ISO_IR 192');
    expect(reread.dataset.string(TAG.PatientName)).toBe('Ström^Åsa');
    expect(reread.dataset.string(TAG.InstitutionName)).toBe('Hôpital Zürich');
  });

  it('removes elements, replaces a sequence’s items, and leaves the original as it was', () => {
    const original = sampleDataset();
    const changed = changeDicomDataset(original, {
      remove: [TAG.PatientName, 0x00091001],
      set: [
        { tag: TAG.PatientID, vr: 'LO', value: 'PSEUDO-7' },
        { tag: CONTENT_SEQUENCE, vr: 'SQ', value: nestedItems(1) },
      ],
    });
    const file = read(
      writeDicom({ dataset: changed, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }),
    );
    expect(file.dataset.has(TAG.PatientName)).toBe(false);
    expect(file.dataset.has(0x00091001)).toBe(false);
    expect(file.dataset.string(TAG.PatientID)).toBe('PSEUDO-7');
    expect(nestedCodes(file.dataset)).toEqual(['LEVEL1']);
    expect(original.string(TAG.PatientName)).toBe('Synthetic^Jane');
    expect(nestedCodes(original)).toEqual(['LEVEL3', 'LEVEL2', 'LEVEL1']);
  });

  it('pads odd values: a space after text, NUL after a UID', () => {
    const dataset = dicomDataset([
      { tag: TAG.PatientID, vr: 'LO', value: 'ABC' },
      { tag: TAG.SOPInstanceUID, vr: 'UI', value: '1.2.3' },
    ]);
    expect([...(dataset.get(TAG.PatientID)?.bytes ?? [])]).toEqual([...Buffer.from('ABC ')]);
    expect([...(dataset.get(TAG.SOPInstanceUID)?.bytes ?? [])]).toEqual([
      ...Buffer.from('1.2.3\0'),
    ]);
  });

  it('refuses a value too long for a 16-bit length in explicit VR, and writes it implicit', () => {
    const dataset = dicomDataset([
      { tag: TAG.PatientComments, vr: 'LT', value: 'x'.repeat(70_000) },
    ]);
    const failure = (() => {
      try {
        writeDicom({ dataset, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(failure).toBeInstanceOf(DicomWriteError);
    expect(failure).toMatchObject({ code: 'value_too_long', tag: TAG.PatientComments });
    const file = read(writeDicom({ dataset, transferSyntaxUid: IMPLICIT_VR_LITTLE_ENDIAN }));
    expect(file.dataset.string(TAG.PatientComments)).toHaveLength(70_000);
  });

  it('refuses pixel data whose encapsulation does not match the transfer syntax', () => {
    expect(() => writeDicom({ dataset: sampleDataset(), transferSyntaxUid: RLE_LOSSLESS })).toThrow(
      expect.objectContaining({ code: 'pixel_encoding_mismatch' }),
    );
    const encapsulated = dicomDataset([
      { tag: TAG.PixelData, vr: 'OB', value: { fragments: [rleFrame(0)] } },
    ]);
    expect(() =>
      writeDicom({ dataset: encapsulated, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }),
    ).toThrow(expect.objectContaining({ code: 'pixel_encoding_mismatch' }));
  });

  it('refuses text in a binary VR and a file meta element in the dataset', () => {
    expect(() => dicomDataset([{ tag: TAG.Rows, vr: 'US', value: 'five' }])).toThrow(
      expect.objectContaining({ code: 'invalid_value' }),
    );
    const misplaced = dicomDataset([
      { tag: TAG.TransferSyntaxUID, vr: 'UI', value: EXPLICIT_VR_LITTLE_ENDIAN },
    ]);
    expect(() =>
      writeDicom({ dataset: misplaced, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }),
    ).toThrow(expect.objectContaining({ code: 'misplaced_element' }));
  });
});
