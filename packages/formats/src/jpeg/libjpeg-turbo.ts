/**
 * Baseline, extended and progressive 8-bit JPEG (ISO/IEC 10918-1), decoded and encoded as
 * libjpeg-turbo does: by libjpeg-turbo compiled to WebAssembly (npm
 * `@cornerstonejs/codec-libjpeg-turbo-8bit`, its full build with the encoder) and by this
 * package's C decoder and encoder that give its samples and its bytes. It is the library Pillow
 * (so pydicom), OpenSlide and libvips decode with, so samples come out as theirs do (the same
 * integer IDCT, upsampling and colour conversion); the npm build decodes about 4 times and encodes
 * about 16 times faster than jpeg-js did (measured in bench/formats/README.md). Its .wasm ships in
 * the package and is loaded synchronously from node_modules on first use (`./emscripten.ts`).
 *
 * Which decoder does what: `decodeJpegSamples` gives sequential Huffman-coded frames (SOF0, SOF1)
 * of 1 or 3 components to this package's C decoder in WebAssembly (`./sequential-wasm.ts`, its
 * libjpeg-turbo flavour: libjpeg-turbo's samples, with SIMD, about twice as fast as this npm build,
 * which has none), and the rest to libjpeg-turbo: progressive frames, 1 x 2 chroma (which
 * libjpeg-turbo filters), 2 or 4 components, DNL; `decodeJpegSamplesWithLibjpegTurbo` is
 * libjpeg-turbo alone. The C decoder refuses damaged data that libjpeg-turbo would decode with a
 * warning (a scan cut short, a bad code), and decodes 4 x 2 and 3 x 1 sampling, which TurboJPEG
 * refuses, by repeating samples as libjpeg's int_upsample does. `encodeJpegRgb` writes
 * libjpeg-turbo's bytes with the C module's encoder; `encodeJpegRgbWithLibjpegTurbo` is the npm
 * build's, for comparison. Those two comparators leave the package through
 * `@lantern/formats/testing` (`../testing.ts`), not its index.
 *
 * Callers bound the image's size before decoding (the stream's frame header must agree with what
 * the container declares), so the decoder never allocates without bound. Anything libjpeg-turbo
 * rejects becomes a `JpegCodecError`; after a refusal the decoder and encoder are made anew, and
 * after a trap (an abort) the whole instance, so that a stream that leaves the C heap in a bad
 * state cannot affect the next one.
 */
import { WasmCodec } from './emscripten.js';
import {
  decodeSequentialWasm,
  encodeBaselineWasm,
  type WasmJpegColour,
} from './sequential-wasm.js';

/** What the JPEG frame's three components hold, which libjpeg otherwise guesses from markers. */
export type JpegColourSpace =
  /** YCbCr, converted to RGB (JFIF; TIFF photometric YCbCr; DICOM YBR_FULL, YBR_FULL_422). */
  | 'ycbcr'
  /** Stored as RGB: samples come out as coded, with no conversion (Adobe transform 0). */
  | 'rgb'
  /** As libjpeg guesses: JFIF or Adobe markers, else the component identifiers (ITU T.872). */
  | 'auto';

/** A decoded frame: interleaved 8-bit samples, rows top down. */
export interface DecodedJpeg {
  width: number;
  height: number;
  components: number;
  samples: Uint8Array;
}

/** libjpeg-turbo refused a stream or an image (the message says which and why). */
export class JpegCodecError extends Error {
  override readonly name = 'JpegCodecError';
}

/** The frame description the WebAssembly build's embind layer takes and gives. */
interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
}

/** The embind classes of `@cornerstonejs/codec-libjpeg-turbo-8bit` (its src/JPEGDecoder.hpp, …). */
interface TurboModule {
  JPEGDecoder: new () => TurboDecoder;
  JPEGEncoder: new () => TurboEncoder;
}

interface TurboDecoder {
  /** A view of a WebAssembly buffer of `size` bytes, for the caller to fill with the stream. */
  getEncodedBuffer(size: number): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  /** A view of the decoded samples in WebAssembly memory, valid until the next call. */
  getDecodedBuffer(): Uint8ClampedArray;
  /** Frees the object's C++ side (embind). */
  delete(): void;
}

