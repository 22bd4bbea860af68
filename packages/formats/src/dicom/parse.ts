/**
 * DICOM Part 10 files (PS3.10 section 7): the 128-byte preamble and "DICM", the file meta group
 * (always explicit VR little endian), then the dataset in its transfer syntax (PS3.5 sections 7 and
 * 10): implicit or explicit VR little endian, explicit VR big endian, or deflated explicit VR little
 * endian. Sequences of defined and undefined length, private elements (kept, and marked), and
 * encapsulated pixel data (PS3.5 A.4: the basic offset table and fragments) are read; values stay
 * as views of the file's bytes, decoded on demand by `DicomDataset`.
 *
 * Partner files are not trusted: every declared length is checked against the bytes that remain in
 * its enclosing element before it is used, sequences nest at most `maxDepth` deep, a file holds at
 * most `maxElements` elements (items and fragments count), and the file or its inflated dataset is at
 * most `maxBytes`. Each problem is a `FormatError` whose offset is where the element that broke
 * begins. Every step of the parse consumes at least 8 bytes, so it always ends.
 */
import { stat, readFile } from 'node:fs/promises';
import type { TextDecoder } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { FormatError, type FormatErrorCode } from '../format-error.js';
import { isVr, LONG_VRS, lookupTag, type Vr, formatTag, vrOfBytes } from './dictionary.js';
import { ElementRecord } from './element.js';
import { textDecoder } from './text-decoders.js';
import {
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntaxOf,
  type TransferSyntax,
} from './transfer-syntax.js';

export interface DicomReadOptions {
  /** The file's name, for error messages. */
  name: string;
  /** The largest file, and the largest inflated dataset of a deflated one, in bytes. Default 1 GiB. */
  maxBytes?: number;
  /** The most data elements, items and fragments in the file. Default 1,000,000. */
  maxElements?: number;
  /** The deepest nesting of sequences. Default 16. */
  maxDepth?: number;
}

export const DICOM_DEFAULT_LIMITS = {
  maxBytes: 1024 * 1024 * 1024,
  maxElements: 1_000_000,
  maxDepth: 16,
} as const;

/** One fragment of encapsulated pixel data (PS3.5 A.4). */
export interface DicomFragment {
  /** Where the fragment's bytes begin in the file. */
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** One data element, its value as bytes (or items, or fragments). */
export interface DicomElement {
  readonly tag: number;
  readonly vr: Vr;
  /** The dictionary's keyword, or null for a tag the dictionary subset does not know. */
  readonly keyword: string | null;
  /** Is it a private element (odd group, PS3.5 7.8)? Private elements are kept as read. */
  readonly isPrivate: boolean;
  /**
   * Where the element's header begins (for a deflated file: past the meta group, in the inflated
   * bytes); -1 for an element built in memory (write.ts).
   */
  readonly offset: number;
  /** The value's bytes; empty for a sequence and for encapsulated pixel data. */
  readonly bytes: Uint8Array;
  /** A sequence's items, or null. */
  readonly items: readonly DicomDataset[] | null;
  /** Encapsulated pixel data: the basic offset table's offsets and the fragments, or null. */
  readonly encapsulated: {
    readonly offsetTable: readonly number[];
    readonly fragments: readonly DicomFragment[];
  } | null;
}

/** How the text of a file is decoded (PS3.5 6.1.2.3); shared by a file's nested datasets. */
interface TextContext {
  decoder: TextDecoder;
}

/** A dataset (or a sequence item): its elements by tag, with typed accessors. */
export class DicomDataset {
  readonly elements: ReadonlyMap<number, DicomElement>;
  /** Are multi-byte binary values little endian? */
  readonly isLittleEndian: boolean;
  readonly #text: TextContext;

  /** @internal built by the parser. */
  constructor(
    elements: ReadonlyMap<number, DicomElement>,
    isLittleEndian: boolean,
    text: TextContext,
  ) {
    this.elements = elements;
    this.isLittleEndian = isLittleEndian;
    this.#text = text;
  }

