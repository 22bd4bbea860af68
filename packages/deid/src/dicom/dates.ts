/**
 * Date shifting inside DICOM values for the Retain Longitudinal Temporal Information with Modified
 * Dates Option (PS3.15 E.3.6): every date of a patient moves by the same number of days, so that
 * intervals stay true, and keeps its form. DA (PS3.5 6.2: YYYYMMDD, or the ACR-NEMA YYYY.MM.DD some
 * old files hold) and DT (YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]][&ZZXX]: the date part moves, the time,
 * fraction and offset stay) are shifted; TM needs no change. A value that does not parse as its VR
 * is not shifted but dropped (emptied), since it cannot be made safe.
 */

const DAY_MS = 86_400_000;

/** A date moved by whole days, or null when the parts are not a real date. */
function shiftParts(year: number, month: number, day: number, days: number): Date | null {
  const time = Date.UTC(year, month - 1, day);
  const date = new Date(time);
  if (
    !Number.isFinite(time) ||
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  ) {
    return null;
  }
  return new Date(time + days * DAY_MS);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function formatYmd(date: Date): string {
  return `${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1, 2)}${pad(date.getUTCDate(), 2)}`;
}

/** Shifts one DA value (YYYYMMDD or YYYY.MM.DD); null when it is not a date. */
export function shiftDa(value: string, days: number): string | null {
  const match = /^(\d{4})(\.?)(\d{2})\2(\d{2})$/.exec(value.trim());
  if (match === null) {
    return null;
  }
  const [, year = '', dot = '', month = '', day = ''] = match;
  const shifted = shiftParts(Number(year), Number(month), Number(day), days);
  if (shifted === null || shifted.getUTCFullYear() < 1 || shifted.getUTCFullYear() > 9999) {
    return null;
  }
  const ymd = formatYmd(shifted);
  return dot === '' ? ymd : `${ymd.slice(0, 4)}.${ymd.slice(4, 6)}.${ymd.slice(6)}`;
}

/**
 * Shifts one DT value. A DT of year or year-and-month precision moves as the first day of its
 * period and is written back at its precision, so that it never says more than it did.
 */
export function shiftDt(value: string, days: number): string | null {
  const match = /^(\d{4})(\d{2})?(\d{2})?((?:\d{2}){0,3}(?:\.\d{1,6})?)([+-]\d{4})?$/.exec(
    value.trim(),
  );
  if (match === null) {
    return null;
  }
  const [, year = '', month, day, rest = '', offset = ''] = match;
  if (rest !== '' && day === undefined) {
    return null;
  }
  const shifted = shiftParts(Number(year), Number(month ?? '01'), Number(day ?? '01'), days);
  if (shifted === null || shifted.getUTCFullYear() < 1 || shifted.getUTCFullYear() > 9999) {
    return null;
  }
  const precision = 4 + (month === undefined ? 0 : 2) + (day === undefined ? 0 : 2);
  return `${formatYmd(shifted).slice(0, precision)}${rest}${offset}`;
}

/**
 * Shifts every value of a multi-valued DA or DT text (backslash-separated; a DA range
 * "from-to" as queries write it shifts both ends). Null when any value is not a date.
 */
export function shiftDateText(text: string, vr: 'DA' | 'DT', days: number): string | null {
  const shiftOne = vr === 'DA' ? shiftDa : shiftDt;
  const values: string[] = [];
  for (const value of text.split('\\')) {
    const trimmed = value.replace(/[\0 ]+$/, '').trim();
    if (trimmed === '') {
      values.push('');
      continue;
    }
    const ends = vr === 'DA' ? trimmed.split('-') : [trimmed];
    const shifted = ends.map((end) => (end === '' ? '' : shiftOne(end, days)));
    if (shifted.some((end) => end === null) || ends.length > 2) {
      return null;
    }
    values.push(shifted.join('-'));
  }
  return values.join('\\');
}
