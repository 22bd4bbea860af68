/**
 * De-identification of WFDB record headers (issue 6, step 4; PhysioNet's header(5)): the header is
 * checked by @lantern/formats' reader, then written again line by line.
 *
 * - The record line's name becomes the published record name the pipeline gives; the number of
 *   signals, the frequency and the number of samples stay as written; the base time stays (times
 *   are kept, as in DICOM) and the base date (dd/mm/yyyy) is shifted by the patient's offset.
 * - Each signal line's file name becomes the published file name (ingest renames the files), its
 *   numbers stay, its description stays when it is a lead's name.
 * - Comment lines, which hold age, sex, names and hospital numbers in real records, are reduced to
 *   the safe keys: age (over 89 written "90+", as HIPAA's safe harbour asks), sex, and diagnoses
 *   as codes or as text the PHI scan finds nothing in; MIT-BIH's positional "69 M …" keeps its age
 *   and sex. Every other comment goes.
 *
 * The signal files themselves hold only samples and are not read here.
 */
import { createHash } from 'node:crypto';
import { parseWfdbHeader, type EcgReadOptions } from '@lantern/formats';
import { civilFromDays, daysFromCivil } from '../date-shift.js';
import { findPhiInText } from '../phi/text-detectors.js';

export interface WfdbDeidOptions {
  /** The header's file name, for error messages. */
  readonly name: string;
  /** The patient's date offset in whole days. */
  readonly shiftDays: number;
  /** The published record name (the header's new first field). */
  readonly recordName: string;
  /**
   * The published name of each signal file the header names. Default: `<recordName>.dat` for a
   * record with one signal file, `<recordName>-<n>.dat` (from 1, in the header's order) otherwise.
   */
  readonly signalFiles?: ReadonlyMap<string, string>;
  /** Reader limits for hostile input. */
  readonly limits?: Omit<EcgReadOptions, 'name'>;
}

export interface WfdbDeidResult {
  /** The de-identified header (ASCII, LF line ends). */
  readonly bytes: Uint8Array;
  /** SHA-256 of `bytes`, hex. */
  readonly sha256: string;
  /** Each signal file's source name and the published name the header now gives it. */
  readonly files: readonly { readonly source: string; readonly published: string }[];
  /** What went: 'record name', 'base date', 'comment 2', 'comment 1: MRN' (keys, never values). */
  readonly removed: readonly string[];
  /** Whether a base date was shifted. */
  readonly shifted: boolean;
}

export type WfdbDeidErrorCode = 'invalid_option' | 'unmapped_file';

/** A header that cannot be de-identified with the options given (bad bytes are FormatErrors). */
export class WfdbDeidError extends Error {
  readonly code: WfdbDeidErrorCode;
  readonly file: string;

  constructor(code: WfdbDeidErrorCode, file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'WfdbDeidError';
    this.code = code;
    this.file = file;
  }
}

/** A WFDB record or file name (the formats writer's rule). */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/u;
const BASE_TIME = /^\d{1,2}:\d{2}(:\d{2}(\.\d{1,6})?)?$/u;
/** A signal's description kept: a lead's or channel's name ("MLII", "V5", "ABP", "Lead I"). */
const LEAD_NAME = /^[A-Za-z0-9 ._+-]{1,20}$/u;
/** Diagnosis codes: SNOMED CT numbers, ICD codes, abbreviations, comma- or semicolon-separated. */
const CODE_LIST = /^[A-Za-z0-9.]{1,20}(\s*[,;]\s*[A-Za-z0-9.]{1,20})*$/u;
/** Diagnosis text: words and punctuation, kept only when the PHI scan finds nothing in it. */
const DIAGNOSIS_TEXT = /^[A-Za-z0-9 .,;'()/-]{1,200}$/u;
const DATE_LIKE = /\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}/u;
const SAFE_KEYS = new Set(['age', 'sex', 'gender', 'dx', 'diagnosis', 'diagnoses']);

/** De-identifies one WFDB header. */
export function deidentifyWfdbHeader(bytes: Uint8Array, options: WfdbDeidOptions): WfdbDeidResult {
  const fail = (code: WfdbDeidErrorCode, detail: string) =>
    new WfdbDeidError(code, options.name, detail);
  if (!Number.isInteger(options.shiftDays)) {
    throw fail('invalid_option', `the day offset must be whole days, not ${options.shiftDays}`);
  }
  if (!PLAIN_NAME.test(options.recordName)) {
    throw fail('invalid_option', 'the published record name is not a plain WFDB name');
  }
  // The reader checks the whole header first: counts, numbers, limits.
  const header = parseWfdbHeader(bytes, { ...options.limits, name: options.name });
  const removed: string[] = [];
  const text = new TextDecoder('latin1').decode(bytes);
  const lines = text
    .split('\n')
    .map((line) => line.replace(/\r$/u, '').trim())
    .filter((line) => line !== '');
  const [recordLine = '', ...rest] = lines.filter((line) => !line.startsWith('#'));
  const comments = lines.filter((line) => line.startsWith('#')).map((line) => line.slice(1).trim());

  const record = recordLine.split(/\s+/u);
  const out = [options.recordName, ...record.slice(1, 4)];
  let shifted = false;
  if (header.baseTime !== null) {
    if (BASE_TIME.test(header.baseTime)) {
      out.push(header.baseTime);
      if (header.baseDate !== null) {
        const date = shiftWfdbDate(header.baseDate, options.shiftDays);
        if (date === null) {
          removed.push('base date');
        } else {
          out.push(date);
          shifted = true;
        }
      }
    } else {
      removed.push('base time', ...(header.baseDate === null ? [] : ['base date']));
    }
  }
  if (record.length > 6) {
    removed.push('record line fields after the base date');
  }
  removed.push('record name');

  const files = publishedFiles(
    header.signals.map((signal) => signal.fileName),
    options,
    fail,
  );
  const signalLines = rest.map((line, i) => {
    const fields = line.split(/\s+/u);
    const [fileName = '', ...numbers] = fields.slice(0, 8);
    const description = fields.slice(8).join(' ');
    const kept = [files.get(fileName) ?? '', ...numbers];
    if (description !== '') {
      if (LEAD_NAME.test(description) && findPhiInText(description).length === 0) {
        kept.push(description);
      } else {
        removed.push(`signal ${i + 1} description`);
      }
    }
    return kept.join(' ');
  });

  const keptComments = comments.flatMap((comment, i) => {
    const safe = safeComment(comment);
    if (safe === null) {
      removed.push(`comment ${i + 1}`);
      return [];
    }
    return [`# ${safe}`];
  });
  const written = new TextEncoder().encode(
    `${[out.join(' '), ...signalLines, ...keptComments].join('\n')}\n`,
  );
  // What is written is read back by the same reader: a header the reader refuses never leaves.
  parseWfdbHeader(written, { ...options.limits, name: options.name });
  return {
    bytes: written,
    sha256: createHash('sha256').update(written).digest('hex'),
    files: [...files].map(([source, published]) => ({ source, published })),
    removed,
    shifted,
  };
}

