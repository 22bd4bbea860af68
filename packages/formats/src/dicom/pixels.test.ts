import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { TAG } from './dictionary.js';
import { readDicom, type DicomFile } from './parse.js';
import { decodeFrame, renderFrame8, rescale } from './pixels.js';
import { decodeJ2kSamples, readJ2kHeader } from '../jpeg/openjpeg.js';
import { decodeHtj2kSamples, encodeHtj2kLossless } from '../jpeg/openjph.js';
import { describeDicom } from './describe.js';
import { changeDicomDataset, dicomDataset, writeDicom } from './write.js';

/** Files written by others, shipped by Debian's python3-pydicom (scripts/debian-packages.sh test). */
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';
const pydicomFile = (name: string) => readDicom(readFileSync(PYDICOM + name), { name });

function sumOf(file: DicomFile): { count: number; sum: number; min: number; max: number } {
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let frame = 0; frame < (file.dataset.number(TAG.NumberOfFrames) ?? 1); frame += 1) {
    for (const value of decodeFrame(file, frame).data) {
      count += 1;
      sum += value;
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
  }
  return { count, sum, min, max };
}

function failureOf(action: () => unknown): FormatError {
  try {
    action();
  } catch (error) {
    if (error instanceof FormatError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a FormatError');
}

describe('pixel data of pydicom test files, compared with pydicom.pixel_array', () => {
  // count, sum, min, max and the first samples as pydicom 2.x reports them for the same files.
  it.each([
    ['CT_small.dcm', 16384, 14826310, 128, 2191, [175, 180, 166, 143, 139, 152]],
    ['MR_small.dcm', 4096, 2125338, 127, 2145, [905, 1019, 1227, 1259, 761, 404]],
    ['MR_small_implicit.dcm', 4096, 2125338, 127, 2145, [905, 1019, 1227, 1259, 761, 404]],
    ['MR_small_bigendian.dcm', 4096, 2125338, 127, 2145, [905, 1019, 1227, 1259, 761, 404]],
    ['MR_small_expb.dcm', 4096, 2125338, 127, 2145, [905, 1019, 1227, 1259, 761, 404]],
    ['MR_small_RLE.dcm', 4096, 2125338, 127, 2145, [905, 1019, 1227, 1259, 761, 404]],
    ['MR_small_padded.dcm', 4096, 2125338, 127, 2145, [905, 1019, 1227, 1259, 761, 404]],
    ['ExplVR_BigEnd.dcm', 14400, 2470716, 0, 255, [171, 171, 171, 173, 173, 173]],
    ['image_dfl.dcm', 262144, 33322688, 0, 255, [213, 213, 213, 213, 213, 213]],
    ['SC_rgb_rle.dcm', 30000, 3831000, 0, 255, [255, 0, 0, 255, 0, 0]],
    ['SC_rgb_rle_16bit_2frame.dcm', 60000, 1966050000, 0, 65535, [65535, 0, 0, 65535, 0, 0]],
    [
      'SC_rgb_rle_32bit.dcm',
      30000,
      64525567479000,
      0,
      4294967295,
      [4294967295, 0, 0, 4294967295, 0, 0],
    ],
    ['SC_rgb_small_odd.dcm', 27, 3477, 52, 176, [166, 141, 52, 166, 141, 52]],
    [
      'rtdose.dcm',
      1500,
      1519910000,
      795000,
      1254000,
      [1249000, 1249000, 1250000, 1250000, 1247000, 1244000],
    ],
    [
      'rtdose_rle.dcm',
      1500,
      1519910000,
      795000,
      1254000,
      [1249000, 1249000, 1250000, 1250000, 1247000, 1244000],
    ],
    ['liver_1frame.dcm', 262144, 36233, 0, 1, [0, 0, 0, 0, 0, 0]],
  ])('%s decodes to %i samples summing to %i', (name, count, sum, min, max, first) => {
    const file = pydicomFile(name);
    expect(sumOf(file)).toEqual({ count, sum, min, max });
    expect(Array.from(decodeFrame(file).data.subarray(0, 6))).toEqual(first);
  });

  it('gives signed 16-bit values a signed array, and interleaves planar RGB (ExplVR_BigEnd.dcm is planar)', () => {
    expect(decodeFrame(pydicomFile('MR_small.dcm')).data).toBeInstanceOf(Int16Array);
    const rgb = decodeFrame(pydicomFile('ExplVR_BigEnd.dcm'));
    expect(rgb.planarConfiguration).toBe(1);
    expect([rgb.rows, rgb.columns, rgb.samplesPerPixel]).toEqual([60, 80, 3]);
    expect(rgb.data).toBeInstanceOf(Uint8Array);
  });

  it('rescales CT to Hounsfield units (slope 1, intercept -1024)', () => {
    const file = pydicomFile('CT_small.dcm');
    const values = rescale(file, decodeFrame(file));
    expect(Array.from(values.subarray(0, 3))).toEqual([175 - 1024, 180 - 1024, 166 - 1024]);
  });

  it('decodes 12-bit lossy JPEG to 12-bit samples (equal to dcmdjpeg: ../jpeg/sequential.test.ts)', () => {
    for (const name of ['JPGExtended.dcm', 'JPEG-lossy.dcm']) {
      const frame = decodeFrame(pydicomFile(name));
      expect([frame.rows, frame.columns, frame.bitsStored]).toEqual([1024, 256, 12]);
      expect(frame.data).toBeInstanceOf(Uint16Array);
      const max = Array.from(frame.data).reduce((a, b) => Math.max(a, b), 0);
      expect(max).toBeLessThanOrEqual(4095);
      expect(max).toBeGreaterThan(255);
    }
  });

  // The decoder's 12-bit samples are handed out as they are when Bits Stored holds them all.
  it('masks 12-bit JPEG samples to a narrower Bits Stored and sign-extends signed ones', () => {
    const decoded = decodeFrame(pydicomFile('JPGExtended.dcm')).data;
    const relabelled = (bitsStored: number, pixelRepresentation: number) => {
      const bytes = Buffer.from(readFileSync(PYDICOM + 'JPGExtended.dcm'));
      const values = [bitsStored, bitsStored - 1, pixelRepresentation];
      for (const [i, element] of [0x01, 0x02, 0x03].entries()) {
        const tag = Buffer.from([0x28, 0x00, element, 0x01, 0x55, 0x53, 0x02, 0x00]);
        bytes.writeUInt16LE(values[i] ?? 0, bytes.indexOf(tag) + 8);
      }
      return decodeFrame(readDicom(bytes, { name: 'relabelled.dcm' })).data;
    };
    const mismatches = (data: ArrayLike<number>, expected: (sample: number) => number) =>
      Array.from(decoded).filter((sample, i) => data[i] !== expected(sample)).length;
    // Samples above 8 bits, and samples with bit 7 set, so that masking and the sign both show.
    expect(Array.from(decoded).filter((sample) => sample >= 256).length).toBeGreaterThan(0);
    expect(Array.from(decoded).filter((sample) => (sample & 0x80) !== 0).length).toBeGreaterThan(0);
    const unsigned = relabelled(8, 0);
    expect(unsigned).toBeInstanceOf(Uint16Array);
    expect(mismatches(unsigned, (sample) => sample & 0xff)).toBe(0);
    const signed = relabelled(8, 1);
    expect(signed).toBeInstanceOf(Int16Array);
    expect(mismatches(signed, (sample) => (sample << 24) >> 24)).toBe(0);
  });

  it('decodes JPEG Lossless (gdcm) to exactly the samples of the same image in RLE', () => {
    const lossless = decodeFrame(pydicomFile('SC_rgb_jpeg_gdcm.dcm'));
    const rle = decodeFrame(pydicomFile('SC_rgb_rle.dcm'));
    expect(pydicomFile('SC_rgb_jpeg_gdcm.dcm').transferSyntax.uid).toBe('1.2.840.10008.1.2.4.70');
    expect(Array.from(lossless.data)).toEqual(Array.from(rle.data));
  });

  // The sums are Pillow 9.4's (libjpeg-turbo 2.1) for the same streams, converted from YCbCr by
  // libjpeg where the stream is YCbCr (pydicom 2.3's own Pillow handler leaves YBR unconverted).
  it.each([
    ['SC_rgb_jpeg_dcmtk.dcm', 'YBR_FULL', 3832000, 1.5],
    // 4:2:2: the colour bars' sharp edges lose chroma; libjpeg's upsampling smooths them.
    ['SC_rgb_dcmtk_+eb+cy+np.dcm', 'YBR_FULL_422', 3826350, 3],
    ['SC_rgb_dcmtk_+eb+cr.dcm', 'RGB', 3832200, 1.5],
  ] as const)(
    'decodes JPEG baseline %s (dcmtk, %s) to the RGB libjpeg gives, close to the lossless image',
    (name, photometric, libjpegSum, closeness) => {
      const file = pydicomFile(name);
      expect(file.dataset.string(TAG.PhotometricInterpretation)).toBe(photometric);
      const lossy = decodeFrame(file);
      const rle = decodeFrame(pydicomFile('SC_rgb_rle.dcm')).data;
      expect(lossy.photometricInterpretation).toBe('RGB');
      let sum = 0;
      let difference = 0;
      for (const [i, value] of lossy.data.entries()) {
        sum += value;
        difference += Math.abs(value - (rle[i] ?? 0));
      }
      expect(sum).toBe(libjpegSum);
      expect(difference / rle.length).toBeLessThan(closeness);
    },
  );

  it('refuses a JPEG stream whose frame header disagrees with Rows and Columns, or that is cut short', () => {
    const bytes = Buffer.from(readFileSync(PYDICOM + 'SC_rgb_jpeg_gdcm.dcm'));
    const rows = bytes.indexOf(Buffer.from([0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00]));
    bytes.writeUInt16LE(99, rows + 8);
    expect(failureOf(() => decodeFrame(readDicom(bytes, { name: 'rows' }))).detail).toContain(
      'the dataset says 100 x 99',
    );
    for (const name of ['SC_rgb_jpeg_gdcm.dcm', 'SC_rgb_jpeg_dcmtk.dcm']) {
      const file = pydicomFile(name);
      const fragment = file.dataset.get(TAG.PixelData)?.encapsulated?.fragments[0];
      if (fragment === undefined) {
        throw new Error(`${name} has no fragment`);
      }
      const whole = Buffer.from(readFileSync(PYDICOM + name));
      const start = fragment.offset;
      for (let cut = 0; cut < fragment.bytes.length; cut += 97) {
        // Zero the stream from `cut` on: the lengths still agree, the JPEG data does not.
        const mutant = Buffer.from(whole);
        mutant.fill(0, start + cut, start + fragment.bytes.length);
        try {
          decodeFrame(readDicom(mutant, { name }));
        } catch (error) {
          expect(error).toBeInstanceOf(FormatError);
        }
      }
    }
  });

  it('refuses a frame larger than the pixel data holds before allocating it (Rows, Columns 16384)', () => {
    for (const name of ['MR_small.dcm', 'MR_small_RLE.dcm']) {
      const bytes = Buffer.from(readFileSync(PYDICOM + name));
      for (const element of [0x10, 0x11]) {
        const at = bytes.indexOf(Buffer.from([0x28, 0x00, element, 0x00, 0x55, 0x53, 0x02, 0x00]));
        bytes.writeUInt16LE(16384, at + 8);
      }
      const file = readDicom(bytes, { name });
      expect(file.dataset.number(TAG.Rows)).toBe(16384);
      expect(failureOf(() => decodeFrame(file)).code).toBe('invalid_dicom');
    }
  });

  it('refuses pixel data shorter than its frames, and frames that do not exist', () => {
    const file = pydicomFile('MR_small.dcm');
    expect(failureOf(() => decodeFrame(file, 1)).code).toBe('missing_element');
    const bytes = readFileSync(PYDICOM + 'SC_ybr_full_422_uncompressed.dcm');
    expect(failureOf(() => decodeFrame(readDicom(bytes, { name: 'ybr' }))).code).toBe(
      'unsupported_pixel_data',
    );
  });
});

/** The sum of every sample weighted by its position (index mod 997): a checksum of their order. */
function weightedSum(data: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 1) {
    sum += (data[i] ?? 0) * (i % 997);
  }
  return sum;
}

/** A pydicom file's bytes with Rows and Columns (US, explicit VR little endian) set to `size`. */
function withRowsAndColumns(name: string, size: number): Buffer {
  const bytes = Buffer.from(readFileSync(PYDICOM + name));
  for (const element of [0x10, 0x11]) {
    const at = bytes.indexOf(Buffer.from([0x28, 0x00, element, 0x00, 0x55, 0x53, 0x02, 0x00]));
    bytes.writeUInt16LE(size, at + 8);
  }
  return bytes;
}

/** The first fragment of a file's pixel data that holds bytes (after an empty offset table). */
function streamOf(file: DicomFile) {
  const fragment = file.dataset
    .get(TAG.PixelData)
    ?.encapsulated?.fragments.find((f) => f.bytes.length > 0);
  if (fragment === undefined) {
    throw new Error(`${file.name} has no fragment`);
  }
  return fragment;
}

describe('JPEG 2000 (OpenJPEG) and JPEG-LS (CharLS) pixel data, compared with GDCM', () => {
  it.each([
    ['MR_small_jp2klossless.dcm', '1.2.840.10008.1.2.4.90'],
    ['MR_small_jpeg_ls_lossless.dcm', '1.2.840.10008.1.2.4.80'],
  ])('decodes lossless %s to exactly the samples of MR_small.dcm', (name, uid) => {
    const file = pydicomFile(name);
    expect(file.transferSyntax.uid).toBe(uid);
    const decoded = decodeFrame(file);
    const native = decodeFrame(pydicomFile('MR_small.dcm'));
    expect(decoded.data).toBeInstanceOf(Int16Array);
    expect(decoded.photometricInterpretation).toBe('MONOCHROME2');
    expect(Array.from(decoded.data)).toEqual(Array.from(native.data));
  });

  // count, sum, min, max, first samples and the position-weighted sum of the samples that GDCM
  // 3.0.21 (python3-gdcm, through pydicom 2.3's gdcm handler) decodes from the same files; Pillow
  // 9.4 (OpenJPEG 2.5) agrees on the three it reads.
  it.each([
    // Lossy (.91), 16-bit signed: the codestream signed too.
    ['JPEG2000.dcm', 262144, 3527976, -30, 245, [0, 0, 0, 0, 0, 0], 1756833486],
    // Lossy, Bits Stored 14 in 16 signed; the codestream keeps 16 signed bits.
    ['693_J2KI.dcm', 262144, -2181784, -2971, 2836, [-2016, -2016, -2016, -2016], -1020786328],
    // Lossless (.90), 13 bits: the codestream says unsigned, the dataset signed, which wins.
    [
      'J2K_pixelrep_mismatch.dcm',
      262144,
      -172605258,
      -2000,
      1896,
      [-2000, -2000, -2000, -2000],
      -85620408810,
    ],
    // A JP2 file (boxes around the codestream), 16 tiles, YBR_RCT colour: RGB out. Pillow refuses it.
    ['GDCMJ2K_TextGBR.dcm', 480000, 59729223, 0, 255, [128, 128, 128, 128], 29730152694],
  ] as const)(
    'decodes %s to %i samples summing to %i, as GDCM does, in its order',
    (name, count, sum, min, max, first, weighted) => {
      const file = pydicomFile(name);
      expect(sumOf(file)).toEqual({ count, sum, min, max });
      const { data } = decodeFrame(file);
      expect(Array.from(data.subarray(0, first.length))).toEqual(first);
      expect(weightedSum(data)).toBe(weighted);
    },
  );

  it('reports YBR_RCT colour, which OpenJPEG turns back into RGB, as RGB', () => {
    const file = pydicomFile('GDCMJ2K_TextGBR.dcm');
    expect(file.dataset.string(TAG.PhotometricInterpretation)).toBe('YBR_RCT');
    const frame = decodeFrame(file);
    expect(frame.photometricInterpretation).toBe('RGB');
    expect(frame.data).toBeInstanceOf(Uint8Array);
    expect(renderFrame8(file).samplesPerPixel).toBe(3);
  });

  it('refuses a codestream whose size (SIZ) is not the Rows and Columns of the dataset, before decoding', () => {
    // JPEG2000-embedded-sequence-delimiter.dcm: GDCM decodes it to noise, Pillow refuses its size.
    const error = failureOf(() =>
      decodeFrame(pydicomFile('JPEG2000-embedded-sequence-delimiter.dcm')),
    );
    expect(error.code).toBe('invalid_dicom');
    expect(error.detail).toContain('the dataset says 256 x 1024 x 1');
    for (const name of ['MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm']) {
      const file = readDicom(withRowsAndColumns(name, 16384), { name });
      const refused = failureOf(() => decodeFrame(file));
      expect(refused.code).toBe('invalid_dicom');
      expect(refused.detail).toContain('is 64 x 64 x 1, the dataset says 16384 x 16384 x 1');
    }
  });

  it('gives a typed error for streams that declare a huge image over a small codestream', () => {
    // The dataset and the stream's header agree on the size; the coded data is the 64 x 64 image's.
    for (const [name, size] of [
      ['MR_small_jp2klossless.dcm', 16384],
      ['MR_small_jpeg_ls_lossless.dcm', 8192],
    ] as const) {
      const bytes = withRowsAndColumns(name, size);
      const { offset } = streamOf(readDicom(bytes, { name }));
      if (name.includes('jp2k')) {
        // SIZ after SOC: Xsiz, Ysiz at 8 and 12; XTsiz, YTsiz (one tile) at 24 and 28.
        for (const at of [8, 12, 24, 28]) {
          bytes.writeUInt32BE(size, offset + at);
        }
      } else {
        // SOF55 after SOI: Y and X at 7 and 9.
        bytes.writeUInt16BE(size, offset + 7);
        bytes.writeUInt16BE(size, offset + 9);
      }
      const error = failureOf(() => decodeFrame(readDicom(bytes, { name })));
      expect(error.code).toBe('invalid_dicom');
      expect(error.offset).toBe(offset);
      expect(error.detail).toMatch(/stream cannot be decoded \((OpenJPEG|CharLS) refused/);
    }
    // The codecs decode again after refusing.
    expect(sumOf(pydicomFile('MR_small_jp2klossless.dcm')).sum).toBe(2125338);
    expect(sumOf(pydicomFile('MR_small_jpeg_ls_lossless.dcm')).sum).toBe(2125338);
  });

  it('refuses a damaged JPEG-LS stream whose EOI is gone before CharLS spends seconds on it', () => {
    // Regression: these bytes (every 7th from 4107 of the 4430 flipped, EOI among them) kept
    // CharLS busy for 17 s on a loaded machine; the stream must end with EOI before it decodes.
    const name = 'MR_small_jpeg_ls_lossless.dcm';
    const whole = Buffer.from(readFileSync(PYDICOM + name));
    const { offset, bytes: stream } = streamOf(readDicom(whole, { name }));
    for (let at = offset + 4107; at < offset + stream.length; at += 7) {
      whole[at] = (whole[at] ?? 0) ^ 0xa5;
    }
    const error = failureOf(() => decodeFrame(readDicom(whole, { name })));
    expect(error.code).toBe('invalid_dicom');
    expect(error.detail).toBe('the JPEG-LS stream does not end with EOI (FFD9)');
    expect(error.offset).toBe(offset);
  });

  it.each(['MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm', '693_J2KI.dcm'])(
    'gives a FormatError or a frame of the right size for %s cut short or damaged, and decodes it after',
    (name) => {
      const whole = readFileSync(PYDICOM + name);
      const { offset, bytes: stream } = streamOf(readDicom(whole, { name }));
      const reference = Array.from(decodeFrame(pydicomFile(name)).data);
      let refused = 0;
      for (let cut = 0; cut < stream.length; cut += Math.ceil(stream.length / 40)) {
        // Zeroed from `cut` on (the lengths still agree, the coded data does not), and bytes flipped.
        const zeroed = Buffer.from(whole);
        zeroed.fill(0, offset + cut, offset + stream.length);
        const flipped = Buffer.from(whole);
        for (let at = offset + cut; at < offset + stream.length; at += 7) {
          flipped[at] = (flipped[at] ?? 0) ^ 0xa5;
        }
        for (const mutant of [zeroed, flipped]) {
          try {
            expect(decodeFrame(readDicom(mutant, { name })).data.length).toBe(reference.length);
          } catch (error) {
            expect(error).toBeInstanceOf(FormatError);
            refused += 1;
          }
        }
      }
      expect(refused).toBeGreaterThan(0);
      expect(Array.from(decodeFrame(pydicomFile(name)).data)).toEqual(reference);
    },
  );
});

describe('High-Throughput JPEG 2000 pixel data (OpenJPH)', () => {
  /** A pydicom file rewritten with its frame coded as lossless HTJ2K by OpenJPH, in `uid`. */
  function asHtj2k(name: string, uid: string): { file: DicomFile; stream: Uint8Array } {
    const source = pydicomFile(name);
    const frame = decodeFrame(source);
    const samples = frame.data;
    if (!(
      samples instanceof Uint8Array ||
      samples instanceof Uint16Array ||
      samples instanceof Int16Array
    )) {
      throw new Error(`${name} has samples of ${samples.BYTES_PER_ELEMENT} bytes`);
    }
    const stream = encodeHtj2kLossless(
      samples,
      {
        width: frame.columns,
        height: frame.rows,
        components: frame.samplesPerPixel,
        bitsPerSample: frame.bitsStored,
      },
      frame.isSigned,
    );
    const dataset = changeDicomDataset(source.dataset, {
      remove: [TAG.PlanarConfiguration],
      set: [
        { tag: TAG.PixelData, vr: 'OB', value: { fragments: [stream] } },
        // Three components are coded through the reversible colour transform.
        ...(frame.samplesPerPixel === 3
          ? [{ tag: TAG.PhotometricInterpretation, vr: 'CS' as const, value: 'YBR_RCT' }]
          : []),
      ],
    });
    const bytes = writeDicom({ dataset, transferSyntaxUid: uid });
    return { file: readDicom(bytes, { name: `${name} as HTJ2K` }), stream };
  }

  it.each([
    ['MR_small.dcm', '1.2.840.10008.1.2.4.201'],
    ['SC_rgb_rle.dcm', '1.2.840.10008.1.2.4.202'],
    ['CT_small.dcm', '1.2.840.10008.1.2.4.203'],
  ])('decodes %s coded as lossless HTJ2K (%s) to exactly its samples', (name, uid) => {
    const { file, stream } = asHtj2k(name, uid);
    expect(file.transferSyntax.pixelEncoding).toBe('htj2k');
    const header = readJ2kHeader(stream);
    expect(header?.isHighThroughput).toBe(true);
    const decoded = decodeFrame(file);
    const original = decodeFrame(pydicomFile(name));
    expect(decoded.photometricInterpretation).toBe(original.photometricInterpretation);
    expect(decoded.data.constructor).toBe(original.data.constructor);
    expect(Array.from(decoded.data)).toEqual(Array.from(original.data));
    expect(describeDicom(file).isPixelDataDecoded).toBe(true);
    // OpenJPEG, another decoder, reads OpenJPH's codestream to the same samples.
    if (header === null) {
      throw new Error('no SIZ');
    }
    const size = { width: header.width, height: header.height, components: header.components };
    expect(Array.from(decodeJ2kSamples(stream, header, size).samples)).toEqual(
      Array.from(decodeHtj2kSamples(stream, header, size).samples),
    );
  });

  it('encodes the same samples to the same bytes', () => {
    const a = asHtj2k('MR_small.dcm', '1.2.840.10008.1.2.4.201').stream;
    const b = asHtj2k('MR_small.dcm', '1.2.840.10008.1.2.4.201').stream;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('gives a FormatError for an HTJ2K codestream cut inside its headers, and decodes after', () => {
    const { stream } = asHtj2k('MR_small.dcm', '1.2.840.10008.1.2.4.201');
    const source = pydicomFile('MR_small.dcm');
    let refused = 0;
    for (const cut of [10, 45, 60, 90]) {
      const dataset = changeDicomDataset(source.dataset, {
        set: [{ tag: TAG.PixelData, vr: 'OB', value: { fragments: [stream.slice(0, cut)] } }],
      });
      const bytes = writeDicom({ dataset, transferSyntaxUid: '1.2.840.10008.1.2.4.201' });
      try {
        decodeFrame(readDicom(bytes, { name: 'cut.dcm' }));
      } catch (error) {
        expect(error).toBeInstanceOf(FormatError);
        refused += 1;
      }
    }
    expect(refused).toBeGreaterThanOrEqual(3);
    const { file } = asHtj2k('MR_small.dcm', '1.2.840.10008.1.2.4.201');
    expect(sumOf(file).sum).toBe(2125338);
  });
});

/**
 * RLE Lossless decoded the plain way (PS3.5 Annex G), sample by sample, as a reference for
 * decodeFrame's: each segment unpacked on its own, then every sample summed from its bytes and
 * masked and sign-extended to Bits Stored.
 */
function referenceRle(file: DicomFile, index: number): number[] {
  const rows = file.dataset.number(TAG.Rows) ?? 0;
  const columns = file.dataset.number(TAG.Columns) ?? 0;
  const samplesPerPixel = file.dataset.number(TAG.SamplesPerPixel) ?? 1;
  const bitsAllocated = file.dataset.number(TAG.BitsAllocated) ?? 8;
  const bitsStored = file.dataset.number(TAG.BitsStored) ?? bitsAllocated;
  const highBit = file.dataset.number(TAG.HighBit) ?? bitsStored - 1;
  const isSigned = file.dataset.number(TAG.PixelRepresentation) === 1;
  const fragment = file.dataset.get(TAG.PixelData)?.encapsulated?.fragments[index]?.bytes;
  if (fragment === undefined) {
    throw new Error(`no fragment ${index}`);
  }
  const view = new DataView(fragment.buffer, fragment.byteOffset, fragment.byteLength);
  const segments = view.getUint32(0, true);
  const pixels = rows * columns;
  const sampleBytes = bitsAllocated / 8;
  const raws = new Array<number>(pixels * samplesPerPixel).fill(0);
  for (let s = 0; s < segments; s += 1) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : fragment.length;
    const bytes: number[] = [];
    for (let at = start; at < end && bytes.length < pixels;) {
      const header = fragment[at] ?? 0;
      if (header < 128) {
        bytes.push(...fragment.subarray(at + 1, at + 2 + header));
        at += header + 2;
      } else {
        if (header > 128) {
          bytes.push(...Array<number>(257 - header).fill(fragment[at + 1] ?? 0));
        }
        at += 2;
      }
    }
    const weight = 2 ** (8 * (sampleBytes - 1 - (s % sampleBytes)));
    for (let p = 0; p < pixels; p += 1) {
      const at = p * samplesPerPixel + Math.floor(s / sampleBytes);
      raws[at] = (raws[at] ?? 0) + (bytes[p] ?? 0) * weight;
    }
  }
  return raws.map((raw) => {
    const value = Math.floor(raw / 2 ** (highBit + 1 - bitsStored)) % 2 ** bitsStored;
    return isSigned && value >= 2 ** (bitsStored - 1) ? value - 2 ** bitsStored : value;
  });
}

describe('fast paths agree with the plain way of decoding', () => {
  it.each([
    'MR_small_RLE.dcm',
    'SC_rgb_rle.dcm',
    'SC_rgb_rle_2frame.dcm',
    'SC_rgb_rle_16bit.dcm',
    'SC_rgb_rle_16bit_2frame.dcm',
    'SC_rgb_rle_32bit.dcm',
    'SC_rgb_rle_32bit_2frame.dcm',
    'rtdose_rle.dcm',
    'rtdose_rle_1frame.dcm',
  ])('RLE segments unpacked into their bytes of the frame: %s, sample for sample', (name) => {
    const file = pydicomFile(name);
    for (let frame = 0; frame < (file.dataset.number(TAG.NumberOfFrames) ?? 1); frame += 1) {
      expect(Array.from(decodeFrame(file, frame).data)).toEqual(referenceRle(file, frame));
    }
  });

  it.each([
    ['MR_small_RLE.dcm', 'MR_small.dcm'],
    ['rtdose_rle.dcm', 'rtdose.dcm'],
    ['rtdose_rle_1frame.dcm', 'rtdose_1frame.dcm'],
  ])('%s decodes to the samples of the same image uncompressed (%s)', (rle, native) => {
    const a = pydicomFile(rle);
    const b = pydicomFile(native);
    for (let frame = 0; frame < (a.dataset.number(TAG.NumberOfFrames) ?? 1); frame += 1) {
      const x = decodeFrame(a, frame).data;
      const y = decodeFrame(b, frame).data;
      expect(x.constructor).toBe(y.constructor);
      expect(Array.from(x)).toEqual(Array.from(y));
    }
  });

  it("gives native samples that need no work as a view of the file's bytes, and copies misaligned ones once", () => {
    const bytes = readFileSync(PYDICOM + 'CT_small.dcm');
    const aligned = decodeFrame(readDicom(bytes, { name: 'CT_small.dcm' }));
    const pixelData = readDicom(bytes, { name: 'CT_small.dcm' }).dataset.get(TAG.PixelData);
    expect(aligned.data.buffer).toBe(bytes.buffer);
    expect(aligned.data.byteOffset).toBe(bytes.byteOffset + (pixelData?.offset ?? 0) + 12);
    // The same file one byte further into its buffer: 16-bit samples at an odd address.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const copied = decodeFrame(readDicom(shifted.subarray(1), { name: 'shifted.dcm' }));
    expect(copied.data).toBeInstanceOf(Int16Array);
    expect(copied.data.buffer).not.toBe(shifted.buffer);
    expect(Array.from(copied.data)).toEqual(Array.from(aligned.data));
  });

  it('unpacks 1-bit frames a byte at a time as bit by bit, on byte boundaries (liver) and off them', () => {
    const bytes = readFileSync(PYDICOM + 'liver_1frame.dcm');
    const file = readDicom(bytes, { name: 'liver_1frame.dcm' });
    const packed = file.dataset.get(TAG.PixelData)?.bytes ?? new Uint8Array(0);
    const bits = (from: number, count: number) =>
      Array.from(
        { length: count },
        (_, i) => ((packed[(from + i) >>> 3] ?? 0) >>> ((from + i) & 7)) & 1,
      );
    expect(Array.from(decodeFrame(file).data)).toEqual(bits(0, 512 * 512));
    // 3 x 3 frames: frame 1 begins at bit 9, in the middle of a byte.
    const small = dicomDataset([
      { tag: TAG.SOPClassUID, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: TAG.SOPInstanceUID, vr: 'UI', value: '2.25.1' },
      { tag: TAG.Rows, vr: 'US', value: 3 },
      { tag: TAG.Columns, vr: 'US', value: 3 },
      { tag: TAG.NumberOfFrames, vr: 'IS', value: '2' },
      { tag: TAG.SamplesPerPixel, vr: 'US', value: 1 },
      { tag: TAG.PhotometricInterpretation, vr: 'CS', value: 'MONOCHROME2' },
      { tag: TAG.BitsAllocated, vr: 'US', value: 1 },
      { tag: TAG.BitsStored, vr: 'US', value: 1 },
      { tag: TAG.HighBit, vr: 'US', value: 0 },
      { tag: TAG.PixelRepresentation, vr: 'US', value: 0 },
      { tag: TAG.PixelData, vr: 'OB', value: new Uint8Array([0b10110101, 0b01101110, 0b11, 0]) },
    ]);
    const written = readDicom(
      writeDicom({ dataset: small, transferSyntaxUid: '1.2.840.10008.1.2.1' }),
      { name: 'bits.dcm' },
    );
    expect(Array.from(decodeFrame(written, 0).data)).toEqual([1, 0, 1, 0, 1, 1, 0, 1, 0]);
    expect(Array.from(decodeFrame(written, 1).data)).toEqual([1, 1, 1, 0, 1, 1, 0, 1, 1]);
  });
});

describe('stored values of samples whose stored bits do not fill the allocated ones (PS3.5 8.1.1)', () => {
  // 16 bits allocated, 12 stored, High Bit 13: each value is bits 2 to 13 of its sample.
  const raws = [0x0000, 0x3ffc, 0x2000, 0x1ffc, 0xc001, 0xffff];
  const image = (isSigned: boolean) => {
    const bytes = new Uint8Array(raws.length * 2);
    raws.forEach((raw, i) => new DataView(bytes.buffer).setUint16(i * 2, raw, true));
    return dicomDataset([
      { tag: TAG.SOPClassUID, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: TAG.SOPInstanceUID, vr: 'UI', value: '2.25.2' },
      { tag: TAG.Rows, vr: 'US', value: 2 },
      { tag: TAG.Columns, vr: 'US', value: 3 },
      { tag: TAG.SamplesPerPixel, vr: 'US', value: 1 },
      { tag: TAG.PhotometricInterpretation, vr: 'CS', value: 'MONOCHROME2' },
      { tag: TAG.BitsAllocated, vr: 'US', value: 16 },
      { tag: TAG.BitsStored, vr: 'US', value: 12 },
      { tag: TAG.HighBit, vr: 'US', value: 13 },
      { tag: TAG.PixelRepresentation, vr: 'US', value: isSigned ? 1 : 0 },
      { tag: TAG.PixelData, vr: 'OW', value: bytes },
    ]);
  };

  it.each([
    ['explicit VR little endian', '1.2.840.10008.1.2.1'],
    ['explicit VR big endian', '1.2.840.10008.1.2.2'],
  ])('masks and shifts them, and sign-extends signed ones, in %s', (_, uid) => {
    const read = (isSigned: boolean) =>
      decodeFrame(
        readDicom(writeDicom({ dataset: image(isSigned), transferSyntaxUid: uid }), {
          name: 'masked.dcm',
        }),
      ).data;
    const unsigned = read(false);
    expect(unsigned).toBeInstanceOf(Uint16Array);
    expect(Array.from(unsigned)).toEqual([0, 4095, 2048, 2047, 0, 4095]);
    const signed = read(true);
    expect(signed).toBeInstanceOf(Int16Array);
    expect(Array.from(signed)).toEqual([0, -1, -2048, 2047, 0, -1]);
  });
});

describe('8-bit rendering through a VOI window (PS3.3 C.11.2.1.2.1)', () => {
  const linear = (x: number, c: number, w: number) => {
    if (x <= c - 0.5 - (w - 1) / 2) {
      return 0;
    }
    if (x > c - 0.5 + (w - 1) / 2) {
      return 255;
    }
    return Math.round(((x - (c - 0.5)) / (w - 1) + 0.5) * 255);
  };

  it("uses the file's window (MR_small: center 600, width 1600)", () => {
    const file = pydicomFile('MR_small.dcm');
    const rendered = renderFrame8(file);
    expect(rendered.window).toEqual({ center: 600, width: 1600 });
    expect([rendered.width, rendered.height]).toEqual([64, 64]);
    const stored = decodeFrame(file).data;
    for (const i of [0, 1, 2, 100, 2000, 4095]) {
      expect(rendered.data[i]).toBe(linear(stored[i] ?? 0, 600, 1600));
    }
    expect(rendered.data[0]).toBe(176);
  });

  it('uses a given window, clipping below and above it', () => {
    const rendered = renderFrame8(pydicomFile('MR_small.dcm'), 0, {
      window: { center: 1000, width: 200 },
    });
    const stored = decodeFrame(pydicomFile('MR_small.dcm')).data;
    expect(rendered.data[0]).toBe(6); // 905, just inside 900..1100
    expect(rendered.data[4]).toBe(0); // 761 is below the window
    expect(Array.from(rendered.data.subarray(0, 4))).toEqual(
      Array.from(stored.subarray(0, 4)).map((x) => linear(x, 1000, 200)),
    );
    expect(rendered.data[3]).toBe(255); // 1259 is above the window
  });

  it('spans the rescaled range when the file has no window (CT_small), and inverts MONOCHROME1', () => {
    const ct = renderFrame8(pydicomFile('CT_small.dcm'));
    expect(Math.min(...ct.data)).toBe(0);
    expect(Math.max(...ct.data)).toBe(255);
    const bytes = Buffer.from(readFileSync(PYDICOM + 'MR_small.dcm'));
    const at = bytes.indexOf('MONOCHROME2');
    bytes.write('MONOCHROME1', at, 'latin1');
    const inverted = renderFrame8(readDicom(bytes, { name: 'mono1' }));
    const normal = renderFrame8(pydicomFile('MR_small.dcm'));
    expect(Array.from(inverted.data)).toEqual(Array.from(normal.data).map((y) => 255 - y));
  });

  it('refuses a window narrower than 1', () => {
    const error = failureOf(() =>
      renderFrame8(pydicomFile('MR_small.dcm'), 0, { window: { center: 0, width: 0.5 } }),
    );
    expect(error.code).toBe('invalid_dicom');
  });

  it('passes 8-bit RGB through', () => {
    const rendered = renderFrame8(pydicomFile('SC_rgb_rle.dcm'));
    expect(rendered.samplesPerPixel).toBe(3);
    expect(Array.from(rendered.data.subarray(0, 3))).toEqual([255, 0, 0]);
  });
});
