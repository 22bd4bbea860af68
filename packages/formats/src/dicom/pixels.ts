/**
 * Pixel data to numbers (PS3.3 C.7.6.3 image pixel module, PS3.5 section 8): native pixel data of
 * 1, 8, 16 or 32 bits allocated, signed or unsigned, interleaved or planar, in either byte order;
 * RLE Lossless (PS3.5 Annex G); JPEG baseline, extended (8 and 12-bit) and lossless, and JPEG-LS
 * (jpeg.ts); and JPEG 2000 and HTJ2K (jpeg2000.ts). Samples come out interleaved (R, G, B, R, …) in
 * a typed array of the stored width, masked to Bits Stored and sign-extended. MPEG and unknown
 * encodings are not decoded: an `unsupported_transfer_syntax` error.
 *
 * Then the modality LUT's linear rescale (C.11.1) and an 8-bit rendering through a VOI window with
 * the linear function of C.11.2.1.2.1, inverted for MONOCHROME1 (C.7.6.3.1.2).
 */
import { FormatError, type FormatErrorCode } from '../format-error.js';
import { TAG } from './dictionary.js';
import { decodeJpeg, decodeJpegLs, type DecodedPixels } from './jpeg.js';
import { decodeJpeg2000 } from './jpeg2000.js';
import type { PixelEncoding } from './transfer-syntax.js';
import type { DicomDataset, DicomElement, DicomFile, DicomFragment } from './parse.js';

export type PixelArray =
  Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** The image pixel module, as read from the dataset. */
export interface ImageInfo {
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  isSigned: boolean;
  /** 0: samples interleaved per pixel; 1: one plane per sample (C.7.6.3.1.3). */
  planarConfiguration: number;
  photometricInterpretation: string;
}

/** One decoded frame. */
export interface PixelFrame extends ImageInfo {
  /**
   * rows x columns x samplesPerPixel stored values, interleaved. Native samples that need no work
   * (interleaved, every allocated bit stored, the platform's byte order) are a view of the file's
   * bytes, as pydicom's `pixel_array` is of its buffer: copy them before changing them.
   */
  data: PixelArray;
}

/** The decoders of encapsulated pixel data other than RLE, by encoding. */
const CODECS: Partial<
  Record<
    PixelEncoding,
    (file: DicomFile, info: ImageInfo, bytes: Uint8Array, offset: number) => DecodedPixels
  >
> = {
  'jpeg-baseline': decodeJpeg,
  'jpeg-extended': decodeJpeg,
  'jpeg-lossless': decodeJpeg,
  'jpeg-ls': decodeJpegLs,
  'jpeg-2000': decodeJpeg2000,
  htj2k: decodeJpeg2000,
};

/** The largest image the decoder allocates for: 2^28 samples per frame (a 16384² RGB image). */
const MAX_SAMPLES_PER_FRAME = 2 ** 28;

function failure(file: DicomFile, code: FormatErrorCode, detail: string, offset: number) {
  return new FormatError(code, detail, { file: file.name, offset });
}

/**
 * The image pixel module of the datasets already read: a dataset does not change (changes make a
 * copy), and `decodeFrame` needs the module for every frame of a file.
 */
const IMAGE_INFO = new WeakMap<DicomDataset, Readonly<ImageInfo>>();

/** Reads and checks the image pixel module. */
export function readImageInfo(file: DicomFile): ImageInfo {
  return { ...imageInfoOf(file) };
}

/** The image pixel module, read and checked once per dataset. */
function imageInfoOf(file: DicomFile): Readonly<ImageInfo> {
  const known = IMAGE_INFO.get(file.dataset);
  if (known !== undefined) {
    return known;
  }
  const info = Object.freeze(checkImageInfo(file));
  IMAGE_INFO.set(file.dataset, info);
  return info;
}

