/**
 * Writing DICOM Part 10 files (PS3.10 section 7), and building the datasets they hold.
 *
 * `writeDicom` serializes the parser's model (`DicomDataset`, `DicomElement`: bytes, items,
 * encapsulated fragments) so that a file can be read, changed and written back: the preamble and
 * "DICM", the file meta group in explicit VR little endian with a correct group length, then the
 * dataset in the transfer syntax asked for (PS3.5 sections 7 and 10): explicit or implicit VR little
 * endian, explicit VR big endian (binary values byte-swapped by their VR), deflated explicit VR
 * little endian (RFC 1951, PS3.5 A.5), or an encapsulated syntax (JPEG, RLE, …) whose pixel data
 * is written as the basic offset table and fragments it was read as (PS3.5 A.4). Elements go out
 * in ascending tag order; sequences and items with defined lengths (but a sequence the dictionary
 * does not know, in implicit VR, which only an undefined length marks); every value has even length,
 * padded with a space for text and NUL for UI and binary values (PS3.5 6.2, 7.1).
 *
 * `dicomDataset` builds a dataset from values and `changeDicomDataset` derives a changed copy of one
 * (set, remove, replace a sequence's items), which is what de-identification does. Text is written
 * as ASCII when it is ASCII; otherwise as UTF-8, and the dataset's Specific Character Set becomes
 * ISO_IR 192 (PS3.5 6.1.2.3), its other text re-encoded to match.
 */
import type { TextDecoder } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { formatTag, LONG_VRS, lookupTag, TEXT_VRS, type Vr } from './dictionary.js';
import { ElementRecord, withValue } from './element.js';
import { DicomDataset, type DicomElement } from './parse.js';
import { textDecoder } from './text-decoders.js';
import { transferSyntaxOf, type TransferSyntax } from './transfer-syntax.js';

/** Why a dataset could not be written or built. */
export const DICOM_WRITE_ERROR_CODES = [
  /** A value longer than its VR's 16-bit length field can say (explicit VR, PS3.5 7.1.2). */
  'value_too_long',
  /** A value that cannot be encoded in its VR (text in a binary VR, a non-finite DS, …). */
  'invalid_value',
  /** An element in the wrong place: a group other than 0002 in the meta group, or 0002 in the dataset. */
  'misplaced_element',
  /** Encapsulated pixel data in a native transfer syntax, or native pixel data in an encapsulated one. */
  'pixel_encoding_mismatch',
] as const;

export type DicomWriteErrorCode = (typeof DICOM_WRITE_ERROR_CODES)[number];

/** A dataset that cannot be written (or a value that cannot be built), and which element. */
export class DicomWriteError extends Error {
  readonly code: DicomWriteErrorCode;
  /** The element at fault. */
  readonly tag: number;
  /** What was wrong, without the tag (the message has both). */
  readonly detail: string;

  constructor(code: DicomWriteErrorCode, tag: number, detail: string) {
    super(`${formatTag(tag)}: ${detail}`);
    this.name = 'DicomWriteError';
    this.code = code;
    this.tag = tag;
    this.detail = detail;
  }
}

/** Encapsulated pixel data (PS3.5 A.4): the basic offset table (often empty) and the fragments. */
export interface DicomEncapsulatedValue {
  readonly offsetTable?: readonly number[];
  readonly fragments: readonly Uint8Array[];
}

/**
 * A value to build an element from: text (several values joined by backslashes), numbers (binary
 * VRs in the dataset's byte order, or DS/IS as text; AT as tags), raw bytes as they are to be
 * written, a sequence's items, or encapsulated pixel data.
 */
export type DicomValue =
  | string
  | readonly string[]
  | number
  | readonly number[]
  | Uint8Array
  | readonly DicomDataset[]
  | DicomEncapsulatedValue;

/** One element to build. */
export interface DicomEntry {
  readonly tag: number;
  readonly vr: Vr;
  readonly value: DicomValue;
}

export interface DicomBuildOptions {
  /** Are binary values encoded little endian? Default true (the writer swaps for big endian). */
  isLittleEndian?: boolean;
  /**
   * Is this a sequence item? Items take their text encoding from the dataset they go into, so an
   * item never gets a Specific Character Set of its own. Default false.
   */
  isItem?: boolean;
}

