import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TAG } from '../dicom/dictionary.js';
import { readJpegFrameHeader } from '../dicom/jpeg.js';
import { readDicom, type DicomFile } from '../dicom/parse.js';
import { decodeFrame, readImageInfo } from '../dicom/pixels.js';
import { changeDicomDataset, writeDicom } from '../dicom/write.js';
import { FormatError } from '../format-error.js';
import { errorOf } from '../testing/error-of.js';
import { withDnl, withFrame } from '../testing/jpeg-lines.js';
import { decodeJpegSamples } from './libjpeg-turbo.js';
import {
  SequentialJpegError,
  decodeJpegSequential,
  type SequentialJpegExpectation,
} from './sequential.js';

/** Files written by others, shipped by Debian's python3-pydicom (scripts/debian-packages.sh test). */
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';
/** Written by dcmtk's dcmcjpeg and libvips, decoded by dcmdjpeg: fixtures/jpeg-extended/README.md. */
const FIXTURES = new URL('../../fixtures/jpeg-extended/', import.meta.url);

const dicom = (path: string | URL): DicomFile =>
  readDicom(readFileSync(path), { name: String(path) });
const fixture = (name: string) => dicom(new URL(name, FIXTURES));

/** The JPEG stream of frame `index` of a DICOM file (one fragment a frame in these files). */
function streamOf(file: DicomFile, index = 0): Uint8Array {
  const fragment = file.dataset.get(TAG.PixelData)?.encapsulated?.fragments[index];
  if (fragment === undefined) {
    throw new Error(`${file.name} has no fragment ${index}`);
  }
  return fragment.bytes;
}

/** What the DICOM file says its frames are. */
function expectationOf(file: DicomFile): SequentialJpegExpectation {
  const info = readImageInfo(file);
  return {
    width: info.columns,
    height: info.rows,
    components: info.samplesPerPixel,
    colour: info.photometricInterpretation.startsWith('YBR') ? 'ycbcr' : 'none',
  };
}

/** Every frame's samples, decoded by `decodeFrame`, one array after the other. */
function samplesOf(file: DicomFile): number[] {
  const frames = readImageInfo(file).frames;
  return Array.from({ length: frames }, (_, i) => Array.from(decodeFrame(file, i).data)).flat();
}

/** The marker segments before the first SOS: marker, where it starts, where it ends. */
function segmentsOf(stream: Uint8Array): { marker: number; start: number; end: number }[] {
  const segments = [];
  let at = 2;
  while (stream[at + 1] !== 0xda) {
    const end = at + 2 + (((stream[at + 2] ?? 0) << 8) | (stream[at + 3] ?? 0));
    segments.push({ marker: stream[at + 1] ?? 0, start: at, end });
    at = end;
  }
  segments.push({ marker: 0xda, start: at, end: at + 2 + (stream[at + 3] ?? 0) });
  return segments;
}

/** Every marker segment to EOI, scans' data skipped: marker, where it starts, where it ends. */
function segmentsOfAll(stream: Uint8Array): { marker: number; start: number; end: number }[] {
  const segments = [];
  let at = 2;
  while (at + 1 < stream.length && stream[at + 1] !== 0xd9) {
    const marker = stream[at + 1] ?? 0;
    const end = at + 2 + (((stream[at + 2] ?? 0) << 8) | (stream[at + 3] ?? 0));
    segments.push({ marker, start: at, end });
    at = end;
    // After a scan's header, its data runs to the next marker other than RSTn.
    const isData = (i: number) =>
      stream[i] !== 0xff || stream[i + 1] === 0 || ((stream[i + 1] ?? 0) & 0xf8) === 0xd0;
    while (marker === 0xda && at < stream.length && isData(at)) {
      at += 1;
    }
  }
  return segments;
}

function segmentOf(stream: Uint8Array, marker: number) {
  const segment = segmentsOf(stream).find((s) => s.marker === marker);
  if (segment === undefined) {
    throw new Error(`no marker 0xFF${marker.toString(16)}`);
  }
  return segment;
}

function without(stream: Uint8Array, marker: number): Uint8Array {
  const kept = segmentsOf(stream).filter((s) => s.marker === marker);
  return Uint8Array.from(
    stream.filter((_, i) => !kept.some((segment) => i >= segment.start && i < segment.end)),
  );
}