function checkImageInfo(file: DicomFile): ImageInfo {
  const { dataset } = file;
  const offset = dataset.get(TAG.PixelData)?.offset ?? 0;
  const required = (tag: number, keyword: string): number => {
    const value = dataset.number(tag);
    if (value === null || !Number.isInteger(value) || value < 0) {
      throw failure(
        file,
        'missing_element',
        `${keyword} is missing or not a whole number`,
        dataset.get(tag)?.offset ?? offset,
      );
    }
    return value;
  };
  const rows = required(TAG.Rows, 'Rows');
  const columns = required(TAG.Columns, 'Columns');
  const bitsAllocated = required(TAG.BitsAllocated, 'BitsAllocated');
  const samplesPerPixel = dataset.number(TAG.SamplesPerPixel) ?? 1;
  const bitsStored = dataset.number(TAG.BitsStored) ?? bitsAllocated;
  const highBit = dataset.number(TAG.HighBit) ?? bitsStored - 1;
  const frames = dataset.number(TAG.NumberOfFrames) ?? 1;
  const info: ImageInfo = {
    rows,
    columns,
    frames,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    highBit,
    isSigned: dataset.number(TAG.PixelRepresentation) === 1,
    planarConfiguration: dataset.number(TAG.PlanarConfiguration) ?? 0,
    photometricInterpretation: dataset.string(TAG.PhotometricInterpretation) ?? 'MONOCHROME2',
  };
  if (![1, 8, 16, 32].includes(bitsAllocated)) {
    throw failure(
      file,
      'unsupported_pixel_data',
      `BitsAllocated ${bitsAllocated} is not 1, 8, 16 or 32`,
      offset,
    );
  }
  if (
    bitsStored < 1 ||
    bitsStored > bitsAllocated ||
    highBit < bitsStored - 1 ||
    highBit >= bitsAllocated
  ) {
    throw failure(
      file,
      'invalid_dicom',
      `BitsStored ${bitsStored} and HighBit ${highBit} do not fit BitsAllocated ${bitsAllocated}`,
      offset,
    );
  }
  if (![1, 3, 4].includes(samplesPerPixel) || !Number.isInteger(frames) || frames < 1) {
    throw failure(
      file,
      'invalid_dicom',
      `${samplesPerPixel} samples per pixel and ${frames} frames is not an image`,
      offset,
    );
  }
  if (rows * columns * samplesPerPixel > MAX_SAMPLES_PER_FRAME || rows * columns === 0) {
    throw failure(
      file,
      'unsupported_pixel_data',
      `a frame of ${rows} x ${columns} x ${samplesPerPixel} samples is empty or too large`,
      offset,
    );
  }
  return info;
}

const PLATFORM_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * For each byte, the 8 bytes of 0s and 1s that are its bits, least significant first (PS3.5
 * 8.1.1: the first pixel is the byte's lowest bit), as one float64 (at the byte's index): a frame
 * of 1-bit samples is unpacked with one load and one store a byte, twice as fast as two 32-bit
 * words of nibbles were. The copies are exact: the bit patterns are finite numbers (sign 0,
 * exponent at most 16), never a NaN whose payload an engine might change.
 */
const BIT_BYTES = (() => {
  const bits = new Uint8Array(256 * 8);
  for (let byte = 0; byte < 256; byte += 1) {
    for (let bit = 0; bit < 8; bit += 1) {
      bits[byte * 8 + bit] = (byte >>> bit) & 1;
    }
  }
  return new Float64Array(bits.buffer);
})();

/** The typed array of the image's sample type over `length` samples of `buffer` from `start`. */
function viewOf(
  info: ImageInfo,
  buffer: ArrayBufferLike,
  start: number,
  length: number,
): PixelArray {
  switch (info.bitsAllocated) {
    case 8:
      return info.isSigned
        ? new Int8Array(buffer, start, length)
        : new Uint8Array(buffer, start, length);
    case 16:
      return info.isSigned
        ? new Int16Array(buffer, start, length)
        : new Uint16Array(buffer, start, length);
    default:
      return info.isSigned
        ? new Int32Array(buffer, start, length)
        : new Uint32Array(buffer, start, length);
  }
}

function allocate(info: ImageInfo, length: number): PixelArray {
  if (info.bitsAllocated <= 8) {
    return info.isSigned ? new Int8Array(length) : new Uint8Array(length);
  }
  if (info.bitsAllocated === 16) {
    return info.isSigned ? new Int16Array(length) : new Uint16Array(length);
  }
  return info.isSigned ? new Int32Array(length) : new Uint32Array(length);
}