/** What `changeDicomDataset` does: elements to remove, then elements to set (added or replaced). */
export interface DicomChanges {
  readonly remove?: Iterable<number>;
  readonly set?: Iterable<DicomEntry>;
}

const SPECIFIC_CHARACTER_SET = 0x00080005;
const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;
const PIXEL_DATA = 0x7fe00010;
const ITEM = 0xfffee000;
const SEQUENCE_DELIMITATION = 0xfffee0dd;
const UNDEFINED_LENGTH = 0xffffffff;
const META_GROUP = 0x0002;
const UTF8 = 'ISO_IR 192';
const TEXT_ENCODER = new TextEncoder();
/** The value of every empty element built: it has no byte to change, so one serves all. */
const EMPTY = new Uint8Array(0);

/** The Implementation Class UID of files Lantern writes (PS3.10 7.1; a 2.25 UUID-derived UID). */
export const LANTERN_IMPLEMENTATION_CLASS_UID = '2.25.188154398212937045710532950486817207425';
export const LANTERN_IMPLEMENTATION_VERSION_NAME = 'LANTERN_0_1';

/** Builds a dataset (or, with `isItem`, a sequence item) from values. */
export function dicomDataset(
  entries: Iterable<DicomEntry>,
  options: DicomBuildOptions = {},
): DicomDataset {
  const empty = new DicomDataset(new Map(), options.isLittleEndian ?? true, {
    decoder: textDecoder(false),
  });
  return changeDicomDataset(empty, { set: entries }, options.isItem ?? false);
}

/**
 * A changed copy of a dataset: `remove` drops elements, `set` adds or replaces them (a sequence's
 * items are replaced by setting the sequence). The original is not modified; unchanged elements are
 * shared with it. Binary values are encoded in the dataset's byte order. When a new text value is not
 * ASCII, or the copy would mix text encodings, all its text becomes UTF-8 and (0008,0005) ISO_IR 192.
 */
export function changeDicomDataset(
  dataset: DicomDataset,
  changes: DicomChanges,
  isItem = false,
): DicomDataset {
  const elements = new Map(dataset.elements);
  for (const tag of changes.remove ?? []) {
    elements.delete(tag);
  }
  const newText = new Set<number>();
  for (const entry of changes.set ?? []) {
    const built = buildElement(entry, dataset.isLittleEndian);
    elements.set(entry.tag, built.element);
    if (built.isNonAscii) {
      newText.add(entry.tag);
    } else {
      newText.delete(entry.tag);
    }
  }
  return settleText(elements, dataset, newText, isItem);
}

/**
 * The dataset's text encoding settled: kept when every non-ASCII text value in the tree is in the
 * encoding the root declares, else everything becomes UTF-8. `newText` are the tags of new values
 * that are non-ASCII (encoded UTF-8 already); the other elements are in their dataset's encoding.
 */
function settleText(
  elements: Map<number, DicomElement>,
  original: DicomDataset,
  newText: ReadonlySet<number>,
  isItem: boolean,
): DicomDataset {
  const le = original.isLittleEndian;
  const encodings = new Set<boolean>();
  if (newText.size > 0) {
    encodings.add(true);
  }
  collectEncodings(elements, original.isUtf8, encodings, newText);
  const declared = isItem ? original.isUtf8 : declaresUtf8(elements, original);
  const isMixed = encodings.size > 1 || (encodings.size === 1 && !encodings.has(declared));
  if (!isMixed) {
    return new DicomDataset(elements, le, { decoder: textDecoder(declared) });
  }
  const context = { decoder: textDecoder(true) };
  const transcoded = transcodeElements(elements, original, context, newText);
  if (!isItem) {
    transcoded.set(
      SPECIFIC_CHARACTER_SET,
      buildElement({ tag: SPECIFIC_CHARACTER_SET, vr: 'CS', value: UTF8 }, le).element,
    );
  }
  return new DicomDataset(transcoded, le, context);
}

/** Does the (changed) root's Specific Character Set say UTF-8? */
function declaresUtf8(elements: Map<number, DicomElement>, original: DicomDataset): boolean {
  const element = elements.get(SPECIFIC_CHARACTER_SET);
  if (element === undefined) {
    return false;
  }
  return original.decodeText(element.bytes).includes(UTF8);
}

