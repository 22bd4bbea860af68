import { describe, expect, it } from 'vitest';
import {
  civilFromDays,
  dateShiftDays,
  daysFromCivil,
  DateShiftError,
  MAX_SHIFT_DAYS,
  MIN_SHIFT_DAYS,
  shiftDateValue,
  shiftDicomDate,
  shiftDicomDateAndTime,
  shiftDicomDateTime,
} from './date-shift.js';
import { createPseudonymizer } from './pseudonym.js';

const KEY = new Uint8Array(32).fill(42);

describe('the per-patient offset', () => {
  it('covers [-365, -30] ∪ [30, 365] evenly, never near zero', () => {
    const pseudonymizer = createPseudonymizer(KEY, 'Example Health System');
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const days = dateShiftDays(pseudonymizer, `MRN${i}`);
      counts.set(days, (counts.get(days) ?? 0) + 1);
    }
    const values = [...counts.keys()].sort((a, b) => a - b);
    expect(values.length).toBe(2 * (MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1));
    expect(values[0]).toBe(-365);
    expect(values.at(-1)).toBe(365);
    expect(values.every((days) => Math.abs(days) >= 30 && Number.isInteger(days))).toBe(true);
    const negative = [...counts].filter(([days]) => days < 0).reduce((sum, [, n]) => sum + n, 0);
    expect(negative / 20_000).toBeGreaterThan(0.45);
    expect(negative / 20_000).toBeLessThan(0.55);
  });

  it('is stable across pseudonymizers and differs by key', () => {
    const a = createPseudonymizer(KEY, 'Example');
    const b = createPseudonymizer(KEY, 'example');
    const c = createPseudonymizer(new Uint8Array(32).fill(43), 'Example');
    let differing = 0;
    for (let i = 0; i < 200; i++) {
      expect(dateShiftDays(a, `${i}`)).toBe(dateShiftDays(b, ` ${i} `));
      differing += dateShiftDays(a, `${i}`) === dateShiftDays(c, `${i}`) ? 0 : 1;
    }
    expect(differing).toBeGreaterThan(190);
  });
});

describe('calendar arithmetic', () => {
  it('agrees with Date.UTC day by day from 1900 to 2100', () => {
    const start = Date.UTC(1900, 0, 1) / 86_400_000;
    for (let days = start; days < start + 73_050; days++) {
      const date = new Date(days * 86_400_000);
      const civil = {
        year: date.getUTCFullYear(),
        month: date.getUTCMonth() + 1,
        day: date.getUTCDate(),
      };
      expect(civilFromDays(days)).toEqual(civil);
      expect(daysFromCivil(civil.year, civil.month, civil.day)).toBe(days);
    }
  });

  it('round-trips far years', () => {
    for (const days of [
      daysFromCivil(1, 1, 1),
      daysFromCivil(9999, 12, 31),
      daysFromCivil(400, 2, 29),
    ]) {
      const { year, month, day } = civilFromDays(days);
      expect(daysFromCivil(year, month, day)).toBe(days);
    }
  });
});

describe('shifting table values', () => {
  it('keeps every form, time of day and zone', () => {
    const cases: [string, number, string][] = [
      ['2012-11-05', -40, '2012-09-26'],
      ['2012-11-05 08:48:49', -40, '2012-09-26 08:48:49'],
      ['2012-11-05T08:48', 30, '2012-12-05T08:48'],
      ['2012-11-05T08:48:49.123Z', 365, '2013-11-05T08:48:49.123Z'],
      ['2012-11-05T23:59:59+05:30', 60, '2013-01-04T23:59:59+05:30'],
      ['2012-11-05T00:00:00-0800', -30, '2012-10-06T00:00:00-0800'],
      ['2020-02-28', 1, '2020-02-29'],
      ['2019-02-28', 1, '2019-03-01'],
      ['1900-02-28', 1, '1900-03-01'],
      ['2000-02-28', 1, '2000-02-29'],
      ['11/05/2012', -40, '09/26/2012'],
      ['3/7/2014', 30, '4/6/2014'],
      ['3/7/2014', 299, '12/31/2014'],
      ['03/07/2014 9:05 PM', -66, '12/31/2013 9:05 PM'],
      ['20121105', -40, '20120926'],
      ['  2012-11-05 ', -40, '  2012-09-26 '],
      ['', 100, ''],
    ];
    for (const [value, days, expected] of cases) {
      expect(shiftDateValue(value, days), value).toBe(expected);
    }
    expect(shiftDateValue(null, 100)).toBeNull();
  });

  it('moves intervals not at all', () => {
    const days = -123;
    const a = shiftDateValue('2014-01-30', days) ?? '';
    const b = shiftDateValue('2015-03-01', days) ?? '';
    const between = (x: string, y: string) =>
      daysFromCivil(...(y.split('-').map(Number) as [number, number, number])) -
      daysFromCivil(...(x.split('-').map(Number) as [number, number, number]));
    expect(between(a, b)).toBe(between('2014-01-30', '2015-03-01'));
  });

  it('refuses what is not a date, without quoting it', () => {
    for (const value of [
      'yesterday',
      '2012-13-01',
      '2012-02-30',
      '2012-11-05 24:00',
      '2012-11-05T10:61',
      '2012-11-05T10:00+25:00',
      '13/01/2012',
      '3/7/14',
      '13/01/2012 13:00 PM',
      '2012110',
      '0000-01-01',
      'Jan 5, 2012',
    ]) {
      expect(() => shiftDateValue(value, 30), value).toThrow(DateShiftError);
      try {
        shiftDateValue(value, 30);
      } catch (error) {
        expect(error instanceof Error ? error.message : '').not.toContain(value);
      }
    }
    expect(() => shiftDateValue('9999-12-31', 30)).toThrow(/outside the years/u);
  });
});

describe('shifting DICOM values', () => {
  it('DA, with padding, legacy form and several values', () => {
    expect(shiftDicomDate('20121105', -40)).toBe('20120926');
    expect(shiftDicomDate('2012.11.05', -40)).toBe('2012.09.26');
    expect(shiftDicomDate('20121105\\20130101', 1)).toBe('20121106\\20130102');
    expect(shiftDicomDate('', 1)).toBe('');
    expect(() => shiftDicomDate('2012-11-05', 1)).toThrow(DateShiftError);
  });

  it('DT at every precision, time and zone kept', () => {
    expect(shiftDicomDateTime('20121105084849.123456+0800', -40)).toBe(
      '20120926084849.123456+0800',
    );
    expect(shiftDicomDateTime('201211050848 ', -40)).toBe('201209260848 ');
    expect(shiftDicomDateTime('20121105', 30)).toBe('20121205');
    expect(shiftDicomDateTime('201211', 40)).toBe('201212');
    expect(shiftDicomDateTime('2012', -1)).toBe('2011');
    expect(shiftDicomDateTime('2012-0500', 30)).toBe('2012-0500');
    expect(() => shiftDicomDateTime('20121105256000', 1)).toThrow(DateShiftError);
    expect(() => shiftDicomDateTime('2012110', 1)).toThrow(DateShiftError);
  });

  it('TM with its DA: the date moves, the time stays and is checked', () => {
    expect(shiftDicomDateAndTime('20121105', '084849.12', -40)).toEqual({
      date: '20120926',
      time: '084849.12',
    });
    expect(shiftDicomDateAndTime('20121105', '08:48:49', 1)).toEqual({
      date: '20121106',
      time: '08:48:49',
    });
    expect(() => shiftDicomDateAndTime('20121105', '256000', 1)).toThrow(DateShiftError);
  });
});
