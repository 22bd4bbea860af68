/**
 * De-identification of GE MUSE resting ECG XML (issue 6, step 4: "ECG XML … headers are cleaned
 * the same way" as DICOM). The document is parsed by @lantern/formats' safe XML reader and written
 * back from its tree, so its structure stays and nothing is edited as raw text:
 *
 * - PatientDemographics keeps what describes the patient's body (age and its units, gender, race,
 *   height, weight); PatientID becomes the caller's pseudonym; names, DateofBirth and anything else
 *   go.
 * - TestDemographics keeps the test's kind and device; AcquisitionDate (and EditDate) are shifted by
 *   the patient's offset in MUSE's MM-DD-YYYY form, times kept; AccessionNumber becomes the study's
 *   pseudonym or goes; Location and Site are kept only as codes (their names go); every staff
 *   name or ID (OrderingMDLastName, AcquisitionTechID, EditorLastName …) and any unknown field go.
 * - Everywhere else (Order, Diagnosis, OriginalDiagnosis, measurements …) fields named as names,
 *   IDs or numbers go, dates are shifted, and free text is scanned with the PHI scan's
 *   `findPhiInText`, its matches cut out.
 * - Waveform elements are copied as they are: the samples' base64 text is never touched.
 */
import { createHash } from 'node:crypto';
import { parseXml, writeXml, type XmlElement, type XmlOptions } from '@lantern/formats';
import { civilFromDays, daysFromCivil } from '../date-shift.js';
import { findPhiInText } from '../phi/text-detectors.js';

export interface MuseDeidOptions {
  /** The file's name, for error messages. */
  readonly name: string;
  /** The patient's date offset in whole days. */
  readonly shiftDays: number;
  /** What PatientID becomes, and AccessionNumber (removed when not given). */
  readonly pseudonym: { readonly patientId: string; readonly accessionNumber?: string };
  /** XML reader limits for hostile input. */
  readonly limits?: Omit<XmlOptions, 'name'>;
}

export interface MuseDeidResult {
  /** The de-identified document. */
  readonly bytes: Uint8Array;
  /** SHA-256 of `bytes`, hex. */
  readonly sha256: string;
  /** Fields removed, as `Section/Field` (each once), and `Section/Field:text` where text was cut. */
  readonly removed: readonly string[];
  /** Fields whose dates were shifted. */
  readonly shifted: readonly string[];
}

export type MuseDeidErrorCode = 'invalid_option' | 'not_muse';

/** A document that cannot be de-identified with the options given (bad bytes are FormatErrors). */
export class MuseDeidError extends Error {
  readonly code: MuseDeidErrorCode;
  readonly file: string;
  /** What was wrong, without the file (the message has both). */
  readonly detail: string;

  constructor(code: MuseDeidErrorCode, file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'MuseDeidError';
    this.code = code;
    this.file = file;
    this.detail = detail;
  }
}

/** PatientDemographics fields kept as they are: the body, not the person. */
const SAFE_PATIENT_FIELDS: ReadonlyMap<string, RegExp> = new Map([
  ['PatientAge', /^\d{1,3}$/u],
  ['AgeUnits', /^[A-Z]{1,10}$/u],
  ['Gender', /^[A-Z]{1,10}$/u],
  ['Race', /^[A-Z ]{1,20}$/u],
  ['HeightIN', /^\d{1,3}(\.\d{1,3})?$/u],
  ['HeightCM', /^\d{1,3}(\.\d{1,3})?$/u],
  ['WeightLBS', /^\d{1,4}(\.\d{1,3})?$/u],
  ['WeightKG', /^\d{1,3}(\.\d{1,3})?$/u],
]);

/** A site or location kept as a code: a number or a short upper-case code, never a name. */
const CODE = /^[A-Z0-9-]{1,8}$/u;
/** A device or software version: letters, digits and a few marks, with no PHI found in it. */
const DEVICE = /^[A-Za-z0-9 ._/-]{1,40}$/u;

/** TestDemographics fields kept, each with the form its value must have. */
const SAFE_TEST_FIELDS: ReadonlyMap<string, RegExp> = new Map([
  ['DataType', /^[A-Z_]{1,20}$/u],
  ['Site', CODE],
  ['Location', CODE],
  ['RoomID', CODE],
  ['AcquisitionDevice', DEVICE],
  ['Status', /^[A-Z]{1,20}$/u],
  ['EditListStatus', /^[A-Za-z]{1,20}$/u],
  ['Priority', /^[A-Z]{1,20}$/u],
  ['AcquisitionTime', /^\d{2}:\d{2}(:\d{2})?$/u],
  ['EditTime', /^\d{2}:\d{2}(:\d{2})?$/u],
  ['AcquisitionSoftwareVersion', DEVICE],
  ['AnalysisSoftwareVersion', DEVICE],
  ['CartNumber', CODE],
]);

/** Fields that name or number a person or an order, wherever they are. */
const IDENTIFYING_NAME = /(?:Name|ID|Number|Phone|Address|Email)$/u;

/** De-identifies one MUSE XML document. */
export function deidentifyMuseXml(bytes: Uint8Array, options: MuseDeidOptions): MuseDeidResult {
  if (!Number.isInteger(options.shiftDays)) {
    throw new MuseDeidError(
      'invalid_option',
      options.name,
      `the day offset must be a whole number of days, not ${options.shiftDays}`,
    );
  }
  const root = parseXml(bytes, { ...options.limits, name: options.name });
  if (root.name !== 'RestingECG') {
    throw new MuseDeidError('not_muse', options.name, `the root element is <${root.name}>`);
  }
  const removed = new Set<string>();
  const shifted = new Set<string>();
  const context: Context = { options, removed, shifted };
  root.children = root.children.map((section) => cleanSection(section, context));
  const out = writeXml(root, { doctype: '<!DOCTYPE RestingECG SYSTEM "restecg.dtd">' });
  return {
    bytes: out,
    sha256: createHash('sha256').update(out).digest('hex'),
    removed: [...removed],
    shifted: [...shifted],
  };
}