/** Unsigned raw samples, as read from the file or a decoder, one element per sample. */
type RawArray = Uint8Array | Uint16Array | Uint32Array;

/**
 * The stored values of raw samples (PS3.5 8.1.1): masked to Bits Stored at High Bit and
 * sign-extended, in the image's array type. When the raw array is of the image's type and no
 * sample has a bit to clear (every allocated bit stored, or `rawBits` no more than Bits Stored
 * from bit 0 and nothing to sign-extend) it is kept, only seen as signed or not, without a copy;
 * otherwise the values are worked out in one pass over 32-bit integers and converted into the
 * image's type by the typed array's own `set`.
 */
function storedSamples(
  info: ImageInfo,
  raws: RawArray,
  rawBits = raws.BYTES_PER_ELEMENT * 8,
): PixelArray {
  const width = info.bitsStored;
  const elementBits = raws.BYTES_PER_ELEMENT * 8;
  if (
    elementBits === info.bitsAllocated &&
    info.highBit === width - 1 &&
    rawBits <= width &&
    (width === elementBits || !info.isSigned)
  ) {
    return info.isSigned ? viewOf(info, raws.buffer, raws.byteOffset, raws.length) : raws;
  }
  const shift = info.highBit + 1 - width;
  const out = allocate(info, raws.length);
  if (width >= 32) {
    // High Bit 31 and Bits Stored 32 of narrower raw samples: no mask, only the sign.
    const values = new Float64Array(raws.length);
    for (let i = 0; i < raws.length; i += 1) {
      const raw = (raws[i] ?? 0) >>> shift;
      values[i] = info.isSigned ? raw | 0 : raw;
    }
    out.set(values);
    return out;
  }
  const mask = 2 ** width - 1;
  if (!info.isSigned) {
    // Unsigned values fit the image's unsigned array as they are: one pass, no staging array
    // (12-bit JPEG frames in 16 bits spent a fifth of their decode in the two).
    for (let i = 0; i < raws.length; i += 1) {
      out[i] = ((raws[i] ?? 0) >>> shift) & mask;
    }
    return out;
  }
  // Shifting the sign bit to bit 31 and back extends it.
  const up = 32 - width;
  const values = new Int32Array(raws.length);
  for (let i = 0; i < raws.length; i += 1) {
    values[i] = ((((raws[i] ?? 0) >>> shift) & mask) << up) >> up;
  }
  out.set(values);
  return out;
}

/** The stored values of frame `index` (from 0), samples interleaved. */
export function decodeFrame(file: DicomFile, index = 0): PixelFrame {
  const info = imageInfoOf(file);
  const element = file.dataset.get(TAG.PixelData);
  if (element === undefined) {
    throw failure(file, 'missing_element', 'the dataset has no Pixel Data (7FE0,0010)', 0);
  }
  if (!Number.isInteger(index) || index < 0 || index >= info.frames) {
    throw failure(
      file,
      'missing_element',
      `frame ${index} is not one of the ${info.frames} frames`,
      element.offset,
    );
  }
  const encoding = file.transferSyntax.pixelEncoding;
  if (element.encapsulated === null) {
    if (encoding !== 'native') {
      throw failure(
        file,
        'invalid_dicom',
        `${file.transferSyntax.name} pixel data is not encapsulated`,
        element.offset,
      );
    }
    if (
      info.photometricInterpretation.startsWith('YBR') &&
      info.photometricInterpretation.endsWith('_422')
    ) {
      throw failure(
        file,
        'unsupported_pixel_data',
        `native ${info.photometricInterpretation} (subsampled chroma) is not decoded`,
        element.offset,
      );
    }
    return {
      ...info,
      data: decodeNative(
        file,
        info,
        element.bytes,
        index,
        file.dataset.isLittleEndian,
        element.offset,
      ),
    };
  }
  const codec = CODECS[encoding];
  if (encoding !== 'rle' && codec === undefined) {
    throw failure(
      file,
      'unsupported_transfer_syntax',
      `pixel data in ${file.transferSyntax.name} (${file.transferSyntax.uid}) is not decoded`,
      element.offset,
    );
  }
  const fragment = frameFragment(file, element.encapsulated, info.frames, index, element.offset);
  if (codec !== undefined) {
    const decoded = codec(file, info, fragment.bytes, fragment.offset);
    const pixels = info.rows * info.columns;
    const length = pixels * info.samplesPerPixel;
    // The decoders' samples are fresh arrays: kept as they are when nothing needs masking.
    const exact = decoded.samples.length === length;
    const raws = exact ? decoded.samples : decoded.samples.subarray(0, length);
    const ordered = decoded.isPlanar ? interleave(raws, pixels, info.samplesPerPixel) : raws;
    // A stream that keeps another number of bits than Bits Stored says is read as the stream
    // keeps them (as pydicom 3 does), signed or not as Pixel Representation says.
    const bitsStored = decoded.bitsStored ?? info.bitsStored;
    const stored =
      bitsStored === info.bitsStored ? info : { ...info, bitsStored, highBit: bitsStored - 1 };
    return {
      ...info,
      photometricInterpretation: decoded.photometricInterpretation,
      data: storedSamples(stored, ordered, decoded.sampleBits ?? undefined),
    };
  }
  return { ...info, data: decodeRle(file, info, fragment.bytes, fragment.offset) };
}

