/**
 * TIFF (TIFF 6.0, Adobe 1992) and BigTIFF (64-bit offsets, libtiff's BigTIFF design), either byte
 * order, read by random access: the header and the chain of image file directories (IFDs) are read
 * once, every tag's value only when asked for, and a single element of an array (one tile's offset)
 * without reading the array. Every offset and count is checked against the file's size before it is
 * used, the chain is bounded (`maxIfds`) and a directory met twice is a cycle, not a loop.
 */
import { FormatError, type FormatErrorCode } from '../format-error.js';
import type { RandomAccessFile } from '../tables/parquet.js';

/** Tags this package reads (TIFF 6.0 Appendix A; JPEGTables from TIFF Technical Note 2). */
export const TIFF_TAG = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  PhotometricInterpretation: 262,
  DocumentName: 269,
  ImageDescription: 270,
  Make: 271,
  Model: 272,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  XResolution: 282,
  YResolution: 283,
  PlanarConfiguration: 284,
  PageName: 285,
  ResolutionUnit: 296,
  Software: 305,
  DateTime: 306,
  Artist: 315,
  HostComputer: 316,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SubIFDs: 330,
  ExtraSamples: 338,
  SampleFormat: 339,
  JPEGTables: 347,
  YCbCrSubSampling: 530,
} as const;

/** Bytes per value of each field type (TIFF 6.0 section 2; BigTIFF adds 16, 17 and 18). */
const TYPE_SIZE: ReadonlyMap<number, number> = new Map([
  [1, 1], // BYTE
  [2, 1], // ASCII
  [3, 2], // SHORT
  [4, 4], // LONG
  [5, 8], // RATIONAL
  [6, 1], // SBYTE
  [7, 1], // UNDEFINED
  [8, 2], // SSHORT
  [9, 4], // SLONG
  [10, 8], // SRATIONAL
  [11, 4], // FLOAT
  [12, 8], // DOUBLE
  [13, 4], // IFD
  [16, 8], // LONG8
  [17, 8], // SLONG8
  [18, 8], // IFD8
]);

/** Limits applied before anything is allocated or followed. */
export interface TiffLimits {
  /** The most IFDs in the chain. Default 1,024. */
  maxIfds?: number;
  /** The most entries (tags) in one IFD. Default 4,096. */
  maxEntriesPerIfd?: number;
  /** The largest tag value read whole (a description, JPEGTables, a small array). Default 16 MiB. */
  maxTagBytes?: number;
}

export const TIFF_DEFAULT_LIMITS = {
  maxIfds: 1024,
  maxEntriesPerIfd: 4096,
  maxTagBytes: 16 * 1024 * 1024,
} as const satisfies Required<TiffLimits>;

export interface TiffReadOptions extends TiffLimits {
  /** The file's name, for error messages. */
  name: string;
}

/** One directory entry: where its value is, not the value. */
export interface TiffEntry {
  tag: number;
  type: number;
  count: number;
  /** Bytes per value. */
  typeSize: number;
  /** Where the entry itself is in the file. */
  entryOffset: number;
  /** Where the value is in the file (inside the entry when it fits there). */
  valueOffset: number;
}

export interface TiffIfd {
  /** Position in the chain, from 0. */
  index: number;
  /** Where the IFD is in the file. */
  offset: number;
  entries: ReadonlyMap<number, TiffEntry>;
}

/** Tells whether a file's first bytes are a TIFF or BigTIFF header. */
export function isTiff(head: Uint8Array): boolean {
  if (head.length < 4) {
    return false;
  }
  const order = String.fromCharCode(head[0] ?? 0, head[1] ?? 0);
  const little = order === 'II';
  if (!little && order !== 'MM') {
    return false;
  }
  const version = little
    ? (head[2] ?? 0) | ((head[3] ?? 0) << 8)
    : ((head[2] ?? 0) << 8) | (head[3] ?? 0);
  return version === 42 || version === 43;
}

/** A TIFF or BigTIFF file opened for reading: its IFD chain, and tag values on demand. */
export class TiffFile {
  readonly name: string;
  readonly isLittleEndian: boolean;
  readonly isBigTiff: boolean;
  readonly ifds: readonly TiffIfd[];
  readonly byteLength: number;
  private readonly file: RandomAccessFile;
  private readonly maxTagBytes: number;

  private constructor(
    file: RandomAccessFile,
    name: string,
    isLittleEndian: boolean,
    isBigTiff: boolean,
    ifds: TiffIfd[],
    maxTagBytes: number,
  ) {
    this.file = file;
    this.name = name;
    this.isLittleEndian = isLittleEndian;
    this.isBigTiff = isBigTiff;
    this.ifds = ifds;
    this.byteLength = file.byteLength;
    this.maxTagBytes = maxTagBytes;
  }