  /** Decodes text bytes in the dataset's character set (its file's Specific Character Set). */
  decodeText(bytes: Uint8Array): string {
    return this.#text.decoder.decode(bytes);
  }

  /** Is the dataset's text UTF-8 (ISO_IR 192)? Otherwise it is read as ISO 8859-1. */
  get isUtf8(): boolean {
    return this.#text.decoder.encoding === 'utf-8';
  }

  has(tag: number): boolean {
    return this.elements.has(tag);
  }

  get(tag: number): DicomElement | undefined {
    return this.elements.get(tag);
  }

  /** The VR a value is decoded as: the element's, or the dictionary's for a UN element. */
  #vrOf(element: DicomElement): Vr {
    return element.vr === 'UN' ? lookupTag(element.tag).vr : element.vr;
  }

  /**
   * The text of an element's bytes: short ASCII values (most of a header's: UIDs, codes, numbers
   * as text) character by character, which is the same in every character set Lantern reads;
   * anything else through the dataset's decoder.
   */
  #textOf(bytes: Uint8Array): string {
    if (bytes.length <= SHORT_TEXT) {
      let text = '';
      for (const byte of bytes) {
        if (byte >= 0x80) {
          return this.#text.decoder.decode(bytes);
        }
        text += String.fromCharCode(byte);
      }
      return text;
    }
    return this.#text.decoder.decode(bytes);
  }

  /** The text values of an element (split at backslashes, padding trimmed), or [] when absent. */
  strings(tag: number): string[] {
    const element = this.elements.get(tag);
    if (element === undefined || element.bytes.length === 0) {
      return [];
    }
    const text = this.#textOf(element.bytes);
    // LT, ST, UT and UR are single values in which a backslash is text (PS3.5 6.2).
    if (SINGLE_VALUE_TEXT_VRS.has(this.#vrOf(element)) || !text.includes('\\')) {
      return [trimPadding(text)];
    }
    return text.split('\\').map(trimPadding);
  }

  /** The text of an element, multiple values joined by backslashes; null when absent or empty. */
  string(tag: number): string | null {
    const values = this.strings(tag);
    const text = values.length === 1 ? (values[0] ?? '') : values.join('\\');
    return text === '' ? null : text;
  }

  /** The numeric values of an element: binary (US, SS, UL, SL, FL, FD, SV, UV) or text (DS, IS). */
  numbers(tag: number): number[] {
    const element = this.elements.get(tag);
    if (element === undefined) {
      return [];
    }
    const vr = this.#vrOf(element);
    if (vr === 'DS' || vr === 'IS') {
      return this.strings(tag)
        .filter((text) => text !== '')
        .map(Number)
        .filter((value) => Number.isFinite(value));
    }
    if (!isBinaryVr(vr)) {
      return [];
    }
    const binary = vr;
    const size = BINARY_SIZES[binary];
    const { bytes } = element;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = this.isLittleEndian;
    const values: number[] = [];
    for (let at = 0; at + size <= bytes.length; at += size) {
      values.push(readBinary(view, at, binary, le));
    }
    return values;
  }

  /** The first numeric value of an element, or null. */
  number(tag: number): number | null {
    const element = this.elements.get(tag);
    if (element === undefined) {
      return null;
    }
    // A binary value's first number is read where it lies, without the list `numbers` makes.
    const vr = this.#vrOf(element);
    if (isBinaryVr(vr)) {
      const { bytes } = element;
      if (bytes.length < BINARY_SIZES[vr]) {
        return null;
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return readBinary(view, 0, vr, this.isLittleEndian);
    }
    return this.numbers(tag)[0] ?? null;
  }

  /** A sequence's items; [] when absent or not a sequence. */
  items(tag: number): readonly DicomDataset[] {
    return this.elements.get(tag)?.items ?? [];
  }
}

/** Values up to this many bytes are tried as ASCII before the decoder is called. */
const SHORT_TEXT = 64;

/** Text VRs whose value is one value, a backslash in it being text (PS3.5 6.2). */
const SINGLE_VALUE_TEXT_VRS: ReadonlySet<Vr> = new Set<Vr>(['LT', 'ST', 'UT', 'UR']);

/** A text value without its trailing NULs and spaces and its leading spaces (PS3.5 6.2). */
function trimPadding(value: string): string {
  let end = value.length;
  while (end > 0 && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0)) {
    end -= 1;
  }
  let start = 0;
  while (start < end && value.charCodeAt(start) === 0x20) {
    start += 1;
  }
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

type BinaryVr = 'US' | 'SS' | 'UL' | 'SL' | 'FL' | 'FD' | 'SV' | 'UV' | 'AT';

const BINARY_SIZES: Record<BinaryVr, number> = {
  US: 2,
  SS: 2,
  UL: 4,
  SL: 4,
  FL: 4,
  FD: 8,
  SV: 8,
  UV: 8,
  AT: 4,
};

function isBinaryVr(vr: Vr): vr is BinaryVr {
  return vr in BINARY_SIZES;
}

function readBinary(view: DataView, at: number, vr: BinaryVr, le: boolean): number {
  switch (vr) {
    case 'US':
      return view.getUint16(at, le);
    case 'SS':
      return view.getInt16(at, le);
    case 'SL':
      return view.getInt32(at, le);
    case 'FL':
      return view.getFloat32(at, le);
    case 'FD':
      return view.getFloat64(at, le);
    case 'SV':
      return Number(view.getBigInt64(at, le));
    case 'UV':
      return Number(view.getBigUint64(at, le));
    case 'AT':
      return ((view.getUint16(at, le) << 16) | view.getUint16(at + 2, le)) >>> 0;
    case 'UL':
      return view.getUint32(at, le);
  }
}

/** A DICOM file read whole. */
export interface DicomFile {
  readonly name: string;
  readonly byteLength: number;
  /** Did the file begin with the 128-byte preamble and "DICM" (PS3.10 7.1)? */
  readonly hasPreamble: boolean;
  /** The file meta group (group 0002); empty when the file has none. */
  readonly meta: DicomDataset;
  readonly dataset: DicomDataset;
  /** The file's transfer syntax; guessed from the first bytes when the meta group names none. */
  readonly transferSyntax: TransferSyntax;
}

const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
const UNDEFINED_LENGTH = 0xffffffff;
const PREAMBLE_BYTES = 128;

interface Syntax {
  readonly isExplicitVr: boolean;
  readonly isLittleEndian: boolean;
}

/** PS3.5 6.2.2: a UN element of undefined length is a sequence encoded implicit VR little endian. */
const UN_SEQUENCE_SYNTAX: Syntax = { isExplicitVr: false, isLittleEndian: true };

/** The bytes of one dataset encoding, with the limits that bound the parse of it. */
class Parser {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #name: string;
  /** Added to positions in #bytes to give file offsets (the meta group's end for a deflated file). */
  readonly #base: number;
  readonly #limits: Required<Omit<DicomReadOptions, 'name'>>;
  readonly #text: TextContext;
  readonly #counter: { elements: number };

  constructor(
    bytes: Uint8Array,
    name: string,
    base: number,
    limits: Required<Omit<DicomReadOptions, 'name'>>,
    text: TextContext,
    counter: { elements: number },
  ) {
    // A plain view even of a Buffer: a Buffer's subarray makes a Buffer, several times slower.
    this.#bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#name = name;
    this.#base = base;
    this.#limits = limits;
    this.#text = text;
    this.#counter = counter;
  }

  get length(): number {
    return this.#bytes.length;
  }

  fail(code: FormatErrorCode, detail: string, at: number): FormatError {
    return new FormatError(code, detail, { file: this.#name, offset: this.#base + at });
  }

  #count(at: number): void {
    this.#counter.elements += 1;
    if (this.#counter.elements > this.#limits.maxElements) {
      throw this.fail(
        'too_many_elements',
        `the file has more than ${this.#limits.maxElements} data elements`,
        at,
      );
    }
  }

  #tagAt(at: number, le: boolean): number {
    return ((this.#view.getUint16(at, le) << 16) | this.#view.getUint16(at + 2, le)) >>> 0;
  }

  groupAt(at: number, le: boolean): number {
    return this.#view.getUint16(at, le);
  }

  /** Reads a dataset between `start` and `end`, or up to an item delimiter when `isItem` has no end. */
  readDataset(
    start: number,
    end: number,
    depth: number,
    syntax: Syntax,
    untilDelimiter: boolean,
    stopAfterGroup?: number,
  ): { dataset: DicomDataset; next: number } {
    const elements = new Map<number, DicomElement>();
    let at = start;
    for (;;) {
      if (at >= end) {
        if (untilDelimiter) {
          throw this.fail('invalid_dicom', 'an item of undefined length has no delimiter', at);
        }
        break;
      }
      if (at + 8 > end) {
        throw this.fail(
          'invalid_dicom',
          `a data element header is cut off after ${end - at} bytes`,
          at,
        );
      }
      const le = stopAfterGroup === undefined ? syntax.isLittleEndian : true;
      if (stopAfterGroup !== undefined && this.groupAt(at, le) !== stopAfterGroup) {
        break;
      }
      const tag = this.#tagAt(at, le);
      if (tag === ITEM_DELIMITATION) {
        if (!untilDelimiter) {
          throw this.fail(
            'invalid_dicom',
            'an item delimiter outside an item of undefined length',
            at,
          );
        }
        return {
          dataset: new DicomDataset(elements, syntax.isLittleEndian, this.#text),
          next: at + 8,
        };
      }
      if (tag === ITEM || tag === SEQUENCE_DELIMITATION) {
        throw this.fail('invalid_dicom', `${formatTag(tag)} where a data element belongs`, at);
      }
      const { element, next } = this.#readElement(at, end, depth, syntax);
      elements.set(tag, element);
      at = next;
    }
    return { dataset: new DicomDataset(elements, syntax.isLittleEndian, this.#text), next: at };
  }

  #readElement(
    at: number,
    end: number,
    depth: number,
    syntax: Syntax,
  ): { element: DicomElement; next: number } {
    this.#count(at);
    const le = syntax.isLittleEndian;
    const tag = this.#tagAt(at, le);
    const known = lookupTag(tag);
    let vr: Vr;
    let length: number;
    let header: number;
    if (syntax.isExplicitVr) {
      const explicit = vrOfBytes(this.#bytes[at + 4] ?? 0, this.#bytes[at + 5] ?? 0);
      if (explicit === undefined) {
        const text = String.fromCharCode(this.#bytes[at + 4] ?? 0, this.#bytes[at + 5] ?? 0);
        throw this.fail(
          'invalid_dicom',
          `${formatTag(tag)} has no valid VR (${JSON.stringify(text)})`,
          at,
        );
      }
      vr = explicit;
      if (LONG_VRS.has(vr)) {
        if (at + 12 > end) {
          throw this.fail('invalid_dicom', `the header of ${formatTag(tag)} is cut off`, at);
        }
        length = this.#view.getUint32(at + 8, le);
        header = 12;
      } else {
        length = this.#view.getUint16(at + 6, le);
        header = 8;
      }
    } else {
      vr = known.vr;
      length = this.#view.getUint32(at + 4, le);
      header = 8;
    }
    const start = at + header;
    const offset = this.#base + at;
    if (length === UNDEFINED_LENGTH) {
      if (vr === 'SQ' || vr === 'UN') {
        const inner = vr === 'UN' && syntax.isExplicitVr ? UN_SEQUENCE_SYNTAX : syntax;
        const { items, next } = this.#readSequence(start, end, null, depth + 1, inner, at);
        const element = new ElementRecord(tag, 'SQ', known.keyword, offset, EMPTY, items, null);
        return { element, next };
      }
      if (tag === PIXEL_DATA && (vr === 'OB' || vr === 'OW')) {
        const { encapsulated, next } = this.#readFragments(start, end, le);
        const element = new ElementRecord(
          tag,
          vr,
          known.keyword,
          offset,
          EMPTY,
          null,
          encapsulated,
        );
        return { element, next };
      }
      throw this.fail('invalid_dicom', `${formatTag(tag)} (${vr}) has an undefined length`, at);
    }
    if (length > end - start) {
      throw this.fail(
        'invalid_dicom',
        `${formatTag(tag)} declares ${length} bytes but only ${Math.max(0, end - start)} remain`,
        at,
      );
    }
    const next = start + length;
    if (vr === 'SQ') {
      const { items } = this.#readSequence(start, next, next, depth + 1, syntax, at);
      return {
        element: new ElementRecord(tag, vr, known.keyword, offset, EMPTY, items, null),
        next,
      };
    }
    // The value stays a view of the file's bytes, decoded only when asked for (DicomDataset).
    const bytes = this.#bytes.subarray(start, next);
    return { element: new ElementRecord(tag, vr, known.keyword, offset, bytes, null, null), next };
  }

  /** Reads the items of a sequence: up to `definedEnd`, or up to its delimiter when that is null. */
  #readSequence(
    start: number,
    end: number,
    definedEnd: number | null,
    depth: number,
    syntax: Syntax,
    elementAt: number,
  ): { items: DicomDataset[]; next: number } {
    if (depth > this.#limits.maxDepth) {
      throw this.fail('too_deep', `sequences nest deeper than ${this.#limits.maxDepth}`, elementAt);
    }
    const le = syntax.isLittleEndian;
    const items: DicomDataset[] = [];
    let at = start;
    for (;;) {
      if (definedEnd !== null && at >= definedEnd) {
        return { items, next: at };
      }
      if (at + 8 > end) {
        throw this.fail('invalid_dicom', 'a sequence is cut off (no item or delimiter)', at);
      }
      const tag = this.#tagAt(at, le);
      const length = this.#view.getUint32(at + 4, le);
      if (tag === SEQUENCE_DELIMITATION && definedEnd === null) {
        return { items, next: at + 8 };
      }
      if (tag !== ITEM) {
        throw this.fail('invalid_dicom', `${formatTag(tag)} where a sequence item belongs`, at);
      }
      this.#count(at);
      if (length === UNDEFINED_LENGTH) {
        const { dataset, next } = this.readDataset(at + 8, end, depth, syntax, true);
        items.push(dataset);
        at = next;
      } else {
        if (length > end - (at + 8)) {
          throw this.fail(
            'invalid_dicom',
            `a sequence item declares ${length} bytes but only ${end - (at + 8)} remain`,
            at,
          );
        }
        items.push(this.readDataset(at + 8, at + 8 + length, depth, syntax, false).dataset);
        at += 8 + length;
      }
    }
  }

  /** Encapsulated pixel data (PS3.5 A.4): the basic offset table item, fragments, a delimiter. */
  #readFragments(
    start: number,
    end: number,
    le: boolean,
  ): { encapsulated: NonNullable<DicomElement['encapsulated']>; next: number } {
    const offsetTable: number[] = [];
    const fragments: DicomFragment[] = [];
    let at = start;
    let isFirst = true;
    for (;;) {
      if (at + 8 > end) {
        throw this.fail('invalid_dicom', 'encapsulated pixel data is cut off (no delimiter)', at);
      }
      const tag = this.#tagAt(at, le);
      const length = this.#view.getUint32(at + 4, le);
      if (tag === SEQUENCE_DELIMITATION) {
        return { encapsulated: { offsetTable, fragments }, next: at + 8 };
      }
      if (tag !== ITEM) {
        throw this.fail(
          'invalid_dicom',
          `${formatTag(tag)} where a pixel data fragment belongs`,
          at,
        );
      }
      this.#count(at);
      if (length > end - (at + 8)) {
        throw this.fail(
          'invalid_dicom',
          `a pixel data fragment declares ${length} bytes but only ${end - (at + 8)} remain`,
          at,
        );
      }
      const bytes = this.#bytes.subarray(at + 8, at + 8 + length);
      if (isFirst) {
        if (length % 4 !== 0) {
          throw this.fail(
            'invalid_dicom',
            'the basic offset table is not a list of 32-bit offsets',
            at,
          );
        }
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let i = 0; i < length; i += 4) {
          offsetTable.push(view.getUint32(i, le));
        }
        isFirst = false;
      } else {
        fragments.push({ offset: this.#base + at + 8, bytes });
      }
      at += 8 + length;
    }
  }
}

const EMPTY = new Uint8Array(0);
const DICM = [0x44, 0x49, 0x43, 0x4d];

/** Does a file begin like DICOM Part 10 (128 bytes, then "DICM")? */
export function isDicom(head: Uint8Array): boolean {
  return DICM.every((byte, i) => head[PREAMBLE_BYTES + i] === byte);
}

/** Is the byte pair an upper-case VR, as explicit VR encodings have after the tag? */
function looksExplicit(bytes: Uint8Array, at: number): boolean {
  return isVr(String.fromCharCode(bytes[at + 4] ?? 0, bytes[at + 5] ?? 0));
}

/**
 * The transfer syntax of a dataset that no meta group names (files written without one, or with a
 * meta group that leaves it out): explicit VR if a VR follows the first tag, big endian if the
 * first group reads as a small number only that way.
 */
function guessSyntax(bytes: Uint8Array, at: number): TransferSyntax {
  const explicit = looksExplicit(bytes, at);
  const groupLe = (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8);
  const groupBe = ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
  if (explicit && groupBe < groupLe) {
    return transferSyntaxOf(EXPLICIT_VR_BIG_ENDIAN);
  }
  return transferSyntaxOf(explicit ? EXPLICIT_VR_LITTLE_ENDIAN : IMPLICIT_VR_LITTLE_ENDIAN);
}

/**
 * The encoding the dataset is read in. Some writers declare an explicit VR transfer syntax and write
 * implicit VR (pydicom's SC_rgb_jpeg.dcm); like pydicom and dcmtk, the first element decides.
 */
function syntaxOf(transferSyntax: TransferSyntax, bytes: Uint8Array, at: number): Syntax {
  const isMismatched =
    transferSyntax.isExplicitVr && at + 8 <= bytes.length && !looksExplicit(bytes, at);
  return {
    isExplicitVr: transferSyntax.isExplicitVr && !isMismatched,
    isLittleEndian: transferSyntax.isLittleEndian,
  };
}

/** The decoder for a Specific Character Set (PS3.3 C.12.1.1.2); ISO_IR 192 is UTF-8. */
function decoderFor(characterSet: string | null): TextDecoder {
  return textDecoder(characterSet?.includes('ISO_IR 192') === true);
}

/** Reads a DICOM file held in memory. Every problem is a `FormatError`. */
export function readDicom(bytes: Uint8Array, options: DicomReadOptions): DicomFile {
  // Field by field: a spread of the defaults and the options cost more than a small header's parse.
  const limits = {
    maxBytes: options.maxBytes ?? DICOM_DEFAULT_LIMITS.maxBytes,
    maxElements: options.maxElements ?? DICOM_DEFAULT_LIMITS.maxElements,
    maxDepth: options.maxDepth ?? DICOM_DEFAULT_LIMITS.maxDepth,
  };
  const { name } = options;
  if (bytes.length > limits.maxBytes) {
    throw new FormatError('file_too_large', `the file is larger than ${limits.maxBytes} bytes`, {
      file: name,
      offset: limits.maxBytes,
    });
  }
  const text: TextContext = { decoder: decoderFor(null) };
  const counter = { elements: 0 };
  const parser = new Parser(bytes, name, 0, limits, text, counter);
  const hasPreamble = bytes.length >= PREAMBLE_BYTES + 4 && isDicom(bytes);
  let at = hasPreamble ? PREAMBLE_BYTES + 4 : 0;
  if (!hasPreamble && bytes.length < 8) {
    throw parser.fail('invalid_dicom', `the file is ${bytes.length} bytes, too short for DICOM`, 0);
  }
  if (!hasPreamble && !looksExplicit(bytes, 0) && parser.groupAt(0, true) > 0x7fe0) {
    throw parser.fail(
      'invalid_dicom',
      'the file does not begin with a DICOM preamble or data element',
      0,
    );
  }
  // The meta group is explicit VR little endian whatever the dataset's syntax (PS3.10 7.1).
  let meta = new DicomDataset(new Map(), true, text);
  if (at + 8 <= bytes.length && parser.groupAt(at, true) === 0x0002 && looksExplicit(bytes, at)) {
    const read = parser.readDataset(
      at,
      bytes.length,
      0,
      { isExplicitVr: true, isLittleEndian: true },
      false,
      0x0002,
    );
    meta = read.dataset;
    at = read.next;
  }
  const uid = meta.string(0x00020010);
  const transferSyntax = uid !== null ? transferSyntaxOf(uid) : guessSyntax(bytes, at);
  let dataset: DicomDataset;
  if (transferSyntax.isDeflated) {
    const inflated = inflate(bytes.subarray(at), name, at, limits.maxBytes);
    const inner = new Parser(inflated, name, at, limits, text, counter);
    dataset = inner.readDataset(
      0,
      inflated.length,
      0,
      syntaxOf(transferSyntax, inflated, 0),
      false,
    ).dataset;
  } else {
    dataset = parser.readDataset(
      at,
      bytes.length,
      0,
      syntaxOf(transferSyntax, bytes, at),
      false,
    ).dataset;
  }
  text.decoder = decoderFor(dataset.string(0x00080005));
  return { name, byteLength: bytes.length, hasPreamble, meta, dataset, transferSyntax };
}

/** Inflates a deflated dataset (RFC 1951 without a zlib header, PS3.5 A.5), at most `maxBytes`. */
function inflate(bytes: Uint8Array, name: string, offset: number, maxBytes: number): Uint8Array {
  try {
    return inflateRawSync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    const isTooLarge =
      error instanceof RangeError ||
      (error instanceof Error && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE');
    throw new FormatError(
      isTooLarge ? 'file_too_large' : 'invalid_dicom',
      isTooLarge
        ? `the deflated dataset inflates to more than ${maxBytes} bytes`
        : `the deflated dataset cannot be inflated (${error instanceof Error ? error.message : String(error)})`,
      { file: name, offset },
    );
  }
}

/** Reads the DICOM file at `path` (refused before reading when larger than `maxBytes`). */
export async function readDicomFile(path: string, options: DicomReadOptions): Promise<DicomFile> {
  const maxBytes = options.maxBytes ?? DICOM_DEFAULT_LIMITS.maxBytes;
  const { size } = await stat(path);
  if (size > maxBytes) {
    throw new FormatError('file_too_large', `the file is ${size} bytes, more than ${maxBytes}`, {
      file: options.name,
      offset: maxBytes,
    });
  }
  return readDicom(await readFile(path), options);
}
