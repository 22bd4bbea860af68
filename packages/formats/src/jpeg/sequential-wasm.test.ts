import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TAG } from '../dicom/dictionary.js';
import { readJpegFrameHeader } from '../dicom/jpeg.js';
import { readDicom, type DicomFile } from '../dicom/parse.js';
import { readImageInfo } from '../dicom/pixels.js';
import { errorOf } from '../testing/error-of.js';
import { withTwelveBits } from '../testing/jpeg-lines.js';
import {
  JpegCodecError,
  decodeJpegSamples,
  decodeJpegSamplesWithLibjpegTurbo,
  encodeJpegRgb,
  type JpegColourSpace,
} from './libjpeg-turbo.js';
import { LosslessJpegError, decodeJpegLosslessInJs } from './lossless.js';
import { SequentialJpegError, decodeJpegSequentialInJs } from './sequential.js';
import {
  decodeSequentialWasm,
  dropInstanceForTesting,
  type WasmDecodedJpeg,
  type WasmJpegColour,
  type WasmJpegFlavour,
} from './sequential-wasm.js';

/** Files written by others, shipped by Debian's python3-pydicom (scripts/debian-packages.sh test). */
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';
const FIXTURES = new URL('../../fixtures/jpeg-extended/', import.meta.url);
const ROOT = new URL('../../../../', import.meta.url);

type Size = { width: number; height: number; components: number };

/** A DICOM file, or null for the test files that are damaged on purpose (MR_truncated.dcm). */
function readable(path: string): DicomFile | null {
  try {
    return readDicom(readFileSync(path), { name: path });
  } catch {
    return null;
  }
}

/**
 * Every JPEG frame (one fragment each, as in these files) of pydicom's test files and of the
 * fixtures in `dir` whose first frame header's process `accept` takes.
 */
function* jpegFrames(dir: URL, accept: (process: number) => boolean) {
  const paths = [
    ...readdirSync(PYDICOM).map((name) => PYDICOM + name),
    ...readdirSync(dir).map((name) => new URL(name, dir).pathname),
  ].filter((path) => path.endsWith('.dcm'));
  for (const path of paths) {
    const file = readable(path);
    const fragments = file?.dataset.get(TAG.PixelData)?.encapsulated?.fragments ?? [];
    const header = fragments[0] === undefined ? null : readJpegFrameHeader(fragments[0].bytes);
    if (file === null || header === null || !accept(header.process)) {
      continue;
    }
    const info = readImageInfo(file);
    const size = { width: info.columns, height: info.rows, components: info.samplesPerPixel };
    for (const fragment of fragments.slice(0, info.frames)) {
      yield { path, stream: fragment.bytes, size, info };
    }
  }
}

/** The luma's sampling factors (H x V) of a stream's frame. */
function samplingOf(stream: Uint8Array): string {
  const sof = stream.findIndex((byte, i) => byte === 0xff && (stream[i + 1] ?? 0) >> 1 === 0x60);
  const factors = stream[sof + 11] ?? 0;
  return `${factors >> 4}x${factors & 15}`;
}

/** Sampling that libjpeg-turbo's npm build (TurboJPEG) refuses to decode. */
const ijgOnly = new Set(['4x2', '3x1']);

