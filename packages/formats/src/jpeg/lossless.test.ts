import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeFrame, readImageInfo, type PixelArray } from '../dicom/pixels.js';
import { TAG } from '../dicom/dictionary.js';
import { readDicom, type DicomFile } from '../dicom/parse.js';
import { FormatError } from '../format-error.js';
import { LosslessJpegError, decodeJpegLossless } from './lossless.js';
import { errorOf } from '../testing/error-of.js';
import { withDnl, withFrame } from '../testing/jpeg-lines.js';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';
/** Written by dcmtk 3.6.7 (`dcmcjpeg +el +sv N`) from pydicom test files: fixtures/jpeg-lossless/README.md. */
const FIXTURES = new URL('../../fixtures/jpeg-lossless/', import.meta.url);

const dicom = (path: string | URL): DicomFile =>
  readDicom(readFileSync(path), { name: String(path) });
const fixture = (name: string) => dicom(new URL(name, FIXTURES));

function frames(file: DicomFile): PixelArray[] {
  return Array.from({ length: readImageInfo(file).frames }, (_, i) => decodeFrame(file, i).data);
}

/** The JPEG stream of a DICOM file's first frame. */
function streamOf(file: DicomFile): Uint8Array {
  const fragment = file.dataset.get(TAG.PixelData)?.encapsulated?.fragments[0];
  if (fragment === undefined) {
    throw new Error(`${file.name} has no fragment`);
  }
  return fragment.bytes;
}

describe('lossless JPEG (process 14) written by other software', () => {
  it.each([
    ...[1, 2, 3, 4, 5, 6, 7].map((sv) => [`mr-sv${sv}.dcm`, 'MR_small.dcm']),
    ['ct-sv6.dcm', 'CT_small.dcm'],
    ['rgb-sv1.dcm', 'SC_rgb_rle.dcm'],
    ['rgb-sv7.dcm', 'SC_rgb_rle.dcm'],
    ['rgb16-2frame-sv4.dcm', 'SC_rgb_rle_16bit_2frame.dcm'],
  ])('%s (dcmcjpeg) equals its source %s sample for sample', (name, source) => {
    const decoded = frames(fixture(name));
    const expected = frames(dicom(PYDICOM + source));
    expect(decoded.length).toBe(expected.length);
    for (const [i, frame] of decoded.entries()) {
      expect(frame.constructor).toBe(expected[i]?.constructor);
      expect(Array.from(frame)).toEqual(Array.from(expected[i] ?? []));
    }
  });

  it("GDCM's SC_rgb_jpeg_gdcm.dcm equals the RLE twin", () => {
    expect(Array.from(frames(dicom(PYDICOM + 'SC_rgb_jpeg_gdcm.dcm'))[0] ?? [])).toEqual(
      Array.from(frames(dicom(PYDICOM + 'SC_rgb_rle.dcm'))[0] ?? []),
    );
  });

  it('decodes frames of 0 lines whose DNL says how many (T.81 B.2.5), as their twins with the lines in SOF', () => {
    for (const name of ['mr-sv1.dcm', 'rgb-sv7.dcm']) {
      const file = fixture(name);
      const stream = withDnl(streamOf(file));
      const dnl = readDicom(withFrame(file, stream), { name: `${name} with DNL` });
      expect(Array.from(decodeFrame(dnl).data)).toEqual(Array.from(decodeFrame(file).data));
      // Without a height to expect, the decoder does not guess one from the data.
      expect(String(errorOf(() => decodeJpegLossless(stream)))).toContain(
        'the frame declares 0 lines (to be defined by DNL) and no height is expected',
      );
      const info = readImageInfo(file);
      const other = { width: info.columns, height: info.rows, components: info.samplesPerPixel };
      expect(
        String(errorOf(() => decodeJpegLossless(withDnl(streamOf(file), 7), other))),
      ).toContain(`declares 7 lines, not ${info.rows}`);
    }
  });

  it('restores a point transform as zeros in the low bits (dcmcjpeg +pt 3)', () => {
    const shifted = frames(fixture('mr-sv1-pt3.dcm'))[0] ?? [];
    const source = frames(dicom(PYDICOM + 'MR_small.dcm'))[0] ?? [];
    expect(shifted.length).toBe(4096);
    expect(Array.from(shifted)).toEqual(Array.from(source, (value) => (value >> 3) << 3));
  });
});

/**
 * A small lossless JPEG encoder, written from T.81 Annex H for these tests only: restart intervals
 * and one scan per component, which the fixtures do not exercise, and codes longer than 9 bits.
 */
