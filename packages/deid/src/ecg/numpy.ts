/**
 * De-identification of NumPy ECG files (issue 6, step 4: nothing identifying enters a dataset),
 * rewritten the way MUSE XML and WFDB headers are: what describes the numbers stays, the rest goes.
 *
 * - `.npy` (numpy.lib.format): the header is a Python dict literal, and a writer may add keys or
 *   put any text in its padding (a `#` comment, or bytes after the dict NumPy never reads). It is
 *   written again canonically, as NumPy writes it: only `descr`, `fortran_order` and `shape`,
 *   padded with spaces to a 64-byte boundary and a newline, version 1.0 (2.0 only when the header
 *   needs more than 65,535 bytes). The data bytes are not touched. A dtype that is not a plain
 *   number (objects, which `np.load` unpickles only with `allow_pickle`; strings and structured
 *   records, which can hold text; dates, which would escape the date shift) is refused, and so are
 *   bytes after the array's data: the file goes to a curator, nothing of it stored.
 * - `.npz` (a ZIP of `.npy` members, numpy.savez): every member must be an array (a member that
 *   is not `.npy` refuses the whole file, since dropping it silently would lose what the curator
 *   must see). An array whose name is not a safe array name (isSafeArrayName: a name may be a
 *   patient's) is renamed as numpy.savez names arrays it was given without names (`arr_<n>`), and
 *   the file is held for a curator (`hold`), as DICOM images that may carry burned-in text are:
 *   its name is gone, but what an array the partner called otherwise holds is not known (no
 *   reader can tell an ECG from a name's bytes), so a person looks at it (its values plotted)
 *   before it is published, and releases or excludes it. The archive is written again with each member's
 *   header canonical, no comments, no extra fields, every timestamp at the DOS epoch (1980-01-01,
 *   as numpy.savez writes), CRCs computed afresh, members stored: the stored bytes are then a
 *   function of the arrays alone (not of the partner's zlib and level), so a re-delivery of the
 *   same arrays is the same object; and it is what numpy.savez writes and `np.load` reads directly.
 *   Sizes are bounded before anything is inflated (formats' readZip: declared sizes against the
 *   compressed bytes, their total, overlapping members).
 */
import { createHash } from 'node:crypto';
import {
  FormatError,
  npyHeaderBytes,
  readNpyHeaderText,
  readZip,
  writeZip,
  type NpyOptions,
} from '@lantern/formats';

export type NumpyDeidErrorCode =
  'invalid_header' | 'unsafe_dtype' | 'size_mismatch' | 'unsafe_member' | 'duplicate_member';

/**
 * A NumPy file that cannot be de-identified (bad bytes are the readers' FormatErrors). Its
 * message names the file by the name the caller gave and never quotes the file's own text.
 */
export class NumpyDeidError extends Error {
  readonly code: NumpyDeidErrorCode;
  readonly file: string;
  /** What was wrong, without the file (the message has both); quotes nothing from the file. */
  readonly detail: string;

  constructor(code: NumpyDeidErrorCode, file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'NumpyDeidError';
    this.code = code;
    this.file = file;
    this.detail = detail;
  }
}

export interface NumpyDeidOptions {
  /** The file's name, for error messages. */
  readonly name: string;
  /** The largest .npz member, uncompressed (default: formats' readZip's, 256 MiB). */
  readonly maxEntryBytes?: number;
  /** The most bytes an .npz's members may declare together, uncompressed. Default NPZ_MAX_TOTAL_BYTES. */
  readonly maxTotalBytes?: number;
}

/** A canonical .npy header for data that follows unchanged. */
export interface NpyRewrite {
  /** The canonical header: magic, version, length, dictionary, padding. */
  readonly header: Uint8Array;
  /** Where the data begins in the delivered bytes, and how many bytes it has. */
  readonly dataOffset: number;
  readonly dataBytes: number;
  /** What went from the header: 'header key 4', 'header text after the dictionary' (never values). */
  readonly removed: readonly string[];
}

export interface NumpyDeidResult {
  /** The de-identified file, in pieces (an .npy's data is not copied). */
  readonly chunks: readonly Uint8Array[];
  readonly size: number;
  /** SHA-256 of the pieces together, hex. */
  readonly sha256: string;
  /** What went (keys and places, never values). */
  readonly removed: readonly string[];
  /** Why the file waits for a curator (arrays renamed), or null: published as it is. */
  readonly hold: NumpyHold | null;
}

/** Why a de-identified NumPy file is kept out of the published version until a curator looks. */
export interface NumpyHold {
  /** Says which members (by place) were renamed to what; quotes nothing from the file. */
  readonly reason: string;
}