/**
 * The bytes of frame `index` of encapsulated pixel data (PS3.5 A.4): the fragments from the one the
 * basic offset table names (offsets count from the first fragment's item tag) up to the next
 * frame's; without a table, one fragment per frame, or all of them for a single frame.
 */
function frameFragment(
  file: DicomFile,
  encapsulated: NonNullable<DicomElement['encapsulated']>,
  frames: number,
  index: number,
  offset: number,
): DicomFragment {
  const { fragments, offsetTable } = encapsulated;
  const first = fragments[0];
  let selected: readonly DicomFragment[] = [];
  if (first !== undefined && offsetTable.length === frames) {
    const start = offsetTable[index] ?? -1;
    const end = offsetTable[index + 1] ?? Infinity;
    selected = fragments.filter(
      (f) => f.offset - first.offset >= start && f.offset - first.offset < end,
    );
  } else if (fragments.length === frames) {
    selected = fragments.slice(index, index + 1);
  } else if (frames === 1) {
    selected = fragments;
  }
  const [only] = selected;
  if (only === undefined) {
    throw failure(file, 'invalid_dicom', `no pixel data fragment holds frame ${index}`, offset);
  }
  if (selected.length === 1) {
    return only;
  }
  const bytes = new Uint8Array(selected.reduce((sum, f) => sum + f.bytes.length, 0));
  let at = 0;
  for (const f of selected) {
    bytes.set(f.bytes, at);
    at += f.bytes.length;
  }
  return { offset: only.offset, bytes };
}

function decodeNative(
  file: DicomFile,
  info: ImageInfo,
  bytes: Uint8Array,
  index: number,
  isLittleEndian: boolean,
  offset: number,
): PixelArray {
  const pixels = info.rows * info.columns;
  const samples = pixels * info.samplesPerPixel;
  if (info.bitsAllocated === 1) {
    // Bits are packed across frames, least significant bit first (PS3.5 8.1.1, 8.2).
    const first = index * samples;
    if (Math.ceil((first + samples) / 8) > bytes.length) {
      throw failure(
        file,
        'invalid_dicom',
        `Pixel Data has ${bytes.length} bytes, too few for ${info.frames} frames`,
        offset,
      );
    }
    const out = unpackBitFrame(bytes, first, samples);
    // Signed 1-bit samples are 0 or 1 all the same.
    return info.isSigned ? new Int8Array(out.buffer) : out;
  }
  const sampleBytes = info.bitsAllocated / 8;
  const frameBytes = samples * sampleBytes;
  if ((index + 1) * frameBytes > bytes.length) {
    throw failure(
      file,
      'invalid_dicom',
      `Pixel Data has ${bytes.length} bytes, too few for ${info.frames} frames of ${frameBytes}`,
      offset,
    );
  }
  const raws = nativeRaws(bytes, index * frameBytes, samples, sampleBytes, isLittleEndian);
  // Planar data holds all of sample 0, then all of sample 1, …; the output interleaves them.
  const isPlanar = info.planarConfiguration === 1 && info.samplesPerPixel > 1;
  return storedSamples(info, isPlanar ? interleave(raws, pixels, info.samplesPerPixel) : raws);
}

