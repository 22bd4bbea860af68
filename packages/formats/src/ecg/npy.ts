/**
 * NumPy's `.npy` array format (numpy.lib.format, "NPY format" versions 1.0, 2.0 and 3.0), read and
 * written without Python: the magic "\x93NUMPY", a version, a header length (2 bytes little endian
 * in 1.0, 4 bytes in 2.0 and 3.0), and a Python dict literal with exactly the keys `descr`,
 * `fortran_order` and `shape`, padded with spaces and ended by a newline; then the array's bytes.
 *
 * The header is parsed strictly (never evaluated): string literals without escapes, True/False and
 * tuples of non-negative integers, each key once. Only plain real dtypes are read, the ones ingest
 * keeps (@lantern/deid's NumPy rewrite): booleans, signed and unsigned integers of 1, 2, 4 and 8
 * bytes, floats of 2, 4 and 8 bytes, either byte order. Each is read into the typed array of its
 * width, exactly: 64-bit integers into BigInt64Array and BigUint64Array (a float64 would round
 * past 2^53; the ECG model widens them to float64 itself, and refuses a sample it would round),
 * half floats into a Float32Array (which holds every one), booleans into a Uint8Array of 0 and 1;
 * `widenedFrom` says so, and writeNpy writes them back as they were. Complex numbers (no signal's
 * samples), objects, strings, dates and records are an `unsupported_npy` error. The declared shape
 * is multiplied out and checked against `maxArrayBytes` and against the bytes the file really has
 * before anything is allocated; Fortran-ordered arrays are returned in C order.
 */
import { FormatError, type FormatErrorCode } from '../format-error.js';

/** The typed arrays an .npy array is read into (native byte order, C order). */
export type NpyData =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** A numeric dtype: kind (boolean, signed, unsigned, float), size in bytes, and byte order. */
export interface NpyDtype {
  kind: 'b' | 'i' | 'u' | 'f';
  size: 1 | 2 | 4 | 8;
  littleEndian: boolean;
}

/** An n-dimensional array: its shape and its values in C (row-major) order. */
export interface NpyArray {
  shape: number[];
  data: NpyData;
  /**
   * The file's dtype when no typed array has its width: 'bool' (`|b1`) held as a Uint8Array of 0
   * and 1, 'float16' (`<f2`, `>f2`) held as a Float32Array (exactly). writeNpy writes it back so.
   */
  widenedFrom?: 'bool' | 'float16';
}

/** What an .npy header says, and where the array's bytes begin. */
export interface NpyHeader {
  version: '1.0' | '2.0' | '3.0';
  /** The dtype as written, e.g. "<i2". */
  descr: string;
  dtype: NpyDtype;
  fortranOrder: boolean;
  shape: number[];
  /** Offset of the first data byte. */
  dataOffset: number;
  /** The bytes the data takes: the product of the shape times the item size. */
  dataBytes: number;
}

export interface NpyOptions {
  /** The file's name, for error messages. */
  name: string;
  /** The largest header, in bytes. Default 65,536 (NumPy itself refuses more than 10,000). */
  maxHeaderBytes?: number;
  /** The largest array, in bytes. Default 256 MiB. */
  maxArrayBytes?: number;
  /** Offset of these bytes in the file they came from (an .npz entry), for error offsets. */
  baseOffset?: number;
}

export const NPY_DEFAULT_LIMITS = {
  maxHeaderBytes: 65_536,
  maxArrayBytes: 256 * 1024 * 1024,
} as const;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Does a file begin like an .npy array? */
export function isNpy(head: Uint8Array): boolean {
  return MAGIC.every((byte, i) => head[i] === byte);
}

/** An .npy file's preamble: its version, its header's text (not yet parsed), where data begins. */
export interface NpyHeaderText {
  major: 1 | 2 | 3;
  /** The header as written: the dictionary, its padding and final newline (latin1 or UTF-8). */
  text: string;
  /** Offset of the header text. */
  headerStart: number;
  /** Offset of the first data byte. */
  dataOffset: number;
}

/**
 * Reads an .npy file's magic, version and header length, and decodes the header's text; the
 * dictionary in it is not parsed (readNpyHeader does, strictly; a de-identifier may read more).
 */
