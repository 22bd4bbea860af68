import type { Column, DataDictionary, Snapshot, TableSnapshot } from './dataset.js';

/**
 * Tables shaped like Nightingale's breast-cancer pathology dataset (brca-psj-path): patients, one
 * biopsy per row of outcomes, several slides per biopsy. Column names are the real ones.
 */
export const column = (name: string, type: Column['type'], nullable = false): Column => ({
  name,
  type,
  nullable,
});

export const patients: TableSnapshot = {
  name: 'patient',
  file: 'patient.csv',
  rowCount: 4213,
  columns: [
    column('patient_ngsci_id', 'string'),
    column('sex', 'string'),
    column('black', 'boolean'),
    column('hispanic', 'boolean'),
  ],
  primaryKey: ['patient_ngsci_id'],
  foreignKeys: [],
};

export const outcomes: TableSnapshot = {
  name: 'outcomes',
  file: 'outcomes.csv',
  rowCount: 4213,
  columns: [
    column('biopsy_id', 'string'),
    column('patient_ngsci_id', 'string'),
    column('stage', 'string'),
    column('case_year', 'integer'),
    column('biopsy_dt', 'date'),
    column('mortality', 'boolean'),
    column('death_dt', 'date', true),
  ],
  primaryKey: ['biopsy_id'],
  foreignKeys: [
    {
      columns: ['patient_ngsci_id'],
      references: { table: 'patient', columns: ['patient_ngsci_id'] },
    },
  ],
};

export const slides: TableSnapshot = {
  name: 'biopsy-slides',
  file: 'biopsy-slides.csv',
  rowCount: 72_104,
  columns: [
    column('slide_id', 'string'),
    column('biopsy_id', 'string'),
    column('slide_path', 'string'),
    column('patient_ngsci_id', 'string'),
  ],
  primaryKey: ['slide_id'],
  foreignKeys: [
    { columns: ['biopsy_id'], references: { table: 'outcomes', columns: ['biopsy_id'] } },
    {
      columns: ['patient_ngsci_id'],
      references: { table: 'patient', columns: ['patient_ngsci_id'] },
    },
  ],
};

export const pathology: Snapshot = { tables: [patients, outcomes, slides] };

const pseudonym = { method: 'pseudonym' } as const;
const shifted = { method: 'date-shift', note: 'random per-patient offset' } as const;

/** A dictionary that agrees with `pathology` in every point. */
export const pathologyDictionary: DataDictionary = {
  tables: [
    {
      name: 'patient',
      description: 'One row per person.',
      columns: [
        {
          name: 'patient_ngsci_id',
          description: 'Pseudonymous person id',
          type: 'string',
          deidentification: pseudonym,
        },
        { name: 'sex', description: 'Sex', type: 'string', allowedValues: ['F', 'M'] },
        { name: 'black', description: 'Self-reported race: Black', type: 'boolean' },
        { name: 'hispanic', description: 'Self-reported ethnicity: Hispanic', type: 'boolean' },
      ],
    },
    {
      name: 'outcomes',
      description: 'One row per biopsy.',
      columns: [
        { name: 'biopsy_id', description: 'Biopsy', type: 'string', deidentification: pseudonym },
        { name: 'patient_ngsci_id', description: 'Person', type: 'string' },
        {
          name: 'stage',
          description: 'AJCC stage',
          type: 'string',
          example: 'IIA',
          allowedValues: ['0', 'IA', 'IB', 'IIA', 'IIB', 'IIIA', 'IIIB', 'IIIC', 'IV'],
        },
        { name: 'case_year', description: 'Year of diagnosis', type: 'integer', example: '2014' },
        {
          name: 'biopsy_dt',
          description: 'Date of biopsy',
          type: 'date',
          example: '2014-03-07',
          deidentification: shifted,
        },
        { name: 'mortality', description: 'Died', type: 'boolean', example: '0' },
        {
          name: 'death_dt',
          description: 'Date of death',
          type: 'date',
          deidentification: shifted,
        },
      ],
    },
    {
      name: 'biopsy-slides',
      description: 'One row per slide.',
      columns: [
        { name: 'slide_id', description: 'Slide', type: 'string' },
        { name: 'biopsy_id', description: 'Biopsy', type: 'string' },
        {
          name: 'slide_path',
          description: 'Path of the slide image',
          type: 'string',
          example: 'ndpi/1a2b.ndpi',
        },
        { name: 'patient_ngsci_id', description: 'Person', type: 'string' },
      ],
    },
  ],
};
