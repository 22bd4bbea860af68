import { describe, expect, it } from 'vitest';
import { DraftExamplesCache, fingerprintOf, type ExampleSource } from './draft-examples-cache.js';

const source: ExampleSource = {
  rows: 1000,
  tables: [{ name: 'visits', file: 'tables/visits.csv', columns: [{ name: 'visit_date' }] }],
  objectKeys: new Map([['tables/visits.csv', `sha256/${'a'.repeat(64)}`]]),
};
const examples = [{ table: 'visits', columns: [{ name: 'visit_date', example: '2020-01-02' }] }];

describe('the draft examples cache', () => {
  it('fingerprints what examples are read from: the bytes, the columns, the files, the rows', () => {
    const base = fingerprintOf(source);
    expect(fingerprintOf({ ...source })).toBe(base);
    const rewritten = new Map([['tables/visits.csv', `sha256/${'b'.repeat(64)}`]]);
    expect(fingerprintOf({ ...source, objectKeys: rewritten })).not.toBe(base);
    expect(fingerprintOf({ ...source, objectKeys: new Map() })).not.toBe(base);
    expect(fingerprintOf({ ...source, rows: 10 })).not.toBe(base);
    const table = source.tables[0] ?? { name: '', file: '', columns: [] };
    expect(
      fingerprintOf({ ...source, tables: [{ ...table, columns: [{ name: 'visit_day' }] }] }),
    ).not.toBe(base);
    expect(
      fingerprintOf({ ...source, tables: [{ ...table, file: 'tables/visits-2.csv' }] }),
    ).not.toBe(base);
  });

  it('answers a draft read from the same source, and reads again when its tables changed', () => {
    const cache = new DraftExamplesCache();
    expect(cache.get('ver_1', 'f1')).toBeNull();
    cache.set('ver_1', 'f1', examples);
    expect(cache.get('ver_1', 'f1')).toEqual(examples);
    expect(cache.get('ver_1', 'f2')).toBeNull();
    expect(cache.get('ver_2', 'f1')).toBeNull();
    expect(cache.stats()).toEqual({ hits: 1, misses: 3, drafts: 1 });
    // A newer read replaces the draft's entry.
    cache.set('ver_1', 'f2', []);
    expect(cache.get('ver_1', 'f1')).toBeNull();
    expect(cache.get('ver_1', 'f2')).toEqual([]);
    expect(cache.stats().drafts).toBe(1);
  });

  it('hands out copies: a caller changing an answer changes nothing kept', () => {
    const cache = new DraftExamplesCache();
    const kept = structuredClone(examples);
    cache.set('ver_1', 'f1', kept);
    const column = kept[0]?.columns[0];
    if (column !== undefined) {
      column.example = 'changed by the caller after set';
    }
    const answer = cache.get('ver_1', 'f1');
    expect(answer).toEqual(examples);
    answer?.pop();
    expect(cache.get('ver_1', 'f1')).toEqual(examples);
  });

  it('keeps at most its capacity of drafts, the least recently read going first', () => {
    const cache = new DraftExamplesCache(2);
    cache.set('ver_1', 'f', examples);
    cache.set('ver_2', 'f', examples);
    expect(cache.get('ver_1', 'f')).not.toBeNull();
    cache.set('ver_3', 'f', examples);
    expect(cache.stats().drafts).toBe(2);
    expect(cache.get('ver_2', 'f')).toBeNull();
    expect(cache.get('ver_1', 'f')).not.toBeNull();
    expect(cache.get('ver_3', 'f')).not.toBeNull();
  });
});