interface TurboEncoder {
  /** A view of a WebAssembly buffer sized for `frame`, for the caller to fill with samples. */
  getDecodedBuffer(frame: FrameInfo): Uint8ClampedArray;
  getEncodedBuffer(): Uint8ClampedArray;
  encode(): void;
  setQuality(quality: number): void;
  setProgressive(progressive: number): void;
  /** turbojpeg's TJSAMP: 0 is 4:4:4. */
  setSubSampling(subSampling: number): void;
  /** Frees the object's C++ side (embind). */
  delete(): void;
}

const turbo = new WasmCodec<TurboModule, { decoder: TurboDecoder; encoder: TurboEncoder }>(
  {
    packageName: '@cornerstonejs/codec-libjpeg-turbo-8bit',
    wasm: 'wasm',
    glue: 'wasmjs',
    library: 'libjpeg-turbo',
  },
  (module) =>
    module.JPEGDecoder === undefined || module.JPEGEncoder === undefined
      ? null
      : { decoder: new module.JPEGDecoder(), encoder: new module.JPEGEncoder() },
  ({ decoder, encoder }) => {
    decoder.delete();
    encoder.delete();
  },
  JpegCodecError,
);

const ADOBE_SEGMENT_LENGTH = 16;

/**
 * Copies `stream` into `target` so that libjpeg reads the colour space the caller knows: an Adobe
 * APP14 segment (Adobe Technical Note 5116: "Adobe", version 100, flags, transform) right after
 * SOI, with transform 1 (YCbCr) or 0 (none), and every JFIF APP0 and Adobe APP14 segment of the
 * stream's header renamed APP15 (which libjpeg skips), since JFIF would imply YCbCr and a later
 * Adobe segment would override ours (libjpeg's jdapimin.c, default_decompress_parms). `target` is
 * `stream.length + 16` bytes. Segments are walked up to SOS; a malformed header is copied as it is,
 * for libjpeg to refuse.
 */
function copyWithColourSpace(stream: Uint8Array, target: Uint8Array, colour: 'ycbcr' | 'rgb') {
  target.set([0xff, 0xd8, 0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64]);
  target.set([0x00, 0x00, 0x00, 0x00, colour === 'ycbcr' ? 1 : 0], 13);
  target.set(stream.subarray(2), 2 + ADOBE_SEGMENT_LENGTH);
  const shift = ADOBE_SEGMENT_LENGTH;
  let at = 2;
  while (at + 4 <= stream.length && stream[at] === 0xff) {
    const marker = stream[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) {
      return;
    }
    const length = ((stream[at + 2] ?? 0) << 8) | (stream[at + 3] ?? 0);
    if (length < 2) {
      return;
    }
    if (
      (marker === 0xe0 && hasIdentifier(stream, at + 4, 'JFIF')) ||
      (marker === 0xee && hasIdentifier(stream, at + 4, 'Adobe'))
    ) {
      target[at + 1 + shift] = 0xef;
    }
    at += 2 + length;
  }
}

function hasIdentifier(bytes: Uint8Array, at: number, identifier: string): boolean {
  for (let i = 0; i < identifier.length; i += 1) {
    if (bytes[at + i] !== identifier.charCodeAt(i)) {
      return false;
    }
  }
  return true;
}

/**
 * Decodes an 8-bit DCT JPEG stream (SOF0, SOF1, SOF2; Huffman coded) to interleaved samples: one
 * component as grey, three as RGB (converted from YCbCr as `colour` says). The caller has checked
 * the frame header's size against its container; `expected` repeats it, and a stream that decodes
 * to another size is refused.
 */
export function decodeJpegSamples(
  stream: Uint8Array,
  expected: { width: number; height: number; components: number },
  colour: JpegColourSpace,
): DecodedJpeg {
  const wasmColour: WasmJpegColour = colour === 'rgb' ? 'as-coded' : colour;
  const options = { colour: wasmColour, flavour: 'libjpeg-turbo' } as const;
  const decoded = decodeSequentialWasm(stream, expected, options, JpegCodecError);
  if (decoded?.samples instanceof Uint8Array) {
    const { width, height, components, samples } = decoded;
    return { width, height, components, samples };
  }
  return decodeJpegSamplesWithLibjpegTurbo(stream, expected, colour);
}