/**
 * The most an .npz's arrays may hold together: the archive is rewritten in memory (the arrays
 * inflated, each written again, the archive assembled), so this bounds a worker's memory to a few
 * times it. A per-ECG file holds about 120 KB.
 */
export const NPZ_MAX_TOTAL_BYTES = 256 * 1024 * 1024;
/** The most header bytes read (NumPy's own reader refuses more than 10,000 without an option). */
export const NPY_MAX_HEADER_BYTES = 65_536;
/** The bytes of an .npy's head that hold any header it may have (preamble and header). */
export const NPY_HEAD_BYTES = 12 + NPY_MAX_HEADER_BYTES;

/**
 * The plain numeric dtypes kept, as NumPy writes their `descr`: booleans, integers, floats and
 * complex numbers of the standard sizes, with a byte order for the multi-byte ones ('=' and no
 * order mean the reading machine's: ambiguous, refused).
 */
const NUMERIC_DESCR = /^(?:[|<>]?(b1|i1|u1)|([<>])(i2|u2|i4|u4|i8|u8|f2|f4|f8|c8|c16))$/u;
/**
 * The words of a safe array name: what ECG arrays are called (Nightingale's `waveform`, the
 * stacked `waveform-rhythm`, numpy.savez's positional `arr_0`), and the twelve leads.
 */
const ARRAY_WORDS = new Set([
  'arr',
  'waveform',
  'waveforms',
  'rhythm',
  'median',
  'beat',
  'beats',
  'ecg',
  'ecgs',
  'signal',
  'signals',
  'lead',
  'leads',
  'data',
  'raw',
  'filtered',
  'x',
  'y',
  'i',
  'ii',
  'iii',
  'avr',
  'avl',
  'avf',
  'v1',
  'v2',
  'v3',
  'v4',
  'v5',
  'v6',
]);
const MAX_SHAPE_DIMENSIONS = 32;
/** A Python number literal: integers (any base), floats, imaginary parts. */
const NUMBER = /^[+-]?(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?[jJ]?)L?/u;
const MAX_LITERAL_DEPTH = 16;

/**
 * Whether an .npz member's array name (without `.npy`) is safe to publish: up to four words
 * joined by `_` or `-`, each a word of ARRAY_WORDS (any case) or a number of up to four digits.
 * Deny by default: a name made of anything else ("jane_doe", an MRN) holds the file back.
 */
export function isSafeArrayName(name: string): boolean {
  const words = name.split(/[_-]/u);
  return (
    name.length <= 40 &&
    words.length <= 4 &&
    words.every((word) => ARRAY_WORDS.has(word.toLowerCase()) || /^\d{1,4}$/u.test(word))
  );
}

/**
 * The canonical header of an .npy whose first bytes are `head` (at least its whole header: up to
 * NPY_HEAD_BYTES) and whose size is `fileSize`; the data must fill the rest of the file exactly.
 */
export function rewriteNpyHeader(
  head: Uint8Array,
  fileSize: number,
  options: NumpyDeidOptions,
): NpyRewrite {
  const fail = (code: NumpyDeidErrorCode, detail: string) =>
    new NumpyDeidError(code, options.name, detail);
  const readerOptions: NpyOptions = { name: options.name, maxHeaderBytes: NPY_MAX_HEADER_BYTES };
  const { text, dataOffset } = readNpyHeaderText(head, readerOptions);
  const { entries, end } = parseDictLiteral(text, fail);
  const removed: string[] = [];
  const fields = new Map<string, Literal>();
  entries.forEach(([key, value], i) => {
    if (typeof key === 'string' && REQUIRED_KEYS.includes(key)) {
      if (fields.has(key)) {
        // Python keeps the last of a repeated key: which one NumPy reads is not for us to guess.
        throw fail('invalid_header', 'the header repeats one of its keys');
      }
      fields.set(key, value);
    } else {
      removed.push(`header key ${i + 1}`);
    }
  });
  if (text.slice(end).trim() !== '') {
    removed.push('header text after the dictionary');
  }
  const descr = fields.get('descr');
  const fortranOrder = fields.get('fortran_order');
  const shape = fields.get('shape');
  if (typeof fortranOrder !== 'boolean' || !isShape(shape)) {
    throw fail(
      'invalid_header',
      "the header has no boolean 'fortran_order' or no 'shape' tuple of integers",
    );
  }
  const match = typeof descr === 'string' ? NUMERIC_DESCR.exec(descr) : null;
  if (match === null) {
    throw fail('unsafe_dtype', 'the dtype is not a plain number (bool, integer, float, complex)');
  }
  const single = match[1];
  const canonicalDescr = single === undefined ? `${match[2] ?? ''}${match[3] ?? ''}` : `|${single}`;
  // Every kept dtype's code ends in its size in bytes ("<c16": 16).
  const itemBytes = Number(/\d+$/u.exec(canonicalDescr)?.[0] ?? 0);
  const available = fileSize - dataOffset;
  let dataBytes = itemBytes;
  for (const dimension of shape.value) {
    dataBytes *= dimension;
    if (dataBytes > available) {
      throw fail('size_mismatch', 'the shape needs more bytes than the file has after its header');
    }
  }
  if (dataBytes !== available) {
    throw fail('size_mismatch', `${available - dataBytes} bytes follow the array's data`);
  }
  return {
    header: npyHeaderBytes(canonicalDescr, fortranOrder, shape.value),
    dataOffset,
    dataBytes,
    removed,
  };
}