function isTextElement(element: DicomElement): boolean {
  return TEXT_VRS.has(element.vr) && element.vr !== 'UI';
}

function hasNonAsciiByte(bytes: Uint8Array): boolean {
  for (let at = 0; at < bytes.length; at += 1) {
    if ((bytes[at] ?? 0) >= 0x80) {
      return true;
    }
  }
  return false;
}

/** Adds the encoding (is it UTF-8?) of every dataset in the tree that holds non-ASCII text. */
function collectEncodings(
  elements: ReadonlyMap<number, DicomElement>,
  isUtf8: boolean,
  into: Set<boolean>,
  skip: ReadonlySet<number> = new Set(),
): void {
  for (const [tag, element] of elements) {
    if (!skip.has(tag) && isTextElement(element) && hasNonAsciiByte(element.bytes)) {
      into.add(isUtf8);
    }
    for (const item of element.items ?? []) {
      collectEncodings(item.elements, item.isUtf8, into);
    }
  }
}

/** Re-encodes every non-ASCII text value of a tree as UTF-8, each decoded by its own dataset. */
function transcodeElements(
  elements: ReadonlyMap<number, DicomElement>,
  source: DicomDataset,
  context: { decoder: TextDecoder },
  skip: ReadonlySet<number> = new Set(),
): Map<number, DicomElement> {
  const out = new Map<number, DicomElement>();
  for (const [tag, element] of elements) {
    if (skip.has(tag)) {
      out.set(tag, element);
    } else if (element.items !== null) {
      const items = element.items.map(
        (item) =>
          new DicomDataset(
            transcodeElements(item.elements, item, context),
            item.isLittleEndian,
            context,
          ),
      );
      out.set(tag, withValue(element, { items }));
    } else if (isTextElement(element) && hasNonAsciiByte(element.bytes)) {
      const text = source.decodeText(element.bytes).replace(/ +$/, '');
      out.set(tag, withValue(element, { bytes: padded(TEXT_ENCODER.encode(text), element.vr) }));
    } else {
      out.set(tag, element);
    }
  }
  return out;
}

/** The element an entry builds, and whether its text is not ASCII. */
function buildElement(
  entry: DicomEntry,
  isLittleEndian: boolean,
): { element: DicomElement; isNonAscii: boolean } {
  const { tag, vr, value } = entry;
  const element = (
    bytes: Uint8Array,
    items: readonly DicomDataset[] | null = null,
    encapsulated: DicomElement['encapsulated'] = null,
  ) => new ElementRecord(tag, vr, lookupTag(tag).keyword, -1, bytes, items, encapsulated);
  if (value instanceof Uint8Array) {
    // Raw bytes are taken to be in the dataset's own encoding, as parsed values are.
    return { element: element(value), isNonAscii: false };
  }
  if (isEncapsulatedValue(value)) {
    if (tag !== PIXEL_DATA || (vr !== 'OB' && vr !== 'OW')) {
      throw new DicomWriteError(
        'invalid_value',
        tag,
        'only Pixel Data (OB or OW) can be encapsulated',
      );
    }
    const fragments = value.fragments.map((bytes) => ({ offset: -1, bytes }));
    const encapsulated = { offsetTable: [...(value.offsetTable ?? [])], fragments };
    return { element: element(EMPTY, null, encapsulated), isNonAscii: false };
  }
  if (vr === 'SQ') {
    if (!isItemList(value)) {
      throw new DicomWriteError('invalid_value', tag, 'a sequence takes a list of items');
    }
    return { element: element(EMPTY, [...value]), isNonAscii: false };
  }
  if (isItemList(value) && value.length > 0) {
    throw new DicomWriteError('invalid_value', tag, `items given for a ${vr} element`);
  }
  const values: readonly unknown[] = typeof value === 'object' ? value : [value];
  if (values.length === 0) {
    return { element: element(EMPTY), isNonAscii: false };
  }
  if (isNumberList(values)) {
    const bytes = encodeNumbers(tag, vr, values, isLittleEndian);
    return { element: element(bytes), isNonAscii: false };
  }
  if (!isStringList(values) || !TEXT_VRS.has(vr)) {
    throw new DicomWriteError('invalid_value', tag, `text given for a ${vr} element`);
  }
  const text = values.join('\\');
  const isNonAscii = /[\u0080-\uffff]/.test(text);
  const bytes = padded(TEXT_ENCODER.encode(text), vr);
  return { element: element(bytes), isNonAscii };
}