/** `decodeJpegSamples` by libjpeg-turbo alone, whatever the stream's process. */
export function decodeJpegSamplesWithLibjpegTurbo(
  stream: Uint8Array,
  expected: { width: number; height: number; components: number },
  colour: JpegColourSpace,
): DecodedJpeg {
  if (stream.length < 4 || stream[0] !== 0xff || stream[1] !== 0xd8) {
    throw new JpegCodecError('the stream does not start with SOI');
  }
  return turbo.run('decode the stream', ({ decoder }) => {
    if (colour === 'auto' || expected.components !== 3) {
      decoder.getEncodedBuffer(stream.length).set(stream);
    } else {
      copyWithColourSpace(
        stream,
        decoder.getEncodedBuffer(stream.length + ADOBE_SEGMENT_LENGTH),
        colour,
      );
    }
    decoder.decode();
    const frame = decoder.getFrameInfo();
    if (
      frame.width !== expected.width ||
      frame.height !== expected.height ||
      frame.componentCount !== expected.components ||
      frame.bitsPerSample !== 8
    ) {
      throw new JpegCodecError(
        `the stream decodes to ${frame.width} x ${frame.height} x ${frame.componentCount} (${frame.bitsPerSample}-bit), not ${expected.width} x ${expected.height} x ${expected.components}`,
      );
    }
    const view = decoder.getDecodedBuffer();
    const size = frame.width * frame.height * frame.componentCount;
    if (view.length < size) {
      throw new JpegCodecError(`the stream decodes to ${view.length} samples, not ${size}`);
    }
    const samples = new Uint8Array(size);
    samples.set(view.subarray(0, size));
    return { width: frame.width, height: frame.height, components: frame.componentCount, samples };
  });
}

/**
 * Encodes 8-bit RGB (rows top down) as a whole baseline JPEG stream: JFIF, YCbCr 4:4:4, Huffman
 * tables of ITU T.81 Annex K, quality 1 to 100 scaling Annex K's quantization tables as the IJG
 * library does. The same pixels and quality give the same bytes, on any machine: libjpeg-turbo's
 * (TurboJPEG's) bytes, written by this package's C encoder (`./sequential-wasm.ts`), which grows
 * its output as it writes, where the npm build's encoder wrote past its buffer of the image's
 * size (every image up to about 15 x 15 pixels, noisy ones at high quality).
 */
export const encodeJpegRgb: JpegRgbEncoder = checked((rgb, width, height, quality) =>
  encodeBaselineWasm(rgb, width, height, quality, JpegCodecError),
);

/**
 * `encodeJpegRgb` by libjpeg-turbo's npm build, which `encodeJpegRgb` reproduces where it
 * succeeds; kept for the tests that compare the two. It fails (a trap, as `JpegCodecError`) where
 * the stream is longer than the buffer it sized: keep to what it can encode.
 */
export const encodeJpegRgbWithLibjpegTurbo: JpegRgbEncoder = checked(
  (rgb, width, height, quality) =>
    turbo.run('encode the image', ({ encoder }) => {
      encoder.setQuality(quality);
      encoder.setProgressive(0);
      encoder.setSubSampling(0);
      encoder
        .getDecodedBuffer({ width, height, bitsPerSample: 8, componentCount: 3, isSigned: false })
        .set(rgb);
      encoder.encode();
      const view = encoder.getEncodedBuffer();
      const stream = new Uint8Array(view.length);
      stream.set(view);
      return stream;
    }),
);

/** An encoder of 8-bit RGB, rows top down, at quality 1 to 100, to a whole JPEG stream. */
export type JpegRgbEncoder = (
  rgb: Uint8Array,
  width: number,
  height: number,
  quality: number,
) => Uint8Array;

/** `encode`, called only with an RGB image of its stated size and a quality of 1 to 100. */
function checked(encode: JpegRgbEncoder): JpegRgbEncoder {
  return (rgb, width, height, quality) => {
    checkRgbImage(rgb, width, height, quality);
    return encode(rgb, width, height, quality);
  };
}

/** Refuses what is not an RGB image of its stated size, or a quality out of 1 to 100. */
function checkRgbImage(rgb: Uint8Array, width: number, height: number, quality: number) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new JpegCodecError(`a JPEG image cannot be ${width} x ${height}`);
  }
  if (width > 65_535 || height > 65_535) {
    throw new JpegCodecError(`a JPEG image is at most 65535 x 65535, not ${width} x ${height}`);
  }
  if (rgb.length !== width * height * 3) {
    throw new JpegCodecError(
      `${width} x ${height} RGB is ${width * height * 3} bytes, not ${rgb.length}`,
    );
  }
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new JpegCodecError(`JPEG quality is 1 to 100, not ${quality}`);
  }
}
