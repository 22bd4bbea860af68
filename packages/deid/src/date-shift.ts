/**
 * Date shifting (issue 6, step 3): every date of a patient moves by one offset in whole days, so
 * that intervals between a patient's events stay true while the calendar dates (an admission, a
 * birth) no longer match any record outside the dataset. The offset comes from the pseudonym key
 * and the source patient identifier, so it is the same in every delivery, table and DICOM header,
 * and is secret without the key: uniform over [-365, -30] ∪ [30, 365] days, never near zero.
 *
 * Values keep their form: `2012-11-05 08:48:49` stays a space-separated datetime with the same
 * time of day and zone (whole days never change the time), `3/7/2014` keeps its missing zeros.
 * Forms read in tables: ISO 8601 dates and datetimes (`T` or space, minutes, seconds, fractions,
 * `Z` or an offset), US `MM/DD/YYYY` (with an optional time), and `YYYYMMDD`. DICOM's DA, DT and
 * TM (PS3.5 section 6.2) are shifted by their own functions, for the DICOM profile to use.
 *
 * Calendar arithmetic is proleptic Gregorian on day numbers (Hinnant's days_from_civil), so years
 * before 1970 or 100 work alike and no time zone or clock is ever consulted.
 */
import type { Pseudonymizer } from './pseudonym.js';

/** The smallest and largest shift, in days, either way. */
export const MIN_SHIFT_DAYS = 30;
export const MAX_SHIFT_DAYS = 365;

/** Why a value could not be shifted. Messages never quote the value: it may identify. */
export class DateShiftError extends Error {
  constructor(
    readonly code: 'unparseable_date' | 'date_out_of_range',
    message: string,
  ) {
    super(message);
    this.name = 'DateShiftError';
  }
}

/**
 * The patient's offset in whole days: uniform over the 672 values of [-365, -30] ∪ [30, 365],
 * drawn from a keyed digest of the source patient identifier (48 bits reduced modulo 672: a bias
 * below 1e-11).
 */
export function dateShiftDays(pseudonymizer: Pseudonymizer, patientSourceId: string): number {
  const digest = pseudonymizer.digest('date-shift/v1', [patientSourceId.trim()]);
  let value = 0;
  for (let i = 0; i < 6; i++) {
    value = value * 256 + (digest[i] ?? 0);
  }
  const span = MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1;
  const index = value % (2 * span);
  return index < span ? -(MIN_SHIFT_DAYS + index) : MIN_SHIFT_DAYS + (index - span);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant, "chrono-Compatible Low-Level Date Algorithms"). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The date of a day number (the inverse of daysFromCivil). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function daysInMonth(year: number, month: number): number {
  return (
    daysFromCivil(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) -
    daysFromCivil(year, month, 1)
  );
}

interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** The date moved by `days`; years stay within 1..9999, the range every form here can write. */
function shiftCivil(date: CivilDate, days: number): CivilDate {
  if (
    date.year < 1 ||
    date.month < 1 ||
    date.month > 12 ||
    date.day < 1 ||
    date.day > daysInMonth(date.year, date.month)
  ) {
    throw new DateShiftError('unparseable_date', 'not a date of the calendar');
  }
  const shifted = civilFromDays(daysFromCivil(date.year, date.month, date.day) + days);
  if (shifted.year < 1 || shifted.year > 9999) {
    throw new DateShiftError(
      'date_out_of_range',
      'the shifted date falls outside the years 1 to 9999',
    );
  }
  return shifted;
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

function checkTime(hour: number, minute: number, second: number): void {
  if (hour > 23 || minute > 59 || second > 60) {
    throw new DateShiftError('unparseable_date', 'not a time of day');
  }
}

/** `YYYY-MM-DD`, then optionally `T` or a space, `HH:MM`, `:SS`, a fraction, and `Z` or `±HH[:MM]`. */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})((?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?(?:Z|[+-](\d{2})(?::?(\d{2}))?)?)?)$/u;
/** `M/D/YYYY` or `MM/DD/YYYY`, then optionally a space, `H:MM`, `:SS` and AM or PM. */
const US =
  /^(\d{1,2})\/(\d{1,2})\/(\d{4})((?: (\d{1,2}):(\d{2})(?::(\d{2}))?(?: ?([AaPp][Mm]))?)?)$/u;
/** `YYYYMMDD`. */
const COMPACT = /^(\d{4})(\d{2})(\d{2})$/u;

/**
 * A table's date or datetime value moved by `days`, in the form it came in. `null` and the empty
 * string stay as they are; white space around the value is kept. Throws DateShiftError for a
 * value in none of the forms, or not on the calendar (February 30th, hour 25).
 */
export function shiftDateValue(value: string | null, days: number): string | null {
  if (value === null || value.trim() === '') {
    return value;
  }
  const match = /^(\s*)(.*?)(\s*)$/su.exec(value);
  const [lead, core, trail] = [match?.[1] ?? '', match?.[2] ?? '', match?.[3] ?? ''];
  return `${lead}${shiftCore(core, days)}${trail}`;
}