/** The WebAssembly decoder against the decoders it stands in for, on one stream. */
function expectSameAsBefore(stream: Uint8Array, size: Size, isYcbcr: boolean, label: string) {
  const ijg = decodeSequentialWasm(
    stream,
    size,
    { colour: isYcbcr ? 'ycbcr' : 'as-coded', flavour: 'ijg' },
    SequentialJpegError,
  );
  expect(ijg, `${label}: decoded, not left to the JavaScript decoder`).not.toBeNull();
  const js = decodeJpegSequentialInJs(stream, { ...size, colour: isYcbcr ? 'ycbcr' : 'none' });
  expect(ijg?.precision, label).toBe(js.precision);
  expect(ijg?.samples.constructor, label).toBe(js.samples.constructor);
  expect(Array.from(ijg?.samples ?? []), `${label}: as sequential.ts`).toEqual(
    Array.from(js.samples),
  );
  if (js.precision !== 8) {
    return;
  }
  const colours: JpegColourSpace[] = size.components === 3 ? ['ycbcr', 'rgb', 'auto'] : ['auto'];
  for (const colour of colours) {
    const wasmColour: WasmJpegColour = colour === 'rgb' ? 'as-coded' : colour;
    const options = { colour: wasmColour, flavour: 'libjpeg-turbo' } as const;
    const ours = decodeSequentialWasm(stream, size, options, JpegCodecError);
    expect(ours, `${label} (${colour}): decoded, not left to libjpeg-turbo`).not.toBeNull();
    const theirs = errorOf(() => decodeJpegSamplesWithLibjpegTurbo(stream, size, colour));
    if (theirs instanceof JpegCodecError && ijgOnly.has(samplingOf(stream))) {
      // TurboJPEG refuses sampling it has no name for (4 x 2, 3 x 1); the IJG library upsamples
      // it by repeating samples (jdsample.c int_upsample), as this decoder does in both flavours.
      const repeated = decodeSequentialWasm(
        stream,
        size,
        { colour: wasmColour, flavour: 'ijg' },
        SequentialJpegError,
      );
      expect(Array.from(ours?.samples ?? []), label).toEqual(Array.from(repeated?.samples ?? []));
      continue;
    }
    expect(Array.from(ours?.samples ?? []), `${label} (${colour}): as libjpeg-turbo`).toEqual(
      Array.from(decodeJpegSamplesWithLibjpegTurbo(stream, size, colour).samples),
    );
  }
}

