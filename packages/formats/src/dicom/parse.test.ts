import { readdirSync, readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { formatTag, lookupTag, TAG } from './dictionary.js';
import {
  readDicom,
  readDicomFile,
  type DicomDataset,
  type DicomFile,
  type DicomReadOptions,
} from './parse.js';
import { decodeFrame } from './pixels.js';
import { describeDicom } from './describe.js';

/** Files written by others, shipped by Debian's python3-pydicom (scripts/debian-packages.sh test). */
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';
const pydicomFile = (name: string) => readFileSync(PYDICOM + name);

function failureOf(bytes: Uint8Array, options: Partial<DicomReadOptions> = {}): FormatError {
  try {
    readDicom(bytes, { name: 'test.dcm', ...options });
  } catch (error) {
    if (error instanceof FormatError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a FormatError, the file was read');
}

/** An explicit VR little endian element (PS3.5 7.1.2). */
function element(
  group: number,
  elementNumber: number,
  vr: string,
  value: Uint8Array,
  length?: number,
): Buffer {
  const isLong = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const header = Buffer.alloc(isLong ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.write(vr, 4, 'latin1');
  if (isLong) {
    header.writeUInt32LE(length ?? value.length, 8);
  } else {
    header.writeUInt16LE(length ?? value.length, 6);
  }
  return Buffer.concat([header, value]);
}

function marker(tag: number, length: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt16LE(tag >>> 16, 0);
  bytes.writeUInt16LE(tag & 0xffff, 2);
  bytes.writeUInt32LE(length, 4);
  return bytes;
}

const text = (value: string) => Buffer.from(value.length % 2 === 0 ? value : `${value} `, 'latin1');

/** A Part 10 file: preamble, DICM, a meta group naming the transfer syntax, then `dataset`. */
function part10(dataset: Buffer, transferSyntax = '1.2.840.10008.1.2.1'): Buffer {
  const uid = Buffer.from(
    transferSyntax.length % 2 === 0 ? transferSyntax : `${transferSyntax}\0`,
    'latin1',
  );
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM'),
    element(0x0002, 0x0010, 'UI', uid),
    dataset,
  ]);
}

describe('DICOM files written by other software (pydicom test files)', () => {
  it('reads explicit VR little endian (CT_small.dcm) with the values pydicom reports', async () => {
    const file = await readDicomFile(PYDICOM + 'CT_small.dcm', { name: 'CT_small.dcm' });
    expect(file.hasPreamble).toBe(true);
    expect(file.transferSyntax.uid).toBe('1.2.840.10008.1.2.1');
    expect(file.meta.string(TAG.MediaStorageSOPClassUID)).toBe('1.2.840.10008.5.1.4.1.1.2');
    const { dataset } = file;
    expect(dataset.elements.size).toBe(258);
    expect(dataset.string(TAG.PatientName)).toBe('CompressedSamples^CT1');
    expect(dataset.string(TAG.PatientID)).toBe('1CT1');
    expect(dataset.string(TAG.Modality)).toBe('CT');
    expect(dataset.number(TAG.Rows)).toBe(128);
    expect(dataset.number(TAG.Columns)).toBe(128);
    expect(dataset.number(TAG.RescaleIntercept)).toBe(-1024);
    expect(dataset.get(TAG.PixelData)?.bytes.length).toBe(128 * 128 * 2);
  });

  it.each([
    ['MR_small.dcm', '1.2.840.10008.1.2.1', 73],
    ['MR_small_implicit.dcm', '1.2.840.10008.1.2', 72],
    ['MR_small_bigendian.dcm', '1.2.840.10008.1.2.2', 72],
    ['MR_small_expb.dcm', '1.2.840.10008.1.2.2', 73],
    ['MR_small_RLE.dcm', '1.2.840.10008.1.2.5', 73],
  ])('reads %s (%s) to the same attributes', (name, uid, count) => {
    const { dataset, transferSyntax } = readDicom(pydicomFile(name), { name });
    expect(transferSyntax.uid).toBe(uid);
    expect(dataset.elements.size).toBe(count);
    expect(dataset.string(TAG.PatientName)).toBe('CompressedSamples^MR1');
    expect(dataset.string(TAG.PatientID)).toBe('4MR1');
    expect([dataset.number(TAG.Rows), dataset.number(TAG.Columns)]).toEqual([64, 64]);
    expect(dataset.numbers(TAG.WindowCenter)).toEqual([600]);
    expect(dataset.numbers(TAG.WindowWidth)).toEqual([1600]);
    expect(dataset.number(TAG.BitsAllocated)).toBe(16);
    expect(dataset.number(TAG.PixelRepresentation)).toBe(1);
  });

  it('reads the encapsulated pixel data of RLE: basic offset table and one fragment per frame', () => {
    const pixels = readDicom(pydicomFile('MR_small_RLE.dcm'), { name: 'r' }).dataset.get(
      TAG.PixelData,
    );
    expect(pixels?.encapsulated?.offsetTable).toEqual([0]);
    expect(pixels?.encapsulated?.fragments).toHaveLength(1);
    expect(pixels?.encapsulated?.fragments[0]?.bytes.length).toBe(6128 - 20);
  });

  it('inflates a deflated explicit VR little endian dataset (image_dfl.dcm)', () => {
    const { dataset, transferSyntax } = readDicom(pydicomFile('image_dfl.dcm'), {
      name: 'image_dfl.dcm',
    });
    expect(transferSyntax.isDeflated).toBe(true);
    expect(dataset.elements.size).toBe(29);
    expect(dataset.string(TAG.Modality)).toBe('OT');
    expect([dataset.number(TAG.Rows), dataset.number(TAG.Columns)]).toEqual([512, 512]);
    expect(dataset.get(TAG.PixelData)?.bytes.length).toBe(512 * 512);
  });

  it('reads nested sequences of undefined length and keeps private elements, marked (nested_priv_SQ.dcm)', () => {
    const { dataset } = readDicom(pydicomFile('nested_priv_SQ.dcm'), { name: 'n' });
    const outer = dataset.get(0x00010001);
    expect(outer?.isPrivate).toBe(true);
    const inner = outer?.items?.[0]?.get(0x00010001)?.items?.[0];
    expect(inner?.string(0x00010001)).toBe('Double Nested SQ');
    expect(outer?.items?.[0]?.string(0x00010002)).toBe('Nested SQ');
  });

  it('reads the private sequence of priv_SQ.dcm and its private creator', () => {
    const { dataset } = readDicom(pydicomFile('priv_SQ.dcm'), { name: 'p' });
    expect(dataset.string(0x3f030010)).toBe('aaabbbccc MEDICAL SYSTEMS');
    expect(dataset.get(0x3f030010)?.keyword).toBe('PrivateCreator');
    expect(dataset.get(0x3f031001)?.isPrivate).toBe(true);
    expect(dataset.get(0x3f031001)?.vr).toBe('UN');
    expect(dataset.get(0x3f031001)?.bytes.length).toBe(166);
  });

  it('reads files without a meta group in either byte order (ExplVR_*NoMeta.dcm)', () => {
    const little = readDicom(pydicomFile('ExplVR_LitEndNoMeta.dcm'), { name: 'l' });
    const big = readDicom(pydicomFile('ExplVR_BigEndNoMeta.dcm'), { name: 'b' });
    expect(little.hasPreamble).toBe(false);
    expect(little.transferSyntax.uid).toBe('1.2.840.10008.1.2.1');
    expect(big.transferSyntax.uid).toBe('1.2.840.10008.1.2.2');
    expect(big.dataset.elements.size).toBe(little.dataset.elements.size);
    expect(big.dataset.string(TAG.SOPClassUID)).toBe(little.dataset.string(TAG.SOPClassUID));
  });

  it('reads implicit VR where the meta group promises explicit VR, as pydicom does (SC_rgb_jpeg.dcm)', () => {
    const { dataset } = readDicom(pydicomFile('SC_rgb_jpeg.dcm'), { name: 's' });
    expect(dataset.number(TAG.Rows)).toBe(256);
  });

  it('refuses truncated files with the offset of the element that runs past the end', () => {
    const truncated = failureOf(pydicomFile('MR_truncated.dcm'));
    expect(truncated.code).toBe('invalid_dicom');
    expect(truncated.offset).toBe(1488);
    expect(truncated.detail).toContain('(7FE0,0010) declares 8192 bytes');
    const plan = failureOf(pydicomFile('rtplan_truncated.dcm'));
    expect(plan.code).toBe('invalid_dicom');
    expect(plan.offset).toBe(1410);
  });

  it('refuses a file that is not DICOM (no_meta.dcm has a corrupt first byte)', () => {
    expect(failureOf(pydicomFile('no_meta.dcm')).code).toBe('invalid_dicom');
    expect(failureOf(Buffer.from('hello, world')).code).toBe('invalid_dicom');
  });
});

/** Every dataset of a tree: the root, then each sequence item's, depth first. */
function datasetsOf(root: DicomDataset): DicomDataset[] {
  const all = [root];
  for (const element of root.elements.values()) {
    for (const item of element.items ?? []) {
      all.push(...datasetsOf(item));
    }
  }
  return all;
}

describe('values decoded on access', () => {
  it("equal the dataset's decoder's text and the full list of numbers, element for element, over every pydicom test file", () => {
    let compared = 0;
    for (const name of readdirSync(PYDICOM).filter((n) => n.endsWith('.dcm'))) {
      let file: DicomFile;
      try {
        file = readDicom(pydicomFile(name), { name });
      } catch (error) {
        expect(error).toBeInstanceOf(FormatError);
        continue;
      }
      for (const dataset of [file.meta, ...datasetsOf(file.dataset)]) {
        for (const [tag, element] of dataset.elements) {
          if (element.items !== null || element.encapsulated !== null) {
            continue;
          }
          // What strings() gave before its ASCII fast path: the decoder, split, trimmed by regex.
          const vr = element.vr === 'UN' ? lookupTag(tag).vr : element.vr;
          const text = dataset.decodeText(element.bytes);
          const eager =
            element.bytes.length === 0
              ? []
              : (['LT', 'ST', 'UT', 'UR'].includes(vr) ? [text] : text.split('\\')).map((value) =>
                  value.replace(/[\0 ]+$/, '').replace(/^ +/, ''),
                );
          expect(dataset.strings(tag), `${name} ${formatTag(tag)}`).toEqual(eager);
          expect(dataset.string(tag)).toBe(eager.join('\\') === '' ? null : eager.join('\\'));
          expect(dataset.number(tag)).toBe(dataset.numbers(tag)[0] ?? null);
          compared += 1;
        }
      }
    }
    expect(compared).toBeGreaterThan(5000);
  });

  it('keeps every field of an element in a copy made by spreading it', () => {
    const { dataset } = readDicom(pydicomFile('CT_small.dcm'), { name: 'CT_small.dcm' });
    const element = dataset.get(TAG.PatientName);
    expect(element).toBeDefined();
    expect({ ...element }).toEqual({
      tag: TAG.PatientName,
      vr: 'PN',
      keyword: 'PatientName',
      isPrivate: false,
      offset: element?.offset,
      bytes: element?.bytes,
      items: null,
      encapsulated: null,
    });
    expect(new TextDecoder().decode(element?.bytes)).toBe('CompressedSamples^CT1 ');
  });
});

describe('hostile DICOM', () => {
  const name = element(0x0010, 0x0010, 'PN', text('Doe^Jane'));

  it('checks a huge declared length against what remains before trusting it', () => {
    const file = part10(
      Buffer.concat([name, element(0x7fe0, 0x0010, 'OB', Buffer.alloc(4), 0xfffffff0)]),
    );
    const error = failureOf(file);
    expect(error.code).toBe('invalid_dicom');
    expect(error.offset).toBe(file.length - 16);
    expect(error.detail).toContain('declares 4294967280 bytes but only 4 remain');
  });

  it('refuses sequences nested deeper than maxDepth', () => {
    const depth = 10_000;
    const open = Buffer.concat([
      element(0x0040, 0xa730, 'SQ', Buffer.alloc(0), 0xffffffff),
      marker(0xfffee000, 0xffffffff),
    ]);
    const close = Buffer.concat([marker(0xfffee00d, 0), marker(0xfffee0dd, 0)]);
    const file = part10(
      Buffer.concat([...Array<Buffer>(depth).fill(open), ...Array<Buffer>(depth).fill(close)]),
    );
    const error = failureOf(file);
    expect(error.code).toBe('too_deep');
    expect(
      failureOf(part10(Buffer.concat([open, open, open, close, close, close])), { maxDepth: 2 })
        .code,
    ).toBe('too_deep');
    expect(
      readDicom(part10(Buffer.concat([open, open, close, close])), {
        name: 'ok',
        maxDepth: 2,
      }).dataset.items(TAG.ContentSequence),
    ).toHaveLength(1);
  });

  it('refuses more elements than maxElements', () => {
    const file = part10(Buffer.concat(Array<Buffer>(100).fill(name)));
    expect(readDicom(file, { name: 'ok', maxElements: 200 }).dataset.elements.size).toBe(1);
    expect(failureOf(file, { maxElements: 50 }).code).toBe('too_many_elements');
  });

  it('bounds what a deflated dataset may inflate to', () => {
    const bomb = part10(
      deflateRawSync(Buffer.concat([element(0x7fe0, 0x0010, 'OB', Buffer.alloc(4_000_000))])),
      '1.2.840.10008.1.2.1.99',
    );
    const error = failureOf(bomb, { maxBytes: 1_000_000 });
    expect(error.code).toBe('file_too_large');
    expect(readDicom(bomb, { name: 'ok' }).dataset.get(TAG.PixelData)?.bytes.length).toBe(
      4_000_000,
    );
    expect(
      failureOf(part10(Buffer.from('not deflate at all'), '1.2.840.10008.1.2.1.99')).code,
    ).toBe('invalid_dicom');
  });

  it('refuses an item delimiter outside an item, and an element without a VR', () => {
    expect(failureOf(part10(Buffer.concat([name, marker(0xfffee00d, 0)]))).detail).toContain(
      'item delimiter',
    );
    const noVr = Buffer.from(name);
    noVr.write('\u0001\u0002', 4, 'latin1');
    expect(failureOf(part10(Buffer.concat([name, noVr]))).detail).toContain('has no valid VR');
  });

  it('never crashes on real files truncated at every 7th byte or with lengths overwritten, parsing or decoding pixels', () => {
    // Each mutation either still reads (a cut at an element boundary) or is a FormatError; anything
    // else thrown fails the test. The corpus is bounded by its size, not by a clock.
    let refused = 0;
    let read = 0;
    for (const source of [
      'MR_small.dcm',
      'MR_small_implicit.dcm',
      'MR_small_bigendian.dcm',
      'MR_small_RLE.dcm',
      'nested_priv_SQ.dcm',
      'image_dfl.dcm',
    ]) {
      const bytes = pydicomFile(source);
      const mutants: Uint8Array[] = [];
      for (let cut = 0; cut < bytes.length; cut += 7) {
        mutants.push(bytes.subarray(0, cut));
      }
      for (let at = 128; at < Math.min(bytes.length - 4, 2000); at += 3) {
        for (const value of [0xffffffff, 0x7ffffff0, 0x00010000]) {
          const mutant = Buffer.from(bytes);
          mutant.writeUInt32LE(value, at);
          mutants.push(mutant);
        }
      }
      for (const mutant of mutants) {
        try {
          const file = readDicom(mutant, { name: source });
          describeDicom(file);
          if (file.dataset.has(TAG.PixelData)) {
            decodeFrame(file);
          }
          read += 1;
        } catch (error) {
          expect(error).toBeInstanceOf(FormatError);
          refused += 1;
        }
      }
    }
    expect(refused).toBeGreaterThan(1000);
    expect(read).toBeGreaterThan(0);
  });
});
