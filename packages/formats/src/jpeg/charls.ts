/**
 * JPEG-LS (ISO/IEC 14495-1, ITU T.87), lossless and near-lossless, decoded by CharLS compiled to
 * WebAssembly (npm `@cornerstonejs/codec-charls`, its decode-only build), the library GDCM, dcmtk
 * and pydicom's pylibjpeg-libjpeg… plugins decode JPEG-LS with. Loaded synchronously from
 * node_modules (`./emscripten.ts`).
 *
 * Callers read the frame header (SOF55, with the same layout as JPEG's SOF) and check it against
 * their container before decoding, so CharLS never allocates for a larger image. CharLS throws a
 * C++ exception for a stream it refuses; its message becomes a `JpegLsCodecError`, and the instance
 * is made anew.
 */
import { WasmCodec } from './emscripten.js';
import { copyDecodedSamples, type DecodedSamples, type FrameInfo } from './samples.js';

/** CharLS refused a stream (the message says which and why). */
export class JpegLsCodecError extends Error {
  override readonly name = 'JpegLsCodecError';
}

/** The embind class and functions of `@cornerstonejs/codec-charls`'s decode build. */
interface CharlsModule {
  JpegLSDecoder: new () => {
    /** A view of a WebAssembly buffer of `size` bytes, for the caller to fill with the stream. */
    getEncodedBuffer(size: number): Uint8Array;
    decode(): void;
    getFrameInfo(): Omit<FrameInfo, 'isSigned'>;
    /** 0: one scan per component (planar output); 1 and 2: samples of a pixel together. */
    getInterleaveMode(): number;
    getNearLossless(): number;
    /** A view of the decoded samples in WebAssembly memory, valid until the next call. */
    getDecodedBuffer(): Uint8ClampedArray;
    /** Frees the object's C++ side (embind). */
    delete(): void;
  };
  /** The message of a C++ exception CharLS threw, given as its pointer. */
  getExceptionMessage(exception: number): string;
}

const charls = new WasmCodec<
  CharlsModule,
  {
    decoder: InstanceType<CharlsModule['JpegLSDecoder']>;
    messageOf: CharlsModule['getExceptionMessage'];
  }
>(
  {
    packageName: '@cornerstonejs/codec-charls',
    wasm: 'decodewasm',
    glue: 'decodewasmjs',
    library: 'CharLS',
  },
  (module) =>
    module.JpegLSDecoder === undefined || module.getExceptionMessage === undefined
      ? null
      : { decoder: new module.JpegLSDecoder(), messageOf: module.getExceptionMessage },
  ({ decoder }) => decoder.delete(),
  JpegLsCodecError,
);

/** A decoded JPEG-LS frame; `isPlanar` when each component's samples come one plane after another. */
export interface DecodedJpegLs extends DecodedSamples {
  isPlanar: boolean;
  /** The near-lossless bound NEAR (0: lossless). */
  nearLossless: number;
}

/**
 * Decodes a JPEG-LS stream whose frame header the caller has checked against its container;
 * `expected` repeats its size, and a stream that decodes to another is refused. Samples are
 * unsigned (JPEG-LS codes no sign), 8 bits or fewer as bytes, else 16-bit.
 */
export function decodeJpegLsSamples(
  stream: Uint8Array,
  expected: { width: number; height: number; components: number },
): DecodedJpegLs {
  return charls.run('decode the stream', ({ decoder, messageOf }) => {
    decoder.getEncodedBuffer(stream.length).set(stream);
    try {
      decoder.decode();
    } catch (thrown) {
      if (typeof thrown === 'number') {
        throw new JpegLsCodecError(`CharLS refused the stream: ${messageOf(thrown)}`);
      }
      throw thrown;
    }
    const frame = { ...decoder.getFrameInfo(), isSigned: false };
    const decoded = copyDecodedSamples(
      frame,
      decoder.getDecodedBuffer(),
      expected,
      'CharLS',
      JpegLsCodecError,
    );
    return {
      ...decoded,
      isPlanar: decoder.getInterleaveMode() === 0 && frame.componentCount > 1,
      nearLossless: decoder.getNearLossless(),
    };
  });
}
