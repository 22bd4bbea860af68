/**
 * Date shifting inside DICOM values for the Retain Longitudinal Temporal Information with Modified
 * Dates Option (PS3.15 E.3.6): every date of a patient moves by the same number of days, so that
 * intervals stay true, and keeps its form (the DA and DT shifting of ../date-shift.ts; TM needs no
 * change). A value that does not parse as its VR is not shifted but dropped (emptied), since it
 * cannot be made safe.
 */
import { DateShiftError, shiftDicomDate, shiftDicomDateTime } from '../date-shift.js';

/**
 * Shifts every value of a multi-valued DA or DT text (backslash-separated; a DA range
 * "from-to" as queries write it shifts both ends). Null when any value is not a date.
 */
export function shiftDateText(text: string, vr: 'DA' | 'DT', days: number): string | null {
  const shiftOne = vr === 'DA' ? shiftDicomDate : shiftDicomDateTime;
  const values: string[] = [];
  for (const value of text.split('\\')) {
    const trimmed = value.replace(/[\0 ]+$/, '').trim();
    if (trimmed === '') {
      values.push('');
      continue;
    }
    const ends = vr === 'DA' ? trimmed.split('-') : [trimmed];
    if (ends.length > 2) {
      return null;
    }
    try {
      values.push(ends.map((end) => (end === '' ? '' : shiftOne(end, days))).join('-'));
    } catch (error) {
      if (error instanceof DateShiftError) {
        return null;
      }
      throw error;
    }
  }
  return values.join('\\');
}
