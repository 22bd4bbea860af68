/**
 * NumPy's `.npy` array format (numpy.lib.format, "NPY format" versions 1.0, 2.0 and 3.0), read and
 * written without Python: the magic "\x93NUMPY", a version, a header length (2 bytes little endian
 * in 1.0, 4 bytes in 2.0 and 3.0), and a Python dict literal with exactly the keys `descr`,
 * `fortran_order` and `shape`, padded with spaces and ended by a newline; then the array's bytes.
 *
 * The header is parsed strictly (never evaluated): string literals without escapes, True/False and
 * tuples of non-negative integers, each key once. Only plain numeric dtypes are read (signed and
 * unsigned integers of 1, 2 and 4 bytes, floats of 4 and 8 bytes, either byte order); a structured,
 * object, 64-bit integer or half-float dtype is an `unsupported_npy` error. The declared shape is
 * multiplied out and checked against `maxArrayBytes` and against the bytes the file really has
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
  | Float64Array;

/** A numeric dtype: kind (signed, unsigned, float), size in bytes, and byte order. */
export interface NpyDtype {
  kind: 'i' | 'u' | 'f';
  size: 1 | 2 | 4 | 8;
  littleEndian: boolean;
}

/** An n-dimensional array: its shape and its values in C (row-major) order. */
export interface NpyArray {
  shape: number[];
  data: NpyData;
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
  if (dtype === null) {
    throw fail(
      'unsupported_npy',
      `the dtype ${JSON.stringify(descr)} is not read here`,
      headerStart,
    );
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
  const data = decode(bytes.subarray(header.dataOffset, end), header.dtype);
  return {
    shape: header.shape,
    data: header.fortranOrder ? fortranToC(data, header.shape) : data,
  };
}

export interface NpyWriteOptions {
  /** Byte order of the written data. Default little endian, as NumPy writes on every common CPU. */
  byteOrder?: 'little' | 'big';
}

/** Writes an array as .npy (version 1.0, or 2.0 when the header needs more than 65,535 bytes). */
export function writeNpy(array: NpyArray, options: NpyWriteOptions = {}): Uint8Array {
  const dtype = dtypeOf(array.data);
  const count = array.shape.reduce((product, dimension) => product * dimension, 1);
  if (count !== array.data.length || array.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new RangeError(
      `shape (${array.shape.join(', ')}) does not hold ${array.data.length} values`,
    );
  }
  const littleEndian = (options.byteOrder ?? 'little') === 'little';
  const descr = `${dtype.size === 1 ? '|' : littleEndian ? '<' : '>'}${dtype.kind}${dtype.size}`;
  const header = npyHeaderBytes(descr, false, array.shape);
  const out = new Uint8Array(header.length + count * dtype.size);
  out.set(header, 0);
  const view = new DataView(out.buffer);
  encode(array.data, { ...dtype, littleEndian }, view, header.length);
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

/** "<i2", ">f8", "|u1" … to a dtype; null when not a plain numeric dtype read here. */
function parseDescr(descr: string): NpyDtype | null {
  const match = /^([<>|=]?)([iuf])([1248])$/u.exec(descr);
  if (match === null) {
    return null;
  }
  const [, order = '', kind = '', sizeText = ''] = match;
  const size = Number(sizeText) as NpyDtype['size'];
  if ((kind === 'f' && size < 4) || (kind !== 'f' && size === 8)) {
    return null; // half floats and 64-bit integers have no plain typed array here
  }
  if (size > 1 && (order === '|' || order === '=' || order === '')) {
    return null; // a multi-byte dtype must say its byte order
  }
  return { kind: kind as NpyDtype['kind'], size, littleEndian: order !== '>' };
}

function dtypeOf(data: NpyData): NpyDtype {
  const size = data.BYTES_PER_ELEMENT as NpyDtype['size'];
  const kind =
    data instanceof Float32Array || data instanceof Float64Array
      ? 'f'
      : data instanceof Uint8Array || data instanceof Uint16Array || data instanceof Uint32Array
        ? 'u'
        : 'i';
  return { kind, size, littleEndian: true };
}

function allocate(dtype: NpyDtype, count: number): NpyData {
  switch (`${dtype.kind}${dtype.size}`) {
    case 'i1':
      return new Int8Array(count);
    case 'u1':
      return new Uint8Array(count);
    case 'i2':
      return new Int16Array(count);
    case 'u2':
      return new Uint16Array(count);
    case 'i4':
      return new Int32Array(count);
    case 'u4':
      return new Uint32Array(count);
    case 'f4':
      return new Float32Array(count);
    default:
      return new Float64Array(count);
  }
}

type Getter = (view: DataView, offset: number, littleEndian: boolean) => number;
type Setter = (view: DataView, offset: number, value: number, littleEndian: boolean) => void;

const GETTERS: Record<string, Getter> = {
  i1: (view, offset) => view.getInt8(offset),
  u1: (view, offset) => view.getUint8(offset),
  i2: (view, offset, little) => view.getInt16(offset, little),
  u2: (view, offset, little) => view.getUint16(offset, little),
  i4: (view, offset, little) => view.getInt32(offset, little),
  u4: (view, offset, little) => view.getUint32(offset, little),
  f4: (view, offset, little) => view.getFloat32(offset, little),
  f8: (view, offset, little) => view.getFloat64(offset, little),
};

const SETTERS: Record<string, Setter> = {
  i1: (view, offset, value) => view.setInt8(offset, value),
  u1: (view, offset, value) => view.setUint8(offset, value),
  i2: (view, offset, value, little) => view.setInt16(offset, value, little),
  u2: (view, offset, value, little) => view.setUint16(offset, value, little),
  i4: (view, offset, value, little) => view.setInt32(offset, value, little),
  u4: (view, offset, value, little) => view.setUint32(offset, value, little),
  f4: (view, offset, value, little) => view.setFloat32(offset, value, little),
  f8: (view, offset, value, little) => view.setFloat64(offset, value, little),
};

function decode(bytes: Uint8Array, dtype: NpyDtype): NpyData {
  const count = bytes.length / dtype.size;
  const out = allocate(dtype, count);
  const get = GETTERS[`${dtype.kind}${dtype.size}`];
  if (get === undefined) {
    throw new RangeError(`no reader for ${dtype.kind}${dtype.size}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    out[i] = get(view, i * dtype.size, dtype.littleEndian);
  }
  return out;
}

function encode(data: NpyData, dtype: NpyDtype, view: DataView, offset: number): void {
  const set = SETTERS[`${dtype.kind}${dtype.size}`];
  if (set === undefined) {
    throw new RangeError(`no writer for ${dtype.kind}${dtype.size}`);
  }
  for (let i = 0; i < data.length; i++) {
    set(view, offset + i * dtype.size, data[i] ?? 0, dtype.littleEndian);
  }
}

/** Reorders a Fortran-ordered (column-major) array's values into C (row-major) order. */
function fortranToC(data: NpyData, shape: readonly number[]): NpyData {
  if (shape.length < 2) {
    return data;
  }
  const out = allocate(dtypeOf(data), data.length);
  const fortranStrides: number[] = [];
  let stride = 1;
  for (const dimension of shape) {
    fortranStrides.push(stride);
    stride *= dimension;
  }
  const index = shape.map(() => 0);
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    for (let d = 0; d < shape.length; d++) {
      f += (index[d] ?? 0) * (fortranStrides[d] ?? 0);
    }
    out[c] = data[f] ?? 0;
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
