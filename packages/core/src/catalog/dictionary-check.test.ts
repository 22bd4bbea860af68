import { describe, expect, it } from 'vitest';
import { column, outcomes, pathology, pathologyDictionary, slides } from './catalog.fixtures.js';
import type { DataDictionary, Snapshot } from './dataset.js';
import {
  checkDictionary,
  DICTIONARY_PROBLEM_SEVERITY,
  hasBlockingProblems,
  isValueOfType,
} from './dictionary-check.js';

const summary = (snapshot: Snapshot, dictionary: DataDictionary) =>
  checkDictionary(snapshot, dictionary).map((p) =>
    [p.severity, p.code, p.table, p.column ?? ''].join(' '),
  );

describe('the data dictionary against the tables', () => {
  it('finds nothing when they agree', () => {
    expect(checkDictionary(pathology, pathologyDictionary)).toEqual([]);
  });

  it('reports every problem at once, blocking first, in a stable order', () => {
    const snapshot: Snapshot = {
      tables: [
        {
          ...outcomes,
          // stage is now an integer, er_status is new, mortality is gone from the file
          columns: [
            ...outcomes.columns
              .filter((c) => c.name !== 'mortality')
              .map((c) => (c.name === 'stage' ? column('stage', 'integer') : c)),
            column('er_status', 'string', true),
          ],
        },
        {
          ...slides,
          primaryKey: ['slide_uuid'],
          foreignKeys: [
            { columns: ['biopsy_id'], references: { table: 'outcomes', columns: ['biopsy_nr'] } },
            {
              columns: ['patient_ngsci_id'],
              references: { table: 'patients', columns: ['patient_ngsci_id'] },
            },
            {
              columns: ['biopsy_id', 'slide_path'],
              references: { table: 'outcomes', columns: ['biopsy_id'] },
            },
          ],
        },
        {
          name: 'ecg',
          file: 'ecg.csv',
          rowCount: 3,
          columns: [column('ecg_id', 'string', true), column('acquired_datetime', 'datetime')],
          primaryKey: ['ecg_id'],
          foreignKeys: [],
        },
      ],
    };
    expect(summary(snapshot, pathologyDictionary)).toEqual([
      'blocking key-arity biopsy-slides ',
      'blocking key-missing-table biopsy-slides ',
      'blocking key-missing-referenced-column biopsy-slides biopsy_id',
      'blocking key-missing-column biopsy-slides slide_uuid',
      'blocking table-undocumented ecg ',
      'blocking primary-key-nullable ecg ecg_id',
      // outcomes refers to patient, which this version lacks
      'blocking key-missing-table outcomes ',
      'blocking column-undocumented outcomes er_status',
      'blocking column-missing outcomes mortality',
      'blocking type-mismatch outcomes stage',
      'blocking table-missing patient ',
      'warning key-not-primary biopsy-slides ',
    ]);
    const problems = checkDictionary(snapshot, pathologyDictionary);
    expect(hasBlockingProblems(problems)).toBe(true);
    expect(problems.find((p) => p.code === 'type-mismatch')?.message).toBe(
      'outcomes.stage is documented as string but the table holds integer',
    );
    expect(problems.find((p) => p.code === 'key-missing-table')?.message).toBe(
      'the foreign key (patient_ngsci_id) of biopsy-slides refers to the table patients, which this version does not have',
    );
    expect(problems.find((p) => p.code === 'column-undocumented')?.message).toBe(
      'outcomes.er_status is in the table but not in the dictionary',
    );
  });

  it('flags a table or column documented twice', () => {
    const [patient] = pathologyDictionary.tables;
    if (patient === undefined) {
      throw new Error('fixture');
    }
    const [first] = patient.columns;
    const twice: DataDictionary = {
      tables: [...pathologyDictionary.tables, patient, { ...patient, name: 'patient-copy' }].map(
        (table) =>
          table.name === 'patient' && first !== undefined
            ? { ...table, columns: [...table.columns, first] }
            : table,
      ),
    };
    expect(summary(pathology, twice)).toEqual([
      'blocking table-documented-twice patient ',
      'blocking column-documented-twice patient patient_ngsci_id',
      'blocking table-missing patient-copy ',
    ]);
  });

  it('warns without blocking: no primary key, undocumented de-identification of dates, examples outside the allowed values', () => {
    const snapshot: Snapshot = {
      tables: [
        {
          name: 'tb-labels',
          file: 'tb-labels.csv',
          rowCount: 1265,
          columns: [
            column('image_id', 'string'),
            column('label', 'integer'),
            column('read_dt', 'date'),
          ],
          primaryKey: [],
          foreignKeys: [],
        },
        {
          name: 'tb-reads',
          file: 'tb-reads.csv',
          rowCount: 10,
          columns: [column('read_id', 'integer'), column('image_id', 'integer')],
          primaryKey: ['read_id'],
          foreignKeys: [
            { columns: ['image_id'], references: { table: 'tb-labels', columns: ['image_id'] } },
          ],
        },
      ],
    };
    const dictionary: DataDictionary = {
      tables: [
        {
          name: 'tb-labels',
          description: 'One row per tile',
          columns: [
            { name: 'image_id', description: 'Tile', type: 'string' },
            {
              name: 'label',
              description: 'Bacilli present',
              type: 'integer',
              example: '2',
              allowedValues: ['0', '1'],
            },
            {
              name: 'read_dt',
              description: 'Read on',
              type: 'date',
              example: '07/03/2014',
              deidentification: { method: 'none' },
            },
          ],
        },
        {
          name: 'tb-reads',
          description: 'One row per read',
          columns: [
            { name: 'read_id', description: 'Read', type: 'integer', allowedValues: ['1', 'x'] },
            { name: 'image_id', description: 'Tile', type: 'integer' },
          ],
        },
      ],
    };
    const problems = checkDictionary(snapshot, dictionary);
    expect(summary(snapshot, dictionary)).toEqual([
      'warning no-primary-key tb-labels ',
      'warning example-not-allowed tb-labels label',
      'warning date-not-deidentified tb-labels read_dt',
      'warning example-type tb-labels read_dt',
      'warning key-not-primary tb-reads ',
      'warning key-type-mismatch tb-reads image_id',
      'warning allowed-value-type tb-reads read_id',
    ]);
    expect(problems.find((p) => p.code === 'key-type-mismatch')?.message).toBe(
      'tb-reads.image_id is integer but refers to tb-labels.image_id, which is string',
    );
    expect(hasBlockingProblems(problems)).toBe(false);
    expect(problems.every((p) => p.severity === DICTIONARY_PROBLEM_SEVERITY[p.code])).toBe(true);
  });
});

