import { describe, expect, it } from 'vitest';
import {
  parseDeliveryManifest,
  singularTableName,
  studyIdName,
  type ManifestProblem,
} from './manifest.js';

const ISSUE_EXAMPLE = `dataset: demo-knee-xray          # slug; created as a draft dataset if new
partner: Example Health System
tables:
  - name: patients
    file: tables/patients.csv    # or .parquet
    patient: mrn                 # source patient identifier -> patient_ngsci_id
  - name: xrays
    file: tables/xrays.csv
    patient: mrn
    study: accession             # source study identifier -> xray_id (<table singular>_id)
    files: path                  # column naming native files under files/
    dates: [exam_date]           # shifted per patient
    drop: [patient_name, referring_physician]
`;

function problemsOf(text: string): ManifestProblem[] {
  const parsed = parseDeliveryManifest(text);
  if (parsed.ok) {
    throw new Error('expected the manifest to be refused');
  }
  return parsed.problems;
}

describe('the delivery manifest', () => {
  it('reads the example of issue 6', () => {
    const parsed = parseDeliveryManifest(ISSUE_EXAMPLE);
    expect(parsed).toEqual({
      ok: true,
      manifest: {
        dataset: 'demo-knee-xray',
        partner: 'Example Health System',
        tables: [
          { name: 'patients', file: 'tables/patients.csv', patient: 'mrn' },
          {
            name: 'xrays',
            file: 'tables/xrays.csv',
            patient: 'mrn',
            study: 'accession',
            files: 'path',
            dates: ['exam_date'],
            drop: ['patient_name', 'referring_physician'],
          },
        ],
      },
    });
  });

  it('reads references, study_id and Parquet tables', () => {
    const parsed = parseDeliveryManifest(`dataset: demo-ed-ecg
partner: Example
tables:
  - name: ed-encounters
    file: tables/encounters.parquet
    patient: MRN
    study: CSN
    study_id: ed_enc_id
  - name: ecgs
    file: tables/ecgs.csv
    patient: MRN
    study: Accession Number
    references:
      - { column: CSN, table: ed-encounters }
`);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.manifest.tables.map(studyIdName)).toEqual(['ed_enc_id', 'ecg_id']);
      expect(parsed.manifest.tables[1]?.references).toEqual([
        { column: 'CSN', table: 'ed-encounters' },
      ]);
    }
  });

  it('names study ids after the table in the singular', () => {
    expect(singularTableName('xrays')).toBe('xray');
    expect(singularTableName('ecgs')).toBe('ecg');
    expect(singularTableName('biopsies')).toBe('biopsy');
    expect(singularTableName('ed-encounters')).toBe('ed_encounter');
    expect(singularTableName('slide_images')).toBe('slide_image');
    expect(singularTableName('series')).toBe('series');
    expect(singularTableName('boxes')).toBe('box');
    expect(singularTableName('analyses')).toBe('analysis');
    expect(singularTableName('patch')).toBe('patch');
    expect(studyIdName({ name: 'xrays' })).toBe('xray_id');
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('dataset: demo-knee-xray\npartner: [unclosed\ntables: []\n');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it('refuses a key given twice, as YAML errors', () => {
    const problems = problemsOf('dataset: a-b\ndataset: c-d\npartner: P\ntables: []\n');
    expect(problems).toEqual([expect.objectContaining({ line: 2, path: '' })]);
  });

  it('reports every problem at once, each at its line', () => {
    const problems = problemsOf(`dataset: Not A Slug
partner: Example
colour: blue
tables:
  - name: xrays
    file: tables/xrays.csv
    patient: mrn
    study: accession
    dates: [exam_date, mrn]
    drop: [exam_date]
    flies: path
  - name: xrays
    file: ../outside.csv
    patient: mrn
    study_id: xray
  - name: reports
    file: tables/reports.csv
    patient: mrn
    references:
      - { column: acc, table: missing }
      - { column: pat, table: reports }
  - name: patients
    file: tables/patients.txt
`);
    const summary = problems.map((problem) => [problem.line, problem.path, problem.message]);
    expect(summary).toEqual([
      [1, 'dataset', expect.stringContaining('lower-case letters')],
      [3, 'colour', 'unknown key "colour"; the keys here: dataset, partner, tables'],
      [9, 'tables[0].dates[1]', expect.stringContaining('already the patient column')],
      [10, 'tables[0].drop[0]', expect.stringContaining('already the dates column')],
      [11, 'tables[0].flies', 'unknown key "flies" (did you mean "files"?)'],
      [12, 'tables[1].name', 'a second table named "xrays"'],
      [13, 'tables[1].file', expect.stringContaining('under tables/')],
      [15, 'tables[1].study_id', expect.stringContaining('ends in _id')],
      [20, 'tables[2].references[0].table', 'no table named "missing" in this manifest'],
      [21, 'tables[2].references[1].table', expect.stringContaining('has no study column')],
      [22, 'tables[3].patient', 'required'],
      [23, 'tables[3].file', expect.stringContaining('.csv or .parquet')],
    ]);
  });

  // A list written as one value said zod's "Invalid input: expected array, received string", and
  // an unknown key nothing of the keys meant: the partner had to find the contract to mend either.
  it('says how to write a list, and which key a misspelt one may be', () => {
    // One table in YAML's flow style, as some partners write it: every problem on its line.
    const table =
      '{ name: xrays, file: tables/xrays.csv, patients: mrn, dates: exam_date, references: [{ column: csn, tabel: visits }] }';
    const problems = problemsOf(`dataset: demo-x\npartner: P\ntables: [${table}]\n`);
    expect(problems.map((problem) => [problem.line, problem.path, problem.message])).toEqual([
      [3, 'tables[0].patient', 'required'],
      [3, 'tables[0].patients', 'unknown key "patients" (did you mean "patient"?)'],
      [3, 'tables[0].dates', 'a list of columns, such as [exam_date]'],
      [3, 'tables[0].references[0].table', 'required'],
      [3, 'tables[0].references[0].tabel', 'unknown key "tabel" (did you mean "table"?)'],
    ]);
  });

  it('names study_id without a study column, a column twice in one role, and a file shared', () => {
    const problems = problemsOf(`dataset: demo-x
partner: P
tables:
  - name: a
    file: tables/a.csv
    patient: mrn
    study_id: a_id
    dates: [d, d]
  - name: b
    file: tables/a.csv
    patient: mrn
`);
    expect(problems.map((problem) => [problem.line, problem.message])).toEqual([
      [7, 'study_id names the study column, and the table has no study column'],
      [8, 'the column "d" is named twice in dates'],
      [10, 'tables/a.csv is already the file of table "a"'],
    ]);
  });

  it('refuses a document that is not a map, and an empty one', () => {
    expect(problemsOf('- a\n- b\n')[0]?.message).toContain('expected object');
    expect(problemsOf('')[0]?.message).toContain('expected object');
  });

  it('refuses alias bombs without expanding them', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) {
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    }
    const problems = problemsOf(`${lines.join('\n')}\n`);
    expect(problems[0]?.message).toMatch(/alias/iu);
  });
});