describe('sequential DCT JPEG (processes 1, 2, 4) written by other software', () => {
  // The decoder computes what the IJG library does (its integer IDCT, fancy upsampling and colour
  // tables), so it agrees with dcmdjpeg sample for sample: the bound asserted is 0, where the issue
  // allowed 1 at 8 bits.
  it.each([
    ['mono12.dcm', 'dcmcjpeg +ee, 12-bit, 61 x 45 (partial blocks)'],
    ['mono12-3frame.dcm', 'dcmcjpeg +ee +q 75, 12-bit, 3 frames'],
    ['mono12-restart5.dcm', 'recoded: restart every 5 blocks, 10-bit AC codes'],
    ['mono8.dcm', 'dcmcjpeg +ee, 8-bit SOF1'],
    ['rgb12-422.dcm', 'dcmcjpeg +ee, 12-bit YBR_FULL_422 (2 x 1 luma)'],
    ['rgb12-422-scans-restart2.dcm', 'recoded: one scan per component, restart every 2'],
    ['mono12-progressive.dcm', 'dcmcjpeg +ep, 12-bit SOF2: first scans and refinements, .55'],
    ['mono12-spectral.dcm', 'dcmcjpeg +es, 12-bit SOF2: spectral selection alone, .53'],
    ['rgb12-422-progressive.dcm', 'dcmcjpeg +ep, 12-bit YBR_FULL_422: interleaved DC scans'],
  ])('%s (%s) decodes to what dcmdjpeg gives', (name) => {
    const file = fixture(name);
    const reference = fixture(name.replace('.dcm', '-dcmdjpeg.dcm'));
    const decoded = decodeFrame(file);
    const expected = decodeFrame(reference);
    expect([decoded.rows, decoded.columns, decoded.samplesPerPixel]).toEqual([
      expected.rows,
      expected.columns,
      expected.samplesPerPixel,
    ]);
    expect(decoded.photometricInterpretation).toBe(expected.photometricInterpretation);
    expect(decoded.data.constructor).toBe(expected.data.constructor);
    expect(samplesOf(file)).toEqual(samplesOf(reference));
  });

  it('decodes 4:2:0 colour with restart markers (libvips, SOF0) as dcmdjpeg does', () => {
    const file = fixture('rgb8-420-restart3.dcm');
    const decoded = decodeJpegSequential(streamOf(file), expectationOf(file));
    const reference = decodeFrame(fixture('rgb8-420-restart3-dcmdjpeg.dcm'));
    expect([decoded.width, decoded.height, decoded.components, decoded.precision]).toEqual([
      40, 26, 3, 8,
    ]);
    expect(decoded.samples).toBeInstanceOf(Uint8Array);
    expect(Array.from(decoded.samples)).toEqual(Array.from(reference.data));
  });

  it('decodes progressive 4:2:0 colour with restart markers (libvips, SOF2) as dcmdjpeg does', () => {
    // 8-bit progressive frames go to libjpeg-turbo in decodeFrame; this decoder reads them too.
    const file = fixture('rgb8-420-progressive-restart3.dcm');
    const stream = streamOf(file);
    expect(segmentsOf(stream).map((s) => s.marker)).toContain(0xc2);
    const decoded = decodeJpegSequential(stream, expectationOf(file));
    const reference = decodeFrame(fixture('rgb8-420-progressive-restart3-dcmdjpeg.dcm'));
    expect(decoded.samples).toBeInstanceOf(Uint8Array);
    expect(Array.from(decoded.samples)).toEqual(Array.from(reference.data));
    expect(Array.from(decodeFrame(file).data)).toEqual(Array.from(reference.data));
  });

  it('reads quantization tables of 16-bit entries as their 8-bit twins', () => {
    const file = fixture('mono12.dcm');
    const stream = streamOf(file);
    const dqt = segmentOf(stream, 0xdb);
    const body = stream.subarray(dqt.start + 4, dqt.end);
    expect(body.length).toBe(65); // one 8-bit table
    const wide = [0x10, ...Array.from(body.subarray(1)).flatMap((q) => [0, q])];
    const widened = Uint8Array.from([
      ...stream.subarray(0, dqt.start),
      0xff,
      0xdb,
      0,
      wide.length + 2,
      ...wide,
      ...stream.subarray(dqt.end),
    ]);
    const expected = decodeJpegSequential(stream, expectationOf(file)).samples;
    expect(Array.from(decodeJpegSequential(widened, expectationOf(file)).samples)).toEqual(
      Array.from(expected),
    );
  });

  describe("pydicom's 12-bit files (NEMA WG04's NM1_JPLY and its fixed version)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lantern-jpeg12-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each(['JPGExtended.dcm', 'JPEG-lossy.dcm'])('%s decodes to what dcmdjpeg gives', (name) => {
      // dcmdjpeg warns of JPEG-lossy.dcm's scan header (Ss, Se, Ah, Al) and reads it all the same.
      execFileSync('dcmdjpeg', [PYDICOM + name, join(dir, name)], { stdio: 'ignore' });
      const decoded = decodeFrame(dicom(PYDICOM + name));
      const expected = decodeFrame(dicom(join(dir, name)));
      expect([decoded.rows, decoded.columns]).toEqual([1024, 256]);
      expect([expected.rows, expected.columns]).toEqual([1024, 256]);
      expect(decoded.data).toBeInstanceOf(Uint16Array);
      expect(Array.from(decoded.data)).toEqual(Array.from(expected.data));
    });
  });
});