export function readNpyHeaderText(bytes: Uint8Array, options: NpyOptions): NpyHeaderText {
  const limits = { ...NPY_DEFAULT_LIMITS, ...options };
  const base = options.baseOffset ?? 0;
  const fail = (code: FormatErrorCode, detail: string, offset: number) =>
    new FormatError(code, detail, { file: options.name, offset: base + offset });
  if (bytes.length < 10 || !isNpy(bytes)) {
    throw fail('invalid_npy', 'the file does not begin with the NumPy magic "\\x93NUMPY"', 0);
  }
  const major = bytes[6] ?? 0;
  const minor = bytes[7] ?? 0;
  if (!(minor === 0 && (major === 1 || major === 2 || major === 3))) {
    throw fail('unsupported_npy', `NPY format version ${major}.${minor} is not 1.0, 2.0 or 3.0`, 6);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) {
    throw fail('truncated', 'the file ends inside the header length', bytes.length);
  }
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  if (headerLength > limits.maxHeaderBytes) {
    throw fail(
      'limit_exceeded',
      `the header declares ${headerLength} bytes, more than the limit of ${limits.maxHeaderBytes}`,
      8,
    );
  }
  if (headerStart + headerLength > bytes.length) {
    throw fail(
      'truncated',
      `the header declares ${headerLength} bytes but the file ends first`,
      bytes.length,
    );
  }
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(
      bytes.subarray(headerStart, headerStart + headerLength),
    );
  } catch {
    throw fail('invalid_npy', 'the header is not valid UTF-8', headerStart);
  }
  return {
    major: major === 1 ? 1 : major === 2 ? 2 : 3,
    text,
    headerStart,
    dataOffset: headerStart + headerLength,
  };
}

/** Reads and checks an .npy header; the data is not read (a stacked file may be large). */
export function readNpyHeader(bytes: Uint8Array, options: NpyOptions): NpyHeader {
  const limits = { ...NPY_DEFAULT_LIMITS, ...options };
  const base = options.baseOffset ?? 0;
  const fail = (code: FormatErrorCode, detail: string, offset: number) =>
    new FormatError(code, detail, { file: options.name, offset: base + offset });
  const { major, text, headerStart, dataOffset } = readNpyHeaderText(bytes, options);
  const dict = parseHeaderDict(text, (detail, at) => fail('invalid_npy', detail, headerStart + at));
  const descr = dict.get('descr');
  const fortranOrder = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (dict.size !== 3 || typeof descr !== 'string' || typeof fortranOrder !== 'boolean') {
    throw fail(
      'invalid_npy',
      "the header must have exactly 'descr' (a string), 'fortran_order' (True or False) and 'shape'",
      headerStart,
    );
  }
  if (!Array.isArray(shape)) {
    throw fail('invalid_npy', "the header's 'shape' is not a tuple of integers", headerStart);
  }
  const dtype = parseDescr(descr);
  if (typeof dtype === 'string') {
    throw fail('unsupported_npy', `the dtype ${JSON.stringify(descr)} ${dtype}`, headerStart);
  }
  let count = 1;
  for (const dimension of shape) {
    count *= dimension;
    if (count * dtype.size > limits.maxArrayBytes) {
      throw fail(
        'limit_exceeded',
        `the shape (${shape.join(', ')}) needs more than the limit of ${limits.maxArrayBytes} bytes`,
        headerStart,
      );
    }
  }
  return {
    version: major === 1 ? '1.0' : major === 2 ? '2.0' : '3.0',
    descr,
    dtype,
    fortranOrder,
    shape,
    dataOffset,
    dataBytes: count * dtype.size,
  };
}

/** Reads a whole .npy array; every problem is a `FormatError`. */
export function readNpy(bytes: Uint8Array, options: NpyOptions): NpyArray {
  const header = readNpyHeader(bytes, options);
  const base = options.baseOffset ?? 0;
  const end = header.dataOffset + header.dataBytes;
  if (end > bytes.length) {
    throw new FormatError(
      'truncated',
      `the array (${header.shape.join(', ')}) of ${header.descr} needs ${header.dataBytes} bytes but the file has ${bytes.length - header.dataOffset}`,
      { file: options.name, offset: base + bytes.length },
    );
  }
  if (end < bytes.length) {
    throw new FormatError('invalid_npy', `${bytes.length - end} bytes follow the array's data`, {
      file: options.name,
      offset: base + end,
    });
  }
  const items = bytes.subarray(header.dataOffset, end);
  const { dtype, shape } = header;
  return {
    shape,
    data: decode(header.fortranOrder ? fortranToC(items, shape, dtype.size) : items, dtype),
    ...(dtype.kind === 'b' ? { widenedFrom: 'bool' as const } : {}),
    ...(dtype.kind === 'f' && dtype.size === 2 ? { widenedFrom: 'float16' as const } : {}),
  };
}