interface Context {
  readonly options: MuseDeidOptions;
  readonly removed: Set<string>;
  readonly shifted: Set<string>;
}

function cleanSection(section: XmlElement, context: Context): XmlElement {
  switch (section.name) {
    case 'Waveform':
      return section;
    case 'PatientDemographics':
      return { ...section, children: cleanPatient(section, context) };
    case 'TestDemographics':
      return { ...section, children: cleanTest(section, context) };
    default:
      return cleanElement(section, section.name, context);
  }
}

function cleanPatient(section: XmlElement, context: Context): XmlElement[] {
  const kept: XmlElement[] = [];
  for (const field of section.children) {
    const value = field.text.trim();
    if (field.name === 'PatientID') {
      kept.push(leaf(field, context.options.pseudonym.patientId));
    } else if (field.children.length === 0 && SAFE_PATIENT_FIELDS.get(field.name)?.test(value)) {
      kept.push(leaf(field, value));
    } else {
      context.removed.add(`${section.name}/${field.name}`);
    }
  }
  return kept;
}

function cleanTest(section: XmlElement, context: Context): XmlElement[] {
  const kept: XmlElement[] = [];
  const drop = (field: XmlElement) => context.removed.add(`${section.name}/${field.name}`);
  for (const field of section.children) {
    const value = field.text.trim();
    if (field.children.length > 0) {
      drop(field);
    } else if (field.name === 'AccessionNumber') {
      const accession = context.options.pseudonym.accessionNumber;
      if (accession === undefined) {
        drop(field);
      } else {
        kept.push(leaf(field, accession));
      }
    } else if (field.name === 'AcquisitionDate' || field.name === 'EditDate') {
      const date = shiftMuseDate(value, context.options.shiftDays);
      if (date === null) {
        drop(field);
      } else {
        kept.push(leaf(field, date));
        context.shifted.add(`${section.name}/${field.name}`);
      }
    } else if (
      SAFE_TEST_FIELDS.get(field.name)?.test(value) === true &&
      findPhiInText(value).length === 0
    ) {
      kept.push(leaf(field, value));
    } else {
      drop(field);
    }
  }
  return kept;
}

/**
 * Any other element, at any depth: name and ID fields go, dates are shifted (or go), and text is
 * kept with what the PHI scan finds in it cut out.
 */
function cleanElement(element: XmlElement, path: string, context: Context): XmlElement {
  const children: XmlElement[] = [];
  for (const child of element.children) {
    const where = `${path}/${child.name}`;
    const value = child.text.trim();
    if (IDENTIFYING_NAME.test(child.name)) {
      context.removed.add(where);
    } else if (child.name.endsWith('Date') && child.children.length === 0) {
      const date = shiftMuseDate(value, context.options.shiftDays);
      if (date === null) {
        context.removed.add(where);
      } else {
        children.push(leaf(child, date));
        context.shifted.add(where);
      }
    } else {
      children.push(cleanElement(child, where, context));
    }
  }
  return {
    ...element,
    attributes: new Map(),
    text: cutPhi(element.text, path, context),
    children,
  };
}

/** A date in free text, MUSE's or US form ("compared with the ECG of 01/05/2023"). */
const TEXT_DATE = /\b\d{2}([-/])\d{2}\1\d{4}\b/gu;

/**
 * The text with every span the PHI scan finds cut out (and the spaces left doubled closed up), and
 * the dates the scan leaves (a prior ECG's) shifted like the fields' or cut out.
 */
function cutPhi(text: string, path: string, context: Context): string {
  const matches = findPhiInText(text);
  const dated = text.replace(TEXT_DATE, (date) => {
    const shifted = shiftMuseDate(date, context.options.shiftDays);
    context.shifted.add(`${path}:text`);
    return shifted ?? '';
  });
  if (matches.length === 0) {
    return dated;
  }
  context.removed.add(`${path}:text`);
  let out = '';
  let at = 0;
  for (const match of [...matches].sort((a, b) => a.start - b.start)) {
    if (match.start >= at) {
      out += text.slice(at, match.start);
      at = match.end;
    }
  }
  out += text.slice(at);
  return out
    .replace(TEXT_DATE, (date) => shiftMuseDate(date, context.options.shiftDays) ?? '')
    .replace(/[ \t]{2,}/gu, ' ')
    .trim();
}

function leaf(field: XmlElement, text: string): XmlElement {
  return { ...field, attributes: new Map(), children: [], text };
}

/**
 * MUSE's date, "MM-DD-YYYY" (also with slashes), moved by `days` in the same form; null when it is
 * not such a date.
 */
export function shiftMuseDate(value: string, days: number): string | null {
  const parts = /^(\d{2})([-/])(\d{2})\2(\d{4})$/u.exec(value);
  if (parts === null) {
    return null;
  }
  const month = Number(parts[1]);
  const day = Number(parts[3]);
  const year = Number(parts[4]);
  if (month < 1 || month > 12 || day < 1) {
    return null;
  }
  const start = daysFromCivil(year, month, day);
  if (civilFromDays(start).day !== day) {
    return null; // the 31st of a 30-day month, the 29th of February in a common year
  }
  const shifted = civilFromDays(start + days);
  const two = (n: number) => String(n).padStart(2, '0');
  const separator = parts[2] ?? '-';
  return `${two(shifted.month)}${separator}${two(shifted.day)}${separator}${String(shifted.year).padStart(4, '0')}`;
}
