import { describe, expect, it } from 'vitest';
import { column, pathology } from './catalog.fixtures.js';
import type { Column } from './dataset.js';
import { lintNaming, toSnakeCase, type LintedDataset } from './naming-lint.js';

const dataset = (slug: string, table: string, columns: Column[]): LintedDataset => ({
  slug,
  tables: [{ name: table, columns }],
});

/** Real column names of Nightingale's datasets (../shared/DATASETS.md). */
const ed = dataset('ed-bwh-ecg', 'ed-encounter', [
  column('ed_enc_id', 'string'),
  column('patient_ngsci_id', 'string'),
  column('age_at_admit', 'integer'),
  column('test_010_day', 'boolean'),
  column('macetrop_pos_or_death_030', 'boolean'),
]);
const ecg = dataset('silent-cchs-ecg', 'ecg-metadata', [
  column('patient_ngsci_id', 'string'),
  column('ecg_id', 'string'),
  column('acquired_datetime', 'datetime'),
]);

describe('naming across datasets', () => {
  it('finds nothing to say about the real datasets', () => {
    expect(lintNaming([{ slug: 'brca-psj-path', tables: pathology.tables }, ed, ecg])).toEqual([]);
  });

  it('wants patient_ngsci_id for people, whatever the delivery called them', () => {
    const findings = lintNaming([
      dataset('demo-arrest-ecg', 'patients', [
        column('PatientID', 'string'),
        column('ngsci_id', 'string'),
        column('patient_id', 'string'),
      ]),
    ]);
    // Code-point order: capitals first.
    expect(findings.map((f) => [f.column, f.preferred, f.severity, f.rules])).toEqual([
      ['PatientID', 'patient_ngsci_id', 'error', ['snake-case', 'patient-id']],
      ['ngsci_id', 'patient_ngsci_id', 'error', ['patient-id']],
      ['patient_id', 'patient_ngsci_id', 'error', ['patient-id']],
    ]);
    expect(findings[0]?.why).toBe(
      'column names are snake_case: lower-case words joined by underscores; people are patient_ngsci_id in every dataset, so that code joins across datasets unchanged',
    );
  });

  it('refuses source identifiers outright', () => {
    const findings = lintNaming([
      dataset('demo-knee-xray', 'studies', [
        column('MRN', 'string'),
        column('accession_number', 'string'),
      ]),
    ]);
    expect(findings.map((f) => [f.column, f.preferred, f.severity, f.rules.at(-1)])).toEqual([
      ['MRN', 'patient_ngsci_id', 'error', 'source-identifier'],
      ['accession_number', 'xray_id', 'error', 'source-identifier'],
    ]);
    expect(findings[0]?.why).toContain('a source identifier never enters a dataset');
  });

  it('names studies <study>_id, guessing the study from the slug when it can', () => {
    const findings = lintNaming([
      dataset('demo-arrest-ecg', 'ecgs', [
        column('study_id', 'string'),
        column('ECGIdentifier', 'string'),
      ]),
      dataset('tb-wellgen-smear', 'tiles', [column('id', 'string')]),
      dataset('acme-genomics', 'samples', [column('id', 'string')]),
    ]);
    expect(findings.map((f) => [f.dataset, f.column, f.preferred])).toEqual([
      ['acme-genomics', 'id', '<study>_id'],
      ['demo-arrest-ecg', 'ECGIdentifier', 'ecg_id'],
      ['demo-arrest-ecg', 'study_id', 'ecg_id'],
      ['tb-wellgen-smear', 'id', 'image_id'],
    ]);
  });

  it('flags synonyms: sex and gender, ages, birth and death dates, date suffixes', () => {
    const findings = lintNaming([
      dataset('demo-ed-ecg', 'patient', [
        column('gender', 'string'),
        column('patient_age', 'integer'),
        column('dob', 'date'),
        column('date_of_death', 'date', true),
        column('admission_date', 'date'),
        column('discharge_ts', 'datetime'),
      ]),
    ]);
    expect(findings.map((f) => [f.column, f.preferred, f.rules.join(','), f.severity])).toEqual([
      ['admission_date', 'admission_dt', 'date-suffix', 'warning'],
      ['date_of_death', 'death_dt', 'synonym', 'warning'],
      ['discharge_ts', 'discharge_datetime', 'date-suffix', 'warning'],
      ['dob', 'birth_dt', 'synonym', 'warning'],
      ['gender', 'sex', 'synonym', 'warning'],
      ['patient_age', 'age', 'synonym', 'warning'],
    ]);
  });

  it('flags one concept named in several acceptable ways across datasets (age vs age_at_admit vs Age)', () => {
    const findings = lintNaming([
      ed,
      dataset('demo-arrest-ecg', 'patients', [column('age', 'integer')]),
      dataset('demo-knee-xray', 'patients', [column('Age', 'integer')]),
    ]);
    expect(findings.map((f) => [f.dataset, f.column, f.preferred, f.rules.join(',')])).toEqual([
      ['demo-knee-xray', 'Age', 'age', 'snake-case'],
      ['ed-bwh-ecg', 'age_at_admit', 'age', 'inconsistent'],
    ]);
    expect(findings[1]?.why).toBe(
      'the catalog names age in several ways (age in demo-arrest-ecg, demo-knee-xray; age_at_admit in ed-bwh-ecg); if they mean ages at different events, name the event in each: age_at_<event>',
    );
  });

  it('flags one name used with several types', () => {
    const findings = lintNaming([
      ecg,
      { slug: 'brca-psj-path', tables: pathology.tables },
      dataset('demo-ed-ecg', 'patient', [column('patient_ngsci_id', 'integer')]),
    ]);
    expect(findings).toEqual([
      {
        dataset: 'demo-ed-ecg',
        table: 'patient',
        column: 'patient_ngsci_id',
        preferred: 'patient_ngsci_id',
        rules: ['type-inconsistent'],
        severity: 'warning',
        why: 'patient_ngsci_id is string in brca-psj-path, silent-cchs-ecg but integer here; one name, one type',
      },
    ]);
  });

  it('converts names to snake_case', () => {
    expect(toSnakeCase('PatientID')).toBe('patient_id');
    expect(toSnakeCase('ECGId')).toBe('ecg_id');
    expect(toSnakeCase('age at admit')).toBe('age_at_admit');
    expect(toSnakeCase('ecg-id')).toBe('ecg_id');
    expect(toSnakeCase('acquiredDateTime')).toBe('acquired_date_time');
    expect(toSnakeCase('HbA1cLevel')).toBe('hb_a1c_level');
  });
});