export interface NpyWriteOptions {
  /** Byte order of the written data. Default little endian, as NumPy writes on every common CPU. */
  byteOrder?: 'little' | 'big';
}

/**
 * Writes an array as .npy (version 1.0, or 2.0 when the header needs more than 65,535 bytes), in
 * the dtype of its typed array, or the narrower one it was widened from (`widenedFrom`: half floats
 * rounded to the nearest, ties to even, as NumPy's `astype` does; booleans as 0 and 1).
 */
export function writeNpy(array: NpyArray, options: NpyWriteOptions = {}): Uint8Array {
  const count = array.shape.reduce((product, dimension) => product * dimension, 1);
  if (count !== array.data.length || array.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new RangeError(
      `shape (${array.shape.join(', ')}) does not hold ${array.data.length} values`,
    );
  }
  const { kind, items } = storedItems(array);
  const size = items.BYTES_PER_ELEMENT;
  const littleEndian = (options.byteOrder ?? 'little') === 'little';
  const header = npyHeaderBytes(
    `${size === 1 ? '|' : littleEndian ? '<' : '>'}${kind}${size}`,
    false,
    array.shape,
  );
  const out = new Uint8Array(header.length + items.byteLength);
  out.set(header, 0);
  const body = out.subarray(header.length);
  body.set(new Uint8Array(items.buffer, items.byteOffset, items.byteLength));
  if (littleEndian !== LITTLE_ENDIAN_MACHINE) {
    swapItems(body, size);
  }
  return out;
}

/**
 * The header NumPy writes (numpy.lib.format): magic, version, length, then the dictionary with its
 * three keys in order, padded with spaces and a newline so that the data begins on a 64-byte
 * boundary; version 1.0, or 2.0 when the header needs more than 65,535 bytes.
 */
export function npyHeaderBytes(
  descr: string,
  fortranOrder: boolean,
  shape: readonly number[],
): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  let major = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const text = `${dict.padEnd(total - prefix - 1, ' ')}\n`;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  if (major === 1) {
    view.setUint16(8, text.length, true);
  } else {
    view.setUint32(8, text.length, true);
  }
  out.set(new TextEncoder().encode(text), prefix);
  return out;
}

type HeaderValue = string | boolean | number[];

/** The Python literal grammar of an .npy header: a flat dict of strings, booleans and int tuples. */
function parseHeaderDict(
  text: string,
  fail: (detail: string, at: number) => FormatError,
): Map<string, HeaderValue> {
  let at = 0;
  const skipSpaces = () => {
    while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) {
      at++;
    }
  };
  const expect = (char: string) => {
    skipSpaces();
    if (text.charAt(at) !== char) {
      throw fail(`expected "${char}" in the header, found "${text.charAt(at)}"`, at);
    }
    at++;
  };
  const readString = (): string => {
    skipSpaces();
    const quote = text.charAt(at);
    if (quote !== "'" && quote !== '"') {
      throw fail('expected a quoted string in the header', at);
    }
    const end = text.indexOf(quote, at + 1);
    if (end < 0) {
      throw fail('a string in the header is not closed', at);
    }
    const value = text.slice(at + 1, end);
    if (value.includes('\\') || value.length > 256) {
      throw fail('a string in the header has escapes or is too long', at);
    }
    at = end + 1;
    return value;
  };
  const readInteger = (): number => {
    skipSpaces();
    const match = /^[0-9]{1,15}/u.exec(text.slice(at, at + 16));
    if (match === null) {
      throw fail('expected a non-negative integer in the shape', at);
    }
    at += match[0].length;
    if (text.charAt(at) === 'L') {
      at++; // Python 2 wrote long integers with a suffix.
    }
    return Number(match[0]);
  };
  const readValue = (): HeaderValue => {
    skipSpaces();
    const char = text.charAt(at);
    if (char === "'" || char === '"') {
      return readString();
    }
    if (text.startsWith('True', at)) {
      at += 4;
      return true;
    }
    if (text.startsWith('False', at)) {
      at += 5;
      return false;
    }
    if (char === '(') {
      at++;
      const values: number[] = [];
      skipSpaces();
      while (text.charAt(at) !== ')') {
        if (values.length >= 32) {
          throw fail('the shape has more than 32 dimensions', at);
        }
        values.push(readInteger());
        skipSpaces();
        if (text.charAt(at) === ',') {
          at++;
          skipSpaces();
        } else if (text.charAt(at) !== ')') {
          throw fail('expected "," or ")" in the shape', at);
        }
      }
      at++;
      return values;
    }
    throw fail('a header value is not a string, True, False or a tuple of integers', at);
  };
  const dict = new Map<string, HeaderValue>();
  expect('{');
  skipSpaces();
  while (text.charAt(at) !== '}') {
    const keyAt = at;
    const key = readString();
    if (dict.has(key)) {
      throw fail(`the header repeats the key '${key}'`, keyAt);
    }
    if (!['descr', 'fortran_order', 'shape'].includes(key)) {
      throw fail(`the header has the unexpected key '${key}'`, keyAt);
    }
    expect(':');
    dict.set(key, readValue());
    skipSpaces();
    if (text.charAt(at) === ',') {
      at++;
      skipSpaces();
    } else if (text.charAt(at) !== '}') {
      throw fail('expected "," or "}" in the header', at);
    }
  }
  at++;
  skipSpaces();
  if (at !== text.length) {
    throw fail('the header has text after its dictionary', at);
  }
  return dict;
}

