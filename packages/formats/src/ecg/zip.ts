/**
 * The little of ZIP (PKWARE APPNOTE.TXT 6.3.10) that NumPy's `.npz` files need: the end of central
 * directory record (and its ZIP64 form, which `numpy.savez` may write), the central directory,
 * local file headers, and entries stored (method 0) or deflated (method 8).
 *
 * Every offset and size is checked against the file before it is used: the directory must lie
 * inside the file, every entry's data inside the file and before the directory, and the number of
 * entries and every entry's declared size within the limits. Deflated data is inflated with an
 * output cap of the entry's declared size (and never past `maxEntryBytes`), so a "zip bomb" stops
 * at the cap instead of filling memory; the result must then have exactly the declared size and
 * CRC-32, and no entry may declare more than deflate can make of its compressed bytes, nor all of
 * them together more than `maxTotalBytes`. Entries may not overlap (the "overlapping files" zip
 * bomb, and two names for one set of bytes). Encrypted entries, other methods and archives
 * spanning disks are `unsupported_zip`.
 */
import { crc32 as zlibCrc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { FormatError, type FormatErrorCode } from '../format-error.js';

export interface ZipOptions {
  /** The file's name, for error messages. */
  name: string;
  /** The most entries in the archive. Default 10,000. */
  maxEntries?: number;
  /** The largest entry, uncompressed, in bytes. Default 256 MiB. */
  maxEntryBytes?: number;
  /** The most bytes all entries together declare, uncompressed. Default 1 GiB. */
  maxTotalBytes?: number;
}

export const ZIP_DEFAULT_LIMITS = {
  maxEntries: 10_000,
  maxEntryBytes: 256 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
} as const;

/**
 * The most bytes deflate makes of one compressed byte (RFC 1951: a 258-byte match costs at least
 * two bits, so about 1,032 to 1), and the few bytes of slack a tiny stream has: an entry declaring
 * more than its compressed bytes can make is lying about its size.
 */
const DEFLATE_MAX_RATIO = 1032;
const DEFLATE_SLACK_BYTES = 1024;

/** One file in the archive, as its central directory entry says. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: 0 | 8;
  compressedSize: number;
  size: number;
  crc32: number;
  /** Offset of the entry's local file header. */
  headerOffset: number;
}