/** De-identifies an .npy held in memory: the canonical header, then the data as it was. */
export function deidentifyNpy(bytes: Uint8Array, options: NumpyDeidOptions): NumpyDeidResult {
  const rewrite = rewriteNpyHeader(bytes, bytes.length, options);
  const chunks = [rewrite.header, bytes.subarray(rewrite.dataOffset)];
  return { ...hashed(chunks), removed: rewrite.removed, hold: null };
}

/**
 * De-identifies an .npz held in memory (see the file's comment): the archive written again,
 * stored, with only its arrays, each with a canonical header, under its name when that is safe
 * and renamed `arr_<n>` (the file then held for a curator) when it is not.
 */
export function deidentifyNpz(bytes: Uint8Array, options: NumpyDeidOptions): NumpyDeidResult {
  const archive = readZip(bytes, {
    name: options.name,
    ...(options.maxEntryBytes === undefined ? {} : { maxEntryBytes: options.maxEntryBytes }),
    maxTotalBytes: options.maxTotalBytes ?? NPZ_MAX_TOTAL_BYTES,
  });
  const names = archive.entries.map((entry, i) => {
    if (!entry.name.endsWith('.npy')) {
      throw new NumpyDeidError('unsafe_member', options.name, `member ${i + 1} is not an array`);
    }
    return entry.name.slice(0, -'.npy'.length);
  });
  const published = publishedNames(names, options.name);
  const removed: string[] = [];
  const renamed: string[] = [];
  const members = archive.entries.map((entry, i) => {
    const member = `member ${i + 1}`;
    const name = published[i] ?? '';
    if (name !== names[i]) {
      renamed.push(`${member} to ${name}`);
    }
    const data = archive.read(entry);
    const rewrite = rewriteNpyHeader(data, data.length, { name: `${options.name} ${member}` });
    removed.push(...rewrite.removed.map((what) => `${member} ${what}`));
    const npy = new Uint8Array(rewrite.header.length + rewrite.dataBytes);
    npy.set(rewrite.header, 0);
    npy.set(data.subarray(rewrite.dataOffset), rewrite.header.length);
    return { name: `${name}.npy`, data: npy };
  });
  const hold =
    renamed.length === 0
      ? null
      : {
          reason:
            `arrays not named as ECG arrays are (lead or waveform names) were renamed (${renamed.join(', ')}); ` +
            'a curator looks at what they hold before they are published',
        };
  return { ...hashed([writeZip(members)]), removed, hold };
}

/**
 * The names an archive's arrays are published under: a safe name as it is (twice is refused: which
 * array NumPy gives for it is not for us to guess), any other `arr_<n>`, n its place (or the next
 * number no array has), as numpy.savez names arrays given without a name.
 */
function publishedNames(names: readonly string[], file: string): string[] {
  const taken = new Set<string>();
  names.forEach((name, i) => {
    if (isSafeArrayName(name)) {
      if (taken.has(name)) {
        throw new NumpyDeidError('duplicate_member', file, `member ${i + 1} repeats a name`);
      }
      taken.add(name);
    }
  });
  return names.map((name, i) => {
    if (isSafeArrayName(name)) {
      return name;
    }
    let n = i;
    while (taken.has(`arr_${n}`)) {
      n += 1;
    }
    taken.add(`arr_${n}`);
    return `arr_${n}`;
  });
}

/** Reader errors and de-identifier errors alike: a NumPy file held back. */
export function isNumpyRefusal(error: unknown): error is FormatError | NumpyDeidError {
  return error instanceof FormatError || error instanceof NumpyDeidError;
}

