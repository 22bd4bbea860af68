/**
 * Writing TIFF (TIFF 6.0) and BigTIFF, streamed: image data (tiles, strips) is appended to a sink
 * as it is made and only its offsets are kept, and the image file directories (IFDs) are written
 * after the data, at the end, so that a 50,000 x 50,000 slide never sits in memory. The header
 * keeps 16 bytes free, room for either flavour's, and the flavour is chosen when the IFDs are
 * written: BigTIFF on request, or when an offset would pass what a classic TIFF's 32 bits hold.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * The field types the writer writes (TIFF 6.0 section 2; BigTIFF's LONG8). `offset` is a LONG in a
 * classic TIFF and a LONG8 in a BigTIFF: the type of tile and strip offsets and byte counts.
 */
export type TiffWriteType =
  'byte' | 'ascii' | 'short' | 'long' | 'rational' | 'undefined' | 'long8' | 'offset';

/** One field of an IFD to write. ASCII values get their NUL; rationals are written as fractions. */
export interface TiffWriteEntry {
  tag: number;
  type: TiffWriteType;
  values: readonly number[] | string | Uint8Array;
}

/** Why a TIFF could not be written. */
export type TiffWriteErrorCode =
  'too_large_for_classic_tiff' | 'invalid_image' | 'finished' | 'plan_mismatch';

/** A TIFF the writer was asked to write that it cannot write. */
export class TiffWriteError extends Error {
  readonly code: TiffWriteErrorCode;

  constructor(code: TiffWriteErrorCode, message: string) {
    super(message);
    this.name = 'TiffWriteError';
    this.code = code;
  }
}

/** Where the bytes go: appended in order, and the header patched at the end. */
export interface TiffSink {
  append(bytes: Uint8Array): Promise<void>;
  /** Overwrites bytes already appended. */
  patch(position: number, bytes: Uint8Array): Promise<void>;
}

/**
 * A sink that hashes (SHA-256) every byte it passes on to another, in the order appended: for a
 * file written strictly in order (a TiffWriter given its `plan`), so that the file's hash is known
 * once it is written, without reading it back. It refuses a patch, which would make the hash
 * another file's.
 */
export class HashingTiffSink implements TiffSink {
  private readonly hash = createHash('sha256');
  private readonly inner: TiffSink;

  constructor(inner: TiffSink) {
    this.inner = inner;
  }

  async append(bytes: Uint8Array): Promise<void> {
    this.hash.update(bytes);
    await this.inner.append(bytes);
  }

  patch(): Promise<void> {
    return Promise.reject(
      new TiffWriteError('plan_mismatch', 'a hashed TIFF is written in order: nothing is patched'),
    );
  }

  /** The SHA-256 of every byte appended, hex; once, when the file is written. */
  sha256(): string {
    return this.hash.digest('hex');
  }
}

/** A sink into memory, for small files (tests, associated images). */
export class MemoryTiffSink implements TiffSink {
  private buffer = new Uint8Array(64 * 1024);
  private length = 0;

  append(bytes: Uint8Array): Promise<void> {
    if (this.length + bytes.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return Promise.resolve();
  }

  patch(position: number, bytes: Uint8Array): Promise<void> {
    if (position + bytes.length > this.length) {
      throw new RangeError(`cannot patch ${bytes.length} bytes at ${position} of ${this.length}`);
    }
    this.buffer.set(bytes, position);
    return Promise.resolve();
  }

  /** The bytes written so far (a copy). */
  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** The largest write buffered before it goes to the file. */
const FILE_BUFFER_BYTES = 1024 * 1024;

/** A sink into a file, written through a 1 MiB buffer; `close` when done. */
export class FileTiffSink implements TiffSink {
  private readonly handle: FileHandle;
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private written = 0;

  private constructor(handle: FileHandle) {
    this.handle = handle;
  }

  /** Creates (or truncates) the file at `path`. */
  static async create(path: string): Promise<FileTiffSink> {
    return new FileTiffSink(await open(path, 'w'));
  }

  async append(bytes: Uint8Array): Promise<void> {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= FILE_BUFFER_BYTES) {
      await this.flush();
    }
  }

  async patch(position: number, bytes: Uint8Array): Promise<void> {
    await this.flush();
    await this.handle.write(bytes, 0, bytes.length, position);
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) {
      return;
    }
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    this.pending.length = 0;
    this.pendingBytes = 0;
    await this.handle.write(joined, 0, joined.length, this.written);
    this.written += joined.length;
  }
}

