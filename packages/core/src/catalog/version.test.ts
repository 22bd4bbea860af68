import { describe, expect, it } from 'vitest';
import { column, outcomes, pathology, patients, slides } from './catalog.fixtures.js';
import { changeLog } from './change-log.js';
import type { Snapshot, TableSnapshot } from './dataset.js';
import { diffSnapshots, rowKey, type SnapshotRowKeys } from './snapshot-diff.js';
import {
  checkRequestedVersion,
  compareVersions,
  formatVersion,
  nextVersion,
  parseVersion,
  type DatasetVersion,
} from './version.js';

const v = (text: string): DatasetVersion => {
  const version = parseVersion(text);
  if (version === null) {
    throw new Error(`bad version in test: ${text}`);
  }
  return version;
};

const withTable = (snapshot: Snapshot, name: string, change: Partial<TableSnapshot>): Snapshot => ({
  tables: snapshot.tables.map((table) => (table.name === name ? { ...table, ...change } : table)),
});

const next = (
  previous: string | null,
  from: Snapshot | null,
  to: Snapshot,
  keys?: SnapshotRowKeys,
) =>
  formatVersion(
    nextVersion(previous === null ? null : v(previous), diffSnapshots(from, to, keys)).version,
  );

describe('version numbers', () => {
  it('reads and writes 1.0, 2.1 and 2.1.1, the patch only when it is not zero', () => {
    expect(parseVersion('1.0')).toEqual({ major: 1, minor: 0, patch: 0 });
    expect(parseVersion('2.1.1')).toEqual({ major: 2, minor: 1, patch: 1 });
    expect(parseVersion('v2')).toEqual({ major: 2, minor: 0, patch: 0 });
    expect(formatVersion(v('2.1.0'))).toBe('2.1');
    expect(formatVersion(v('2.1.1'))).toBe('2.1.1');
    expect(formatVersion(v('3'))).toBe('3.0');
    expect(formatVersion(v(' 10.12 '))).toBe('10.12');
  });

  it('refuses what is not a version', () => {
    for (const text of [
      '',
      '0.9',
      '01.0',
      '1.01',
      '1.0.0.1',
      '-1.0',
      '1.x',
      '1 .0',
      'v',
      '1.',
      '1234567.0',
      'V1.0',
    ]) {
      expect(parseVersion(text), text).toBeNull();
    }
  });

  it('orders versions by number, not by text', () => {
    const sorted = ['2.1.1', '10.0', '1.0', '2.1', '1.10', '1.9', '2.0']
      .map(v)
      .sort(compareVersions);
    expect(sorted.map(formatVersion)).toEqual([
      '1.0',
      '1.9',
      '1.10',
      '2.0',
      '2.1',
      '2.1.1',
      '10.0',
    ]);
    expect(compareVersions(v('2.1'), v('2.1.0'))).toBe(0);
  });
});

describe('the next version, by the rules of the issue', () => {
  it('is 1.0 on first publication', () => {
    expect(next(null, null, pathology)).toBe('1.0');
  });

  it('is minor for more rows with the same columns (1.0 -> 1.1)', () => {
    expect(next('1.0', pathology, withTable(pathology, 'outcomes', { rowCount: 5000 }))).toBe(
      '1.1',
    );
  });

  it('is major for any change to the set or types of columns (1.1 -> 2.0)', () => {
    const added = withTable(pathology, 'outcomes', {
      columns: [...outcomes.columns, column('er_status', 'string', true)],
    });
    expect(next('1.1', pathology, added)).toBe('2.0');
    const retyped = withTable(pathology, 'outcomes', {
      columns: outcomes.columns.map((c) =>
        c.name === 'case_year' ? column('case_year', 'string') : c,
      ),
    });
    expect(next('1.1', pathology, retyped)).toBe('2.0');
    expect(next('1.1', pathology, { tables: [patients, outcomes] })).toBe('2.0');
    const more: TableSnapshot = { ...patients, name: 'ecg', file: 'ecg.csv', foreignKeys: [] };
    expect(next('1.1', pathology, { tables: [...pathology.tables, more] })).toBe('2.0');
  });

  it('is a patch for corrections that add neither rows nor columns (2.1 -> 2.1.1)', () => {
    expect(next('2.1', pathology, pathology)).toBe('2.1.1');
    expect(
      next('2.1.1', pathology, withTable(pathology, 'biopsy-slides', { rowCount: 72_000 })),
    ).toBe('2.1.2');
  });

  it('tells replaced rows apart by key: minor with keys, a patch when only counts are known', () => {
    const keys = (table: string, ids: string[]) => new Map([[table, ids]]);
    const rows: SnapshotRowKeys = {
      previous: keys('patient', ['p1', 'p2', 'p3']),
      next: keys('patient', ['p1', 'p2', 'p4']),
    };
    const same = withTable(pathology, 'patient', { rowCount: 3 });
    const diff = diffSnapshots(same, same, rows);
    expect(diff.tables.find((t) => t.name === 'patient')?.rows).toEqual({
      basis: 'keys',
      previousCount: 3,
      nextCount: 3,
      added: 1,
      removed: 1,
    });
    expect(diff.tables.find((t) => t.name === 'outcomes')?.rows.basis).toBe('counts');
    expect(next('1.0', same, same, rows)).toBe('1.1');
    expect(next('1.0', same, same)).toBe('1.0.1');
  });

  it('keys composite rows without ambiguity', () => {
    expect(rowKey(['p1'])).toBe('p1');
    expect(rowKey(['a,b'])).not.toBe(rowKey(['a', 'b']));
    expect(rowKey(['a', 1])).not.toBe(rowKey(['a', '1']));
  });

  it('treats keys, nullability and moved files as changes of structure', () => {
    const nullable = withTable(pathology, 'outcomes', {
      columns: outcomes.columns.map((c) => (c.name === 'stage' ? { ...c, nullable: true } : c)),
    });
    expect(next('1.0', pathology, nullable)).toBe('2.0');
    expect(next('1.0', pathology, withTable(pathology, 'patient', { primaryKey: [] }))).toBe('2.0');
    expect(next('1.0', pathology, withTable(pathology, 'biopsy-slides', { foreignKeys: [] }))).toBe(
      '2.0',
    );
    expect(
      next('1.0', pathology, withTable(pathology, 'patient', { file: 'tables/patient.csv' })),
    ).toBe('2.0');
  });
});