function isEncapsulatedValue(value: DicomValue): value is DicomEncapsulatedValue {
  return typeof value === 'object' && 'fragments' in value;
}

function isNumberList(values: readonly unknown[]): values is readonly number[] {
  return values.every((one) => typeof one === 'number');
}

function isStringList(values: readonly unknown[]): values is readonly string[] {
  return values.every((one) => typeof one === 'string');
}

function isItemList(value: DicomValue): value is readonly DicomDataset[] {
  return Array.isArray(value) && value.every((item) => item instanceof DicomDataset);
}

/** Binary sizes of the VRs whose values are numbers in bytes. */
const NUMBER_SIZES = {
  US: 2,
  SS: 2,
  OW: 2,
  UL: 4,
  SL: 4,
  FL: 4,
  OF: 4,
  OL: 4,
  AT: 4,
  FD: 8,
  OD: 8,
  SV: 8,
  UV: 8,
  OV: 8,
  OB: 1,
  UN: 1,
} as const satisfies Partial<Record<Vr, number>>;

type NumberVr = keyof typeof NUMBER_SIZES;

function isNumberVr(vr: Vr): vr is NumberVr {
  return vr in NUMBER_SIZES;
}

/** Numbers as the VR stores them: binary in the given byte order, or DS/IS text. */
function encodeNumbers(tag: number, vr: Vr, values: readonly number[], le: boolean): Uint8Array {
  if (vr === 'DS' || vr === 'IS') {
    const text = values.map((value) => formatNumber(tag, vr, value)).join('\\');
    return padded(TEXT_ENCODER.encode(text), vr);
  }
  if (!isNumberVr(vr)) {
    throw new DicomWriteError('invalid_value', tag, `numbers given for a ${vr} element`);
  }
  const size = NUMBER_SIZES[vr];
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => {
    if (!Number.isFinite(value)) {
      throw new DicomWriteError('invalid_value', tag, `${value} is not a finite number`);
    }
    writeNumber(view, i * size, vr, value, le);
  });
  return padded(bytes, vr);
}

function writeNumber(view: DataView, at: number, vr: NumberVr, value: number, le: boolean): void {
  switch (vr) {
    case 'OB':
    case 'UN':
      view.setUint8(at, value);
      return;
    case 'US':
    case 'OW':
      view.setUint16(at, value, le);
      return;
    case 'SS':
      view.setInt16(at, value, le);
      return;
    case 'UL':
    case 'OL':
      view.setUint32(at, value, le);
      return;
    case 'SL':
      view.setInt32(at, value, le);
      return;
    case 'FL':
    case 'OF':
      view.setFloat32(at, value, le);
      return;
    case 'FD':
    case 'OD':
      view.setFloat64(at, value, le);
      return;
    case 'SV':
      view.setBigInt64(at, BigInt(Math.trunc(value)), le);
      return;
    case 'UV':
    case 'OV':
      view.setBigUint64(at, BigInt(Math.trunc(value)), le);
      return;
    case 'AT':
      view.setUint16(at, value >>> 16, le);
      view.setUint16(at + 2, value & 0xffff, le);
      return;
  }
}

/** A DS (at most 16 characters) or IS (a 32-bit integer) value, PS3.5 6.2. */
function formatNumber(tag: number, vr: 'DS' | 'IS', value: number): string {
  if (!Number.isFinite(value)) {
    throw new DicomWriteError('invalid_value', tag, `${value} is not a finite number`);
  }
  if (vr === 'IS') {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw new DicomWriteError('invalid_value', tag, `${value} is not a 32-bit integer (IS)`);
    }
    return String(value);
  }
  for (let precision = 16; precision >= 1; precision -= 1) {
    const text = String(Number(value.toPrecision(precision)));
    if (text.length <= 16) {
      return text;
    }
  }
  throw new DicomWriteError('invalid_value', tag, `${value} does not fit a DS`);
}

