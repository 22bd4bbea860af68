/**
 * The PHI scan of one table (issue 6, step 5), streamed row by row in one pass: every text cell
 * goes through the detectors of text-detectors.ts, free text token by token, and each column keeps
 * what it needs to judge itself at the end (how many cells are numbers, dates, name-shaped,
 * id-shaped; how far its dates fall before the row's other dates). `finish` turns that into
 * findings, one per column and kind of identifier, with masked examples and row numbers.
 *
 * What is not flagged, and why:
 * - A number in a column of numbers is a measure ("1234567" in `troponin_ng_l`), unless the column
 *   is named like an identifier (`mrn`, `accession`, an `*_id` that is not a pseudonym) or holds
 *   fixed-width numbers of 7-10 digits nearly all distinct. A value with leading zeros is text.
 * - Booleans and dates are never names or numbers; a date column is a birth date only if named so,
 *   or if its dates fall 15 years or more before the latest other date of their row in most
 *   rows.
 * - `patient_ngsci_id` and `*_id` columns whose every value has the pseudonym shape of ingest (16
 *   to 64 letters, digits, `-` and `_`) are exempt from the record-number check, and so are the
 *   columns the caller names as pseudonyms.
 * - A lone lexicon name counts only in a column named for people or one that holds mostly names
 *   (and is more than a few repeated categories).
 */
import { maskValue, matchesColumnType } from '@lantern/formats';
import { isDistinctiveName, isFamilyName, isGivenName } from './name-lexicon.js';
import {
  PHI_KINDS,
  phiFindingId,
  type PhiExample,
  type PhiFinding,
  type PhiKind,
} from './phi-finding.js';
import { findPhiInText, type PhiMatch } from './text-detectors.js';

export interface PhiScanOptions {
  /** The table's name, as findings report it. */
  table: string;
  /** Its column names, in the order of every row's values. */
  columns: readonly string[];
  /** Columns ingest wrote as pseudonyms, exempt from the record-number check whatever their shape. */
  pseudonymColumns?: readonly string[];
  /** How many row numbers a finding lists at most. Default 1,000. */
  maxRows?: number;
}

/** One data row, as `readCsv` and `readParquet` of @lantern/formats give them, or bare values. */
export type PhiScanRow = { values: readonly (string | null)[] } | readonly (string | null)[];

const DEFAULT_MAX_ROWS = 1_000;
const EXAMPLES = 3;
/** How many distinct values a column remembers to tell categories from identifiers. */
const DISTINCT_LIMIT = 64;
/** A column of at most this many distinct values, each seen three times on average, is a category. */
const CATEGORY_LIMIT = 12;
/** Memoised detector results per column, for the repeated values of categorical text. */
const MEMO_LIMIT = 1_024;
const MEMO_MAX_LENGTH = 64;
const DAY_MS = 86_400_000;
/** How long before the row's other dates a birth date falls (15 years). */
const BIRTH_GAP_DAYS = 15 * 365;

const NAME_HINT =
  /(?:patient|pt|first|last|given|family|middle|maiden|full|sur|fore|person|mother|father|kin|contact)_?name|^name$|physician|doctor|provider|clinician|surgeon|nurse|attending|referring|radiologist|technologist|author|guardian|signed_?by/u;
const RECORD_HINT =
  /mrn|medical_?record|record_?(?:num|no)|chart|accession|acc_?(?:num|no)|account|acct|hospital_?(?:num|no|id)|patient_?(?:id|num|no)|pat_?id|encounter_?(?:num|no)|visit_?(?:num|no)|case_?(?:num|no)|specimen_?(?:num|no)|^fin$|identifier/u;
