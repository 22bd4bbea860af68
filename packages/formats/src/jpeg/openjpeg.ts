/**
 * JPEG 2000 (ISO/IEC 15444-1) decoded by OpenJPEG compiled to WebAssembly (npm
 * `@cornerstonejs/codec-openjpeg`, its decode-only build), the library Pillow and GDCM decode JPEG
 * 2000 with, so samples come out as pydicom's and gdcm's do. Loaded synchronously from node_modules
 * (`./emscripten.ts`).
 *
 * The codestream's image and tile size (SIZ, A.5.1) is read here first (`readJ2kHeader`), inside a
 * JP2 file (15444-1 Annex I) when the stream is one, and callers check it against their container
 * before decoding, so OpenJPEG never allocates for an image larger than declared. OpenJPEG reports
 * failures by printing them and leaving the image empty, not by throwing: a decode that printed an
 * error, or that gives another size than the header, is a `J2kCodecError`, and the instance is made
 * anew.
 */
import { WasmCodec } from './emscripten.js';
import { copyDecodedSamples, type DecodedSamples, type FrameInfo } from './samples.js';

/** OpenJPEG, or the codestream's header, refused a stream (the message says which and why). */
export class J2kCodecError extends Error {
  override readonly name = 'J2kCodecError';
}

/** The image size (SIZ) of a JPEG 2000 codestream. */
export interface J2kHeader {
  /** Where the codestream (its SOC marker) starts: 0, or inside a JP2 file's `jp2c` box. */
  codestreamOffset: number;
  /**
   * Where it ends: the `jp2c` box's end, which other boxes may follow (it may lie past the
   * stream's end when the file is cut short); else the stream's end.
   */
  codestreamEnd: number;
  width: number;
  height: number;
  components: number;
  /** Bits per sample (1 to 38), the same for every component (else the header is refused). */
  precision: number;
  isSigned: boolean;
  /** Rsiz bit 14 (15444-15): the codestream uses the High-Throughput block coder. */
  isHighThroughput: boolean;
}

const SOC = 0xff4f;
const SIZ = 0xff51;
const JP2_SIGNATURE = [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a];

function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

function u32(bytes: Uint8Array, at: number): number {
  return u16(bytes, at) * 65_536 + u16(bytes, at + 2);
}

/**
 * Where the codestream of a JP2 file starts and ends: the boxes (15444-1 I.4: a 32-bit length, a
 * type, and a 64-bit length when the first is 1, 0 for "to the end") are walked to the contiguous
 * codestream box `jp2c`. Null when the boxes do not lead to one. Always ends: every box moves
 * forward.
 */
