/**
 * What cornerstone's WebAssembly decoders (OpenJPEG, CharLS, OpenJPH) give: a frame description
 * and a view of the samples in WebAssembly memory, copied out here as unsigned samples after
 * checking that they are the frame the caller expects.
 */

/** The frame description cornerstone's decoders give (their src/FrameInfo.hpp). */
export interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
}

/** A decoded frame: interleaved samples as the stream's precision holds them, rows top down. */
export interface DecodedSamples {
  width: number;
  height: number;
  components: number;
  bitsPerSample: number;
  isSigned: boolean;
  /**
   * Samples of 8 bits or fewer as bytes, else 16-bit, as unsigned bit patterns: a signed sample
   * of -1 is 0xFFFF (so a caller masks and sign-extends them as DICOM's Bits Stored says).
   */
  samples: Uint8Array | Uint16Array;
}

/**
 * Copies a decoder's output out of WebAssembly memory as unsigned samples of the frame's width,
 * after checking it is the frame the caller expects (in size, and in bytes: `view` holds
 * `samples` samples of 1 byte, or of 2 above 8 bits).
 */
export function copyDecodedSamples(
  frame: FrameInfo,
  view: Uint8Array | Uint8ClampedArray,
  expected: { width: number; height: number; components: number },
  library: string,
  CodecError: new (message: string) => Error,
): DecodedSamples {
  if (
    frame.width !== expected.width ||
    frame.height !== expected.height ||
    frame.componentCount !== expected.components
  ) {
    throw new CodecError(
      `${library} decodes the stream to ${frame.width} x ${frame.height} x ${frame.componentCount}, not ${expected.width} x ${expected.height} x ${expected.components}`,
    );
  }
  if (frame.bitsPerSample < 1 || frame.bitsPerSample > 16) {
    throw new CodecError(`${library} gives ${frame.bitsPerSample}-bit samples, not 1 to 16`);
  }
  const count = frame.width * frame.height * frame.componentCount;
  const sampleBytes = frame.bitsPerSample > 8 ? 2 : 1;
  if (view.length < count * sampleBytes) {
    throw new CodecError(`${library} gives ${view.length} bytes, not ${count * sampleBytes}`);
  }
  const bytes = new Uint8Array(count * sampleBytes);
  bytes.set(view.subarray(0, count * sampleBytes));
  // WebAssembly is little endian, like every platform Node runs on in practice; the samples are
  // read through a typed array of the platform's order all the same only when that holds.
  const samples = sampleBytes === 1 ? bytes : littleEndianUint16(bytes);
  return {
    width: frame.width,
    height: frame.height,
    components: frame.componentCount,
    bitsPerSample: frame.bitsPerSample,
    isSigned: frame.isSigned,
    samples,
  };
}

const PLATFORM_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianUint16(bytes: Uint8Array): Uint16Array {
  if (PLATFORM_IS_LITTLE_ENDIAN) {
    return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  }
  const out = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i += 1) {
    out[i] = (bytes[2 * i] ?? 0) | ((bytes[2 * i + 1] ?? 0) << 8);
  }
  return out;
}