/** The published name of each distinct signal file, in the header's order. */
function publishedFiles(
  names: readonly string[],
  options: WfdbDeidOptions,
  fail: (code: WfdbDeidErrorCode, detail: string) => WfdbDeidError,
): Map<string, string> {
  const distinct = [...new Set(names)];
  const files = new Map<string, string>();
  distinct.forEach((name, i) => {
    const published =
      options.signalFiles === undefined
        ? distinct.length === 1
          ? `${options.recordName}.dat`
          : `${options.recordName}-${i + 1}.dat`
        : options.signalFiles.get(name);
    if (published === undefined) {
      throw fail('unmapped_file', `signal file ${i + 1} has no published name`);
    }
    if (!PLAIN_NAME.test(published)) {
      throw fail('invalid_option', `signal file ${i + 1}'s published name is not a plain name`);
    }
    files.set(name, published);
  });
  return files;
}

/**
 * A comment reduced to its safe keys ("Age: 54", "<age>: 51 <sex>: F <diagnoses>: …",
 * "Age: 69 Sex: M Dx: 164889003"), MIT-BIH's "69 M 1085 1629 x1" to "69 M"; null when nothing in
 * it is safe. A key is a word before a colon (or words in angle brackets), and its value runs to
 * the next key: "Name: Jane Roe Age: 40" keeps "Age: 40" and drops the name.
 */
export function safeComment(comment: string): string | null {
  const positional = /^(\d{1,3}|\?) ([MF?])(\s|$)/u.exec(comment);
  if (positional !== null) {
    return `${safeAge(positional[1] ?? '?') ?? '?'} ${positional[2] ?? '?'}`;
  }
  const keys = [
    ...comment.matchAll(/(?:^|\s)(?:<([A-Za-z][A-Za-z ]{0,30})>|([A-Za-z][A-Za-z_]{0,30})):/gu),
  ];
  const kept: string[] = [];
  keys.forEach((match, i) => {
    const bracketed = match[1] !== undefined;
    const rawKey = (match[1] ?? match[2] ?? '').trim();
    const next = keys[i + 1];
    const rawValue = comment
      .slice(match.index + match[0].length, next === undefined ? comment.length : next.index)
      .trim();
    const key = rawKey.toLowerCase();
    const value = SAFE_KEYS.has(key) ? safeValue(key, rawValue) : null;
    if (value !== null) {
      kept.push(bracketed ? `<${rawKey}>: ${value}` : `${rawKey}: ${value}`);
    }
  });
  return kept.length === 0 ? null : kept.join(' ');
}

function safeValue(key: string, value: string): string | null {
  switch (key) {
    case 'age':
      return safeAge(value);
    case 'sex':
    case 'gender':
      return /^(M|F|U|Male|Female|male|female|Unknown|unknown|\?)$/u.test(value) ? value : null;
    default:
      if (DATE_LIKE.test(value)) {
        return null; // a date the scan does not take for a birth date still dates the patient
      }
      if (CODE_LIST.test(value)) {
        return value;
      }
      return DIAGNOSIS_TEXT.test(value) && findPhiInText(value).length === 0 ? value : null;
  }
}

/** An age in years; over 89 written "90+" (HIPAA safe harbour, 45 CFR 164.514(b)(2)(i)(C)). */
function safeAge(value: string): string | null {
  if (value === '?' || /^(NaN|Unknown|unknown)$/u.test(value)) {
    return value;
  }
  if (!/^\d{1,3}$/u.test(value)) {
    return null;
  }
  return Number(value) > 89 ? '90+' : value;
}

/** A WFDB base date, dd/mm/yyyy, moved by `days` keeping its form; null when it is not a date. */
export function shiftWfdbDate(value: string, days: number): string | null {
  const parts = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/u.exec(value);
  if (parts === null) {
    return null;
  }
  const [day, month, year] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (month < 1 || month > 12 || day < 1) {
    return null;
  }
  const start = daysFromCivil(year, month, day);
  if (civilFromDays(start).day !== day) {
    return null;
  }
  const shifted = civilFromDays(start + days);
  const pad = (n: number, like: string | undefined) => String(n).padStart(like?.length ?? 2, '0');
  return `${pad(shifted.day, parts[1])}/${pad(shifted.month, parts[2])}/${String(shifted.year).padStart(4, '0')}`;
}