  /** Reads the header and the IFD chain (the directories' entries, none of their values). */
  static async open(file: RandomAccessFile, options: TiffReadOptions): Promise<TiffFile> {
    const limits = { ...TIFF_DEFAULT_LIMITS, ...options };
    const fail = (code: FormatErrorCode, detail: string, offset: number) =>
      new FormatError(code, detail, { file: options.name, offset });
    const size = file.byteLength;
    if (size < 8) {
      throw fail('invalid_tiff', `the file has ${size} bytes, fewer than a TIFF header`, 0);
    }
    const head = await file.read(0, Math.min(16, size));
    if (!isTiff(head)) {
      throw fail(
        'invalid_tiff',
        'the file does not start with a TIFF header (II*\\0 or MM\\0*)',
        0,
      );
    }
    const little = head[0] === 0x49;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const isBigTiff = view.getUint16(2, little) === 43;
    let firstIfdPointer = 4;
    if (isBigTiff) {
      if (size < 16) {
        throw fail('invalid_tiff', `the file has ${size} bytes, fewer than a BigTIFF header`, 0);
      }
      if (view.getUint16(4, little) !== 8 || view.getUint16(6, little) !== 0) {
        throw fail('invalid_tiff', 'the BigTIFF header does not declare 8-byte offsets', 4);
      }
      firstIfdPointer = 8;
    }
    const offsetSize = isBigTiff ? 8 : 4;
    const countSize = isBigTiff ? 8 : 2;
    const entrySize = isBigTiff ? 20 : 12;
    const readOffset = (bytes: Uint8Array, at: number, width: number, where: number): number =>
      readUnsigned(bytes, at, width, little, () =>
        fail('invalid_tiff', 'a 64-bit offset or count is larger than 2^53', where),
      );

    const ifds: TiffIfd[] = [];
    const seen = new Set<number>();
    let pointerAt = firstIfdPointer;
    let next = readOffset(head, firstIfdPointer, offsetSize, firstIfdPointer);
    while (next !== 0) {
      if (seen.has(next)) {
        throw fail(
          'invalid_tiff',
          `the IFD chain is cyclic: the IFD at byte ${next} is reached a second time`,
          pointerAt,
        );
      }
      if (ifds.length >= limits.maxIfds) {
        throw fail('limit_exceeded', `the file has more than ${limits.maxIfds} IFDs`, pointerAt);
      }
      if (next + countSize > size) {
        throw fail(
          'truncated',
          `an IFD is said to be at byte ${next}, past the end of the file (${size} bytes)`,
          pointerAt,
        );
      }
      seen.add(next);
      const countBytes = await file.read(next, countSize);
      const count = readOffset(countBytes, 0, countSize, next);
      if (count > limits.maxEntriesPerIfd) {
        throw fail(
          'limit_exceeded',
          `the IFD at byte ${next} declares ${count} entries, more than ${limits.maxEntriesPerIfd}`,
          next,
        );
      }
      const ifdBytes = count * entrySize + offsetSize;
      if (next + countSize + ifdBytes > size) {
        throw fail(
          'truncated',
          `the IFD at byte ${next} declares ${count} entries, which end past the end of the file (${size} bytes)`,
          next,
        );
      }
      const bytes = await file.read(next + countSize, ifdBytes);
      const entryView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const entries = new Map<number, TiffEntry>();
      for (let i = 0; i < count; i += 1) {
        const at = i * entrySize;
        const entryOffset = next + countSize + at;
        const tag = entryView.getUint16(at, little);
        const type = entryView.getUint16(at + 2, little);
        const typeSize = TYPE_SIZE.get(type);
        if (typeSize === undefined) {
          continue; // TIFF 6.0: readers skip fields of a type they do not know
        }
        const valueCount = readOffset(bytes, at + 4, isBigTiff ? 8 : 4, entryOffset);
        const inlineAt = entryOffset + 4 + (isBigTiff ? 8 : 4);
        // Compared by division first so that a huge count cannot overflow the product.
        if (valueCount > size / typeSize) {
          throw fail(
            'truncated',
            `tag ${tag} declares ${valueCount} values, more than the file (${size} bytes) can hold`,
            entryOffset,
          );
        }
        const valueBytes = valueCount * typeSize;
        let valueOffset = inlineAt;
        if (valueBytes > offsetSize) {
          valueOffset = readOffset(bytes, at + 4 + (isBigTiff ? 8 : 4), offsetSize, inlineAt);
          if (valueOffset + valueBytes > size) {
            throw fail(
              'truncated',
              `tag ${tag}'s ${valueBytes} bytes at byte ${valueOffset} end past the end of the file (${size} bytes)`,
              inlineAt,
            );
          }
        }
        entries.set(tag, { tag, type, count: valueCount, typeSize, entryOffset, valueOffset });
      }
      ifds.push({ index: ifds.length, offset: next, entries });
      pointerAt = next + countSize + count * entrySize;
      next = readOffset(bytes, count * entrySize, offsetSize, pointerAt);
    }
    if (ifds.length === 0) {
      throw fail('invalid_tiff', 'the file has no IFD', firstIfdPointer);
    }
    return new TiffFile(file, options.name, little, isBigTiff, ifds, limits.maxTagBytes);
  }

  /** A FormatError naming this file. */
  error(code: FormatErrorCode, detail: string, offset: number): FormatError {
    return new FormatError(code, detail, { file: this.name, offset });
  }