export interface TiffWriterOptions {
  /** Byte order. Default little-endian ("II"). */
  littleEndian?: boolean;
  /** BigTIFF: `true` always, `false` never (an error when offsets pass 4 GiB), default `'auto'`. */
  bigTiff?: boolean | 'auto';
  /**
   * The file as it will be written, when it is known before its data (data copied as stored,
   * whose sizes the source tells): then the header, whose first-IFD offset and flavour depend on
   * everything after it, is written first and final, and the file is appended strictly in order
   * (a HashingTiffSink hashes it as it goes). Without a plan the header's room is written first
   * and filled in by `finish`.
   */
  plan?: TiffWritePlan;
}

/** What a planned TIFF will hold (TiffWriterOptions' `plan`); `finish` checks it was so. */
export interface TiffWritePlan {
  /** The length of each `writeData` call's bytes, in order. */
  readonly dataLengths: readonly number[];
  /**
   * The images as `addImage` will be given them, in order: every entry with its final type and
   * number of values; the values of offsets not known yet (TileOffsets, StripOffsets) may be any.
   */
  readonly images: readonly (readonly TiffWriteEntry[])[];
}

/** What was written: the flavour, the size, and where each IFD and its parts are. */
export interface TiffWriteResult {
  bigTiff: boolean;
  byteLength: number;
  ifdOffsets: number[];
  /** Where each IFD's entries start (after its entry count). */
  entriesAt: number[];
  /** Where each IFD's next-IFD pointer is. */
  nextPointers: number[];
}

/** Room kept for the header: a BigTIFF's 16 bytes (a classic TIFF uses the first 8). */
const HEADER_BYTES = 16;
const CLASSIC_LIMIT = 2 ** 32;

const TYPE_CODE: Readonly<Record<Exclude<TiffWriteType, 'offset'>, number>> = {
  byte: 1,
  ascii: 2,
  short: 3,
  long: 4,
  rational: 5,
  undefined: 7,
  long8: 16,
};
const TYPE_BYTES: Readonly<Record<Exclude<TiffWriteType, 'offset'>, number>> = {
  byte: 1,
  ascii: 1,
  short: 2,
  long: 4,
  rational: 8,
  undefined: 1,
  long8: 8,
};

/**
 * Whether a file whose data ends at `dataEnd` and whose IFDs take `classicDirectoryBytes` in a
 * classic TIFF needs BigTIFF: every offset of a classic TIFF, the last IFD's included, is 32 bits.
 */
export function needsBigTiff(dataEnd: number, classicDirectoryBytes: number): boolean {
  return dataEnd + classicDirectoryBytes >= CLASSIC_LIMIT;
}

/** A TIFF being written: data first (`writeData`), directories queued (`addImage`), `finish`. */
export class TiffWriter {
  readonly littleEndian: boolean;
  private readonly sink: TiffSink;
  private readonly bigTiffOption: boolean | 'auto';
  private position = HEADER_BYTES;
  private readonly images: TiffWriteEntry[][] = [];
  private finished = false;
  /** The header written first, final, when the writer was given a plan. */
  private plannedHeader: Uint8Array | null = null;

  private constructor(sink: TiffSink, options: TiffWriterOptions) {
    this.sink = sink;
    this.littleEndian = options.littleEndian ?? true;
    this.bigTiffOption = options.bigTiff ?? 'auto';
  }

  /**
   * Starts a TIFF in `sink`: the header, final when `options.plan` tells the file in advance, or
   * its room, filled in by `finish`.
   */
  static async create(sink: TiffSink, options: TiffWriterOptions = {}): Promise<TiffWriter> {
    const writer = new TiffWriter(sink, options);
    const { plan } = options;
    if (plan === undefined) {
      await sink.append(new Uint8Array(HEADER_BYTES));
      return writer;
    }
    const dataEnd = plan.dataLengths.reduce(
      (end, length) => end + length + (length % 2),
      HEADER_BYTES,
    );
    writer.plannedHeader = writer.layOut(dataEnd, plan.images.map(sortedEntries)).header;
    await sink.append(writer.plannedHeader);
    return writer;
  }

  /** Where the next byte goes. */
  get byteLength(): number {
    return this.position;
  }

  /** Appends data (a tile, a strip) and gives its offset; data starts on a word boundary. */
  async writeData(bytes: Uint8Array): Promise<number> {
    this.assertOpen();
    const at = this.position;
    await this.sink.append(bytes);
    this.position += bytes.length;
    if (this.position % 2 === 1) {
      await this.sink.append(new Uint8Array(1));
      this.position += 1;
    }
    return at;
  }