/**
 * "<i2", ">f8", "|b1" … to a dtype; for a dtype not read here, why (for the error's message).
 * NumPy writes `|` for one-byte dtypes and `<` or `>` for the others; a multi-byte dtype without
 * its byte order ('=' or none: the writing machine's) is ambiguous.
 */
function parseDescr(descr: string): NpyDtype | string {
  const match = /^([<>|=]?)([biufc])(\d{1,2})$/u.exec(descr);
  const [, order = '', kind = '', sizeText = ''] = match ?? [];
  const size = Number(sizeText);
  if (kind === 'c') {
    return "holds complex numbers, which are not a signal's samples: not read";
  }
  const known =
    (kind === 'b' && size === 1) ||
    ((kind === 'i' || kind === 'u') && [1, 2, 4, 8].includes(size)) ||
    (kind === 'f' && [2, 4, 8].includes(size));
  if (match === null || !known) {
    return 'is not read here (booleans, integers and floats are)';
  }
  if (size > 1 && order !== '<' && order !== '>') {
    return 'does not say its byte order';
  }
  return {
    kind,
    size: size as NpyDtype['size'],
    littleEndian: order !== '>',
  };
}

/** Whether this machine stores numbers little endian (typed arrays use its order). */
const LITTLE_ENDIAN_MACHINE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * A typed array of a dtype's width, for its items as stored: its values, except half floats (their
 * bits, in a Uint16Array) and booleans (bytes).
 */
function allocateStored(dtype: NpyDtype, count: number): NpyData {
  switch (`${dtype.kind}${dtype.size}`) {
    case 'i1':
      return new Int8Array(count);
    case 'i2':
      return new Int16Array(count);
    case 'u2':
    case 'f2':
      return new Uint16Array(count);
    case 'i4':
      return new Int32Array(count);
    case 'u4':
      return new Uint32Array(count);
    case 'f4':
      return new Float32Array(count);
    case 'i8':
      return new BigInt64Array(count);
    case 'u8':
      return new BigUint64Array(count);
    case 'f8':
      return new Float64Array(count);
    default:
      return new Uint8Array(count); // u1 (booleans are bytes too)
  }
}

/** An array's items as the file stores them, and the dtype kind they are written as. */
function storedItems(array: NpyArray): { kind: NpyDtype['kind']; items: NpyData } {
  const { data } = array;
  switch (array.widenedFrom) {
    case 'bool':
      if (!(data instanceof Uint8Array)) {
        throw new RangeError('booleans are written from a Uint8Array');
      }
      return { kind: 'b', items: data.map((value) => (value === 0 ? 0 : 1)) };
    case 'float16':
      if (!(data instanceof Float32Array)) {
        throw new RangeError('half floats are written from a Float32Array');
      }
      return { kind: 'f', items: float32ToHalfBits(data) };
    case undefined:
      return {
        kind:
          data instanceof Float32Array || data instanceof Float64Array
            ? 'f'
            : data instanceof Uint8Array ||
                data instanceof Uint16Array ||
                data instanceof Uint32Array ||
                data instanceof BigUint64Array
              ? 'u'
              : 'i',
        items: data,
      };
    default:
      return array.widenedFrom satisfies never;
  }
}