describe('8-bit frames: this decoder against libjpeg-turbo (WebAssembly), which decodes them in use', () => {
  // 8-bit baseline and progressive frames go to libjpeg-turbo (`../dicom/jpeg.ts`), which is
  // faster (bench/formats/README.md, session 10); this decoder computes the same samples (the same
  // integer IDCT, fancy upsampling and colour tables), so it could take them over. 4:4:0 (1 x 2
  // chroma) is the exception to check first: libjpeg-turbo 2 has a triangle filter for it
  // (jdsample.c h1v2_fancy_upsample) where IJG 6b, whose 12-bit samples this decoder matches,
  // repeats rows; no file here is sampled so.
  it.each([
    [PYDICOM + 'SC_jpeg_no_color_transform.dcm', 'RGB 4:4:4, 256²'],
    [PYDICOM + 'SC_jpeg_no_color_transform_2.dcm', 'RGB 4:4:4, 256²'],
    [PYDICOM + 'SC_rgb_jpeg.dcm', 'RGB 4:4:4, 256²'],
    [PYDICOM + 'SC_rgb_jpeg_app14_dcmd.dcm', 'RGB 4:4:4, Adobe APP14, 256²'],
    [PYDICOM + 'SC_rgb_dcmtk_+eb+cr.dcm', 'RGB 4:4:4, 100², partial MCUs'],
    [PYDICOM + 'SC_rgb_dcmtk_+eb+cy+s4.dcm', 'YBR 4:4:4'],
    [PYDICOM + 'SC_rgb_jpeg_dcmtk.dcm', 'YBR 4:4:4'],
    [PYDICOM + 'SC_rgb_dcmtk_+eb+cy+n2.dcm', 'YBR 4:2:2 (2 x 1 luma)'],
    [PYDICOM + 'SC_rgb_dcmtk_+eb+cy+s2.dcm', 'YBR_FULL_422 4:2:2'],
    [PYDICOM + 'SC_rgb_dcmtk_+eb+cy+n1.dcm', 'YBR 4:2:0 (2 x 2 luma)'],
    [PYDICOM + 'SC_rgb_dcmtk_+eb+cy+np.dcm', 'YBR_FULL_422 4:2:0'],
    [PYDICOM + 'SC_rgb_jpeg_lossy_gdcm.dcm', 'RGB sampled 4:2:0, no conversion'],
    [PYDICOM + 'SC_rgb_small_odd_jpeg.dcm', 'YBR 3 x 3, one partial block'],
    [new URL('mono8.dcm', FIXTURES).pathname, 'grey, SOF1, 40 x 30'],
    [new URL('rgb8-420-restart3.dcm', FIXTURES).pathname, '4:2:0, restart every 3, 40 x 26'],
    [
      new URL('rgb8-420-progressive-restart3.dcm', FIXTURES).pathname,
      'progressive 4:2:0, restarts',
    ],
  ])('%s (%s) decodes to the same samples', (path) => {
    const file = dicom(path);
    const expectation = expectationOf(file);
    const stream = streamOf(file);
    const ours = decodeJpegSequential(stream, expectation);
    const theirs = decodeJpegSamples(
      stream,
      expectation,
      expectation.colour === 'ycbcr' ? 'ycbcr' : 'rgb',
    );
    expect(ours.precision).toBe(8);
    expect(ours.samples).toBeInstanceOf(Uint8Array);
    expect(ours.samples.length).toBe(
      expectation.width * expectation.height * expectation.components,
    );
    expect(Array.from(ours.samples)).toEqual(Array.from(theirs.samples));
  });
});

