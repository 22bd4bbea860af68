/**
 * De-identification of DICOM files by the PS3.15 Basic Application Level Confidentiality Profile
 * (Annex E, Table E.1-1; profile.ts) with the Retain Longitudinal Temporal Information with Modified
 * Dates Option (E.3.6): each listed attribute is removed (X), emptied (Z), replaced by a dummy of
 * its VR (D), kept (K) or has its UIDs remapped (U), at every level of the dataset (sequence items
 * too; a sequence removed with X goes whole); dates are shifted by the patient's offset and keep
 * their form; private elements go, except the creator-and-element pairs a caller declares safe;
 * curve (50xx) and overlay (60xx) groups go. The patient's ID and name become the caller's
 * pseudonyms. The result says so (Patient Identity Removed, De-identification Method and its code
 * sequence: DCM 113100 and 113107, Longitudinal Temporal Information Modified), and is written in the
 * source's transfer syntax with its pixel data byte for byte as read (encapsulated fragments too).
 *
 * The keys stay with the caller: the day offset and the UID remapper (uid.ts: HMAC to 2.25) come
 * in as inputs, so the same patient and the same source UID map the same way in every file.
 */
import { createHash } from 'node:crypto';
import {
  changeDicomDataset,
  dicomDataset,
  FormatError,
  lookupTag,
  readDicom,
  TAG,
  TEXT_VRS,
  writeDicomChunks,
  type DicomDataset,
  type DicomElement,
  type DicomEntry,
  type DicomFile,
  type DicomReadOptions,
  type Vr,
} from '@lantern/formats';
import { shiftDateText } from './dates.js';
import { burnedInHold, type DicomHold } from './hold.js';
import { BASIC_PROFILE_BY_TAG, isCurveOrOverlayTag, type ProfileAttribute } from './profile.js';
import { isUid, type UidRemapper } from './uid.js';

/** A private element a caller declares safe to keep (PS3.15 E.3.10): its block's creator and element. */
export interface SafePrivateTag {
  /** The (odd) group. */
  readonly group: number;
  /** The private creator's value, as (gggg,00xx) holds it: "SIEMENS CSA HEADER". */
  readonly creator: string;
  /** The element's low byte within its block: 0x10 for (gggg,xx10). */
  readonly element: number;
}

export interface DicomDeidOptions {
  /** The file's name, for error messages (never opened by it). */
  readonly name: string;
  /** The patient's date offset in whole days (per patient, secret, stable across deliveries). */
  readonly shiftDays: number;
  /** Maps source UIDs to new ones, consistently (`hmacUidRemapper(key)`). */
  readonly remapUid: UidRemapper;
  /** What Patient ID (0010,0020) and Patient's Name (0010,0010) become. */
  readonly pseudonym: { readonly patientId: string; readonly patientName: string };
  /** Private elements to keep; none by default. */
  readonly safePrivateTags?: readonly SafePrivateTag[];
  /** Reader limits for hostile input (readDicom's). */
  readonly limits?: Omit<DicomReadOptions, 'name'>;
}

/** What was done to how many elements, all levels counted. */
export interface DicomDeidCounts {
  removed: number;
  emptied: number;
  replaced: number;
  remapped: number;
  shifted: number;
  privateRemoved: number;
}

export interface DicomDeidResult {
  /**
   * The de-identified Part 10 file, as the chunks to write one after the other (never joined
   * into one copy: see writeDicomChunks). Long chunks are views of the input bytes, which must
   * not change until the chunks are written.
   */
  readonly chunks: readonly Uint8Array[];
  /** The file's length: the chunks' lengths summed. */
  readonly size: number;
  /** SHA-256 of the file (the chunks in order), hex: every output byte hashed once. */
  readonly sha256: string;
  /** Set when the image must be reviewed before publication (burned-in annotation). */
  readonly hold: DicomHold | null;
  readonly transferSyntaxUid: string;
  readonly counts: DicomDeidCounts;
}

export const DICOM_DEID_ERROR_CODES = [
  /** An option that cannot be applied: a fractional day offset, a pseudonym too long for its VR. */
  'invalid_option',
  /** The UID remapper returned something that is not a UID (PS3.5 9.1). */
  'invalid_uid',
] as const;

export type DicomDeidErrorCode = (typeof DICOM_DEID_ERROR_CODES)[number];

/** A file that cannot be de-identified with the options given (bad input bytes are FormatErrors). */
export class DicomDeidError extends Error {
  readonly code: DicomDeidErrorCode;
  readonly file: string;
  readonly detail: string;