/** The value padded to even length: a space for text, NUL for UI and binary (PS3.5 6.2). */
function padded(bytes: Uint8Array, vr: Vr): Uint8Array {
  if (bytes.length % 2 === 0) {
    return bytes;
  }
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = TEXT_VRS.has(vr) && vr !== 'UI' ? 0x20 : 0x00;
  return out;
}

/** How a dataset is encoded. */
interface Encoding {
  readonly isExplicitVr: boolean;
  readonly isLittleEndian: boolean;
  /** May pixel data be encapsulated (and must it be)? */
  readonly isEncapsulated: boolean;
}

/** Bytes to be written, kept as a list of pieces so that values are copied once. */
class Pieces {
  readonly list: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): void {
    this.list.push(bytes);
    this.length += bytes.length;
  }

  append(other: Pieces): void {
    for (const bytes of other.list) {
      this.push(bytes);
    }
  }
}

/** The unit in which a VR's values are byte-swapped between little and big endian. */
const SWAP_SIZES: Partial<Record<Vr, number>> = {
  US: 2,
  SS: 2,
  OW: 2,
  AT: 2,
  UL: 4,
  SL: 4,
  FL: 4,
  OF: 4,
  OL: 4,
  FD: 8,
  OD: 8,
  SV: 8,
  UV: 8,
  OV: 8,
};

function swapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  const whole = bytes.length - (bytes.length % size);
  for (let at = 0; at < whole; at += size) {
    for (let i = 0; i < size; i += 1) {
      out[at + i] = bytes[at + size - 1 - i] ?? 0;
    }
  }
  out.set(bytes.subarray(whole), whole);
  return out;
}

/** An element header: tag, then VR and a 16- or 32-bit length (explicit), or a 32-bit length. */
function header(tag: number, vr: Vr, length: number, encoding: Encoding): Uint8Array {
  const le = encoding.isLittleEndian;
  const isLong = !encoding.isExplicitVr || LONG_VRS.has(vr);
  if (encoding.isExplicitVr && !isLong && length > 0xffff) {
    throw new DicomWriteError(
      'value_too_long',
      tag,
      `a ${vr} value of ${length} bytes is longer than a 16-bit length can say`,
    );
  }
  const bytes = new Uint8Array(encoding.isExplicitVr && isLong ? 12 : 8);
  putTag(bytes, tag, le);
  if (!encoding.isExplicitVr) {
    putUint32(bytes, 4, length, le);
  } else {
    bytes[4] = vr.charCodeAt(0);
    bytes[5] = vr.charCodeAt(1);
    if (isLong) {
      putUint32(bytes, 8, length, le);
    } else {
      putUint16(bytes, 6, length, le);
    }
  }
  return bytes;
}

/*
 * Headers are written byte by byte rather than through a DataView: a file has a header for every
 * element, and a DataView made for each cost more than the rest of writing it.
 */
function putUint16(bytes: Uint8Array, at: number, value: number, le: boolean): void {
  bytes[at + (le ? 0 : 1)] = value & 0xff;
  bytes[at + (le ? 1 : 0)] = (value >>> 8) & 0xff;
}

function putUint32(bytes: Uint8Array, at: number, value: number, le: boolean): void {
  putUint16(bytes, at + (le ? 0 : 2), value & 0xffff, le);
  putUint16(bytes, at + (le ? 2 : 0), value >>> 16, le);
}

/** A tag as a header begins: its group, then its element, each in the encoding's byte order. */
function putTag(bytes: Uint8Array, tag: number, le: boolean): void {
  putUint16(bytes, 0, tag >>> 16, le);
  putUint16(bytes, 2, tag & 0xffff, le);
}

/** An item, item delimiter or sequence delimiter marker: tag and a 32-bit length, never a VR. */
function marker(tag: number, length: number, le: boolean): Uint8Array {
  const bytes = new Uint8Array(8);
  putTag(bytes, tag, le);
  putUint32(bytes, 4, length, le);
  return bytes;
}

/**
 * Encodes a dataset's elements in ascending tag order. A group length element (gggg,0000), retired
 * outside group 0002 but still written by some devices, is recomputed for the encoding.
 */