/**
 * The tests every stream's damage gets: each cut (at and around each segment, and every few
 * bytes) refused with the decoder's own error; each byte zeroed, flipped or set high (every few)
 * refused with it too, or decoded in bounds.
 */
function refusesDamage(stream: Uint8Array, decode: (bytes: Uint8Array) => unknown): void {
  it('refuses every truncation, at each segment and inside the scans, with its own error', () => {
    const cuts = new Set<number>();
    for (const segment of segmentsOfAll(stream)) {
      for (const delta of [0, 1, 2, 3, 4, 5, 9]) {
        cuts.add(segment.start + delta);
      }
    }
    for (let cut = 0; cut < stream.length; cut += 5) {
      cuts.add(cut);
    }
    // The stream ends with EOI, which DICOM may pad with a byte.
    const end = stream.lastIndexOf(0xd9) + 1;
    cuts.add(end - 1);
    cuts.add(end - 2);
    for (const cut of [...cuts].filter((c) => c < end)) {
      expect(
        errorOf(() => decode(stream.subarray(0, cut))),
        `cut at ${cut}`,
      ).toBeInstanceOf(SequentialJpegError);
    }
  });

  it('refuses zeroed, flipped and oversized bytes with its own error or decodes them in bounds', () => {
    for (let at = 2; at < stream.length; at += 3) {
      for (const byte of [0x00, 0xff, 0x7f, 0x10]) {
        const mutant = Uint8Array.from(stream);
        mutant[at] = byte;
        const error = errorOf(() => decode(mutant));
        if (error !== null) {
          expect(error, `byte ${at} = ${byte}`).toBeInstanceOf(SequentialJpegError);
        }
      }
    }
  });
}