  constructor(code: DicomDeidErrorCode, file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'DicomDeidError';
    this.code = code;
    this.file = file;
    this.detail = detail;
  }
}

const PATIENT_IDENTITY_REMOVED = 0x00120062;
const DEIDENTIFICATION_METHOD = 0x00120063;
const DEIDENTIFICATION_METHOD_CODE_SEQUENCE = 0x00120064;
const LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED = 0x00280303;
const ITEM_TAG_BYTES = [0xfe, 0xff, 0x00, 0xe0];

/** The methods this module applies, as PS3.16 CID 7050 codes them. */
const METHOD_CODES = [
  ['113100', 'Basic Application Confidentiality Profile'],
  ['113107', 'Retain Longitudinal Temporal Information Modified Dates Option'],
] as const;

/** The dummy text (D) of a text VR; PS3.5 6.2 limits each (CS and SH at 16 characters). */
const DUMMY_TEXT: Partial<Record<Vr, string>> = {
  AE: 'ANONYMIZED',
  CS: 'ANONYMIZED',
  SH: 'ANONYMIZED',
  LO: 'ANONYMIZED',
  ST: 'ANONYMIZED',
  LT: 'ANONYMIZED',
  UT: 'ANONYMIZED',
  UC: 'ANONYMIZED',
  PN: 'ANONYMIZED',
  DA: '19000101',
  TM: '000000',
  DT: '19000101000000',
  AS: '000D',
  DS: '0',
  IS: '0',
};