  /** Reads raw bytes the caller has checked against `byteLength`. */
  async readBytes(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.byteLength) {
      throw this.error(
        'truncated',
        `${length} bytes at byte ${offset} end past the end of the file (${this.byteLength} bytes)`,
        offset,
      );
    }
    return this.file.read(offset, length);
  }

  /** A tag's values as numbers (rationals divided), whole; null when the IFD lacks the tag. */
  async numbers(ifd: TiffIfd, tag: number): Promise<number[] | null> {
    const entry = ifd.entries.get(tag);
    if (entry === undefined) {
      return null;
    }
    const bytes = await this.valueBytes(entry);
    const values: number[] = [];
    for (let i = 0; i < entry.count; i += 1) {
      values.push(this.decodeNumber(entry, bytes, i * entry.typeSize));
    }
    return values;
  }

  /** A tag's first value; `fallback` (TIFF 6.0's default) when the IFD lacks the tag. */
  async number(ifd: TiffIfd, tag: number, fallback: number | null = null): Promise<number | null> {
    const entry = ifd.entries.get(tag);
    if (entry === undefined || entry.count === 0) {
      return fallback;
    }
    return this.numberAt(entry, 0);
  }

  /** One value of an array tag, read alone (a tile's offset among thousands). */
  async numberAt(entry: TiffEntry, index: number): Promise<number> {
    if (index < 0 || index >= entry.count) {
      throw this.error(
        'invalid_tiff',
        `tag ${entry.tag} has ${entry.count} values, not a value ${index}`,
        entry.entryOffset,
      );
    }
    const bytes = await this.file.read(entry.valueOffset + index * entry.typeSize, entry.typeSize);
    return this.decodeNumber(entry, bytes, 0);
  }

  /** An ASCII tag (NUL-terminated, Latin-1 read); null when the IFD lacks the tag. */
  async string(ifd: TiffIfd, tag: number): Promise<string | null> {
    const entry = ifd.entries.get(tag);
    if (entry === undefined) {
      return null;
    }
    const bytes = await this.valueBytes(entry);
    const end = bytes.indexOf(0);
    return new TextDecoder('latin1').decode(end === -1 ? bytes : bytes.subarray(0, end));
  }

  /** A tag's value bytes, whole (JPEGTables); null when the IFD lacks the tag. */
  async bytes(ifd: TiffIfd, tag: number): Promise<Uint8Array | null> {
    const entry = ifd.entries.get(tag);
    return entry === undefined ? null : this.valueBytes(entry);
  }

  private async valueBytes(entry: TiffEntry): Promise<Uint8Array> {
    const length = entry.count * entry.typeSize;
    if (length > this.maxTagBytes) {
      throw this.error(
        'limit_exceeded',
        `tag ${entry.tag} has ${length} bytes, more than ${this.maxTagBytes}`,
        entry.entryOffset,
      );
    }
    return this.file.read(entry.valueOffset, length);
  }

  private decodeNumber(entry: TiffEntry, bytes: Uint8Array, at: number): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const little = this.isLittleEndian;
    switch (entry.type) {
      case 1:
      case 2:
      case 7:
        return view.getUint8(at);
      case 6:
        return view.getInt8(at);
      case 3:
        return view.getUint16(at, little);
      case 8:
        return view.getInt16(at, little);
      case 4:
      case 13:
        return view.getUint32(at, little);
      case 9:
        return view.getInt32(at, little);
      case 5: {
        const denominator = view.getUint32(at + 4, little);
        return denominator === 0 ? Number.NaN : view.getUint32(at, little) / denominator;
      }
      case 10: {
        const denominator = view.getInt32(at + 4, little);
        return denominator === 0 ? Number.NaN : view.getInt32(at, little) / denominator;
      }
      case 11:
        return view.getFloat32(at, little);
      case 12:
        return view.getFloat64(at, little);
      case 16:
      case 18:
        return readUnsigned(bytes, at, 8, little, () =>
          this.error(
            'invalid_tiff',
            `tag ${entry.tag} has a value larger than 2^53`,
            entry.entryOffset,
          ),
        );
      case 17: {
        const value = view.getBigInt64(at, little);
        if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
          throw this.error(
            'invalid_tiff',
            `tag ${entry.tag} has a value beyond 2^53`,
            entry.entryOffset,
          );
        }
        return Number(value);
      }
      default:
        throw this.error(
          'invalid_tiff',
          `tag ${entry.tag} has type ${entry.type}`,
          entry.entryOffset,
        );
    }
  }
}

/** An unsigned integer of 2, 4 or 8 bytes; 8-byte values past 2^53 fail with `tooLarge()`. */
function readUnsigned(
  bytes: Uint8Array,
  at: number,
  width: number,
  little: boolean,
  tooLarge: () => FormatError,
): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (width === 2) {
    return view.getUint16(at, little);
  }
  if (width === 4) {
    return view.getUint32(at, little);
  }
  const value = view.getBigUint64(at, little);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw tooLarge();
  }
  return Number(value);
}