/** The items of an array's data, in the file's byte order, as the typed array of their dtype. */
function decode(bytes: Uint8Array, dtype: NpyDtype): NpyData {
  if (dtype.kind === 'b') {
    // NumPy reads any byte but 0 as True.
    return bytes.map((value) => (value === 0 ? 0 : 1));
  }
  const out = allocateStored(dtype, bytes.length / dtype.size);
  const target = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  target.set(bytes);
  if (dtype.littleEndian !== LITTLE_ENDIAN_MACHINE) {
    swapItems(target, dtype.size);
  }
  return out instanceof Uint16Array && dtype.kind === 'f' ? halfBitsToFloat32(out) : out;
}

/** Reverses the bytes of each `size`-byte item, in place (from one byte order to the other). */
function swapItems(bytes: Uint8Array, size: number): void {
  if (size === 1) {
    return;
  }
  for (let at = 0; at < bytes.length; at += size) {
    for (let i = at, j = at + size - 1; i < j; i++, j--) {
      const byte = bytes[i] ?? 0;
      bytes[i] = bytes[j] ?? 0;
      bytes[j] = byte;
    }
  }
}

/**
 * IEEE 754 half floats (binary16) to float32, bit for bit: every half is a float32, NaN payloads
 * and signs included (the bits are written, not the values, which JavaScript may canonicalize).
 */
function halfBitsToFloat32(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  halves.forEach((half, i) => {
    const sign = (half & 0x8000) << 16;
    const exponent = (half >>> 10) & 0x1f;
    const fraction = half & 0x3ff;
    if (exponent === 0x1f) {
      bits[i] = sign | 0x7f800000 | (fraction << 13);
    } else if (exponent !== 0) {
      bits[i] = sign | ((exponent + 127 - 15) << 23) | (fraction << 13);
    } else {
      // Zero or subnormal: fraction × 2^-24, exact in a float32.
      out[i] = fraction * 2 ** -24;
      bits[i] = (bits[i] ?? 0) | sign;
    }
  });
  return out;
}

/**
 * float32 to IEEE 754 half floats' bits, rounded to the nearest, ties to even, as NumPy's
 * `astype(np.float16)` (npy_floatbits_to_halfbits): past 65,504 is infinity, under 2^-25 zero, NaN
 * keeps its payload's high bits (made quiet when none is left).
 */
function float32ToHalfBits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  bits.forEach((word, i) => {
    const sign = (word >>> 16) & 0x8000;
    const exponent = (word >>> 23) & 0xff;
    const fraction = word & 0x7fffff;
    if (exponent === 0xff) {
      const nan = fraction === 0 ? 0 : fraction >>> 13 || 1;
      out[i] = sign | 0x7c00 | nan;
      return;
    }
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) {
      out[i] = sign | 0x7c00;
      return;
    }
    // A normal half keeps 10 of the 23 fraction bits; a subnormal fewer, the implicit 1 included.
    const significand = halfExponent > 0 ? fraction : fraction | 0x800000;
    const shift = halfExponent > 0 ? 13 : 14 - halfExponent;
    if (shift > 24) {
      out[i] = sign;
      return;
    }
    let half = (halfExponent > 0 ? halfExponent << 10 : 0) | (significand >>> shift);
    const rest = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) {
      half += 1; // a carry moves into the exponent, up to infinity: still the nearest
    }
    out[i] = sign | half;
  });
  return out;
}

/** Reorders a Fortran-ordered (column-major) array's items into C (row-major) order. */
function fortranToC(items: Uint8Array, shape: readonly number[], size: number): Uint8Array {
  if (shape.length < 2) {
    return items;
  }
  const out = new Uint8Array(items.length);
  const fortranStrides: number[] = [];
  let stride = 1;
  for (const dimension of shape) {
    fortranStrides.push(stride);
    stride *= dimension;
  }
  const index = shape.map(() => 0);
  const count = items.length / size;
  for (let c = 0; c < count; c++) {
    let f = 0;
    for (let d = 0; d < shape.length; d++) {
      f += (index[d] ?? 0) * (fortranStrides[d] ?? 0);
    }
    out.set(items.subarray(f * size, (f + 1) * size), c * size);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] = (index[d] ?? 0) + 1;
      if ((index[d] ?? 0) < (shape[d] ?? 0)) {
        break;
      }
      index[d] = 0;
    }
  }
  return out;
}