/**
 * `samples` 1-bit samples from bit `first` of `bytes` (checked to hold them), one a byte. A frame
 * that starts on a byte boundary (every frame but some of a multi-frame image of odd size) is
 * unpacked a byte, eight samples, at a time. Its own function: inside decodeNative, V8 kept
 * dropping its optimized code (a deopt loop).
 */
function unpackBitFrame(bytes: Uint8Array, first: number, samples: number): Uint8Array {
  const out = new Uint8Array(samples);
  let i = 0;
  if ((first & 7) === 0) {
    const whole = samples >>> 3;
    const eights = new Float64Array(out.buffer, 0, whole);
    const packed = bytes.subarray(first >>> 3, (first >>> 3) + whole);
    for (let at = 0; at < whole; at += 1) {
      eights[at] = BIT_BYTES[packed[at] ?? 0] ?? 0;
    }
    i = whole * 8;
  }
  for (; i < samples; i += 1) {
    const bit = first + i;
    out[i] = ((bytes[bit >>> 3] ?? 0) >>> (bit & 7)) & 1;
  }
  return out;
}

/**
 * The raw samples of one frame of native pixel data, from byte `start`. In the platform's byte
 * order (or of one byte) they are a view of the file's bytes, copied once only when they do not
 * lie at a multiple of the sample size; in the other they are read through a DataView.
 */