interface EncodeOptions {
  width: number;
  height: number;
  components: number;
  precision: number;
  predictor: number;
  pointTransform?: number;
  /** Restart every this many rows (0: none). */
  restartRows?: number;
  /** One scan per component instead of one interleaved scan. */
  separateScans?: boolean;
  /** Codes of 10 bits for every non-zero size (the decoder's slow path). */
  longCodes?: boolean;
}

function encodeLossless(samples: Uint16Array, options: EncodeOptions): Uint8Array {
  const { width, height, components, precision, predictor } = options;
  const pt = options.pointTransform ?? 0;
  const out: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]) =>
    out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  const frame = [precision, height >> 8, height & 255, width >> 8, width & 255, components];
  for (let c = 0; c < components; c += 1) {
    frame.push(c + 1, 0x11, 0);
  }
  segment(0xc3, frame);
  // Each size s gets a code of `lengths[s]` bits, assigned canonically.
  const lengths = options.longCodes
    ? [1, ...Array<number>(16).fill(10)]
    : Array<number>(17).fill(5);
  const counts = Array<number>(16).fill(0);
  const order = [...lengths.keys()].sort((a, b) => (lengths[a] ?? 0) - (lengths[b] ?? 0));
  for (const size of order) {
    const at = (lengths[size] ?? 1) - 1;
    counts[at] = (counts[at] ?? 0) + 1;
  }
  segment(0xc4, [0x00, ...counts, ...order]);
  const codes = new Map<number, [number, number]>();
  let code = 0;
  let previous = lengths[order[0] ?? 0] ?? 1;
  for (const size of order) {
    const length = lengths[size] ?? 1;
    code <<= length - previous;
    previous = length;
    codes.set(size, [code, length]);
    code += 1;
  }
  const rowsPerInterval = options.restartRows ?? 0;
  if (rowsPerInterval > 0) {
    segment(0xdd, [(rowsPerInterval * width) >> 8, (rowsPerInterval * width) & 255]);
  }
  const scans = options.separateScans
    ? Array.from({ length: components }, (_, c) => [c])
    : [Array.from({ length: components }, (_, c) => c)];
  const value = (x: number, y: number, c: number) =>
    (samples[(y * width + x) * components + c] ?? 0) >> pt;
  for (const scan of scans) {
    segment(0xda, [scan.length, ...scan.flatMap((c) => [c + 1, 0x00]), predictor, 0, pt]);
    let bits = 0;
    let count = 0;
    const put = (word: number, length: number) => {
      for (let i = length - 1; i >= 0; i -= 1) {
        bits = (bits << 1) | ((word >> i) & 1);
        count += 1;
        if (count === 8) {
          out.push(bits);
          if (bits === 0xff) {
            out.push(0);
          }
          bits = 0;
          count = 0;
        }
      }
    };
    const flush = () => {
      if (count > 0) {
        put((1 << (8 - count)) - 1, 8 - count);
      }
    };
    let restarts = 0;
    for (let y = 0; y < height; y += 1) {
      const intervalStart = y === 0 || (rowsPerInterval > 0 && y % rowsPerInterval === 0);
      if (y > 0 && intervalStart) {
        flush();
        out.push(0xff, 0xd0 + (restarts % 8));
        restarts += 1;
      }
      for (let x = 0; x < width; x += 1) {
        for (const c of scan) {
          const a = x > 0 ? value(x - 1, y, c) : 0;
          const b = y > 0 ? value(x, y - 1, c) : 0;
          const d = x > 0 && y > 0 ? value(x - 1, y - 1, c) : 0;
          let prediction: number;
          if (intervalStart) {
            prediction = x === 0 ? 1 << (precision - pt - 1) : a;
          } else if (x === 0) {
            prediction = b;
          } else {
            prediction = [a, b, d, a + b - d, a + ((b - d) >> 1), b + ((a - d) >> 1), (a + b) >> 1][
              predictor - 1
            ] as number;
          }
          let difference = (value(x, y, c) - prediction) & 0xffff;
          if (difference >= 32768) {
            difference -= 65536;
          }
          const size =
            difference === -32768
              ? 16
              : difference === 0
                ? 0
                : 32 - Math.clz32(Math.abs(difference));
          const [huffman, length] = codes.get(size) ?? [0, 0];
          put(huffman, length);
          if (size > 0 && size < 16) {
            put(difference > 0 ? difference : difference + (1 << size) - 1, size);
          }
        }
      }
    }
    flush();
  }
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