  /** Queues an image's directory; directories are chained in the order they were added. */
  addImage(entries: readonly TiffWriteEntry[]): number {
    this.assertOpen();
    const tags = new Set(entries.map((entry) => entry.tag));
    if (tags.size !== entries.length) {
      throw new TiffWriteError('invalid_image', 'an IFD names the same tag twice');
    }
    this.images.push(sortedEntries(entries));
    return this.images.length - 1;
  }

  /** Writes the directories after the data and the header before it (or checks the plan's). */
  async finish(): Promise<TiffWriteResult> {
    this.assertOpen();
    if (this.images.length === 0) {
      throw new TiffWriteError('invalid_image', 'a TIFF has at least one image');
    }
    this.finished = true;
    const { big, layouts, header } = this.layOut(this.position, this.images);
    const planned = this.plannedHeader;
    if (planned !== null && !header.every((byte, i) => planned[i] === byte)) {
      // Checked before a directory is written: a plan's file is whole and right, or not made.
      throw new TiffWriteError(
        'plan_mismatch',
        'the data or images written are not those planned: the header written first is wrong',
      );
    }
    const result: TiffWriteResult = {
      bigTiff: big,
      byteLength: 0,
      ifdOffsets: [],
      entriesAt: [],
      nextPointers: [],
    };
    for (const [i, layout] of layouts.entries()) {
      const next = layouts[i + 1]?.ifdOffset ?? 0;
      const block = this.encodeDirectory(this.images[i] ?? [], layout, big, next);
      await this.sink.append(block);
      this.position += block.length;
      result.ifdOffsets.push(layout.ifdOffset);
      result.entriesAt.push(layout.ifdOffset + (big ? 8 : 2));
      result.nextPointers.push(layout.nextPointer);
    }
    if (planned === null) {
      await this.sink.patch(0, header);
    }
    result.byteLength = this.position;
    return result;
  }

  /**
   * The directories of `images` laid out after data ending at `dataEnd`, one after another (each
   * pointing at the next), the flavour they need, and the header that points at the first.
   */
  private layOut(
    dataEnd: number,
    images: readonly (readonly TiffWriteEntry[])[],
  ): { big: boolean; layouts: DirectoryLayout[]; header: Uint8Array } {
    const classicBytes = images.reduce((sum, entries) => sum + directoryBytes(entries, false), 0);
    const tooLarge = needsBigTiff(dataEnd, classicBytes);
    if (this.bigTiffOption === false && tooLarge) {
      throw new TiffWriteError(
        'too_large_for_classic_tiff',
        `the file would be ${dataEnd + classicBytes} bytes, past a classic TIFF's 4 GiB`,
      );
    }
    const big = this.bigTiffOption === true || tooLarge;
    let at = dataEnd;
    const layouts = images.map((entries) => {
      const layout = layoutDirectory(entries, big, at);
      at += layout.bytes;
      return layout;
    });
    const header = new Uint8Array(HEADER_BYTES);
    const view = new DataView(header.buffer);
    const little = this.littleEndian;
    const first = layouts[0]?.ifdOffset ?? 0;
    header.set(little ? [0x49, 0x49] : [0x4d, 0x4d]);
    view.setUint16(2, big ? 43 : 42, little);
    if (big) {
      view.setUint16(4, 8, little);
      view.setBigUint64(8, BigInt(first), little);
    } else {
      view.setUint32(4, first, little);
    }
    return { big, layouts, header };
  }

  private assertOpen(): void {
    if (this.finished) {
      throw new TiffWriteError('finished', 'the TIFF is finished: nothing more can be written');
    }
  }

  /** An IFD's block: the values too long to sit in their entries, then the IFD itself. */
  private encodeDirectory(
    entries: readonly TiffWriteEntry[],
    layout: DirectoryLayout,
    big: boolean,
    next: number,
  ): Uint8Array {
    const little = this.littleEndian;
    const block = new Uint8Array(layout.bytes);
    const view = new DataView(block.buffer);
    const base = layout.blockOffset;
    const ifdAt = layout.ifdOffset - base;
    const entrySize = big ? 20 : 12;
    const offsetSize = big ? 8 : 4;
    if (big) {
      view.setBigUint64(ifdAt, BigInt(entries.length), little);
    } else {
      view.setUint16(ifdAt, entries.length, little);
    }
    entries.forEach((entry, i) => {
      const type = resolveType(entry.type, big);
      const values = encodeValues(entry, type, little);
      const count = values.length / TYPE_BYTES[type];
      const e = ifdAt + (big ? 8 : 2) + i * entrySize;
      view.setUint16(e, entry.tag, little);
      view.setUint16(e + 2, TYPE_CODE[type], little);
      if (big) {
        view.setBigUint64(e + 4, BigInt(count), little);
      } else {
        view.setUint32(e + 4, count, little);
      }
      const valueAt = e + (big ? 12 : 8);
      const outOfLine = layout.valueOffsets[i];
      if (outOfLine === undefined) {
        block.set(values, valueAt);
      } else {
        block.set(values, outOfLine - base);
        writeOffset(view, valueAt, outOfLine, offsetSize, little);
      }
    });
    writeOffset(view, layout.nextPointer - base, next, offsetSize, little);
    return block;
  }
}