function jp2Codestream(bytes: Uint8Array): { start: number; end: number } | null {
  let at = 0;
  while (at + 8 <= bytes.length) {
    const length = u32(bytes, at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    let header = 8;
    let size = length;
    if (length === 1) {
      if (at + 16 > bytes.length || u32(bytes, at + 8) !== 0) {
        return null; // a box of 4 GiB or more does not fit in a DICOM fragment
      }
      header = 16;
      size = u32(bytes, at + 12);
    } else if (length === 0) {
      size = bytes.length - at;
    }
    if (type === 'jp2c') {
      return size < header ? null : { start: at + header, end: at + size };
    }
    if (size < header) {
      return null;
    }
    at += size;
  }
  return null;
}

/**
 * Reads a JPEG 2000 stream's SIZ marker segment (15444-1 A.5.1): a raw codestream (SOC then SIZ,
 * as DICOM requires) or a JP2 file holding one (as some writers put in DICOM all the same). Null
 * when the stream is neither, or its SIZ is cut short; a `J2kCodecError` when the SIZ describes
 * what no decoder here gives: components of different precision or subsampled components.
 */
export function readJ2kHeader(bytes: Uint8Array): J2kHeader | null {
  const isJp2 = JP2_SIGNATURE.every((byte, i) => bytes[i] === byte);
  const box = isJp2 ? jp2Codestream(bytes) : { start: 0, end: bytes.length };
  if (box === null || u16(bytes, box.start) !== SOC || u16(bytes, box.start + 2) !== SIZ) {
    return null;
  }
  const start = box.start;
  const siz = start + 4;
  const length = u16(bytes, siz);
  const components = u16(bytes, siz + 36);
  if (siz + length > bytes.length || length !== 38 + 3 * components || components < 1) {
    return null;
  }
  const rsiz = u16(bytes, siz + 2);
  const width = u32(bytes, siz + 4) - u32(bytes, siz + 12);
  const height = u32(bytes, siz + 8) - u32(bytes, siz + 16);
  if (width < 1 || height < 1) {
    return null; // the image's offset lies past its extent
  }
  const ssiz = bytes[siz + 38] ?? 0;
  for (let c = 0; c < components; c += 1) {
    const at = siz + 38 + 3 * c;
    if (bytes[at] !== ssiz) {
      throw new J2kCodecError(`component ${c} has another precision or sign than component 0`);
    }
    if (bytes[at + 1] !== 1 || bytes[at + 2] !== 1) {
      throw new J2kCodecError(`component ${c} is subsampled (${bytes[at + 1]} x ${bytes[at + 2]})`);
    }
  }
  return {
    codestreamOffset: start,
    codestreamEnd: box.end,
    width,
    height,
    components,
    precision: (ssiz & 0x7f) + 1,
    isSigned: (ssiz & 0x80) !== 0,
    isHighThroughput: (rsiz & 0x4000) !== 0,
  };
}

/** The embind class of `@cornerstonejs/codec-openjpeg`'s decode build (its src/J2KDecoder.hpp). */
interface OpenJpegModule {
  J2KDecoder: new () => {
    /** A view of a WebAssembly buffer of `size` bytes, for the caller to fill with the stream. */
    getEncodedBuffer(size: number): Uint8Array;
    decode(): void;
    getFrameInfo(): FrameInfo;
    /** A view of the decoded samples in WebAssembly memory, valid until the next call. */
    getDecodedBuffer(): Uint8ClampedArray;
    /** Frees the object's C++ side (embind). */
    delete(): void;
  };
}

const openjpeg = new WasmCodec<OpenJpegModule, InstanceType<OpenJpegModule['J2KDecoder']>>(
  {
    packageName: '@cornerstonejs/codec-openjpeg',
    wasm: 'decodewasm',
    glue: 'decodewasmjs',
    library: 'OpenJPEG',
  },
  (module) => (module.J2KDecoder === undefined ? null : new module.J2KDecoder()),
  (decoder) => decoder.delete(),
  J2kCodecError,
);

/**
 * Decodes a JPEG 2000 codestream (or a JP2 file holding one) whose SIZ the caller has read with
 * `readJ2kHeader` and checked against its container; `expected` repeats that size, and a stream
 * that decodes to another is refused. Multiple-component transforms (RCT, ICT) are undone, so
 * three components come out as RGB when the encoder transformed them.
 */
export function decodeJ2kSamples(
  stream: Uint8Array,
  header: J2kHeader,
  expected: { width: number; height: number; components: number },
): DecodedSamples {
  if (header.width !== expected.width || header.height !== expected.height) {
    throw new J2kCodecError(
      `the codestream is ${header.width} x ${header.height}, not ${expected.width} x ${expected.height}`,
    );
  }
  const codestream = stream.subarray(header.codestreamOffset, header.codestreamEnd);
  return openjpeg.run('decode the codestream', (decoder, printed) => {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    decoder.decode();
    const error = printed().find((line) => line.startsWith('[ERROR]'));
    if (error !== undefined) {
      throw new J2kCodecError(`OpenJPEG refused the codestream: ${error.slice(8).trim()}`);
    }
    return copyDecodedSamples(
      decoder.getFrameInfo(),
      decoder.getDecodedBuffer(),
      expected,
      'OpenJPEG',
      J2kCodecError,
    );
  });
}