describe('the WebAssembly JPEG decoder: its build', () => {
  it('is committed as scripts/build-wasm.sh builds it from native/jpeg/decode.c and encode.c', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lantern-wasm-'));
    try {
      const out = join(dir, 'module.ts');
      execFileSync(new URL('scripts/build-wasm.sh', ROOT).pathname, [out], { stdio: 'pipe' });
      const committed = new URL('sequential-wasm.generated.ts', import.meta.url);
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(committed, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the WebAssembly JPEG decoder: the same samples as the decoders it stands in for', () => {
  it("decodes every sequential frame of pydicom's files and the fixtures as before", () => {
    let frames = 0;
    for (const { path, stream, size, info } of jpegFrames(FIXTURES, (p) => p <= 0xc1)) {
      expectSameAsBefore(stream, size, info.photometricInterpretation.startsWith('YBR'), path);
      frames += 1;
    }
    // 12 8-bit files of pydicom's and its 2 12-bit ones, 6 of the fixtures (8 frames).
    expect(frames).toBeGreaterThanOrEqual(20);
  });

  it("decodes every lossless frame of pydicom's files and the lossless fixtures as lossless.ts", () => {
    const lossless = new URL('../../fixtures/jpeg-lossless/', import.meta.url);
    const options = { colour: 'as-coded', flavour: 'lossless' } as const;
    let frames = 0;
    for (const { path, stream, size } of jpegFrames(lossless, (p) => p === 0xc3)) {
      const ours = decodeSequentialWasm(stream, size, options, LosslessJpegError);
      const theirs = decodeJpegLosslessInJs(stream, size);
      expect(ours?.precision, path).toBe(theirs.precision);
      expect(ours?.samples.constructor, path).toBe(theirs.samples.constructor);
      expect(Array.from(ours?.samples ?? []), path).toEqual(Array.from(theirs.samples));
      frames += 1;
    }
    // pydicom's SC_rgb_jpeg_gdcm.dcm and the fixtures' 13 frames (predictors 1 to 7, 8 and 16 bits).
    expect(frames).toBeGreaterThanOrEqual(14);
  });

  it('gives zeros for a lossless component no scan codes, not what an earlier frame left', () => {
    const fixture = new URL('../../fixtures/jpeg-lossless/rgb-sv1.dcm', import.meta.url);
    const file = readDicom(readFileSync(fixture), { name: 'rgb-sv1.dcm' });
    const stream = file.dataset.get(TAG.PixelData)?.encapsulated?.fragments[0]?.bytes;
    const size = { width: 100, height: 100, components: 3 };
    const options = { colour: 'as-coded', flavour: 'lossless' } as const;
    const whole = Uint8Array.from(stream ?? []);
    const sos = whole.findIndex((byte, i) => byte === 0xff && whole[i + 1] === 0xda);
    // The scan header of its three components cut to the first: Ns 1, then Ss, Se, Ah/Al.
    const header = whole.subarray(sos + 4, sos + 4 + 10);
    const first = Uint8Array.from([
      ...whole.subarray(0, sos),
      ...[0xff, 0xda, 0, 8, 1, header[1] ?? 0, header[2] ?? 0],
      ...header.subarray(7, 10),
      ...whole.subarray(sos + 14),
    ]);
    expect(decodeSequentialWasm(whole, size, options, LosslessJpegError)).not.toBeNull();
    const ours = decodeSequentialWasm(first, size, options, LosslessJpegError);
    const theirs = decodeJpegLosslessInJs(first, size).samples;
    expect(Array.from(ours?.samples ?? [])).toEqual(Array.from(theirs));
    expect(theirs.filter((_, i) => i % 3 !== 0).every((sample) => sample === 0)).toBe(true);
  });

  it('decodes what encodeJpegRgb writes, at qualities from 1 to 100, as before', () => {
    for (const [width, height, noiseBits] of [
      [64, 48, 0],
      [61, 45, 0],
      [61, 45, 8],
      [5, 3, 8],
    ] as const) {
      const rgb = testImage(width, height, 3, width, noiseBits);
      for (const quality of [1, 5, 10, 25, 50, 75, 90, 95, 100]) {
        const stream = encodeJpegRgb(rgb, width, height, quality);
        expectSameAsBefore(stream, { width, height, components: 3 }, true, `q${quality}`);
      }
    }
  });

  describe("cjpeg's streams (libjpeg-turbo-progs), and in 12-bit frames: sampling, restarts, optimized tables, RGB, grey", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lantern-cjpeg-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each(
      [
        ['-sample', '1x1'],
        ['-sample', '2x1'],
        ['-sample', '2x2'],
        ['-sample', '4x1'],
        ['-sample', '4x2'],
        ['-sample', '3x1'],
        ['-sample', '2x2', '-restart', '1'],
        ['-sample', '2x1', '-restart', '3B', '-optimize'],
        ['-optimize', '-sample', '1x1'],
        ['-rgb'],
        ['-grayscale'],
        ['-grayscale', '-restart', '2B', '-optimize'],
      ].map((args) => [args.join(' '), args] as const),
    )('cjpeg %s decodes as before at qualities 3 to 100, at 8 and 12 bits', (_, args) => {
      for (const [width, height] of [
        [61, 45],
        [100, 37],
        [5, 3],
      ] as const) {
        const grey = args.includes('-grayscale');
        const image = testImage(width, height, grey ? 1 : 3, width + height);
        for (const quality of [3, 30, 75, 98, 100]) {
          const stream = cjpeg(image, width, height, grey, ['-quality', String(quality), ...args]);
          const size = { width, height, components: grey ? 1 : 3 };
          const label = `${args.join(' ')} q${quality}`;
          expectSameAsBefore(stream, size, !args.includes('-rgb'), label);
          expectSameAsBefore(
            withTwelveBits(stream),
            size,
            !args.includes('-rgb'),
            `${label}, 12-bit`,
          );
        }
      }
    });

    it('leaves to the other decoders what they read and it does not', () => {
      const image = testImage(40, 24, 3, 7);
      const size = { width: 40, height: 24, components: 3 };
      const turbo = { colour: 'ycbcr', flavour: 'libjpeg-turbo' } as const;
      const ijg = { colour: 'ycbcr', flavour: 'ijg' } as const;
      for (const args of [['-progressive'], ['-arithmetic']]) {
        const stream = cjpeg(image, 40, 24, false, args);
        expect(decodeSequentialWasm(stream, size, turbo, JpegCodecError)).toBeNull();
        expect(decodeSequentialWasm(stream, size, ijg, SequentialJpegError)).toBeNull();
      }
      // 1 x 2 chroma: libjpeg-turbo filters it (h1v2_fancy_upsample), IJG 6b repeats its rows.
      const tall = cjpeg(image, 40, 24, false, ['-sample', '1x2']);
      expect(decodeSequentialWasm(tall, size, turbo, JpegCodecError)).toBeNull();
      expect(Array.from(decodeJpegSamples(tall, size, 'ycbcr').samples)).toEqual(
        Array.from(decodeJpegSamplesWithLibjpegTurbo(tall, size, 'ycbcr').samples),
      );
      expect(
        Array.from(decodeSequentialWasm(tall, size, ijg, SequentialJpegError)?.samples ?? []),
      ).toEqual(Array.from(decodeJpegSequentialInJs(tall, { ...size, colour: 'ycbcr' }).samples));
      // 12-bit frames are not libjpeg-turbo's (its npm build reads 8 bits).
      const mono12 = readDicom(readFileSync(new URL('mono12.dcm', FIXTURES)), { name: 'mono12' });
      const stream = mono12.dataset.get(TAG.PixelData)?.encapsulated?.fragments[0]?.bytes;
      const mono = { width: 61, height: 45, components: 1 };
      expect(
        decodeSequentialWasm(stream ?? new Uint8Array(0), mono, turbo, JpegCodecError),
      ).toBeNull();
    });
  });
});

describe("the WebAssembly JPEG decoder: an earlier frame's memory never reaches a later frame's samples", () => {
  // An instance decodes call after call in memory it does not clear (decode.c gives its bump heap
  // back whole at the start of each call), so a smaller frame's planes, rows and samples lie where
  // a larger one's stream and planes were. Decoded right after a larger frame by the same instance,
  // a smaller one must come out as a fresh instance decodes it: any sample the decoder reads
  // without having written it this call would differ (a fresh instance's memory is zeros).
  const dir = mkdtempSync(join(tmpdir(), 'lantern-stale-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const oneScanEach = join(dir, 'one-scan-per-component.txt');
  writeFileSync(oneScanEach, '0;\n1;\n2;\n'); // cjpeg -scans: each component alone (A.2.2)

  interface Frame {
    label: string;
    stream: Uint8Array;
    size: Size;
    precision: number;
  }

  /** cjpeg's stream of a test image, or its coded data in a 12-bit frame. */
  function made(width: number, height: number, args: string[], precision = 8): Frame {
    const grey = args.includes('-grayscale');
    const components = grey ? 1 : 3;
    const image = testImage(width, height, components, width * height);
    const stream = cjpeg(image, width, height, grey, args);
    return {
      // The scan script by its name, not its temporary folder.
      label: `${width} x ${height} cjpeg ${args.map((arg) => basename(arg)).join(' ')}${precision === 12 ? ', 12-bit' : ''}`,
      stream: precision === 12 ? withTwelveBits(stream) : stream,
      size: { width, height, components },
      precision,
    };
  }

  /** The first frame of one of the fixtures (dcmtk's 12-bit streams). */
  function fixture(name: string): Frame {
    const file = readDicom(readFileSync(new URL(name, FIXTURES)), { name });
    const info = readImageInfo(file);
    return {
      label: name,
      stream:
        file.dataset.get(TAG.PixelData)?.encapsulated?.fragments[0]?.bytes ?? new Uint8Array(),
      size: { width: info.columns, height: info.rows, components: info.samplesPerPixel },
      precision: info.bitsStored,
    };
  }

  // Large frames of dense data (quality 95 on noise), not whole MCUs wide or high, and small
  // frames of every shape, among them components and sampling the large one before had not.
  const large = {
    colour420: made(643, 487, ['-quality', '95', '-sample', '2x2']),
    colour444: made(643, 487, ['-quality', '95', '-sample', '1x1', '-restart', '1']),
    colour422: made(643, 487, ['-quality', '95', '-sample', '2x1']),
    grey: made(643, 487, ['-quality', '95', '-grayscale']),
    colour420At12: made(643, 487, ['-quality', '95', '-sample', '2x2'], 12),
    greyAt12: made(643, 487, ['-quality', '95', '-grayscale'], 12),
  };
  const pairs: [Frame, Frame][] = [
    [large.colour420, made(61, 45, ['-quality', '75', '-sample', '1x1'])],
    [large.colour444, made(37, 29, ['-quality', '75', '-sample', '2x2', '-restart', '1B'])],
    [large.grey, made(61, 45, ['-quality', '75', '-sample', '2x2', '-restart', '3B'])],
    [large.colour420, made(100, 37, ['-quality', '75', '-grayscale', '-restart', '2'])],
    [large.colour422, made(61, 45, ['-quality', '75', '-sample', '4x2'])],
    [large.colour420, made(5, 3, ['-quality', '75', '-sample', '3x1'])],
    [large.grey, made(61, 45, ['-quality', '75', '-sample', '2x2', '-scans', oneScanEach])],
    [large.colour420At12, made(61, 45, ['-quality', '75', '-grayscale', '-restart', '2B'], 12)],
    [large.greyAt12, made(37, 29, ['-quality', '75', '-sample', '2x2', '-restart', '1'], 12)],
    [large.colour420At12, made(37, 29, ['-quality', '75', '-sample', '1x1'])],
    [large.grey, made(61, 45, ['-quality', '75', '-sample', '2x1', '-restart', '1B'], 12)],
    // Grey rows a whole number of blocks wide at 12 bits: the plane itself is the samples.
    [large.colour420At12, made(64, 29, ['-quality', '75', '-grayscale'], 12)],
    [large.colour444, fixture('rgb12-422-scans-restart2.dcm')],
    [large.greyAt12, fixture('mono12.dcm')],
    [large.colour420, fixture('mono12-restart5.dcm')],
  ];

  /** A way to decode a frame: the flavour, its error, the colour. */
  interface Decoding {
    options: { flavour: WasmJpegFlavour; colour: WasmJpegColour };
    CodecError: new (message: string) => Error;
  }

  /** Each flavour that decodes the frame, and each colour its components take. */
  function decodingsOf({ size, precision }: Frame): Decoding[] {
    const flavours: (readonly [WasmJpegFlavour, Decoding['CodecError']])[] = [
      ['ijg', SequentialJpegError],
      ...(precision === 8 ? [['libjpeg-turbo', JpegCodecError] as const] : []),
    ];
    const colours: WasmJpegColour[] = size.components === 3 ? ['ycbcr', 'as-coded'] : ['as-coded'];
    return flavours.flatMap(([flavour, CodecError]) =>
      colours.map((colour) => ({ options: { flavour, colour }, CodecError })),
    );
  }

  it.each(pairs.map(([before, after]) => [`${before.label}, then ${after.label}`, before, after]))(
    '%s: as a fresh instance decodes it',
    (_, before, after) => {
      for (const { options, CodecError } of decodingsOf(after)) {
        const label = `${options.flavour}, ${options.colour}`;
        const instances = dropInstanceForTesting();
        const beforeOptions = {
          colour: before.size.components === 3 ? options.colour : 'as-coded',
          flavour: before.precision === 8 ? options.flavour : 'ijg',
        } as const;
        const first = decodeSequentialWasm(before.stream, before.size, beforeOptions, CodecError);
        expect(first?.precision, `${label}: the larger frame decoded`).toBe(before.precision);
        const reused = decodeSequentialWasm(after.stream, after.size, options, CodecError);
        expect(dropInstanceForTesting(), `${label}: one instance decoded both`).toBe(instances + 1);
        const fresh = decodeSequentialWasm(after.stream, after.size, options, CodecError);
        expect(fresh?.precision, label).toBe(after.precision);
        expect(fresh?.samples.length, label).toBe(
          after.size.width * after.size.height * after.size.components,
        );
        expect(reused?.samples.constructor, label).toBe(fresh?.samples.constructor);
        expect(Array.from(reused?.samples ?? []), label).toEqual(Array.from(fresh?.samples ?? []));
      }
    },
  );
});

describe('the WebAssembly JPEG decoder: hostile streams', () => {
  const size = { width: 61, height: 45, components: 3 };
  const rgb = testImage(61, 45, 3, 11);
  const stream = encodeJpegRgb(rgb, 61, 45, 80);
  const reference = Array.from(decodeJpegSamplesWithLibjpegTurbo(stream, size, 'ycbcr').samples);
  const flavours = [
    { flavour: 'libjpeg-turbo', CodecError: JpegCodecError },
    { flavour: 'ijg', CodecError: SequentialJpegError },
  ] as const;

  it.each(flavours)('refuses every truncation with its own error ($flavour)', (f) => {
    const options = { colour: 'ycbcr', flavour: f.flavour } as const;
    for (let cut = 0; cut < stream.length - 1; cut += 7) {
      const error = errorOf(() =>
        decodeSequentialWasm(stream.subarray(0, cut), size, options, f.CodecError),
      );
      expect(error, `cut at ${cut}`).toBeInstanceOf(f.CodecError);
    }
    expect(
      Array.from(decodeSequentialWasm(stream, size, options, f.CodecError)?.samples ?? []),
    ).toEqual(reference);
  });

  it.each(flavours)(
    'refuses damaged bytes with its own error, or decodes them in bounds ($flavour)',
    (f) => {
      const options = { colour: 'ycbcr', flavour: f.flavour } as const;
      let refused = 0;
      for (let at = 2; at < stream.length; at += 5) {
        for (const byte of [0x00, 0xff, 0x7f, 0x10]) {
          const mutant = Uint8Array.from(stream);
          mutant[at] = byte;
          try {
            const decoded = decodeSequentialWasm(mutant, size, options, f.CodecError);
            // null: the damage made it a stream of another process, for the other decoders.
            expect(decoded === null || decoded.samples.length === 61 * 45 * 3).toBe(true);
          } catch (error) {
            expect(error, `byte ${at} = ${byte}`).toBeInstanceOf(f.CodecError);
            refused += 1;
          }
        }
      }
      expect(refused).toBeGreaterThan(0);
      expect(Array.from(decodeJpegSamples(stream, size, 'ycbcr').samples)).toEqual(reference);
    },
  );

  it.each([
    ['jpeg-extended/mono12.dcm', 'ijg'],
    ['jpeg-extended/mono8.dcm', 'ijg'],
    ['jpeg-extended/rgb12-422.dcm', 'ijg'],
    ['jpeg-lossless/mr-sv7.dcm', 'lossless'],
    ['jpeg-lossless/rgb-sv1.dcm', 'lossless'],
  ] as const)(
    "refuses damaged streams with the JavaScript decoder's message, or decodes them to its samples (%s)",
    (name, flavour) => {
      // A few bytes set at random (a fixed generator), 400 times. Streams without restart markers:
      // before one, this decoder's 64-bit buffer may hold up to 7 unused bytes of damaged data
      // where the JavaScript decoders' holds up to 4, so they refuse different damage there.
      const file = readDicom(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url)), {
        name,
      });
      const info = readImageInfo(file);
      const stream = file.dataset.get(TAG.PixelData)?.encapsulated?.fragments[0]?.bytes;
      const expected = { width: info.columns, height: info.rows, components: info.samplesPerPixel };
      const isYcbcr = info.photometricInterpretation.startsWith('YBR');
      const options = { colour: isYcbcr ? 'ycbcr' : 'as-coded', flavour } as const;
      const CodecError = flavour === 'ijg' ? SequentialJpegError : LosslessJpegError;
      const inJs = (bytes: Uint8Array) =>
        flavour === 'ijg'
          ? decodeJpegSequentialInJs(bytes, { ...expected, colour: isYcbcr ? 'ycbcr' : 'none' })
          : decodeJpegLosslessInJs(bytes, expected);
      let state = 12_345;
      const random = (n: number) => {
        state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
        return state % n;
      };
      const outcomes = new Set<string>();
      for (let trial = 0; trial < 400; trial += 1) {
        const mutant = Uint8Array.from(stream ?? []);
        for (let k = 1 + random(3); k > 0; k -= 1) {
          mutant[2 + random(mutant.length - 2)] = random(4) === 0 ? 0xff : random(256);
        }
        const js = errorOf(() => inJs(mutant));
        let ours: WasmDecodedJpeg | Error | null;
        try {
          ours = decodeSequentialWasm(mutant, expected, options, CodecError);
        } catch (error) {
          ours = error instanceof Error ? error : new Error(String(error));
        }
        if (ours === null) {
          outcomes.add('left to the JavaScript decoder'); // the damage made it another process
        } else if (ours instanceof Error) {
          expect(ours, `trial ${trial}`).toBeInstanceOf(CodecError);
          expect(ours.message.replace(/ \(near byte \d+\)/, ''), `trial ${trial}`).toBe(
            js instanceof Error ? js.message : 'decoded',
          );
          outcomes.add('refused');
        } else {
          expect(js, `trial ${trial}`).toBeNull();
          expect(Array.from(ours.samples), `trial ${trial}`).toEqual(
            Array.from(inJs(mutant).samples),
          );
          outcomes.add('decoded');
        }
      }
      expect(outcomes).toContain('refused');
      expect(outcomes).toContain('decoded');
    },
  );

  it('names codes no table holds, missing restart markers, lengths past the end, another size', () => {
    const decode = (bytes: Uint8Array, expected: Size = size) =>
      String(errorOf(() => decodeJpegSamples(bytes, expected, 'ycbcr')));
    const sos = stream.findIndex((byte, i) => byte === 0xff && stream[i + 1] === 0xda);
    const dataStart = sos + 2 + ((stream[sos + 2] ?? 0) << 8) + (stream[sos + 3] ?? 0);
    // Sixteen ones and more: no code of Annex K's tables (nor of any complete table).
    const ones = Uint8Array.from([
      ...stream.subarray(0, dataStart),
      ...Array.from({ length: 32 }, () => [0xff, 0x00]).flat(),
      0xff,
      0xd9,
    ]);
    expect(decode(ones)).toContain('a code no Huffman table has');
    expect(decode(stream.subarray(0, dataStart + 40))).toContain('the scan data ends in row');
    const misnamed = withMisnamedRestart();
    expect(decode(misnamed.stream, { width: 32, height: 16, components: 3 })).toContain(
      misnamed.message,
    );

    const long = Uint8Array.from(stream);
    long[4] = 0xff;
    long[5] = 0xff;
    expect(decode(long)).toContain('the segment at byte 2 declares 65535 bytes');
    expect(decode(stream, { width: 61, height: 44, components: 3 })).toContain(
      'the frame is 61 x 45 x 3, not 61 x 44 x 3',
    );
  });

  it('refuses a frame too large for its memory with its own error, and decodes after', () => {
    const sof = stream.findIndex((byte, i) => byte === 0xff && stream[i + 1] === 0xc0);
    const huge = Uint8Array.from(stream);
    huge.set([0xfd, 0xe8, 0xfd, 0xe8], sof + 5); // 65000 lines of 65000 samples
    const expected = { width: 65_000, height: 65_000, components: 3 };
    for (const f of flavours) {
      const options = { colour: 'ycbcr', flavour: f.flavour } as const;
      const error = errorOf(() => decodeSequentialWasm(huge, expected, options, f.CodecError));
      expect(error).toBeInstanceOf(f.CodecError);
      expect(String(error)).toContain("the decoder's memory cannot grow");
      expect(
        Array.from(decodeSequentialWasm(stream, size, options, f.CodecError)?.samples ?? []),
      ).toEqual(reference);
    }
  });
});

/** cjpeg's stream of an 8-bit image (PPM, or PGM when grey). */
function cjpeg(
  image: Uint8Array,
  width: number,
  height: number,
  grey: boolean,
  args: string[],
): Uint8Array {
  const header = Buffer.from(`${grey ? 'P5' : 'P6'}\n${width} ${height}\n255\n`, 'latin1');
  const input = Buffer.concat([header, image]);
  // Quiet: it cautions that quality 3's tables are too coarse for baseline (they are kept).
  return new Uint8Array(execFileSync('cjpeg', args, { input, stdio: ['pipe', 'pipe', 'ignore'] }));
}

/** cjpeg's 32 x 16 stream with a restart marker after every MCU, its first one renamed RST3. */
function withMisnamedRestart(): { stream: Uint8Array; message: string } {
  const header = Buffer.from('P6\n32 16\n255\n', 'latin1');
  const input = Buffer.concat([header, testImage(32, 16, 3, 5)]);
  const stream = new Uint8Array(execFileSync('cjpeg', ['-restart', '1B'], { input }));
  const rst = stream.findIndex((byte, i) => byte === 0xff && stream[i + 1] === 0xd0);
  stream[rst + 1] = 0xd3;
  return { stream, message: `restart marker RST0 is missing at byte ${rst}` };
}

/**
 * A deterministic test image: smooth ramps, hard edges and noise of `noiseBits` (a linear
 * congruential generator from `seed`), which quantization turns into large and small
 * coefficients alike.
 */
function testImage(
  width: number,
  height: number,
  components: number,
  seed: number,
  noiseBits = 5,
): Uint8Array {
  const image = new Uint8Array(width * height * components);
  let state = seed >>> 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      for (let c = 0; c < components; c += 1) {
        state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
        const ramp = (x * (3 + c) + y * (5 - c)) & 0xff;
        const edge = ((x >> 3) + (y >> 2) + c) % 3 === 0 ? 200 : 0;
        const noise = state >>> (32 - noiseBits);
        image[(y * width + x) * components + c] = (ramp + edge + noise) & 0xff;
      }
    }
  }
  return image;
}