const PHONE_HINT = /phone|^tel|_tel|mobile|cell_?(?:phone|num)|fax|pager/u;
const SSN_HINT = /ssn|social_?sec/u;
const BIRTH_HINT = /birth|dob|born|bday/u;
const PSEUDONYM_NAME = /^patient_ngsci_id$|_id$/u;
const PSEUDONYM_SHAPE = /^[A-Za-z0-9_-]{16,64}$/u;
const ID_SHAPE = /^(?:\d{6,10}|[A-Za-z]{1,4}-?\d{5,10})$/u;
const NAME_SHAPE = /^\p{Lu}[\p{L}\p{M}'’.-]*(?:,? \p{Lu}[\p{L}\p{M}'’.-]*){0,3}$/u;
const NAME_WORD = /\p{L}[\p{L}\p{M}'’-]*/gu;
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/u;
const US_DATE = /^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$/u;
const BOOLEAN = /^(?:true|false|yes|no|y|n|t|f)$/iu;

/**
 * Where a column's evidence of a kind comes from: the text detectors, which always count, or a
 * check of the whole cell that counts only if the column turns out to be of the right sort.
 */
const DETECTED = 1;
const WHOLE_CELL = 2;
const WHOLE_NUMBER = 4;
/** A number of 7-10 digits alone in a cell: a record number, unless the column holds numbers. */
const LONE_NUMBER = 8;

/** The cells one source of evidence found in a column: how many, the first rows, examples. */
class Evidence {
  cells = 0;
  readonly rows: number[] = [];
  readonly examples: PhiExample[] = [];
  confidence = 0;
  reason = '';
  private lastRow = 0;

  constructor(private readonly maxRows: number) {}

  /** One cell of `row` holds `value`; counted once per row. */
  add(row: number, value: string, confidence: number, reason: string): void {
    if (confidence > this.confidence) {
      this.confidence = confidence;
      this.reason = reason;
    }
    if (row === this.lastRow) {
      return;
    }
    this.lastRow = row;
    this.cells += 1;
    if (this.rows.length < this.maxRows) {
      this.rows.push(row);
    }
    if (this.examples.length < EXAMPLES) {
      this.examples.push({ row, masked: maskValue(value) });
    }
  }
}

/** What one column has shown so far. */
class ColumnState {
  readonly hint: string;
  nonEmpty = 0;
  numbers = 0;
  integers = 0;
  booleans = 0;
  dates = 0;
  texts = 0;
  sentences = 0;
  idShaped = 0;
  pseudonymShaped = 0;
  nameShaped = 0;
  lexiconNamed = 0;
  readonly integerWidths = new Set<number>();
  distinct: Set<string> | null = new Set();
  comparedRows = 0;
  birthLikeRows = 0;
  /** Evidence per kind and source (DETECTED, WHOLE_CELL, WHOLE_NUMBER). */
  readonly sources = new Map<PhiKind, Map<number, Evidence>>();
  /** Per kind, how many cells had each combination of sources (a bit mask), for exact counts. */
  readonly masks = new Map<PhiKind, Map<number, number>>();
  readonly memo = new Map<string, PhiMatch[]>();

  constructor(
    readonly name: string,
    readonly isDeclaredPseudonym: boolean,
    readonly maxRows: number,
  ) {
    this.hint = name
      .replace(/([a-z0-9])([A-Z])/gu, '$1_$2')
      .toLowerCase()
      .replace(/[\s.-]+/gu, '_');
  }

  evidence(kind: PhiKind, source: number): Evidence {
    let bySource = this.sources.get(kind);
    if (bySource === undefined) {
      bySource = new Map();
      this.sources.set(kind, bySource);
    }
    let evidence = bySource.get(source);
    if (evidence === undefined) {
      evidence = new Evidence(this.maxRows);
      bySource.set(source, evidence);
    }
    return evidence;
  }

  countCell(kind: PhiKind, mask: number): void {
    let counts = this.masks.get(kind);
    if (counts === undefined) {
      counts = new Map();
      this.masks.set(kind, counts);
    }
    counts.set(mask, (counts.get(mask) ?? 0) + 1);
  }

  remember(value: string): void {
    if (this.distinct === null) {
      return;
    }
    this.distinct.add(value);
    if (this.distinct.size > DISTINCT_LIMIT) {
      this.distinct = null;
    }
  }
}

/** Scans one table row by row: `addRow` for each data row, then `finish` for the findings. */
export class PhiScanner {
  private readonly table: string;
  private readonly states: ColumnState[];
  private row = 0;
  private readonly rowDates: (number | null)[];
  /** The sources (bit mask) of each kind found in the cell being scanned. */
  private readonly cellKinds = new Map<PhiKind, number>();

  constructor(options: PhiScanOptions) {
    this.table = options.table;
    const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
    const declared = new Set(options.pseudonymColumns ?? []);
    this.states = options.columns.map(
      (column) => new ColumnState(column, declared.has(column), maxRows),
    );
    this.rowDates = this.states.map(() => null);
  }

  /** Data rows seen so far. */
  get rows(): number {
    return this.row;
  }

  /** Scans the next data row (values in column order; missing trailing values count as empty). */
  addRow(row: PhiScanRow): void {
    const values = rowValues(row);
    this.row += 1;
    for (let index = 0; index < this.states.length; index += 1) {
      const state = this.states[index] as ColumnState;
      this.cellKinds.clear();
      this.rowDates[index] = this.scanCell(state, values[index] ?? null);
      for (const [kind, mask] of this.cellKinds) {
        state.countCell(kind, mask);
      }
    }
    this.compareDates();
  }

  /** The findings, one per column and kind, in column order. */
  finish(): PhiFinding[] {
    const findings: PhiFinding[] = [];
    for (const state of this.states) {
      const freeText = state.texts > 0 && state.sentences / state.texts >= 0.2;
      for (const [kind, judged] of judgeColumn(state)) {
        findings.push({
          id: phiFindingId(this.table, state.name, kind),
          table: this.table,
          column: state.name,
          kind,
          cells: judged.cells,
          rows: judged.rows,
          examples: judged.examples,
          confidence: Math.round(judged.confidence * 100) / 100,
          freeText,
          reason: judged.reason,
        });
      }
    }
    return findings;
  }

  private note(
    state: ColumnState,
    kind: PhiKind,
    source: number,
    value: string,
    confidence: number,
    reason: string,
  ): void {
    state.evidence(kind, source).add(this.row, value, confidence, reason);
    this.cellKinds.set(kind, (this.cellKinds.get(kind) ?? 0) | source);
  }

  /** Looks at one cell; returns its date as days since 1970 if it is one, for `compareDates`. */
  private scanCell(state: ColumnState, value: string | null): number | null {
    if (value === null || value.trim() === '') {
      return null;
    }
    state.nonEmpty += 1;
    state.remember(value);
    const isIdShaped = ID_SHAPE.test(value);
    if (isIdShaped) {
      state.idShaped += 1;
    }
    if (PSEUDONYM_SHAPE.test(value) && /\D/u.test(value)) {
      state.pseudonymShaped += 1;
    }
    if (matchesColumnType(value, 'number')) {
      state.numbers += 1;
      if (/^\d+$/u.test(value)) {
        state.integers += 1;
        state.integerWidths.add(value.length);
        this.digitsCell(state, value, isIdShaped);
      }
      return null;
    }
    if (BOOLEAN.test(value)) {
      state.booleans += 1;
      return null;
    }
    const date = parseDate(value);
    if (date !== null) {
      state.dates += 1;
      this.note(state, 'birth-date', WHOLE_CELL, value, 0, '');
      return date;
    }
    state.texts += 1;
    if (/\s\S+\s\S+\s\S/u.test(value)) {
      state.sentences += 1;
    }
    if (isIdShaped) {
      this.note(state, 'mrn', WHOLE_CELL, value, 0.8, 'a value shaped like a hospital number');
    }
    this.digitsCell(state, value, false);
    this.nameCell(state, value);
    for (const match of detect(state, value)) {
      const found = value.slice(match.start, match.end);
      this.note(state, match.kind, DETECTED, found, match.confidence, match.reason);
    }
    return null;
  }

  /** Bare digits: telephone, social security or record numbers by their column. */
  private digitsCell(state: ColumnState, value: string, isIdShaped: boolean): void {
    const digits = /^\d+$/u.test(value) ? value.length : 0;
    if (isIdShaped) {
      this.note(state, 'mrn', WHOLE_NUMBER, value, 0.8, 'numbers in a column of identifiers');
    }
    if (digits >= 7 && digits <= 10) {
      this.note(state, 'mrn', LONE_NUMBER, value, 0.6, 'a number of 7-10 digits among text');
    }
    if (
      PHONE_HINT.test(state.hint) &&
      (digits === 10 || (digits === 11 && value.startsWith('1')))
    ) {
      this.note(state, 'phone', WHOLE_CELL, value, 0.9, 'digits in a telephone column');
    }
    if (SSN_HINT.test(state.hint) && digits === 9) {
      this.note(state, 'ssn', WHOLE_CELL, value, 0.9, 'nine digits in a social security column');
    }
  }

  /** A cell that is nothing but a name or two ("Okafor", "OKAFOR, GRACE"). */
  private nameCell(state: ColumnState, value: string): void {
    if (value.length > 80 || !NAME_SHAPE.test(value)) {
      return;
    }
    state.nameShaped += 1;
    let isLexicon = false;
    for (const word of value.matchAll(NAME_WORD)) {
      if (isDistinctiveName(word[0]) || (isGivenName(word[0]) && isFamilyName(word[0]))) {
        isLexicon = true;
        break;
      }
    }
    if (isLexicon) {
      state.lexiconNamed += 1;
    }
    this.note(state, 'name', WHOLE_CELL, value, isLexicon ? 0.8 : 0.7, 'a column of names');
  }

  /**
   * Counts, per date column, the rows whose date falls decades before the latest other date of the
   * row (the latest, so that two birth dates in a row, a patient's and a parent's, both count).
   */
  private compareDates(): void {
    let latest = -Infinity;
    let second = -Infinity;
    let latestIndex = -1;
    for (let index = 0; index < this.rowDates.length; index += 1) {
      const date = this.rowDates[index];
      if (date === null || date === undefined) {
        continue;
      }
      if (date > latest) {
        second = latest;
        latest = date;
        latestIndex = index;
      } else if (date > second) {
        second = date;
      }
    }
    if (second === -Infinity) {
      return;
    }
    for (let index = 0; index < this.rowDates.length; index += 1) {
      const date = this.rowDates[index];
      if (date === null || date === undefined) {
        continue;
      }
      const state = this.states[index] as ColumnState;
      const others = index === latestIndex ? second : latest;
      state.comparedRows += 1;
      if (others - date >= BIRTH_GAP_DAYS) {
        state.birthLikeRows += 1;
      }
    }
  }
}

/** Scans a whole table, rows from any iterable (a `readCsv` or `readParquet` table included). */
export async function scanTableForPhi(
  options: PhiScanOptions,
  rows: AsyncIterable<PhiScanRow> | Iterable<PhiScanRow>,
): Promise<PhiFinding[]> {
  const scanner = new PhiScanner(options);
  for await (const row of rows) {
    scanner.addRow(row);
  }
  return scanner.finish();
}

/** A row's values, whether it came bare or as a reader's row object. */
function rowValues(row: PhiScanRow): readonly (string | null)[] {
  return isBareRow(row) ? row : row.values;
}

function isBareRow(row: PhiScanRow): row is readonly (string | null)[] {
  return Array.isArray(row);
}

function detect(state: ColumnState, value: string): PhiMatch[] {
  if (value.length > MEMO_MAX_LENGTH) {
    return findPhiInText(value);
  }
  let matches = state.memo.get(value);
  if (matches === undefined) {
    matches = findPhiInText(value);
    if (state.memo.size < MEMO_LIMIT) {
      state.memo.set(value, matches);
    }
  }
  return matches;
}

/** A kind's evidence in a column, its sources judged. */
interface JudgedEvidence {
  cells: number;
  rows: number[];
  examples: PhiExample[];
  confidence: number;
  reason: string;
}

/**
 * Which sources of evidence count, per kind, now that the whole column has been seen; and the
 * evidence they add up to. Detected identifiers always count, except record numbers in a column
 * of pseudonyms; whole-cell checks count by the column's name and what most of its cells are.
 */
function judgeColumn(state: ColumnState): Map<PhiKind, JudgedEvidence> {
  const isCategory =
    state.distinct !== null &&
    state.distinct.size <= CATEGORY_LIMIT &&
    state.nonEmpty >= 3 * state.distinct.size;
  const isPseudonym =
    state.isDeclaredPseudonym ||
    (PSEUDONYM_NAME.test(state.hint) &&
      state.nonEmpty > 0 &&
      state.pseudonymShaped === state.nonEmpty);
  const recordNamed = RECORD_HINT.test(state.hint) || PSEUDONYM_NAME.test(state.hint);
  const nameNamed = NAME_HINT.test(state.hint);
  const isDateColumn = state.dates > 0 && state.dates >= 0.9 * state.nonEmpty;
  const birthShare = state.comparedRows >= 5 ? state.birthLikeRows / state.comparedRows : 0;

  const judged = new Map<PhiKind, JudgedEvidence>();
  for (const kind of PHI_KINDS) {
    let selected = DETECTED;
    let override: { confidence: number; reason: string } | null = null;
    switch (kind) {
      case 'mrn':
        if (isPseudonym) {
          selected = 0;
          break;
        }
        if (PHONE_HINT.test(state.hint) || SSN_HINT.test(state.hint)) {
          // Their digits are telephone or social security numbers, below.
          break;
        }
        if (recordNamed || (state.idShaped >= 0.8 * state.nonEmpty && !isCategory)) {
          selected |= WHOLE_CELL;
        }
        if (recordNamed || isFixedWidthIdentifier(state)) {
          selected |= WHOLE_NUMBER;
        }
        if (state.numbers < 0.5 * state.nonEmpty) {
          selected |= LONE_NUMBER;
        }
        break;
      case 'phone':
      case 'ssn':
        selected |= WHOLE_CELL;
        break;
      case 'name': {
        const mostlyNames =
          state.texts > 0 &&
          state.nameShaped >= 0.5 * state.texts &&
          state.lexiconNamed >= 0.3 * state.nameShaped &&
          !isCategory;
        if (nameNamed) {
          selected |= WHOLE_CELL;
          override = { confidence: 0.9, reason: 'a name in a column named for people' };
        } else if (mostlyNames) {
          selected |= WHOLE_CELL;
        }
        break;
      }
      case 'birth-date':
        if (isDateColumn && BIRTH_HINT.test(state.hint)) {
          selected |= WHOLE_CELL;
          override = { confidence: 0.95, reason: 'a date in a column named for birth dates' };
        } else if (isDateColumn && birthShare >= 0.8) {
          selected |= WHOLE_CELL;
          override = {
            confidence: 0.6 + 0.3 * birthShare,
            reason: `dates 15 years or more before the latest other date of the row in ${Math.round(birthShare * 100)}% of rows`,
          };
        }
        break;
      case 'email':
      case 'address':
      case 'url':
      case 'ip':
        break;
      default:
        kind satisfies never;
    }
    const evidence = combine(state, kind, selected, override);
    if (evidence !== null) {
      judged.set(kind, evidence);
    }
  }
  return judged;
}

/**
 * The evidence of the `selected` sources together: cells counted once whatever the number of
 * sources that found them, and the first rows and examples of the union, which the first rows
 * and examples of each source are enough to give.
 */
function combine(
  state: ColumnState,
  kind: PhiKind,
  selected: number,
  override: { confidence: number; reason: string } | null,
): JudgedEvidence | null {
  let cells = 0;
  for (const [mask, count] of state.masks.get(kind) ?? []) {
    if ((mask & selected) !== 0) {
      cells += count;
    }
  }
  if (cells === 0) {
    return null;
  }
  const chosen = [...(state.sources.get(kind) ?? [])]
    .filter(([source]) => (source & selected) !== 0)
    .map(([, evidence]) => evidence);
  const rows = [...new Set(chosen.flatMap((evidence) => evidence.rows))]
    .sort((a, b) => a - b)
    .slice(0, state.maxRows);
  const examples = chosen
    .flatMap((evidence) => evidence.examples)
    .sort((a, b) => a.row - b.row)
    .filter((example, index, all) => index === 0 || all[index - 1]?.row !== example.row)
    .slice(0, EXAMPLES);
  const strongest = chosen.reduce((best, evidence) =>
    evidence.confidence > best.confidence ? evidence : best,
  );
  const confidence = Math.max(strongest.confidence, override?.confidence ?? 0);
  return {
    cells,
    rows,
    examples,
    confidence,
    reason: override?.reason ?? strongest.reason,
  };
}

/** Integers of one width of 7 to 10 digits, nearly all distinct: numbered things, not measures. */
function isFixedWidthIdentifier(state: ColumnState): boolean {
  if (state.integers < 0.9 * state.nonEmpty || state.integerWidths.size !== 1) {
    return false;
  }
  const [width = 0] = state.integerWidths;
  const distinct = state.distinct === null ? state.nonEmpty : state.distinct.size;
  return width >= 7 && width <= 10 && state.nonEmpty >= 5 && distinct >= 0.9 * state.nonEmpty;
}

/** Days since 1970 of an ISO 8601 date or date-time, or a US MM/DD/YYYY date; else null. */
export function parseDate(value: string): number | null {
  if (value.length < 8 || value.length > 35) {
    return null;
  }
  let year: number;
  let month: number;
  let day: number;
  const iso = ISO_DATE.exec(value);
  if (iso !== null) {
    [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  } else {
    const us = US_DATE.exec(value);
    if (us === null) {
      return null;
    }
    [month, day, year] = [Number(us[1]), Number(us[2]), Number(us[3])];
  }
  const time = Date.UTC(year, month - 1, day);
  const date = new Date(time);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || year < 1800) {
    return null;
  }
  return Math.floor(time / DAY_MS);
}