function hashed(chunks: Uint8Array[]): { chunks: Uint8Array[]; size: number; sha256: string } {
  const hash = createHash('sha256');
  let size = 0;
  for (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { chunks, size, sha256: hash.digest('hex') };
}

const REQUIRED_KEYS: readonly string[] = ['descr', 'fortran_order', 'shape'];

/**
 * A Python literal as far as a header needs it: strings, booleans, integers and tuples kept; any
 * other value (a float, a list, a dict) is an empty non-tuple.
 */
type Literal = string | boolean | number | null | { tuple: boolean; value: Literal[] };
const OTHER: Literal = { tuple: false, value: [] };

function isShape(value: Literal | undefined): value is { tuple: true; value: number[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    value.tuple &&
    value.value.length <= MAX_SHAPE_DIMENSIONS &&
    value.value.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  );
}

/**
 * The dict literal at the start of a header, as Python's ast.literal_eval (which NumPy uses)
 * would read it: strings (with escapes and prefixes), numbers, True, False, None, tuples, lists,
 * sets and dicts, nested to a bounded depth, and `#` comments. Never evaluated; `end` is where the
 * dict closes (what follows is padding, kept by no one).
 */
function parseDictLiteral(
  text: string,
  fail: (code: NumpyDeidErrorCode, detail: string) => NumpyDeidError,
): { entries: [Literal, Literal][]; end: number } {
  let at = 0;
  const bad = (what: string) => fail('invalid_header', `the header's dictionary ${what}`);
  const skip = () => {
    for (;;) {
      while (at < text.length && ' \t\n\r\f'.includes(text.charAt(at))) {
        at++;
      }
      if (text.charAt(at) !== '#') {
        return;
      }
      const newline = text.indexOf('\n', at);
      at = newline < 0 ? text.length : newline;
    }
  };
  const readString = (): string => {
    at += /^[bBuUrR]{0,2}/u.exec(text.slice(at, at + 2))?.[0].length ?? 0;
    const quote = text.charAt(at);
    if (text.startsWith(quote.repeat(3), at)) {
      throw bad('has a triple-quoted string');
    }
    at++;
    let value = '';
    while (at < text.length && text.charAt(at) !== quote && text.charAt(at) !== '\n') {
      // An escape is kept as written: only plain values matter (descr), and one with a backslash
      // is refused by its form.
      const step = text.charAt(at) === '\\' ? 2 : 1;
      value += text.slice(at, at + step);
      at += step;
    }
    if (text.charAt(at) !== quote) {
      throw bad('has a string that is not closed');
    }
    at++;
    return value;
  };
  /** Items up to `close`; in braces, `key: value` pairs too (a dict), or plain items (a set). */
  const readSequence = (close: string, depth: number) => {
    const items: Literal[] = [];
    const pairs: [Literal, Literal][] = [];
    let hadComma = false;
    skip();
    while (text.charAt(at) !== close) {
      if (at >= text.length) {
        throw bad('is not closed');
      }
      const item = readValue(depth + 1);
      skip();
      if (close === '}' && text.charAt(at) === ':') {
        at++;
        pairs.push([item, readValue(depth + 1)]);
        skip();
      } else {
        items.push(item);
      }
      if (text.charAt(at) === ',') {
        at++;
        hadComma = true;
        skip();
      } else if (text.charAt(at) !== close) {
        throw bad('has an item not followed by a comma or its end');
      }
    }
    at++;
    return { items, pairs, hadComma };
  };
  const readValue = (depth: number): Literal => {
    if (depth > MAX_LITERAL_DEPTH) {
      throw bad('nests too deeply');
    }
    skip();
    const char = text.charAt(at);
    if (/^[bBuUrR]{0,2}['"]/u.test(text.slice(at, at + 3))) {
      return readString();
    }
    for (const [word, value] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (text.startsWith(word, at) && !/[A-Za-z0-9_]/u.test(text.charAt(at + word.length))) {
        at += word.length;
        return value;
      }
    }
    const number = NUMBER.exec(text.slice(at, at + 64))?.[0] ?? '';
    if (number !== '') {
      at += number.length;
      // Python 2 wrote long integers with a suffix.
      return /^\d+L?$/u.test(number) ? Number(number.replace('L', '')) : OTHER;
    }
    if (char === '(' || char === '[' || char === '{') {
      at++;
      const { items, pairs, hadComma } = readSequence(
        char === '(' ? ')' : char === '[' ? ']' : '}',
        depth,
      );
      if (pairs.length > 0 && items.length > 0) {
        throw bad('mixes a dict and a set');
      }
      if (char !== '(') {
        return OTHER;
      }
      // "(5)" is 5; "(5,)" and "()" are tuples.
      return hadComma || items.length !== 1 ? { tuple: true, value: items } : (items[0] ?? null);
    }
    throw bad('has a value that is not a Python literal');
  };
  skip();
  if (text.charAt(at) !== '{') {
    throw bad('does not begin the header');
  }
  at++;
  const { items, pairs } = readSequence('}', 0);
  if (items.length > 0) {
    throw bad('has an item without a value');
  }
  return { entries: pairs, end: at };
}
