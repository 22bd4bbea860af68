/**
 * High-Throughput JPEG 2000 (HTJ2K, ISO/IEC 15444-15) decoded and encoded by OpenJPH compiled to
 * WebAssembly (npm `@cornerstonejs/codec-openjph`), loaded synchronously from node_modules
 * (`./emscripten.ts`). OpenJPEG decodes HTJ2K too, but OpenJPH, written for the block coder,
 * decodes it about 3 to 4 times faster (a 1024² 16-bit image: 44 ms against 166 ms here), which is
 * what HTJ2K is for.
 *
 * As for OpenJPEG, callers read the codestream's SIZ with `readJ2kHeader` and check it against
 * their container first. OpenJPH reports a failure by printing it and setting its last error, not
 * by throwing: a decode that did either, or that gives another size than the header, is a
 * `Htj2kCodecError`.
 */
import { WasmCodec } from './emscripten.js';
import type { J2kHeader } from './openjpeg.js';
import { copyDecodedSamples, type DecodedSamples, type FrameInfo } from './samples.js';

/** OpenJPH refused a stream or an image (the message says which and why). */
export class Htj2kCodecError extends Error {
  override readonly name = 'Htj2kCodecError';
}

/** The frame description OpenJPH's embind layer takes and gives. */
interface Htj2kFrameInfo extends FrameInfo {
  isUsingColorTransform: boolean;
}

/** The embind classes of `@cornerstonejs/codec-openjph` (its src/HTJ2KDecoder.hpp, …). */
interface OpenJphModule {
  HTJ2KDecoder: new () => {
    /** A view of a WebAssembly buffer of `size` bytes, for the caller to fill with the stream. */
    getEncodedBuffer(size: number): Uint8Array;
    decode(): void;
    getFrameInfo(): Htj2kFrameInfo;
    /** Empty unless the last decode failed. */
    getLastErrorMessage(): string;
    /** A view of the decoded samples in WebAssembly memory, valid until the next call. */
    getDecodedBuffer(): Uint8Array;
    /** Frees the object's C++ side (embind). */
    delete(): void;
  };
  HTJ2KEncoder: new () => {
    /** A view of a WebAssembly buffer sized for `frame`, for the caller to fill with samples. */
    getDecodedBuffer(frame: Htj2kFrameInfo): Uint8Array;
    encode(): void;
    getEncodedBuffer(): Uint8Array;
    /** Reversible (lossless) coding, or irreversible with a quantization step. */
    setQuality(isReversible: boolean, quantizationStep: number): void;
    /** Frees the object's C++ side (embind). */
    delete(): void;
  };
}

interface OpenJphLive {
  decoder: InstanceType<OpenJphModule['HTJ2KDecoder']>;
  Encoder: OpenJphModule['HTJ2KEncoder'];
}

const openjph = new WasmCodec<OpenJphModule, OpenJphLive>(
  { packageName: '@cornerstonejs/codec-openjph', wasm: 'wasm', glue: 'wasmjs', library: 'OpenJPH' },
  (module) =>
    module.HTJ2KDecoder === undefined || module.HTJ2KEncoder === undefined
      ? null
      : { decoder: new module.HTJ2KDecoder(), Encoder: module.HTJ2KEncoder },
  ({ decoder }) => decoder.delete(),
  Htj2kCodecError,
);

/**
 * Decodes an HTJ2K codestream whose SIZ the caller has read with `readJ2kHeader` and checked
 * against its container; `expected` repeats that size, and a stream that decodes to another is
 * refused.
 */
export function decodeHtj2kSamples(
  stream: Uint8Array,
  header: J2kHeader,
  expected: { width: number; height: number; components: number },
): DecodedSamples {
  if (header.width !== expected.width || header.height !== expected.height) {
    throw new Htj2kCodecError(
      `the codestream is ${header.width} x ${header.height}, not ${expected.width} x ${expected.height}`,
    );
  }
  const codestream = stream.subarray(header.codestreamOffset, header.codestreamEnd);
  return openjph.run('decode the codestream', ({ decoder }, printed) => {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    decoder.decode();
    const error = printed().find((line) => line.startsWith('ojph error'));
    const last = decoder.getLastErrorMessage();
    if (error !== undefined || last !== '') {
      throw new Htj2kCodecError(`OpenJPH refused the codestream: ${error ?? last}`);
    }
    return copyDecodedSamples(
      decoder.getFrameInfo(),
      decoder.getDecodedBuffer(),
      expected,
      'OpenJPH',
      Htj2kCodecError,
    );
  });
}

/**
 * Encodes samples (interleaved, rows top down; 8 bits or fewer as bytes, else 16-bit in the
 * platform's order) as a lossless HTJ2K codestream: the reversible 5/3 wavelet, and three
 * components through the reversible colour transform (RCT; DICOM's YBR_RCT). The same samples give
 * the same bytes.
 */
export function encodeHtj2kLossless(
  samples: Uint8Array | Uint16Array | Int16Array,
  frame: { width: number; height: number; components: number; bitsPerSample: number },
  isSigned: boolean,
): Uint8Array {
  const { width, height, components, bitsPerSample } = frame;
  const count = width * height * components;
  if (
    !Number.isInteger(count) ||
    width < 1 ||
    height < 1 ||
    components < 1 ||
    bitsPerSample < 1 ||
    bitsPerSample > 16 ||
    samples.length !== count ||
    bitsPerSample > 8 !== (samples.BYTES_PER_ELEMENT === 2)
  ) {
    throw new Htj2kCodecError(
      `${samples.length} samples of ${samples.BYTES_PER_ELEMENT} bytes are not a ${width} x ${height} x ${components} image of ${bitsPerSample} bits`,
    );
  }
  return openjph.run('encode the image', ({ Encoder }) => {
    const encoder = new Encoder();
    try {
      encoder.setQuality(true, 0);
      encoder
        .getDecodedBuffer({
          width,
          height,
          bitsPerSample,
          componentCount: components,
          isSigned,
          // Without the RCT, OpenJPEG reads OpenJPH's three components in another order than
          // OpenJPH does; with it, both give the samples that were coded.
          isUsingColorTransform: components === 3,
        })
        .set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
      encoder.encode();
      return Uint8Array.from(encoder.getEncodedBuffer());
    } finally {
      encoder.delete();
    }
  });
}