describe('sequential DCT JPEG decoder: hostile streams', () => {
  const file = fixture('rgb12-422-scans-restart2.dcm');
  const stream = streamOf(file);
  const expected = expectationOf(file);
  const decode = (bytes: Uint8Array, expectation = expected) =>
    decodeJpegSequential(bytes, expectation);

  refusesDamage(stream, decode);

  it('refuses every declared length past the stream, naming the segment', () => {
    for (const segment of segmentsOf(stream)) {
      const long = Uint8Array.from(stream);
      long[segment.start + 2] = 0xff;
      long[segment.start + 3] = 0xff;
      const error = String(errorOf(() => decode(long)));
      expect(error).toContain(`the segment at byte ${segment.start} declares 65535 bytes`);
    }
  });

  it('names what is wrong in the frame: size, process, precision, sampling, DNL', () => {
    expect(String(errorOf(() => decode(stream, { ...expected, height: 19 })))).toContain(
      'the frame is 36 x 20 x 3, not 36 x 19 x 3',
    );
    const sof = segmentOf(stream, 0xc1);
    const lossless = Uint8Array.from(stream);
    lossless[sof.start + 1] = 0xcb;
    expect(String(errorOf(() => decode(lossless)))).toContain('process 0xCB');
    const sixteen = Uint8Array.from(stream);
    sixteen[sof.start + 4] = 16;
    expect(String(errorOf(() => decode(sixteen)))).toContain('precision is 16 bits');
    const thirds = Uint8Array.from(stream);
    thirds[sof.start + 11] = 0x31; // luma 3 x 1
    thirds[sof.start + 14] = 0x21; // blue 2 x 1: a ratio of 3 to 2
    expect(String(errorOf(() => decode(thirds)))).toContain('not a whole fraction');
    const sos = segmentOf(stream, 0xda);
    const dnl = Uint8Array.from([
      ...stream.subarray(0, sos.start),
      ...[0xff, 0xdc, 0x00, 0x04, 0x00, 0x14],
      ...stream.subarray(sos.start),
    ]);
    expect(String(errorOf(() => decode(dnl)))).toContain('DNL');
  });

  it('names what is wrong in the scans: tables never defined, components in no scan', () => {
    expect(String(errorOf(() => decode(without(stream, 0xc4))))).toContain(
      'Huffman table never defined',
    );
    expect(String(errorOf(() => decode(without(stream, 0xdb))))).toContain(
      'quantization table never defined',
    );
    let lastScan = stream.length - 2;
    while (!(stream[lastScan] === 0xff && stream[lastScan + 1] === 0xda)) {
      lastScan -= 1;
    }
    const twoScans = Uint8Array.from([...stream.subarray(0, lastScan), 0xff, 0xd9]);
    expect(String(errorOf(() => decode(twoScans)))).toContain('component 3 is in no scan');
    const again = Uint8Array.from([
      ...stream.subarray(0, stream.length - 2),
      ...stream.subarray(lastScan),
    ]);
    expect(String(errorOf(() => decode(again)))).toContain('a second time');
  });

  it('refuses codes no table holds, coefficients past the 64th, and missing restart markers', () => {
    const mono = streamOf(fixture('mono12-restart5.dcm'));
    const monoExpected = expectationOf(fixture('mono12-restart5.dcm'));
    const sos = segmentOf(mono, 0xda);
    const withData = (data: number[]) =>
      Uint8Array.from([...mono.subarray(0, sos.end), ...data, 0xff, 0xd9]);
    // The recoded tables give the 16 DC sizes 5-bit codes and the AC symbols 10-bit ones: a run
    // of ones is no code at all.
    expect(
      String(errorOf(() => decode(withData(Array<number>(64).fill(0xfe)), monoExpected))),
    ).toContain('a code no Huffman table has');
    // Size 0 for DC, then four times (run 15, size 1) reaches past coefficient 63.
    const ac = segmentsOf(mono).find(
      (s) => s.marker === 0xc4 && (mono[s.start + 4] ?? 0) >> 4 === 1,
    );
    const symbols = Array.from(mono.subarray((ac?.start ?? 0) + 21, ac?.end));
    const code = symbols.indexOf(0xf1);
    expect(code).toBeGreaterThan(0);
    const bits = '00000' + `${code.toString(2).padStart(10, '0')}1`.repeat(4);
    const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, '1');
    const bytes = Array.from({ length: padded.length / 8 }, (_, i) =>
      parseInt(padded.slice(8 * i, 8 * i + 8), 2),
    ).flatMap((byte) => (byte === 0xff ? [0xff, 0x00] : [byte]));
    expect(String(errorOf(() => decode(withData([...bytes, 0, 0]), monoExpected)))).toContain(
      'past the 64th',
    );
    const rst = mono.findIndex((byte, i) => byte === 0xff && mono[i + 1] === 0xd0);
    const noRestart = Uint8Array.from(mono);
    noRestart[rst + 1] = 0xd3;
    expect(String(errorOf(() => decode(noRestart, monoExpected)))).toContain(
      'restart marker RST0 is missing',
    );
  });

  it.each([
    ['rgb8-arithmetic.dcm', 'cjpeg -arithmetic: SOF9 4:2:0, as .52'],
    [
      'rgb8-arithmetic-progressive-restart2.dcm',
      'cjpeg -arithmetic -progressive -restart 2B: SOF10, as .56',
    ],
    [
      'rgb8-arithmetic-progressive-black-half.dcm',
      'cjpeg -arithmetic -progressive, lower half black: scans whose data ends blocks early',
    ],
  ])('%s (%s) decodes to what djpeg (libjpeg-turbo) gives', (name) => {
    const decoded = decodeFrame(fixture(name));
    expect(decoded.photometricInterpretation).toBe('RGB');
    expect(Array.from(decoded.data)).toEqual(
      Array.from(decodeFrame(fixture(name.replace('.dcm', '-djpeg.dcm'))).data),
    );
  });

  it('refuses a 12-bit stream in a dataset of 8 bits allocated', () => {
    const source = fixture('mono12.dcm');
    const dataset = changeDicomDataset(source.dataset, {
      set: [
        { tag: TAG.BitsAllocated, vr: 'US', value: 8 },
        { tag: TAG.BitsStored, vr: 'US', value: 8 },
        { tag: TAG.HighBit, vr: 'US', value: 7 },
      ],
    });
    const bytes = writeDicom({ dataset, transferSyntaxUid: '1.2.840.10008.1.2.4.51' });
    const error = errorOf(() => decodeFrame(readDicom(bytes, { name: 'mono12 as 8-bit' })));
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).detail).toBe(
      'the JPEG samples have 12 bits, more than Bits Allocated 8',
    );
  });

  it('surfaces through decodeFrame as a FormatError naming the fragment', () => {
    const bytes = Buffer.from(readFileSync(new URL('mono12.dcm', FIXTURES)));
    const fragment = streamOf(readDicom(bytes, { name: 'mono12.dcm' }));
    const start = bytes.indexOf(Buffer.from(fragment.subarray(0, 32)));
    bytes.fill(0x00, start + fragment.length - 600, start + fragment.length);
    const error = errorOf(() => decodeFrame(readDicom(bytes, { name: 'mono12.dcm' })));
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).code).toBe('invalid_dicom');
    expect((error as FormatError).offset).toBe(start);
  });
});