const BINARY_SIZES: Partial<Record<Vr, number>> = {
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

/** What happens to one element. */
type Step = 'remove' | 'empty' | 'dummy' | 'keep' | 'shift' | 'remap' | 'recurse';

/**
 * The step for a profile row. Compound codes keep what an IOD may require, the least that does:
 * X/Z empties, X/D, Z/D and X/Z/D replace with a dummy; for sequences, whose dummy would be items
 * nobody can vouch for, they empty (or, X/D, remove) instead. A D or U* sequence keeps its items,
 * each de-identified in turn (Content Sequence, Referenced Image Sequence's UIDs remapped).
 */
function stepFor(row: ProfileAttribute, isSequence: boolean): Step {
  if (row.modifiedDates === 'C') {
    return 'shift';
  }
  switch (row.basic) {
    case 'X':
      return 'remove';
    case 'Z':
    case 'X/Z':
      return 'empty';
    case 'D':
      return isSequence ? 'recurse' : 'dummy';
    case 'K':
    case 'C':
      return isSequence ? 'recurse' : 'keep';
    case 'U':
      return 'remap';
    case 'Z/D':
    case 'X/Z/D':
      return isSequence ? 'empty' : 'dummy';
    case 'X/D':
      return isSequence ? 'remove' : 'dummy';
    case 'X/Z/U*':
      return isSequence ? 'recurse' : 'empty';
  }
}

/** The state of one file's de-identification. */
interface Context {
  readonly options: DicomDeidOptions;
  readonly safe: ReadonlySet<string>;
  readonly counts: DicomDeidCounts;
}

const safeKey = (group: number, creator: string, element: number) =>
  `${group}:${creator.trim()}:${element}`;

/** The VR a value is written as: the element's, or the dictionary's for a UN element. */
function vrOf(element: DicomElement): Vr {
  return element.vr === 'UN' ? lookupTag(element.tag).vr : element.vr;
}

/**
 * A sequence's items: as parsed, or, for a sequence the reader could not tell from bytes (a UN
 * element, or an implicit-VR file's sequence missing from the dictionary, whose defined length hid
 * it), parsed now as PS3.5 6.2.2 says such a value is encoded: implicit VR little endian. Null when
 * the element is not a sequence.
 */
function itemsOf(element: DicomElement, name: string): readonly DicomDataset[] | null {
  if (element.items !== null) {
    return element.items;
  }
  const { bytes } = element;
  if (bytes.length < 8 || !ITEM_TAG_BYTES.every((byte, i) => bytes[i] === byte)) {
    return null;
  }
  // A wrapper an implicit-VR reader takes for a UN sequence of undefined length (PS3.5 7.5.1).
  const wrapper = new Uint8Array(8 + bytes.length + 8);
  const view = new DataView(wrapper.buffer);
  view.setUint16(0, 0x0009, true);
  view.setUint16(2, 0x1000, true);
  view.setUint32(4, 0xffffffff, true);
  wrapper.set(bytes, 8);
  view.setUint16(8 + bytes.length, 0xfffe, true);
  view.setUint16(10 + bytes.length, 0xe0dd, true);
  const parsed = readDicom(wrapper, { name: `${name} (sequence ${element.tag.toString(16)})` });
  return parsed.dataset.get(0x00091000)?.items ?? null;
}

/** Applies the profile to a sequence item at any depth. */
function cleanItem(item: DicomDataset, context: Context): DicomDataset {
  return changeDicomDataset(item, profileChanges(item, context), true);
}

/** What the profile changes in a dataset (the root, or an item): elements removed and set. */
function profileChanges(
  dataset: DicomDataset,
  context: Context,
): { remove: number[]; set: DicomEntry[] } {
  const remove: number[] = [];
  const set: DicomEntry[] = [];
  const { counts, options } = context;
  const keptCreators = new Set<number>();
  for (const [tag, element] of dataset.elements) {
    if (element.isPrivate) {
      if (isPrivateCreator(tag)) {
        continue;
      }
      const kept = keepPrivate(dataset, tag, context);
      if (kept === null) {
        remove.push(tag);
        counts.privateRemoved += 1;
      } else {
        keptCreators.add(kept);
        recurseInto(element, set, context);
      }
      continue;
    }
    if ((tag & 0xffff) === 0) {
      continue;
    }
    if (isCurveOrOverlayTag(tag)) {
      remove.push(tag);
      counts.removed += 1;
      continue;
    }
    if (tag === TAG.PatientID || tag === TAG.PatientName) {
      const value =
        tag === TAG.PatientID ? options.pseudonym.patientId : options.pseudonym.patientName;
      set.push({ tag, vr: tag === TAG.PatientID ? 'LO' : 'PN', value });
      counts.replaced += 1;
      continue;
    }
    const row = BASIC_PROFILE_BY_TAG.get(tag);
    const items = itemsOfSafely(element, options.name);
    if (row === undefined) {
      if (items !== null) {
        set.push({ tag, vr: 'SQ', value: items.map((item) => cleanItem(item, context)) });
      } else if (vrOf(element) === 'DA' || vrOf(element) === 'DT') {
        // Not listed, yet a date: shifted all the same, so every date of the patient moves together.
        applyStep('shift', element, set, remove, context);
      }
      continue;
    }
    const isSequence = items !== null || row.isSequence;
    const step = stepFor(row, isSequence);
    if (step === 'recurse') {
      if (items === null) {
        // A sequence whose items cannot be read cannot be cleaned: it goes.
        remove.push(tag);
        counts.removed += 1;
      } else {
        set.push({ tag, vr: 'SQ', value: items.map((item) => cleanItem(item, context)) });
      }
      continue;
    }
    if (step === 'empty' && isSequence) {
      set.push({ tag, vr: 'SQ', value: [] });
      counts.emptied += 1;
      continue;
    }
    applyStep(step, element, set, remove, context);
  }
  // A private creator stays only while some element of its block does.
  for (const tag of dataset.elements.keys()) {
    if (isPrivateCreator(tag) && !keptCreators.has(tag)) {
      remove.push(tag);
      counts.privateRemoved += 1;
    }
  }
  return { remove, set };
}

/** Is the tag a private creator, (gggg,0010-00FF) of an odd group (PS3.5 7.8.1)? */
function isPrivateCreator(tag: number): boolean {
  const low = tag & 0xffff;
  return (tag >>> 16) % 2 === 1 && low >= 0x10 && low <= 0xff;
}

function itemsOfSafely(element: DicomElement, name: string): readonly DicomDataset[] | null {
  try {
    return itemsOf(element, name);
  } catch (error) {
    if (error instanceof FormatError) {
      return null;
    }
    throw error;
  }
}

/** Cleans a kept private sequence's items in place of the sequence. */
function recurseInto(element: DicomElement, set: DicomEntry[], context: Context): void {
  if (element.items !== null) {
    set.push({
      tag: element.tag,
      vr: 'SQ',
      value: element.items.map((item) => cleanItem(item, context)),
    });
  }
}

/**
 * Whether a private element is kept: the tag of its private creator element when its creator and
 * element are in the safe list (or, for a creator element, never by itself), else null.
 */
function keepPrivate(dataset: DicomDataset, tag: number, context: Context): number | null {
  const group = tag >>> 16;
  const low = tag & 0xffff;
  if (low < 0x1000) {
    return null;
  }
  const creatorTag = ((group << 16) | (low >>> 8)) >>> 0;
  const creator = dataset.string(creatorTag);
  if (creator === null || !context.safe.has(safeKey(group, creator, low & 0xff))) {
    return null;
  }
  return creatorTag;
}

/** Applies a non-sequence step to one element. */
function applyStep(
  step: Exclude<Step, 'recurse'>,
  element: DicomElement,
  set: DicomEntry[],
  remove: number[],
  context: Context,
): void {
  const { tag } = element;
  const vr = vrOf(element);
  const { counts } = context;
  switch (step) {
    case 'keep':
      return;
    case 'remove':
      remove.push(tag);
      counts.removed += 1;
      return;
    case 'empty':
      set.push({ tag, vr: element.vr, value: new Uint8Array(0) });
      counts.emptied += 1;
      return;
    case 'dummy':
      if (vr === 'UI') {
        applyStep('remap', element, set, remove, context);
        return;
      }
      set.push({ tag, vr: element.vr, value: dummyOf(element, vr) });
      counts.replaced += 1;
      return;
    case 'remap':
      set.push({ tag, vr: element.vr, value: remapValue(element, context) });
      counts.remapped += 1;
      return;
    case 'shift': {
      // A date the reader could not type (implicit VR, not in its dictionary) is typed by the table.
      const dateVr = vr === 'UN' ? (BASIC_PROFILE_BY_TAG.get(tag)?.dateVr ?? null) : vr;
      if (dateVr !== 'DA' && dateVr !== 'DT') {
        return;
      }
      const text = latin1(element.bytes);
      const shifted = shiftDateText(text, dateVr, context.options.shiftDays);
      set.push({ tag, vr: element.vr, value: ascii(shifted ?? '', dateVr) });
      if (shifted === null) {
        counts.emptied += 1;
      } else {
        counts.shifted += 1;
      }
      return;
    }
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** ASCII text as a value's bytes, padded to even length as its VR pads (PS3.5 6.2). */
function ascii(text: string, vr: Vr): Uint8Array {
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length % 2 === 0) {
    return new Uint8Array(bytes);
  }
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = vr === 'UI' || !TEXT_VRS.has(vr) ? 0 : 0x20;
  return out;
}

/** The dummy value of an element's VR: text, a zero, or nothing for bulk VRs (OB, OW, UN …). */
function dummyOf(element: DicomElement, vr: Vr): Uint8Array {
  const text = DUMMY_TEXT[vr];
  if (text !== undefined) {
    return ascii(text, vr);
  }
  const size = BINARY_SIZES[vr];
  return new Uint8Array(size ?? 0);
}

/** Every UID of a (multi-valued) UI value remapped. */
function remapValue(element: DicomElement, context: Context): Uint8Array {
  const { options } = context;
  const values = latin1(element.bytes)
    .split('\\')
    .map((value) => value.replace(/[\0 ]+$/, '').trim());
  const mapped = values.map((value) => {
    if (value === '') {
      return '';
    }
    const uid = options.remapUid(value);
    if (!isUid(uid)) {
      throw new DicomDeidError(
        'invalid_uid',
        options.name,
        `the UID remapper returned ${JSON.stringify(uid)}, which is not a UID (PS3.5 9.1)`,
      );
    }
    return uid;
  });
  return ascii(mapped.join('\\'), 'UI');
}

/**
 * The attributes that say what was done (PS3.15 E.1.1, PS3.3 C.7.1.1): the same in every file, so
 * made once (datasets are never changed in place; a change makes a copy).
 */
const DEIDENTIFICATION_ENTRIES: readonly DicomEntry[] = [
  { tag: PATIENT_IDENTITY_REMOVED, vr: 'CS', value: 'YES' },
  {
    tag: DEIDENTIFICATION_METHOD,
    vr: 'LO',
    value: ['Basic Application Confidentiality Profile', 'Retain Longitudinal Modified Dates'],
  },
  {
    tag: DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
    vr: 'SQ',
    value: METHOD_CODES.map(([value, meaning]) =>
      dicomDataset(
        [
          { tag: TAG.CodeValue, vr: 'SH', value },
          { tag: TAG.CodingSchemeDesignator, vr: 'SH', value: 'DCM' },
          { tag: TAG.CodeMeaning, vr: 'LO', value: meaning },
        ],
        { isItem: true },
      ),
    ),
  },
  { tag: LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED, vr: 'CS', value: 'MODIFIED' },
];

/** Is the text one LO or PN value: 1 to 64 characters, no backslash or control character? */
function isValueText(text: string): boolean {
  return (
    text.length > 0 &&
    text.length <= 64 &&
    [...text].every((char) => char !== '\\' && char.charCodeAt(0) >= 0x20)
  );
}

function checkOptions(options: DicomDeidOptions): void {
  const fail = (detail: string) => new DicomDeidError('invalid_option', options.name, detail);
  if (!Number.isSafeInteger(options.shiftDays) || Math.abs(options.shiftDays) > 365_000) {
    throw fail(
      `the day offset ${options.shiftDays} is not a whole number of days within 1000 years`,
    );
  }
  const { patientId, patientName } = options.pseudonym;
  if (!isValueText(patientId)) {
    throw fail('the patient pseudonym must be 1 to 64 characters of LO text (PS3.5 6.2)');
  }
  if (!isValueText(patientName)) {
    throw fail('the patient name pseudonym must be 1 to 64 characters of PN text (PS3.5 6.2)');
  }
  for (const safe of options.safePrivateTags ?? []) {
    if ((safe.group & 1) !== 1 || safe.element < 0 || safe.element > 0xff) {
      throw fail(
        `the safe private tag (${safe.group.toString(16)}, ${safe.element}) is not private`,
      );
    }
  }
}

/** De-identifies a parsed file: the meta group and dataset to write, and the hold if any. */
export function deidentifyDicomFile(
  file: DicomFile,
  options: DicomDeidOptions,
): { meta: DicomDataset; dataset: DicomDataset; hold: DicomHold | null; counts: DicomDeidCounts } {
  checkOptions(options);
  const safe = new Set(
    (options.safePrivateTags ?? []).map((one) => safeKey(one.group, one.creator, one.element)),
  );
  const counts: DicomDeidCounts = {
    removed: 0,
    emptied: 0,
    replaced: 0,
    remapped: 0,
    shifted: 0,
    privateRemoved: 0,
  };
  const context: Context = { options, safe, counts };
  const hold = burnedInHold(file.dataset);
  // One change of the root, the profile's and the attributes that say what was done together.
  const { remove, set } = profileChanges(file.dataset, context);
  const dataset = changeDicomDataset(file.dataset, {
    remove,
    set: [...set, ...DEIDENTIFICATION_ENTRIES],
  });
  // The meta group keeps its version and SOP class; its instance UID follows the dataset's, and
  // the rest (source AE title, private information, implementation) is written anew.
  const metaEntries: DicomEntry[] = [];
  const version = file.meta.get(0x00020001);
  if (version !== undefined) {
    metaEntries.push({ tag: 0x00020001, vr: 'OB', value: version.bytes });
  }
  const sopClass = file.meta.string(0x00020002) ?? file.dataset.string(TAG.SOPClassUID);
  if (sopClass !== null) {
    metaEntries.push({ tag: 0x00020002, vr: 'UI', value: sopClass });
  }
  const instance = dataset.string(TAG.SOPInstanceUID);
  const metaInstance = file.meta.get(0x00020003);
  if (instance !== null) {
    metaEntries.push({ tag: 0x00020003, vr: 'UI', value: instance });
  } else if (metaInstance !== undefined && file.meta.string(0x00020003) !== null) {
    metaEntries.push({ tag: 0x00020003, vr: 'UI', value: remapValue(metaInstance, context) });
    counts.remapped += 1;
  }
  return { meta: dicomDataset(metaEntries), dataset, hold, counts };
}

/**
 * De-identifies a DICOM file held in memory. Bytes that are not DICOM, or that break the reader's
 * limits, throw a FormatError; options that cannot be applied a DicomDeidError.
 */
export function deidentifyDicom(bytes: Uint8Array, options: DicomDeidOptions): DicomDeidResult {
  const { limits, name } = options;
  // No spread without limits (the ingest sets none): a spread per file showed in its profile.
  const file = readDicom(bytes, limits === undefined ? { name } : { ...limits, name });
  const { meta, dataset, hold, counts } = deidentifyDicomFile(file, options);
  const transferSyntaxUid = file.transferSyntax.uid;
  const { chunks, size } = writeDicomChunks({ meta, dataset, transferSyntaxUid });
  const hash = createHash('sha256');
  for (const chunk of chunks) {
    hash.update(chunk);
  }
  return { chunks, size, sha256: hash.digest('hex'), hold, transferSyntaxUid, counts };
}