interface DirectoryLayout {
  /** Where the block (values, then the IFD) starts. */
  blockOffset: number;
  bytes: number;
  ifdOffset: number;
  nextPointer: number;
  /** Where each entry's value is, when it does not fit in the entry. */
  valueOffsets: (number | undefined)[];
}

/** An image's entries in the order its directory holds them (TIFF 6.0: ascending tags). */
function sortedEntries(entries: readonly TiffWriteEntry[]): TiffWriteEntry[] {
  return [...entries].sort((a, b) => a.tag - b.tag);
}

function resolveType(type: TiffWriteType, big: boolean): Exclude<TiffWriteType, 'offset'> {
  if (type === 'offset') {
    return big ? 'long8' : 'long';
  }
  return type;
}

function valueBytes(entry: TiffWriteEntry, big: boolean): number {
  const type = resolveType(entry.type, big);
  const count =
    typeof entry.values === 'string'
      ? entry.values.length + 1
      : entry.values instanceof Uint8Array
        ? entry.values.length / TYPE_BYTES[type]
        : entry.values.length;
  return count * TYPE_BYTES[type];
}

function layoutDirectory(
  entries: readonly TiffWriteEntry[],
  big: boolean,
  blockOffset: number,
): DirectoryLayout {
  const offsetSize = big ? 8 : 4;
  let at = blockOffset;
  const valueOffsets = entries.map((entry) => {
    const bytes = valueBytes(entry, big);
    if (bytes <= offsetSize) {
      return undefined;
    }
    const where = at;
    at += bytes + (bytes % 2);
    return where;
  });
  const ifdOffset = at;
  const entrySize = big ? 20 : 12;
  const nextPointer = ifdOffset + (big ? 8 : 2) + entries.length * entrySize;
  const end = nextPointer + offsetSize;
  return { blockOffset, bytes: end - blockOffset, ifdOffset, nextPointer, valueOffsets };
}

function directoryBytes(entries: readonly TiffWriteEntry[], big: boolean): number {
  return layoutDirectory(entries, big, 0).bytes;
}

function writeOffset(
  view: DataView,
  at: number,
  value: number,
  size: number,
  little: boolean,
): void {
  if (size === 8) {
    view.setBigUint64(at, BigInt(value), little);
  } else {
    view.setUint32(at, value, little);
  }
}

/** A rational as numerator and denominator, both 32-bit, as close as 32 bits allow. */
function toFraction(value: number): [number, number] {
  if (!Number.isFinite(value) || value < 0) {
    throw new TiffWriteError('invalid_image', `a rational cannot be ${value}`);
  }
  let denominator = 1;
  while (denominator < 1_000_000 && value * denominator * 10 < 0xffff_ffff) {
    denominator *= 10;
  }
  return [Math.round(value * denominator), denominator];
}

function encodeValues(
  entry: TiffWriteEntry,
  type: Exclude<TiffWriteType, 'offset'>,
  little: boolean,
): Uint8Array {
  const { values } = entry;
  if (values instanceof Uint8Array) {
    return values;
  }
  if (typeof values === 'string') {
    const bytes = new Uint8Array(values.length + 1);
    for (let i = 0; i < values.length; i += 1) {
      const code = values.charCodeAt(i);
      if (code > 0xff) {
        throw new TiffWriteError('invalid_image', `tag ${entry.tag}'s text is not Latin-1`);
      }
      bytes[i] = code;
    }
    return bytes;
  }
  const size = TYPE_BYTES[type];
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => {
    const at = i * size;
    switch (type) {
      case 'byte':
      case 'ascii':
      case 'undefined':
        view.setUint8(at, value);
        break;
      case 'short':
        view.setUint16(at, value, little);
        break;
      case 'long':
        if (value > 0xffff_ffff) {
          throw new TiffWriteError('invalid_image', `tag ${entry.tag}'s ${value} is past 32 bits`);
        }
        view.setUint32(at, value, little);
        break;
      case 'long8':
        view.setBigUint64(at, BigInt(value), little);
        break;
      case 'rational': {
        const [numerator, denominator] = toFraction(value);
        view.setUint32(at, numerator, little);
        view.setUint32(at + 4, denominator, little);
        break;
      }
    }
  });
  return bytes;
}