function encodeDataset(dataset: DicomDataset, encoding: Encoding): Pieces {
  const out = new Pieces();
  const tags = [...dataset.elements.keys()].sort((a, b) => a - b);
  let at = 0;
  while (at < tags.length) {
    const group = (tags[at] ?? 0) >>> 16;
    const groupPieces = new Pieces();
    let hasGroupLength = false;
    for (; at < tags.length && (tags[at] ?? 0) >>> 16 === group; at += 1) {
      const tag = tags[at] ?? 0;
      const element = dataset.elements.get(tag);
      if (element === undefined) {
        continue;
      }
      if ((tag & 0xffff) === 0) {
        hasGroupLength = true;
        continue;
      }
      groupPieces.append(encodeElement(element, dataset.isLittleEndian, encoding));
    }
    if (hasGroupLength) {
      const value = new Uint8Array(4);
      putUint32(value, 0, groupPieces.length, encoding.isLittleEndian);
      out.push(header((group << 16) >>> 0, 'UL', 4, encoding));
      out.push(value);
    }
    out.append(groupPieces);
  }
  return out;
}

function encodeElement(element: DicomElement, isLittleEndian: boolean, encoding: Encoding): Pieces {
  const out = new Pieces();
  const { tag, vr } = element;
  if (element.items !== null) {
    const items = new Pieces();
    for (const item of element.items) {
      const body = encodeDataset(item, encoding);
      items.push(marker(ITEM, body.length, encoding.isLittleEndian));
      items.append(body);
    }
    if (!encoding.isExplicitVr && lookupTag(tag).vr !== 'SQ') {
      // Implicit VR names no VR: a reader knows a sequence its dictionary lacks (a private one)
      // only by its undefined length (PS3.5 7.5.1, 6.2.2), so such a sequence is delimited.
      out.push(header(tag, 'SQ', UNDEFINED_LENGTH, encoding));
      out.append(items);
      out.push(marker(SEQUENCE_DELIMITATION, 0, encoding.isLittleEndian));
      return out;
    }
    out.push(header(tag, 'SQ', items.length, encoding));
    out.append(items);
    return out;
  }
  if (element.encapsulated !== null) {
    if (!encoding.isEncapsulated) {
      throw new DicomWriteError(
        'pixel_encoding_mismatch',
        tag,
        'encapsulated pixel data cannot be written in a native transfer syntax',
      );
    }
    const le = encoding.isLittleEndian;
    const table = new Uint8Array(element.encapsulated.offsetTable.length * 4);
    const view = new DataView(table.buffer);
    element.encapsulated.offsetTable.forEach((offset, i) => view.setUint32(i * 4, offset, le));
    out.push(header(tag, 'OB', UNDEFINED_LENGTH, encoding));
    out.push(marker(ITEM, table.length, le));
    out.push(table);
    for (const fragment of element.encapsulated.fragments) {
      const bytes = padded(fragment.bytes, 'OB');
      out.push(marker(ITEM, bytes.length, le));
      out.push(bytes);
    }
    out.push(marker(SEQUENCE_DELIMITATION, 0, le));
    return out;
  }
  if (tag === PIXEL_DATA && encoding.isEncapsulated) {
    throw new DicomWriteError(
      'pixel_encoding_mismatch',
      tag,
      'native pixel data cannot be written in an encapsulated transfer syntax',
    );
  }
  let bytes = padded(element.bytes, vr);
  const swapSize = SWAP_SIZES[vr];
  if (swapSize !== undefined && isLittleEndian !== encoding.isLittleEndian) {
    bytes = swapped(bytes, swapSize);
  }
  out.push(header(tag, vr, bytes.length, encoding));
  out.push(bytes);
  return out;
}

/** A file to write: its dataset, the transfer syntax to write it in, and file meta to keep. */
export interface DicomFileToWrite {
  /** Group 0002 elements to keep (the group length and transfer syntax are always written anew). */
  readonly meta?: DicomDataset;
  readonly dataset: DicomDataset;
  readonly transferSyntaxUid: string;
}