/** Seeded noise with edges and extremes (so differences of every size, 16 included). */
function noise(length: number, precision: number, seed: number): Uint16Array {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state >>> 8;
  };
  const max = (1 << precision) - 1;
  return Uint16Array.from({ length }, (_, i) =>
    i % 17 === 0 ? (i % 34 === 0 ? 0 : max) : next() & max,
  );
}

describe('lossless JPEG decoder: restart intervals, scans, codes', () => {
  const cases: EncodeOptions[] = [];
  for (const predictor of [1, 2, 3, 4, 5, 6, 7]) {
    cases.push({ width: 13, height: 11, components: 1, precision: 16, predictor });
    cases.push({ width: 9, height: 7, components: 3, precision: 8, predictor, restartRows: 2 });
  }
  cases.push({
    width: 10,
    height: 9,
    components: 3,
    precision: 12,
    predictor: 6,
    separateScans: true,
  });
  cases.push({ width: 8, height: 8, components: 1, precision: 16, predictor: 4, longCodes: true });
  cases.push({
    width: 8,
    height: 6,
    components: 2,
    precision: 10,
    predictor: 7,
    pointTransform: 2,
    restartRows: 3,
    separateScans: true,
  });

  it.each(cases)('decodes what the encoder wrote: %o', (options) => {
    const samples = noise(
      options.width * options.height * options.components,
      options.precision,
      7,
    );
    const stream = encodeLossless(samples, options);
    const decoded = decodeJpegLossless(stream, options);
    const pt = options.pointTransform ?? 0;
    expect(decoded.samples.constructor).toBe(options.precision > 8 ? Uint16Array : Uint8Array);
    expect(Array.from(decoded.samples)).toEqual(Array.from(samples, (v) => (v >> pt) << pt));
  });
});

describe('lossless JPEG decoder: hostile streams', () => {
  const stream = streamOf(fixture('rgb-sv7.dcm'));

  it('refuses every truncation with a LosslessJpegError, never a hang or another error', () => {
    for (let cut = 0; cut < stream.length - 2; cut += 37) {
      const error = errorOf(() => decodeJpegLossless(stream.subarray(0, cut)));
      expect(error).toBeInstanceOf(LosslessJpegError);
    }
  });

  it('refuses zeroed, flipped and oversized data with a typed error or decodes it in bounds', () => {
    for (let at = 2; at < 200; at += 3) {
      for (const byte of [0x00, 0xff, 0x7f]) {
        const mutant = Uint8Array.from(stream);
        mutant[at] = byte;
        const error = errorOf(() =>
          decodeJpegLossless(mutant, { width: 100, height: 100, components: 3 }),
        );
        if (error !== null) {
          expect(error).toBeInstanceOf(LosslessJpegError);
        }
      }
    }
  });

  it('names what is wrong: size disagreement, other processes, lengths past the end, no tables', () => {
    expect(
      String(errorOf(() => decodeJpegLossless(stream, { width: 100, height: 99, components: 3 }))),
    ).toContain('the frame is 100 x 100 x 3, not 100 x 99 x 3');
    const baseline = Uint8Array.from(stream);
    baseline[baseline.indexOf(0xc3, 2)] = 0xc0;
    expect(String(errorOf(() => decodeJpegLossless(baseline)))).toContain('not lossless');
    const long = Uint8Array.from([0xff, 0xd8, 0xff, 0xc4, 0xff, 0xf0, 0x00]);
    expect(String(errorOf(() => decodeJpegLossless(long)))).toContain("past the stream's end");
    const samples = noise(16, 8, 1);
    const plain = encodeLossless(samples, {
      width: 4,
      height: 4,
      components: 1,
      precision: 8,
      predictor: 1,
    });
    const dht = plain.indexOf(0xc4, 2) - 1;
    const withoutTable = Uint8Array.from([
      ...plain.subarray(0, dht),
      ...plain.subarray(dht + 2 + (((plain[dht + 2] ?? 0) << 8) | (plain[dht + 3] ?? 0))),
    ]);
    expect(String(errorOf(() => decodeJpegLossless(withoutTable)))).toContain('never defined');
  });

  it('surfaces through decodeFrame as a FormatError', () => {
    const bytes = Buffer.from(readFileSync(new URL('rgb-sv1.dcm', FIXTURES)));
    const file = readDicom(bytes, { name: 'rgb-sv1.dcm' });
    const fragment = streamOf(file);
    const start = bytes.indexOf(Buffer.from(fragment.subarray(0, 32)));
    bytes.fill(0x00, start + fragment.length - 400, start + fragment.length);
    const error = errorOf(() => decodeFrame(readDicom(bytes, { name: 'rgb-sv1.dcm' })));
    expect(error).toBeInstanceOf(FormatError);
  });
});