function nativeRaws(
  bytes: Uint8Array,
  start: number,
  samples: number,
  sampleBytes: number,
  isLittleEndian: boolean,
): RawArray {
  const end = start + samples * sampleBytes;
  if (sampleBytes === 1) {
    return bytes.subarray(start, end);
  }
  if (isLittleEndian === PLATFORM_IS_LITTLE_ENDIAN) {
    const at = bytes.byteOffset + start;
    const isAligned = at % sampleBytes === 0;
    const buffer = isAligned ? bytes.buffer : new Uint8Array(bytes.subarray(start, end)).buffer;
    const from = isAligned ? at : 0;
    return sampleBytes === 2
      ? new Uint16Array(buffer, from, samples)
      : new Uint32Array(buffer, from, samples);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
  if (sampleBytes === 2) {
    const out = new Uint16Array(samples);
    for (let i = 0; i < samples; i += 1) {
      out[i] = view.getUint16(2 * i, isLittleEndian);
    }
    return out;
  }
  const out = new Uint32Array(samples);
  for (let i = 0; i < samples; i += 1) {
    out[i] = view.getUint32(4 * i, isLittleEndian);
  }
  return out;
}

/** Planar samples (every pixel's sample 0, then every pixel's sample 1, …) interleaved. */
function interleave(raws: RawArray, pixels: number, samplesPerPixel: number): RawArray {
  const out =
    raws instanceof Uint8Array
      ? new Uint8Array(raws.length)
      : raws instanceof Uint16Array
        ? new Uint16Array(raws.length)
        : new Uint32Array(raws.length);
  for (let s = 0; s < samplesPerPixel; s += 1) {
    for (let p = 0, from = s * pixels, to = s; p < pixels; p += 1, to += samplesPerPixel) {
      out[to] = raws[from + p] ?? 0;
    }
  }
  return out;
}

/**
 * RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits segment per
 * byte of each sample, most significant byte first; segment k of a pixel's sample s holds byte k of
 * it. Output is bounded by the frame's size, whatever the segments claim.
 */
function decodeRle(
  file: DicomFile,
  info: ImageInfo,
  bytes: Uint8Array,
  offset: number,
): PixelArray {
  const pixels = info.rows * info.columns;
  const sampleBytes = Math.max(1, info.bitsAllocated / 8);
  const segmentCount = info.samplesPerPixel * sampleBytes;
  if (bytes.length < 64) {
    throw failure(
      file,
      'invalid_dicom',
      'an RLE fragment is shorter than its 64-byte header',
      offset,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getUint32(0, true);
  if (declared !== segmentCount) {
    throw failure(
      file,
      'invalid_dicom',
      `the RLE header declares ${declared} segments, the image needs ${segmentCount}`,
      offset,
    );
  }
  const bounds: [number, number][] = [];
  for (let s = 0; s < segmentCount; s += 1) {
    const start = view.getUint32(4 + s * 4, true);
    const end = s + 1 < segmentCount ? view.getUint32(8 + s * 4, true) : bytes.length;
    // A 2-byte PackBits run makes at most 128 bytes, so a segment shorter than pixels / 64 cannot
    // fill the frame: refused before the frame is allocated.
    if (start < 64 || end > bytes.length || end < start || (end - start) * 64 < pixels) {
      throw failure(
        file,
        'invalid_dicom',
        `RLE segment ${s + 1} lies outside its fragment or is too short for the frame`,
        offset,
      );
    }
    bounds.push([start, end]);
  }
  // Each segment is unpacked straight into its byte of its sample in the frame: segment s holds
  // byte s % sampleBytes (most significant first) of sample s / sampleBytes of every pixel. The
  // unsigned samples are then masked and sign-extended where that is needed.
  const length = pixels * info.samplesPerPixel;
  const raws = unsignedOfSize(sampleBytes, length);
  const rawBytes = new Uint8Array(raws.buffer, raws.byteOffset, raws.byteLength);
  const stride = info.samplesPerPixel * sampleBytes;
  for (const [s, [start, end]] of bounds.entries()) {
    const sample = Math.floor(s / sampleBytes);
    const significance = s % sampleBytes;
    const byteInSample = PLATFORM_IS_LITTLE_ENDIAN ? sampleBytes - 1 - significance : significance;
    const first = sample * sampleBytes + byteInSample;
    const filled = unpackBits(bytes, start, end, rawBytes, first, stride, pixels);
    if (filled < pixels) {
      throw failure(
        file,
        'invalid_dicom',
        `RLE segment ${s + 1} decodes to ${filled} bytes, not ${pixels}`,
        offset + start,
      );
    }
  }
  return storedSamples(info, raws);
}

/** An unsigned array of `length` samples of `sampleBytes` bytes each (1, 2 or 4). */
function unsignedOfSize(sampleBytes: number, length: number): RawArray {
  return sampleBytes === 1
    ? new Uint8Array(length)
    : sampleBytes === 2
      ? new Uint16Array(length)
      : new Uint32Array(length);
}

/**
 * PackBits (PS3.5 G.3.1): unpacks at most `count` bytes into `out` at `first`, `first + stride`, …;
 * returns how many were unpacked. A literal run cut off by the segment's end gives what is there.
 * `out` is a fresh (zeroed) array, so a repeated zero is not written: it is there already.
 */
function unpackBits(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  first: number,
  stride: number,
  count: number,
): number {
  let at = start;
  let filled = 0;
  while (at < end && filled < count) {
    const header = bytes[at] ?? 0;
    at += 1;
    if (header < 128) {
      const n = Math.min(header + 1, end - at, count - filled);
      if (stride === 1 && n >= 16) {
        out.set(bytes.subarray(at, at + n), first + filled);
      } else {
        for (let i = 0, to = first + filled * stride; i < n; i += 1, to += stride) {
          out[to] = bytes[at + i] ?? 0;
        }
      }
      filled += n;
      at += header + 1;
    } else if (header > 128) {
      const n = Math.min(257 - header, count - filled);
      const value = bytes[at] ?? 0;
      if (value !== 0 && stride === 1) {
        out.fill(value, first + filled, first + filled + n);
      } else if (value !== 0) {
        fillStrided(out, value, first + filled * stride, n, stride);
      }
      filled += n;
      at += 1;
    }
  }
  return filled;
}

/**
 * `n` bytes of `value` into `out` from `at`, `stride` apart (a run of one byte of multi-byte or
 * colour samples), four a turn of the loop: a third of the RLE decode's time went on the turns.
 */
function fillStrided(out: Uint8Array, value: number, at: number, n: number, stride: number): void {
  const end = at + n * stride;
  let to = at;
  for (const step = 4 * stride; to + 3 * stride < end; to += step) {
    out[to] = value;
    out[to + stride] = value;
    out[to + 2 * stride] = value;
    out[to + 3 * stride] = value;
  }
  for (; to < end; to += stride) {
    out[to] = value;
  }
}

/** The modality LUT's linear part (C.11.1.1.2): stored value x slope + intercept. */
export function rescale(file: DicomFile, frame: PixelFrame): Float32Array {
  const slope = file.dataset.number(TAG.RescaleSlope) ?? 1;
  const intercept = file.dataset.number(TAG.RescaleIntercept) ?? 0;
  const out = new Float32Array(frame.data.length);
  for (let i = 0; i < out.length; i += 1) {
    out[i] = (frame.data[i] ?? 0) * slope + intercept;
  }
  return out;
}

export interface VoiWindow {
  center: number;
  /** At least 1 (C.11.2.1.2.1). */
  width: number;
}

/**
 * The window a rendering uses: the one given, else the file's first Window Center/Width, else one
 * spanning the frame's range of modality values.
 */
export function windowOf(file: DicomFile, values: Float32Array, given?: VoiWindow): VoiWindow {
  if (given !== undefined) {
    return given;
  }
  const center = file.dataset.number(TAG.WindowCenter);
  const width = file.dataset.number(TAG.WindowWidth);
  if (center !== null && width !== null && width >= 1) {
    return { center, width };
  }
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  if (!Number.isFinite(min)) {
    return { center: 0.5, width: 1 };
  }
  return { center: (min + max) / 2 + 0.5, width: max - min + 1 };
}

/**
 * The 8-bit rendering of a frame (a grayscale frame: one byte per pixel; RGB of 8 bits: passed
 * through), through the VOI window's linear function (PS3.3 C.11.2.1.2.1):
 *   x <= c - 0.5 - (w-1)/2          -> 0
 *   x >  c - 0.5 + (w-1)/2          -> 255
 *   else ((x - (c - 0.5)) / (w-1) + 0.5) * 255
 * and inverted for MONOCHROME1, where the minimum is white.
 */
export function renderFrame8(
  file: DicomFile,
  index = 0,
  options: { window?: VoiWindow } = {},
): {
  width: number;
  height: number;
  samplesPerPixel: number;
  window: VoiWindow | null;
  data: Uint8Array;
} {
  const frame = decodeFrame(file, index);
  const size = { width: frame.columns, height: frame.rows, samplesPerPixel: frame.samplesPerPixel };
  const photometric = frame.photometricInterpretation;
  if (photometric === 'RGB' && frame.bitsAllocated === 8 && !frame.isSigned) {
    return { ...size, window: null, data: Uint8Array.from(frame.data) };
  }
  if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') {
    throw failure(
      file,
      'unsupported_pixel_data',
      `${photometric} images of ${frame.bitsAllocated} bits are not rendered`,
      file.dataset.get(TAG.PixelData)?.offset ?? 0,
    );
  }
  const values = rescale(file, frame);
  const window = windowOf(file, values, options.window);
  if (!(window.width >= 1) || !Number.isFinite(window.center)) {
    throw failure(
      file,
      'invalid_dicom',
      `the VOI window ${window.center}/${window.width} has a width under 1`,
      file.dataset.get(TAG.WindowWidth)?.offset ?? 0,
    );
  }
  const low = window.center - 0.5 - (window.width - 1) / 2;
  const high = window.center - 0.5 + (window.width - 1) / 2;
  const isInverted = photometric === 'MONOCHROME1';
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const x = values[i] ?? 0;
    let y: number;
    if (x <= low) {
      y = 0;
    } else if (x > high) {
      y = 255;
    } else {
      y = Math.round(((x - (window.center - 0.5)) / (window.width - 1 || 1) + 0.5) * 255);
    }
    data[i] = isInverted ? 255 - y : y;
  }
  return { ...size, window, data };
}
