/**
 * The types a table column can have, the same names as the data dictionary of the catalog uses,
 * and how they are told from text values.
 *
 * Inference picks the most specific type that every non-empty value of a column has, in the order
 * integer, number, boolean, date, datetime, string. Decisions worth knowing:
 * - `integer` is a signed 64-bit integer without leading zeros: "02139" and "007" (zip codes,
 *   record numbers) stay strings, so that no zero is lost.
 * - `number` is a finite decimal, optionally with an exponent ("1.5", "-.5", "6.02e23"); a column
 *   of integers and decimals is `number`. NaN and Infinity are not numbers here.
 * - `boolean` is inferred only from true/false (any letter case). A column of 0 and 1 is inferred
 *   `integer`; a dictionary may still declare it `boolean`, and `matchesColumnType` then accepts
 *   0 and 1 as well.
 * - `date` is an ISO 8601 calendar date YYYY-MM-DD that exists (no 2023-02-29).
 * - `datetime` is an ISO 8601 / RFC 3339 date and time: "T" or a space, minutes at least, optional
 *   seconds and fraction, optional "Z" or offset. A column mixing dates and datetimes is `string`.
 * - Empty cells (null, or "") make a column nullable and take no part in deciding its type; a column
 *   with no values at all is a nullable `string`. Values are not trimmed: " 12" is a string.
 */

/** The column types of the data dictionary. */
export const COLUMN_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'datetime'] as const;

export type ColumnType = (typeof COLUMN_TYPES)[number];

const INTEGER = 1;
const NUMBER = 2;
const BOOLEAN = 4;
const DATE = 8;
const DATETIME = 16;
const ALL = INTEGER | NUMBER | BOOLEAN | DATE | DATETIME;

const INTEGER_PATTERN = /^[+-]?(?:0|[1-9][0-9]*)$/u;
const NUMBER_PATTERN = /^[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/u;
const BOOLEAN_PATTERN = /^(?:true|false)$/iu;
const DATE_PATTERN = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/u;
const DATETIME_PATTERN =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]{1,9})?)?(?:[Zz]|[+-]([0-9]{2}):?([0-9]{2}))?$/u;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Which of the types (as bits) a non-empty value has. */
function typesOf(value: string, candidates: number): number {
  let types = 0;
  const first = value.charCodeAt(0);
  const isNumeric =
    (first >= 0x30 && first <= 0x39) || first === 0x2b || first === 0x2d || first === 0x2e;
  if (isNumeric) {
    if (candidates & INTEGER && isInteger(value)) {
      types |= INTEGER;
    }
    if (candidates & NUMBER && NUMBER_PATTERN.test(value) && Number.isFinite(Number(value))) {
      types |= NUMBER;
    }
    if (candidates & DATE && isDate(value)) {
      types |= DATE;
    }
    if (candidates & DATETIME && isDatetime(value)) {
      types |= DATETIME;
    }
  } else if (candidates & BOOLEAN && BOOLEAN_PATTERN.test(value)) {
    types |= BOOLEAN;
  }
  return types;
}

function isInteger(value: string): boolean {
  if (!INTEGER_PATTERN.test(value)) {
    return false;
  }
  if (value.length < 18) {
    return true;
  }
  const big = BigInt(value);
  return big >= INT64_MIN && big <= INT64_MAX;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) {
    return false;
  }
  const isLeap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, isLeap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= days;
}

function isDate(value: string): boolean {
  const match = DATE_PATTERN.exec(value);
  return match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

function isDatetime(value: string): boolean {
  const match = DATETIME_PATTERN.exec(value);
  if (match === null || !isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]))) {
    return false;
  }
  // Seconds up to 60 for a leap second (RFC 3339 §5.7); offsets within a day.
  return (
    Number(match[4]) <= 23 &&
    Number(match[5]) <= 59 &&
    Number(match[6] ?? 0) <= 60 &&
    Number(match[7] ?? 0) <= 23 &&
    Number(match[8] ?? 0) <= 59
  );
}

/** Is `value` empty, as far as types go (a missing value)? */
export function isEmptyValue(value: string | null): value is null | '' {
  return value === null || value === '';
}

/**
 * Does a non-empty value fit a column declared with `type`? As inference, except that a declared
 * `boolean` also accepts 0 and 1, and a declared `number` accepts integers.
 */
export function matchesColumnType(value: string, type: ColumnType): boolean {
  switch (type) {
    case 'string':
      return true;
    case 'integer':
      return typesOf(value, INTEGER) !== 0;
    case 'number':
      return typesOf(value, NUMBER) !== 0;
    case 'boolean':
      return value === '0' || value === '1' || typesOf(value, BOOLEAN) !== 0;
    case 'date':
      return typesOf(value, DATE) !== 0;
    case 'datetime':
      return typesOf(value, DATETIME) !== 0;
    default:
      return type satisfies never;
  }
}

/** The type, nullability and an example of one column, learnt from its values one at a time. */
export class ColumnTypeInference {
  private candidates = ALL;
  private hasValue = false;
  /** How many values were empty. */
  empty = 0;
  /** The first non-empty value seen, if any. */
  example: string | null = null;

  /** Takes the next value of the column into account. */
  add(value: string | null): void {
    if (isEmptyValue(value)) {
      this.empty++;
      return;
    }
    if (!this.hasValue) {
      this.hasValue = true;
      this.example = value;
    }
    if (this.candidates !== 0) {
      this.candidates &= typesOf(value, this.candidates);
    }
  }

  /** Are some values of the column missing? */
  get nullable(): boolean {
    return this.empty > 0 || !this.hasValue;
  }

  /** The most specific type every value seen so far has. */
  get type(): ColumnType {
    const candidates = this.hasValue ? this.candidates : 0;
    if (candidates & INTEGER) {
      return 'integer';
    }
    if (candidates & NUMBER) {
      return 'number';
    }
    if (candidates & BOOLEAN) {
      return 'boolean';
    }
    if (candidates & DATE) {
      return 'date';
    }
    if (candidates & DATETIME) {
      return 'datetime';
    }
    return 'string';
  }
}

/** The type `values` would be inferred to have (their empty ones ignored). */
export function inferColumnType(values: Iterable<string | null>): ColumnType {
  const inference = new ColumnTypeInference();
  for (const value of values) {
    inference.add(value);
  }
  return inference.type;
}