describe('progressive DCT JPEG decoder: hostile streams', () => {
  const file = fixture('rgb12-422-progressive.dcm');
  const stream = streamOf(file);
  const expected = expectationOf(file);
  const decode = (bytes: Uint8Array) => decodeJpegSequential(bytes, expected);
  const segments = segmentsOfAll(stream);
  const scans = segments.filter((s) => s.marker === 0xda);
  /**
   * Where each scan's part of the stream starts and ends: from the end of the scan before (or of
   * the frame header) to the end of its data, the tables defined for it included.
   */
  const ends = scans.map(
    (scan) => segments[segments.indexOf(scan) + 1]?.start ?? stream.length - 2,
  );
  const starts = ends.map((_, i) => ends[i - 1] ?? segmentOf(stream, 0xc2).end);
  /** The stream's frame header, then the scans (with their tables) of `order`, then EOI. */
  const reordered = (order: number[]) =>
    Uint8Array.from([
      ...stream.subarray(0, starts[0]),
      ...order.flatMap((i) => Array.from(stream.subarray(starts[i], ends[i]))),
      0xff,
      0xd9,
    ]);
  /** The stream with scan `index`'s header bytes after its components (Ss, Se, Ah/Al) set. */
  const withBand = (index: number, ss: number, se: number, approximation: number) => {
    const copy = Uint8Array.from(stream);
    const scan = scans[index] ?? { start: 0, end: 0 };
    copy.set([ss, se, approximation], scan.end - 3);
    return copy;
  };

  refusesDamage(stream, decode);

  it('names a bad spectral selection: DC with AC, a band past 63 or backwards, AC of two components', () => {
    // Scan 0: DC of all three components (Al 1); scan 1: AC 1 to 5 of luma (Al 2).
    expect(scans.length).toBe(10);
    for (const [index, ss, se, approximation, components] of [
      [0, 0, 5, 0x01, 3],
      [1, 1, 64, 0x02, 1],
      [1, 6, 5, 0x02, 1],
    ] as const) {
      expect(String(errorOf(() => decode(withBand(index, ss, se, approximation))))).toContain(
        `selects coefficients ${ss} to ${se} of ${components} components (G.1.1.1.1)`,
      );
    }
    expect(String(errorOf(() => decode(withBand(0, 1, 5, 0x01))))).toContain(
      'selects coefficients 1 to 5 of 3 components',
    );
  });

  it('names a bad successive approximation: a refinement of more than one bit, Al past 13', () => {
    expect(String(errorOf(() => decode(withBand(5, 1, 63, 0x20))))).toContain(
      'approximates bits 2 to 0 (Ah, Al; G.1.1.1.2)',
    );
    expect(String(errorOf(() => decode(withBand(0, 0, 0, 0x0e))))).toContain(
      'approximates bits 0 to 14',
    );
  });

  it('names a progression out of order: AC before DC, a refinement skipping a bit, a first scan twice', () => {
    expect(reordered([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual(stream);
    expect(String(errorOf(() => decode(reordered([1, 0, 2, 3, 4, 5, 6, 7, 8, 9]))))).toContain(
      "codes component 1's AC before its DC",
    );
    // Scan 5 refines luma's AC 1 to 63 from bit 2 to bit 1; as Ah 1, Al 0 it skips a bit.
    expect(String(errorOf(() => decode(withBand(5, 1, 63, 0x10))))).toContain(
      'sends bit 0 of coefficient 1 of component 1, after bit 2 (Ah 1)',
    );
    // Scan 1 sends luma's AC 1 to 5 first (to bit 2); again, it is a first scan of what was sent.
    expect(String(errorOf(() => decode(reordered([0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9]))))).toContain(
      'sends bit 2 of coefficient 1 of component 1, after bit 2 (Ah 0)',
    );
  });

  it('refuses a stream whose DC scans are gone, naming the component, and decodes DC alone', () => {
    expect(String(errorOf(() => decode(reordered([1, 2, 3, 4, 5, 7, 8, 9]))))).toContain(
      "codes component 1's AC before its DC",
    );
    expect(String(errorOf(() => decode(reordered([]))))).toContain(
      'component 1 is in no scan of its DC',
    );
    // DC alone (its first scan and its refinement) is a whole, if blurred, image.
    expect(decode(reordered([0, 6])).samples.length).toBe(36 * 20 * 3);
  });
});

describe('frames of 0 lines, defined by DNL (T.81 B.2.5)', () => {
  // libjpeg refuses them ("DNL not supported"), so the reference is the same coded data with
  // the lines in the frame header, as dcmdjpeg decodes it.
  it.each([
    ['mono12.dcm', 'one scan, 12-bit'],
    ['rgb12-422-scans-restart2.dcm', 'DNL after the first of three scans, restart markers'],
    ['rgb12-422-progressive.dcm', 'progressive: DNL after the first DC scan'],
    ['rgb8-420-restart3.dcm', '8-bit baseline, which libjpeg-turbo would refuse'],
  ])('%s (%s) decodes through decodeFrame as its twin does', (name) => {
    const file = fixture(name);
    const stream = withDnl(streamOf(file));
    expect(readJpegFrameHeader(stream)?.height).toBe(0);
    const dnl = readDicom(withFrame(file, stream), { name: `${name} with DNL` });
    const expected = decodeFrame(fixture(name.replace('.dcm', '-dcmdjpeg.dcm'))).data;
    expect(Array.from(decodeFrame(dnl).data)).toEqual(Array.from(expected));
  });

  it('refuses a DNL of other lines than the dataset, a frame of 0 lines without DNL, and a DNL out of place', () => {
    const file = fixture('rgb12-422-scans-restart2.dcm');
    const stream = streamOf(file);
    const expected = expectationOf(file);
    const decode = (bytes: Uint8Array) =>
      String(errorOf(() => decodeJpegSequential(bytes, expected)));
    expect(decode(withDnl(stream, 19))).toMatch(
      /the DNL segment at byte \d+ declares 19 lines, not 20/,
    );
    const dnl = withDnl(stream);
    const at = dnl.findIndex((byte, i) => byte === 0xff && dnl[i + 1] === 0xdc);
    const withoutDnl = Uint8Array.from([...dnl.subarray(0, at), ...dnl.subarray(at + 6)]);
    expect(decode(withoutDnl)).toContain(
      `the frame declares 0 lines and its first scan is not followed by DNL (FFDC) at byte ${at}`,
    );
    const long = Uint8Array.from(dnl);
    long[at + 3] = 5;
    expect(decode(long)).toContain(`the DNL segment at byte ${at} is not 4 bytes long`);
    expect(decode(dnl.subarray(0, at + 5))).toContain('is cut short');
    // A DNL after a frame header that has its lines (the source stream, a DNL added).
    const stray = Uint8Array.from([
      ...stream.subarray(0, at),
      ...dnl.subarray(at, at + 6),
      ...stream.subarray(at),
    ]);
    expect(decode(stray)).toContain(
      `a DNL marker at byte ${at}, not after the first scan of a frame of 0 lines`,
    );
  });
});

describe('arithmetic-coded DCT JPEG decoder: hostile streams', () => {
  const file = fixture('rgb8-arithmetic-progressive-restart2.dcm');
  const stream = streamOf(file);
  const expected = expectationOf(file);
  const decode = (bytes: Uint8Array) => decodeJpegSequential(bytes, expected);

  refusesDamage(stream, decode);

  // A scan cut short with its marker put back cannot be told from a complete one in arithmetic
  // coding, so it is not refused: at a marker the decoder reads zeros (T.81 D.2.6), and encoders
  // drop the zero bytes that end a scan's code (libjpeg's jcarith.c), so complete files meet their
  // marker with blocks still to decode. Those of this folder do: rgb8-arithmetic.dcm in its last
  // MCU, the first restart interval of each rgb8-arithmetic-progressive-restart2.dcm scan in its
  // last, three of black-half's luma scans with 25 to 27 of their 48 blocks left; they decode as
  // djpeg does (above). The prefix of a scan followed by zeros is a complete code of other samples; libjpeg's
  // jdarith.c accepts it without a warning. What is checked: it decodes within the frame's bounds.
  describe('a scan cut short with its marker put back', () => {
    const blackHalf = fixture('rgb8-arithmetic-progressive-black-half.dcm');
    const whole = streamOf(blackHalf);
    const frame = expectationOf(blackHalf);
    const scans = segmentsOfAll(whole).filter((segment) => segment.marker === 0xda);
    /** Where each scan's data ends: the next segment's start (or EOI). */
    const dataEnds = scans.map((scan) => {
      const after = segmentsOfAll(whole).find((segment) => segment.start > scan.end);
      return after?.start ?? whole.lastIndexOf(0xd9) - 1;
    });
    const spliced = (cut: number, end: number, fill = 0) =>
      Uint8Array.from([...whole.subarray(0, cut), ...new Uint8Array(fill), ...whole.subarray(end)]);

    it('decodes as the marker does with zero bytes before it: the zeros a marker stands for', () => {
      const samples = decodeJpegSequential(whole, frame).samples;
      for (const end of dataEnds) {
        expect(decodeJpegSequential(spliced(end, end, 9), frame).samples).toEqual(samples);
      }
    });

    it('decodes within the frame or fails with its own error, never reading past its data', () => {
      for (const [i, scan] of scans.entries()) {
        const end = dataEnds[i] ?? whole.length;
        for (let cut = scan.end; cut < end; cut += 3) {
          const error = errorOf(() => {
            const decoded = decodeJpegSequential(spliced(cut, end), frame);
            expect([decoded.width, decoded.height, decoded.samples.length]).toEqual([
              frame.width,
              frame.height,
              frame.width * frame.height * frame.components,
            ]);
          });
          if (error !== null) {
            expect(error, `scan ${i} cut at ${cut}`).toBeInstanceOf(SequentialJpegError);
          }
        }
      }
    });
  });

  it('names bad conditioning (DAC): L above U, Kx out of 1 to 63, another class', () => {
    const dac = segmentOf(stream, 0xcc);
    // cjpeg writes DC tables 0 and 1's conditioning (L 0, U 1) before the first scan.
    expect(Array.from(stream.subarray(dac.start + 4, dac.end))).toEqual([0x00, 0x10, 0x01, 0x10]);
    for (const [bytes, message] of [
      [[0x00, 0x12], 'sets 18 for table 0'],
      [[0x10, 0x00], 'sets 0 for table 0'],
      [[0x10, 0x40], 'sets 64 for table 0'],
      [[0x20, 0x05], 'is of class 2, id 0'],
    ] as const) {
      const bad = Uint8Array.from(stream);
      bad.set(bytes, dac.start + 4);
      expect(String(errorOf(() => decode(bad)))).toContain(message);
    }
  });
});
