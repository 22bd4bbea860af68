import { describe, expect, it } from 'vitest';
import { column, outcomes, pathology, patients } from './catalog.fixtures.js';
import { KeyIntegrityCheck } from './key-integrity.js';

describe('keys against the rows', () => {
  it('finds nothing when every key holds, whatever order the tables are read in', () => {
    const check = new KeyIntegrityCheck(pathology);
    check.addRow('biopsy-slides', { slide_id: 's1', biopsy_id: 'b1', patient_ngsci_id: 'p1' });
    check.addRow('outcomes', { biopsy_id: 'b1', patient_ngsci_id: 'p1', death_dt: null });
    check.addRow('patient', { patient_ngsci_id: 'p1' });
    check.addRow('patient', { patient_ngsci_id: 'p2' });
    expect(check.problems()).toEqual([]);
  });

  it('finds a study whose patient does not exist, repeated and empty primary keys', () => {
    const check = new KeyIntegrityCheck(pathology);
    check.addRow('patient', { patient_ngsci_id: 'p1' });
    check.addRow('patient', { patient_ngsci_id: 'p1' });
    check.addRow('patient', { patient_ngsci_id: '' });
    check.addRow('outcomes', { biopsy_id: 'b1', patient_ngsci_id: 'p1' });
    check.addRow('outcomes', { biopsy_id: 'b2', patient_ngsci_id: 'p9' });
    check.addRow('outcomes', { biopsy_id: 'b3', patient_ngsci_id: 'p9' });
    check.addRow('outcomes', { biopsy_id: 'b4', patient_ngsci_id: 'p8' });
    check.addRow('biopsy-slides', { slide_id: 's1', biopsy_id: 'b7', patient_ngsci_id: 'p1' });
    check.addRow('biopsy-slides', { slide_id: 's2', patient_ngsci_id: 'p1' });
    expect(check.problems()).toEqual([
      {
        code: 'orphan-reference',
        severity: 'blocking',
        table: 'biopsy-slides',
        columns: ['biopsy_id'],
        count: 1,
        examples: ['b7'],
        message:
          '1 row of biopsy-slides refers by (biopsy_id) to outcomes rows that do not exist, such as b7',
      },
      {
        code: 'orphan-reference',
        severity: 'blocking',
        table: 'outcomes',
        columns: ['patient_ngsci_id'],
        count: 3,
        examples: ['p8', 'p9'],
        message:
          '3 rows of outcomes refer by (patient_ngsci_id) to patient rows that do not exist, such as p8, p9',
      },
      {
        code: 'duplicate-primary-key',
        severity: 'blocking',
        table: 'patient',
        columns: ['patient_ngsci_id'],
        count: 1,
        examples: ['p1'],
        message:
          '1 row of patient repeats a primary key (patient_ngsci_id) already used, such as p1',
      },
      {
        code: 'empty-primary-key',
        severity: 'blocking',
        table: 'patient',
        columns: ['patient_ngsci_id'],
        count: 1,
        examples: [],
        message: '1 row of patient has an empty primary key (patient_ngsci_id)',
      },
    ]);
  });

  it('compares composite keys column by column, and keys that refer to other columns than the primary key', () => {
    const visits = {
      name: 'visits',
      file: 'visits.csv',
      rowCount: 2,
      columns: [column('patient_ngsci_id', 'string'), column('visit_no', 'integer')],
      primaryKey: ['patient_ngsci_id', 'visit_no'],
      foreignKeys: [],
    };
    const labs = {
      ...outcomes,
      name: 'labs',
      columns: [
        column('lab_id', 'string'),
        column('patient_ngsci_id', 'string'),
        column('visit_no', 'integer'),
      ],
      primaryKey: ['lab_id'],
      foreignKeys: [
        {
          columns: ['patient_ngsci_id', 'visit_no'],
          references: { table: 'visits', columns: ['patient_ngsci_id', 'visit_no'] },
        },
        { columns: ['lab_id'], references: { table: 'patient', columns: ['sex'] } },
      ],
    };
    const check = new KeyIntegrityCheck({ tables: [patients, visits, labs] });
    check.addRow('visits', { patient_ngsci_id: 'p1', visit_no: 1 });
    check.addRow('visits', { patient_ngsci_id: 'p1', visit_no: 2 });
    check.addRow('patient', { patient_ngsci_id: 'p1', sex: 'F' });
    check.addRow('labs', { lab_id: 'F', patient_ngsci_id: 'p1', visit_no: '2' });
    check.addRow('labs', { lab_id: 'M', patient_ngsci_id: 'p1', visit_no: 3 });
    expect(check.problems().map((p) => [p.columns.join(','), p.examples])).toEqual([
      ['lab_id', ['M']],
      ['patient_ngsci_id,visit_no', ['["p1","3"]']],
    ]);
  });

  it('leaves keys to missing tables to the dictionary check', () => {
    const check = new KeyIntegrityCheck({ tables: [outcomes] });
    check.addRow('outcomes', { biopsy_id: 'b1', patient_ngsci_id: 'p1' });
    expect(check.problems()).toEqual([]);
  });
});