/** The file meta group (PS3.10 7.1): the given elements, completed, with its length first. */
function metaGroup(file: DicomFileToWrite, syntax: TransferSyntax): Pieces {
  const metaEncoding: Encoding = {
    isExplicitVr: true,
    isLittleEndian: true,
    isEncapsulated: false,
  };
  const given = file.meta?.elements ?? new Map<number, DicomElement>();
  for (const tag of given.keys()) {
    if (tag >>> 16 !== META_GROUP) {
      throw new DicomWriteError(
        'misplaced_element',
        tag,
        'the file meta group holds group 0002 only',
      );
    }
  }
  const { dataset } = file;
  const fill = (tag: number, vr: Vr, value: DicomValue | null): DicomEntry[] =>
    given.has(tag) || value === null ? [] : [{ tag, vr, value }];
  const meta = changeDicomDataset(file.meta ?? dicomDataset([]), {
    remove: [0x00020000],
    set: [
      ...fill(0x00020001, 'OB', new Uint8Array([0, 1])),
      ...fill(0x00020002, 'UI', dataset.string(SOP_CLASS_UID)),
      ...fill(0x00020003, 'UI', dataset.string(SOP_INSTANCE_UID)),
      { tag: 0x00020010, vr: 'UI', value: syntax.uid },
      ...fill(0x00020012, 'UI', LANTERN_IMPLEMENTATION_CLASS_UID),
      ...(given.has(0x00020012) ? [] : fill(0x00020013, 'SH', LANTERN_IMPLEMENTATION_VERSION_NAME)),
    ],
  });
  const body = encodeDataset(meta, metaEncoding);
  const out = new Pieces();
  const length = new Uint8Array(4);
  putUint32(length, 0, body.length, true);
  out.push(header(0x00020000, 'UL', 4, metaEncoding));
  out.push(length);
  out.append(body);
  return out;
}

/** A Part 10 file as the pieces to write one after the other, and their total length. */
export interface DicomChunks {
  readonly chunks: readonly Uint8Array[];
  readonly size: number;
}

/**
 * Pieces shorter than this (headers, text and number values) are copied together into one chunk;
 * longer ones (pixel data, fragments, other bulk values) stay views of the values they encode.
 */
const COALESCE_BELOW_BYTES = 64 * 1024;

/** The pieces as chunks: runs of short pieces joined, long pieces as they are. */
function coalesced(pieces: Pieces): DicomChunks {
  const chunks: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runLength = 0;
  const flush = () => {
    if (run.length === 1 && run[0] !== undefined) {
      chunks.push(run[0]);
    } else if (run.length > 1) {
      chunks.push(Buffer.concat(run, runLength));
    }
    run = [];
    runLength = 0;
  };
  for (const piece of pieces.list) {
    if (piece.length >= COALESCE_BELOW_BYTES) {
      flush();
      chunks.push(piece);
    } else if (piece.length > 0) {
      run.push(piece);
      runLength += piece.length;
    }
  }
  flush();
  return { chunks, size: pieces.length };
}

/**
 * Writes a DICOM Part 10 file as chunks, without joining them into one buffer: a writer of files
 * (`writev`) or a hash takes them one after the other, and an image's pixel data is never copied.
 * Long chunks are views of the dataset's values (for a file read from bytes, of those bytes):
 * they must not change until the chunks are written. Throws as `writeDicom` does.
 */
export function writeDicomChunks(file: DicomFileToWrite): DicomChunks {
  const syntax = transferSyntaxOf(file.transferSyntaxUid);
  for (const tag of file.dataset.elements.keys()) {
    if (tag >>> 16 === META_GROUP) {
      throw new DicomWriteError(
        'misplaced_element',
        tag,
        'group 0002 belongs in the file meta group',
      );
    }
  }
  const encoding: Encoding = {
    isExplicitVr: syntax.isExplicitVr,
    isLittleEndian: syntax.isLittleEndian,
    isEncapsulated: syntax.pixelEncoding !== 'native',
  };
  const out = new Pieces();
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  out.push(preamble);
  out.append(metaGroup(file, syntax));
  const body = encodeDataset(file.dataset, encoding);
  if (syntax.isDeflated) {
    out.push(deflateRawSync(Buffer.concat(body.list, body.length)));
  } else {
    out.append(body);
  }
  return coalesced(out);
}

/**
 * Writes a DICOM Part 10 file. Throws a `DicomWriteError` for an element that cannot be encoded:
 * a value too long for a 16-bit length in explicit VR, an element outside its group's place, or
 * pixel data whose encapsulation does not match the transfer syntax.
 */
export function writeDicom(file: DicomFileToWrite): Uint8Array {
  const { chunks, size } = writeDicomChunks(file);
  return Buffer.concat(chunks, size);
}