export interface ZipArchive {
  entries: ZipEntry[];
  /** The entry's bytes, inflated and checked against its size and CRC-32. */
  read(entry: ZipEntry): Uint8Array;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_BYTES = 22;
const MAX_COMMENT = 0xffff;

/** Does a file begin like a ZIP archive (a local file header, or an empty archive)? */
export function isZip(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
}

/** Opens a ZIP archive held in memory; every problem is a `FormatError`. */
export function readZip(bytes: Uint8Array, options: ZipOptions): ZipArchive {
  const limits = { ...ZIP_DEFAULT_LIMITS, ...options };
  const fail = (code: FormatErrorCode, detail: string, offset: number) =>
    new FormatError(code, detail, { file: options.name, offset });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number, what: string) => {
    const value = view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw fail('invalid_zip', `the ZIP64 ${what} ${value} is too large`, at);
    }
    return Number(value);
  };

  const eocd = findEndOfCentralDirectory(bytes, view);
  if (eocd < 0) {
    throw fail('invalid_zip', 'no end of central directory record: not a ZIP archive', 0);
  }
  let disk = u16(eocd + 4);
  let directoryDisk = u16(eocd + 6);
  let count = u16(eocd + 10);
  let directorySize = u32(eocd + 12);
  let directoryOffset = u32(eocd + 16);
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || u32(locator) !== ZIP64_LOCATOR_SIGNATURE) {
      throw fail('invalid_zip', 'the directory needs ZIP64 but there is no ZIP64 locator', eocd);
    }
    const record = u64(locator + 8, 'end of central directory offset');
    if (record + 56 > locator || u32(record) !== ZIP64_EOCD_SIGNATURE) {
      throw fail('invalid_zip', 'the ZIP64 locator does not point at a ZIP64 record', locator + 8);
    }
    disk = u32(record + 16);
    directoryDisk = u32(record + 20);
    count = u64(record + 32, 'entry count');
    directorySize = u64(record + 40, 'directory size');
    directoryOffset = u64(record + 48, 'directory offset');
  }
  if (disk !== 0 || directoryDisk !== 0) {
    throw fail('unsupported_zip', 'the archive spans several disks', eocd + 4);
  }
  if (count > limits.maxEntries) {
    throw fail(
      'limit_exceeded',
      `the archive declares ${count} entries, more than the limit of ${limits.maxEntries}`,
      eocd + 10,
    );
  }
  if (directoryOffset + directorySize > eocd) {
    throw fail(
      'invalid_zip',
      `the central directory (${directorySize} bytes at ${directoryOffset}) is not inside the file`,
      eocd + 12,
    );
  }

  const entries: ZipEntry[] = [];
  let totalBytes = 0;
  let at = directoryOffset;
  const directoryEnd = directoryOffset + directorySize;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directoryEnd || u32(at) !== CENTRAL_SIGNATURE) {
      throw fail('invalid_zip', `central directory entry ${i + 1} is not where it should be`, at);
    }
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc32 = u32(at + 16);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let startDisk = u16(at + 34);
    let headerOffset = u32(at + 42);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > directoryEnd) {
      throw fail('invalid_zip', `central directory entry ${i + 1} runs past the directory`, at);
    }
    const name = decodeName(bytes.subarray(at + 46, at + 46 + nameLength), (flags & 0x800) !== 0);
    // ZIP64 extended information (APPNOTE 4.5.3): only the fields that are all ones above.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = u16(extra);
      const length = u16(extra + 2);
      if (extra + 4 + length > extraEnd) {
        throw fail('invalid_zip', `an extra field of "${name}" runs past its entry`, extra);
      }
      if (id === 0x0001) {
        let field = extra + 4;
        const take = (what: string) => {
          if (field + 8 > extra + 4 + length) {
            throw fail('invalid_zip', `the ZIP64 extra field of "${name}" has no ${what}`, field);
          }
          const value = u64(field, what);
          field += 8;
          return value;
        };
        size = size === 0xffffffff ? take('size') : size;
        compressedSize = compressedSize === 0xffffffff ? take('compressed size') : compressedSize;
        headerOffset = headerOffset === 0xffffffff ? take('header offset') : headerOffset;
        if (startDisk === 0xffff && field + 4 <= extra + 4 + length) {
          startDisk = u32(field);
        }
      }
      extra += 4 + length;
    }
    if ((flags & 0x1) !== 0) {
      throw fail('unsupported_zip', `"${name}" is encrypted`, at + 8);
    }
    if (method !== 0 && method !== 8) {
      throw fail('unsupported_zip', `"${name}" uses compression method ${method}`, at + 10);
    }
    if (startDisk !== 0) {
      throw fail('unsupported_zip', `"${name}" starts on another disk`, at + 34);
    }
    if (size > limits.maxEntryBytes) {
      throw fail(
        'limit_exceeded',
        `"${name}" declares ${size} bytes, more than the limit of ${limits.maxEntryBytes}`,
        at + 24,
      );
    }
    if (method === 0 && compressedSize !== size) {
      throw fail('invalid_zip', `stored entry "${name}" has two different sizes`, at + 20);
    }
    if (headerOffset + 30 + compressedSize > directoryOffset) {
      throw fail('invalid_zip', `the data of "${name}" is not inside the file`, at + 42);
    }
    if (method === 8 && size > compressedSize * DEFLATE_MAX_RATIO + DEFLATE_SLACK_BYTES) {
      throw fail(
        'invalid_zip',
        `"${name}" declares more bytes than its compressed data can inflate to`,
        at + 24,
      );
    }
    totalBytes += size;
    if (totalBytes > limits.maxTotalBytes) {
      throw fail(
        'limit_exceeded',
        `the entries declare more than the limit of ${limits.maxTotalBytes} bytes together`,
        at + 24,
      );
    }
    entries.push({ name, method, compressedSize, size, crc32, headerOffset });
    at = next;
  }

  // Where each entry's data begins (after its local header's name and extra field), and a check
  // that the entries, local header and data, follow one another without overlapping.
  const dataStarts = new Map<ZipEntry, number>();
  let previousEnd = 0;
  for (const entry of [...entries].sort((a, b) => a.headerOffset - b.headerOffset)) {
    const header = entry.headerOffset;
    if (header < previousEnd) {
      throw fail('invalid_zip', `"${entry.name}" overlaps the entry before it`, header);
    }
    if (u32(header) !== LOCAL_SIGNATURE) {
      throw fail('invalid_zip', `no local file header for "${entry.name}"`, header);
    }
    const start = header + 30 + u16(header + 26) + u16(header + 28);
    const end = start + entry.compressedSize;
    if (end > directoryOffset) {
      throw fail('truncated', `the data of "${entry.name}" runs past the file`, start);
    }
    dataStarts.set(entry, start);
    previousEnd = end;
  }

  return {
    entries,
    read(entry) {
      const start = dataStarts.get(entry);
      if (start === undefined) {
        throw new RangeError(`"${entry.name}" is not an entry of this archive`);
      }
      const raw = bytes.subarray(start, start + entry.compressedSize);
      let data: Uint8Array;
      if (entry.method === 0) {
        data = raw;
      } else {
        try {
          // One byte more than declared, so that an entry that inflates past its size is caught.
          data = inflateRawSync(raw, { maxOutputLength: entry.size + 1 });
        } catch (error) {
          const tooLarge =
            error instanceof Error && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE';
          throw fail(
            tooLarge ? 'limit_exceeded' : 'invalid_zip',
            tooLarge
              ? `"${entry.name}" inflates past its declared ${entry.size} bytes`
              : `"${entry.name}" is not valid deflate data`,
            start,
          );
        }
      }
      if (data.length !== entry.size) {
        throw fail(
          'invalid_zip',
          `"${entry.name}" has ${data.length} bytes, not the ${entry.size} its entry declares`,
          start,
        );
      }
      if (crc32(data) !== entry.crc32) {
        throw fail('invalid_zip', `"${entry.name}" fails its CRC-32 check`, start);
      }
      return data;
    },
  };
}