describe('a number typed by a curator', () => {
  const computed = nextVersion(
    v('1.1'),
    diffSnapshots(pathology, { tables: [patients, outcomes] }),
  );

  it('is accepted when it is the computed one, or when none is typed', () => {
    expect(checkRequestedVersion(computed, '2.0')).toEqual({ ok: true, version: v('2.0') });
    expect(checkRequestedVersion(computed, 'v2')).toEqual({ ok: true, version: v('2.0') });
    expect(checkRequestedVersion(computed, undefined)).toEqual({ ok: true, version: v('2.0') });
  });

  it('is refused with the number the changes make, and why', () => {
    expect(checkRequestedVersion(computed, '1.2')).toEqual({
      ok: false,
      code: 'version_mismatch',
      message:
        'this version is 2.0, not 1.2: after 1.1 it is a major change (tables removed: biopsy-slides)',
    });
    expect(checkRequestedVersion(computed, 'two')).toMatchObject({
      ok: false,
      code: 'malformed_version',
      message:
        '"two" is not a version number (written like 1.0, 2.1 or 2.1.1); this version will be 2.0',
    });
    const first = nextVersion(null, diffSnapshots(null, pathology));
    expect(checkRequestedVersion(first, '2.0')).toMatchObject({
      ok: false,
      message:
        'this version is 1.0, not 2.0: as the first publication it is a major change (first publication)',
    });
  });
});

describe('the change log', () => {
  it('says what changed, in a stable order', () => {
    const changed: Snapshot = {
      tables: [
        {
          ...outcomes,
          rowCount: 4300,
          columns: [
            ...outcomes.columns.filter((c) => c.name !== 'mortality'),
            column('er_status', 'string', true),
          ].map((c) => (c.name === 'case_year' ? column('case_year', 'string') : c)),
        },
        { ...patients, rowCount: 4300 },
        { ...slides, file: 'slides/biopsy-slides.csv', name: 'slides', rowCount: 73_000 },
      ],
    };
    expect(changeLog(diffSnapshots(pathology, changed)).map((entry) => entry.text)).toEqual([
      'Table slides added (slides/biopsy-slides.csv; 73,000 rows, 4 columns)',
      'Table biopsy-slides removed (biopsy-slides.csv; had 72,104 rows)',
      'Column outcomes.er_status added (string, may be empty)',
      'Column outcomes.mortality removed',
      'Column outcomes.case_year changed from integer to string',
      '87 rows added to outcomes (4,213 -> 4,300) (net change in row count; row keys were not compared)',
      '87 rows added to patient (4,213 -> 4,300) (net change in row count; row keys were not compared)',
    ]);
  });

  it('reports exact rows added and removed when keys are known', () => {
    const rows: SnapshotRowKeys = {
      previous: new Map([['patient', ['a', 'b', 'c']]]),
      next: new Map([['patient', new Set(['b', 'c', 'd', 'e'])]]),
    };
    const log = changeLog(
      diffSnapshots(pathology, withTable(pathology, 'patient', { rowCount: 4214 }), rows),
    );
    expect(log).toEqual([
      { kind: 'rows-added', table: 'patient', text: '2 rows added to patient (4,213 -> 4,214)' },
      {
        kind: 'rows-removed',
        table: 'patient',
        text: '1 row removed from patient (4,213 -> 4,214)',
      },
    ]);
  });

  it('describes keys, nullability and moves', () => {
    const changed = withTable(
      withTable(pathology, 'biopsy-slides', {
        foreignKeys: slides.foreignKeys.slice(0, 1),
        primaryKey: ['slide_id', 'biopsy_id'],
      }),
      'outcomes',
      {
        file: 'tables/outcomes.csv',
        columns: outcomes.columns.map((c) =>
          c.name === 'death_dt' ? { ...c, nullable: false } : c,
        ),
      },
    );
    expect(
      changeLog(diffSnapshots(pathology, changed)).map((entry) => [entry.kind, entry.text]),
    ).toEqual([
      [
        'primary-key-changed',
        'Primary key of biopsy-slides changed from (slide_id) to (slide_id, biopsy_id)',
      ],
      [
        'foreign-key-removed',
        'Foreign key biopsy-slides (patient_ngsci_id) -> patient (patient_ngsci_id) removed',
      ],
      ['file-moved', 'outcomes moved from outcomes.csv to tables/outcomes.csv'],
      ['column-changed', 'Column outcomes.death_dt changed from date, may be empty to date'],
    ]);
  });

  it('is empty when nothing the tables show has changed', () => {
    expect(changeLog(diffSnapshots(pathology, pathology))).toEqual([]);
  });
});