function shiftCore(value: string, days: number): string {
  const iso = ISO.exec(value);
  if (iso !== null) {
    const date = shiftCivil(
      { year: Number(iso[1]), month: Number(iso[2]), day: Number(iso[3]) },
      days,
    );
    if (iso[5] !== undefined) {
      checkTime(Number(iso[5]), Number(iso[6]), Number(iso[7] ?? 0));
    }
    if (Number(iso[8] ?? 0) > 23 || Number(iso[9] ?? 0) > 59) {
      throw new DateShiftError('unparseable_date', 'not a time zone offset');
    }
    return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}${iso[4] ?? ''}`;
  }
  const us = US.exec(value);
  if (us !== null) {
    const [, month = '', day = '', year = '', time = '', hour, minute, second, meridiem] = us;
    if (Number(month) > 12) {
      // 14/06/1942: day first, as much of the world writes it. Slashes are read month first, so
      // say so rather than "not a date", which the partner would not believe.
      throw new DateShiftError(
        'unparseable_date',
        'not a date read month first (MM/DD/YYYY); write day-first dates as YYYY-MM-DD',
      );
    }
    if (hour !== undefined) {
      const h = Number(hour);
      if (meridiem !== undefined && (h < 1 || h > 12)) {
        throw new DateShiftError('unparseable_date', 'not a time of day');
      }
      checkTime(h, Number(minute), Number(second ?? 0));
    }
    const date = shiftCivil({ year: Number(year), month: Number(month), day: Number(day) }, days);
    return `${pad(date.month, month.length)}/${pad(date.day, day.length)}/${pad(date.year, 4)}${time}`;
  }
  const compact = COMPACT.exec(value);
  if (compact !== null) {
    return formatCompact(
      shiftCivil(
        { year: Number(compact[1]), month: Number(compact[2]), day: Number(compact[3]) },
        days,
      ),
    );
  }
  throw new DateShiftError(
    'unparseable_date',
    'not a date in a form Lantern reads (YYYY-MM-DD, ISO datetime, MM/DD/YYYY, YYYYMMDD)',
  );
}

function formatCompact(date: CivilDate): string {
  return `${pad(date.year, 4)}${pad(date.month, 2)}${pad(date.day, 2)}`;
}

/** DICOM pads text values to an even length with a trailing space (PS3.5 section 6.2). */
function splitPadding(value: string): [string, string] {
  const core = value.replace(/[ \0]+$/u, '');
  return [core, value.slice(core.length)];
}

/**
 * A DICOM DA value (`YYYYMMDD`, or the ACR-NEMA `YYYY.MM.DD` PS3.5 still lets readers meet)
 * moved by `days`, padding kept. Empty stays empty. A DA value of several dates (`\` between, as
 * multi-valued attributes hold) has each moved.
 */
export function shiftDicomDate(value: string, days: number): string {
  const [core, padding] = splitPadding(value);
  if (core === '') {
    return value;
  }
  return `${core
    .split('\\')
    .map((one) => shiftOneDicomDate(one, days))
    .join('\\')}${padding}`;
}

function shiftOneDicomDate(value: string, days: number): string {
  const compact = COMPACT.exec(value);
  if (compact !== null) {
    return formatCompact(
      shiftCivil(
        { year: Number(compact[1]), month: Number(compact[2]), day: Number(compact[3]) },
        days,
      ),
    );
  }
  const legacy = /^(\d{4})\.(\d{2})\.(\d{2})$/u.exec(value);
  if (legacy !== null) {
    const date = shiftCivil(
      { year: Number(legacy[1]), month: Number(legacy[2]), day: Number(legacy[3]) },
      days,
    );
    return `${pad(date.year, 4)}.${pad(date.month, 2)}.${pad(date.day, 2)}`;
  }
  throw new DateShiftError('unparseable_date', 'not a DICOM DA value (YYYYMMDD)');
}

/** `YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]` (PS3.5 table 6.2-1, DT). */
const DT = /^(\d{4})(\d{2})?(\d{2})?((?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?)([+-]\d{4})?$/u;

/**
 * A DICOM DT value moved by `days`, its precision, time of day and zone kept. A value given to
 * the month or the year only is shifted from the month's or year's first day and written at the
 * same precision: the year or month may change, as the true date's would.
 */
export function shiftDicomDateTime(value: string, days: number): string {
  const [core, padding] = splitPadding(value);
  if (core === '') {
    return value;
  }
  const shifted = core
    .split('\\')
    .map((one) => {
      const match = DT.exec(one);
      if (match === null) {
        throw new DateShiftError('unparseable_date', 'not a DICOM DT value');
      }
      const [, year = '', month, day, time = '', zone = ''] = match;
      if (day === undefined && time !== '') {
        throw new DateShiftError('unparseable_date', 'not a DICOM DT value');
      }
      checkDicomTime(time);
      const date = shiftCivil(
        { year: Number(year), month: Number(month ?? 1), day: Number(day ?? 1) },
        days,
      );
      const head = `${pad(date.year, 4)}${month === undefined ? '' : pad(date.month, 2)}${day === undefined ? '' : pad(date.day, 2)}`;
      return `${head}${time}${zone}`;
    })
    .join('\\');
  return `${shifted}${padding}`;
}

/** `HH[MM[SS[.F{1,6}]]]`, or the ACR-NEMA `HH:MM:SS.frac` (PS3.5 table 6.2-1, TM). */
const TM = /^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.\d{1,6})?)?)?$/u;

function checkDicomTime(time: string): void {
  if (time === '') {
    return;
  }
  const match = TM.exec(time);
  if (match === null) {
    throw new DateShiftError('unparseable_date', 'not a DICOM TM value');
  }
  checkTime(Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0));
}

/**
 * A DICOM DA with its TM (Study Date and Study Time, Acquisition Date and Time, …) moved by
 * `days`: the date moves, the time of day stays (whole days), and both are checked. An empty date
 * leaves the time as it is, since it is a time of no day.
 */
export function shiftDicomDateAndTime(
  date: string,
  time: string,
  days: number,
): { date: string; time: string } {
  const [core] = splitPadding(time);
  for (const one of core === '' ? [] : core.split('\\')) {
    checkDicomTime(one);
  }
  return { date: shiftDicomDate(date, days), time };
}