/** A file to write into a ZIP archive. */
export interface ZipFileToWrite {
  name: string;
  data: Uint8Array;
  /** The entry's comment. Default none. */
  comment?: string;
  /** The entry's extra field, as written (APPNOTE 4.5: id, length, data …). Default none. */
  extra?: Uint8Array;
  /** The entry's DOS date and time (local, 2-second steps). Default the DOS epoch, 1980-01-01. */
  modified?: {
    year: number;
    month: number;
    day: number;
    hour: number;
    minute: number;
    second: number;
  };
}

/**
 * Writes a ZIP archive (no ZIP64: every entry and the archive under 4 GiB). By default it writes
 * what numpy.savez writes: names in UTF-8, every time at the DOS epoch, no comments, no extra
 * fields; stored, or deflated with `compress`.
 */
export function writeZip(
  files: readonly ZipFileToWrite[],
  options: { compress?: boolean; comment?: string } = {},
): Uint8Array {
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const file of files) {
    const name = encoder.encode(file.name);
    const extra = file.extra ?? new Uint8Array(0);
    const comment = encoder.encode(file.comment ?? '');
    const compress = options.compress ?? false;
    const body = compress ? new Uint8Array(deflateRawSync(file.data)) : file.data;
    const crc = crc32(file.data);
    const { date, time } = dosDateTime(file.modified);
    const local = new Uint8Array(30 + name.length + extra.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, LOCAL_SIGNATURE, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 0x800, true); // names are UTF-8
    lv.setUint16(8, compress ? 8 : 0, true);
    lv.setUint16(10, time, true);
    lv.setUint16(12, date, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, file.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extra.length, true);
    local.set(name, 30);
    local.set(extra, 30 + name.length);
    const central = new Uint8Array(46 + name.length + extra.length + comment.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, CENTRAL_SIGNATURE, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x800, true);
    cv.setUint16(10, compress ? 8 : 0, true);
    cv.setUint16(12, time, true);
    cv.setUint16(14, date, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, file.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, extra.length, true);
    cv.setUint16(32, comment.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    central.set(extra, 46 + name.length);
    central.set(comment, 46 + name.length + extra.length);
    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const directorySize = centrals.reduce((sum, c) => sum + c.length, 0);
  const archiveComment = encoder.encode(options.comment ?? '');
  const end = new Uint8Array(EOCD_BYTES + archiveComment.length);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, EOCD_SIGNATURE, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, directorySize, true);
  ev.setUint32(16, offset, true);
  ev.setUint16(20, archiveComment.length, true);
  end.set(archiveComment, EOCD_BYTES);
  const out = new Uint8Array(offset + directorySize + end.length);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A DOS date and time (APPNOTE 4.4.6): the epoch 1980-01-01 00:00:00 (date 0x21) by default. */
function dosDateTime(modified: ZipFileToWrite['modified']): { date: number; time: number } {
  if (modified === undefined) {
    return { date: 0x21, time: 0 };
  }
  return {
    date: ((modified.year - 1980) << 9) | (modified.month << 5) | modified.day,
    time: (modified.hour << 11) | (modified.minute << 5) | Math.floor(modified.second / 2),
  };
}

/** The last end of central directory record whose comment reaches exactly to the end of the file. */
function findEndOfCentralDirectory(bytes: Uint8Array, view: DataView): number {
  const last = bytes.length - EOCD_BYTES;
  for (let at = last; at >= 0 && at >= last - MAX_COMMENT; at--) {
    if (
      view.getUint32(at, true) === EOCD_SIGNATURE &&
      at + EOCD_BYTES + view.getUint16(at + 20, true) === bytes.length
    ) {
      return at;
    }
  }
  return -1;
}

function decodeName(bytes: Uint8Array, isUtf8: boolean): string {
  // Without the UTF-8 flag, names are CP437; NumPy's are ASCII, which both agree on.
  return new TextDecoder(isUtf8 ? 'utf-8' : 'latin1').decode(bytes);
}

/**
 * CRC-32 (ISO 3309, the polynomial ZIP and PNG use), by zlib (node:zlib's crc32, Node 20.15 and
 * later): every byte of an archive is checked once and its rewrite summed once more, so a loop a
 * byte at a time in JavaScript would cost more than the rest of the rewrite.
 */
export function crc32(bytes: Uint8Array): number {
  return zlibCrc32(bytes) >>> 0;
}