describe('values as CSV cells hold them', () => {
  it('reads integers, numbers, booleans, dates and datetimes', () => {
    const cases: [string, Parameters<typeof isValueOfType>[1], boolean][] = [
      ['42', 'integer', true],
      ['-7', 'integer', true],
      ['4.2', 'integer', false],
      ['4.2', 'number', true],
      ['1e-3', 'number', true],
      ['.5', 'number', true],
      ['NaN', 'number', false],
      ['', 'number', false],
      ['true', 'boolean', true],
      ['0', 'boolean', true],
      ['yes', 'boolean', false],
      ['2014-03-07', 'date', true],
      ['2014-02-30', 'date', false],
      ['2024-02-29', 'date', true],
      ['2023-02-29', 'date', false],
      ['2014-3-7', 'date', false],
      ['2014-03-07T10:15:00Z', 'datetime', true],
      ['2014-03-07 10:15', 'datetime', true],
      ['2014-03-07T10:15:00.123+08:00', 'datetime', true],
      ['2014-03-07T24:00', 'datetime', false],
      ['2014-13-07T10:15', 'datetime', false],
      ['anything <at> all', 'string', true],
    ];
    for (const [text, type, expected] of cases) {
      expect(isValueOfType(text, type), `${text} as ${type}`).toBe(expected);
    }
  });
});
