import { describe, expect, it } from 'vitest';
import { ColumnTypeInference, inferColumnType, matchesColumnType } from './column-types.js';

describe('column types', () => {
  it('infers the most specific type every value has', () => {
    expect(inferColumnType(['1', '-2', '+30', '0'])).toBe('integer');
    expect(inferColumnType(['1', '2.5', '-.5', '6.02e23', '1.'])).toBe('number');
    expect(inferColumnType(['true', 'FALSE', 'True'])).toBe('boolean');
    expect(inferColumnType(['2024-02-29', '1999-12-31'])).toBe('date');
    expect(
      inferColumnType([
        '2024-02-29T13:45',
        '2024-02-29 13:45:59',
        '2024-02-29T13:45:59.123456Z',
        '2016-12-31T23:59:60+05:30',
        '2024-01-01t00:00:00-0800',
      ]),
    ).toBe('datetime');
    expect(inferColumnType(['P000123', '42'])).toBe('string');
  });

  it('keeps leading zeros, out-of-range integers and non-finite numbers apart', () => {
    expect(inferColumnType(['02139', '10001'])).toBe('string');
    expect(inferColumnType(['9223372036854775807', '-9223372036854775808'])).toBe('integer');
    expect(inferColumnType(['9223372036854775808'])).toBe('number');
    expect(inferColumnType(['1e400'])).toBe('string');
    expect(inferColumnType(['NaN', '1'])).toBe('string');
    expect(inferColumnType([' 12'])).toBe('string');
  });

  it('infers 0 and 1 as integers, and accepts them where boolean is declared', () => {
    expect(inferColumnType(['0', '1', '1'])).toBe('integer');
    expect(inferColumnType(['true', '1'])).toBe('string');
    expect(matchesColumnType('1', 'boolean')).toBe(true);
    expect(matchesColumnType('false', 'boolean')).toBe(true);
    expect(matchesColumnType('2', 'boolean')).toBe(false);
    expect(matchesColumnType('7', 'number')).toBe(true);
    expect(matchesColumnType('7.5', 'integer')).toBe(false);
    expect(matchesColumnType('anything', 'string')).toBe(true);
  });

  it('accepts only dates that exist and times within range', () => {
    expect(matchesColumnType('2023-02-29', 'date')).toBe(false);
    expect(matchesColumnType('1900-02-29', 'date')).toBe(false);
    expect(matchesColumnType('2000-02-29', 'date')).toBe(true);
    expect(matchesColumnType('2024-13-01', 'date')).toBe(false);
    expect(matchesColumnType('2024-04-31', 'date')).toBe(false);
    expect(matchesColumnType('2024-01-01T24:00', 'datetime')).toBe(false);
    expect(matchesColumnType('2024-01-01T12:60', 'datetime')).toBe(false);
    expect(matchesColumnType('2024-01-01T12:00+24:00', 'datetime')).toBe(false);
    expect(matchesColumnType('2024-01-01', 'datetime')).toBe(false);
    expect(inferColumnType(['2024-01-01', '2024-01-01T10:00'])).toBe('string');
  });

  it('lets empty cells make a column nullable without deciding its type', () => {
    const inference = new ColumnTypeInference();
    for (const value of [null, '', '12', null, '7']) {
      inference.add(value);
    }
    expect([inference.type, inference.nullable, inference.empty, inference.example]).toEqual([
      'integer',
      true,
      3,
      '12',
    ]);
    const empty = new ColumnTypeInference();
    empty.add(null);
    expect([empty.type, empty.nullable, empty.example]).toEqual(['string', true, null]);
    const none = new ColumnTypeInference();
    expect([none.type, none.nullable]).toEqual(['string', true]);
  });
});
