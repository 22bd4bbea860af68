import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateArrestEcgDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LISTED_PROBLEMS, readDelivery } from './read-delivery.js';

let scratch = '';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lantern-delivery-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Writes a delivery of `files` (path -> text) into a new folder and returns it. */
async function delivery(name: string, files: Record<string, string>): Promise<string> {
  const root = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  await mkdir(root, { recursive: true });
  return root;
}

/** A manifest of one table, `tables/<name>.csv` keyed by `mrn`, with more of its lines. */
function manifestOfOne(name: string, lines: string[]): string {
  return [
    'dataset: demo-x',
    'partner: Example',
    'tables:',
    `  - name: ${name}`,
    `    file: tables/${name}.csv`,
    '    patient: mrn',
    ...lines.map((line) => `    ${line}`),
    '',
  ].join('\n');
}

describe('readDelivery', () => {
  it('finds nothing wrong with the arrest ECG delivery and describes its tables', async () => {
    const root = join(scratch, 'arrest');
    const summary = await generateArrestEcgDelivery({ out: root, seed: 3 });
    const reading = await readDelivery(root);
    expect(reading.problems).toEqual([]);
    expect(reading.isValid).toBe(true);
    expect(reading.manifest?.dataset).toBe('demo-arrest-ecg');
    expect(reading.files).toHaveLength(summary.images);
    expect(reading.files.every((path) => /^files\/\d{2}\/ECG\d+\.(?:npz|xml)$/u.test(path))).toBe(
      true,
    );
    const patients = reading.tables.find((table) => table.name === 'patients');
    expect(patients?.inspection.rowCount).toBe(summary.patients);
    expect(patients?.inspection.columns.map((column) => column.name)).toContain('mrn');
  });

  it('reports a missing manifest, and a malformed one with its line', async () => {
    const none = await readDelivery(await delivery('none', { 'tables/a.csv': 'a\n1\n' }));
    expect(none.problems).toEqual([
      expect.objectContaining({ code: 'manifest_missing', file: 'delivery.yaml' }),
    ]);
    const malformed = await readDelivery(
      await delivery('malformed', {
        'delivery.yaml':
          'dataset: demo-x\npartner: P\ntables:\n  - name: a\n    file: tables/a.csv\n    patient: mrn\n    colour: red\n',
      }),
    );
    expect(malformed.problems).toEqual([
      {
        code: 'manifest_invalid',
        message:
          'unknown key "colour"; the keys here: name, file, patient, study, study_id, references, files, dates, drop',
        file: 'delivery.yaml',
        line: 7,
        column: 'tables[0].colour',
      },
    ]);
    expect(malformed.isValid).toBe(false);
  });

  it('reports every problem of tables and files at once, each where it is', async () => {
    const outside = join(scratch, 'outside.npz');
    await writeFile(outside, 'not part of the delivery');
    const root = await delivery('broken', {
      'delivery.yaml': `dataset: demo-x
partner: Example
tables:
  - name: patients
    file: tables/patients.csv
    patient: mrn
    dates: [birth_date]
    drop: [name]
  - name: ecgs
    file: tables/ecgs.csv
    patient: mrn
    study: accession
    files: path
    drop: [physician]
  - name: labs
    file: tables/labs.csv
    patient: mrn
  - name: notes
    file: tables/notes.csv
    patient: mrn
`,
      'tables/patients.csv':
        'mrn,name,birth_date,patient_ngsci_id\n001,A,1980-01-02,x\n,B,1981-02-03,y\n003,C,02/30/1982,z\n',
      'tables/ecgs.csv': [
        'mrn,accession,path',
        '001,E1,a/E1.npz',
        '001,E2,a/E2.npz',
        '003,E3,../../outside.npz',
        '003,E4,/etc/passwd',
        '003,E5,a/link.npz',
        '003,E6,',
        '',
      ].join('\n'),
      'tables/notes.csv': 'mrn,text\n001,"fine"\n002,"unterminated\n',
      'files/a/E1.npz': 'one',
      'files/b/forgotten.npz': 'nobody names me',
    });
    await symlink(outside, join(root, 'files/a/link.npz'));
    const reading = await readDelivery(root);
    expect(reading.isValid).toBe(false);
    expect(
      reading.problems.map(({ code, file, line, column }) => [code, file, line, column]),
    ).toEqual([
      ['column_collision', 'tables/patients.csv', null, 'patient_ngsci_id'],
      ['empty_patient', 'tables/patients.csv', 3, 'mrn'],
      ['bad_date', 'tables/patients.csv', 4, 'birth_date'],
      ['column_missing', 'tables/ecgs.csv', null, 'physician'],
      ['path_escapes', 'tables/ecgs.csv', 4, 'path'],
      ['path_escapes', 'tables/ecgs.csv', 5, 'path'],
      ['table_missing', 'tables/labs.csv', null, null],
      ['table_unreadable', 'tables/notes.csv', 3, null],
      ['file_missing', 'files/a/E2.npz', null, null],
      ['path_escapes', 'files/a/link.npz', null, null],
      ['file_unnamed', 'files/b/forgotten.npz', null, null],
    ]);
    // Messages name places, never values of the rows.
    expect(JSON.stringify(reading.problems)).not.toMatch(/02\/30\/1982|passwd|unterminated/u);
    expect(reading.tables.map((table) => table.name)).toEqual(['patients', 'ecgs']);
  });

  // A typo in a column name said only that the column was not there, and a date in another form
  // only that it was not one Lantern reads: the partner had to guess what to write instead.
  it('says which column a misspelt one may be, and the forms of date it reads', async () => {
    const root = await delivery('typos', {
      'delivery.yaml': manifestOfOne('xrays', [
        'dates: [exam_dat, Birth_Date]',
        'drop: [physician]',
      ]),
      'tables/xrays.csv':
        'mrn,exam_date,birth_date,referring_physician\n001,14/06/1942,1942-06-14,X\n',
    });
    const reading = await readDelivery(root);
    expect(
      reading.problems.map(({ code, line, column, message }) => [code, line, column, message]),
    ).toEqual([
      [
        'column_missing',
        null,
        'exam_dat',
        'delivery.yaml names the column "exam_dat", which this table does not have (did you mean "exam_date"?)',
      ],
      [
        'column_missing',
        null,
        'Birth_Date',
        'delivery.yaml names the column "Birth_Date", which this table does not have (did you mean "birth_date"?)',
      ],
      [
        'column_missing',
        null,
        'physician',
        'delivery.yaml names the column "physician", which this table does not have (its columns: mrn, exam_date, birth_date, referring_physician)',
      ],
    ]);
    const dates = await readDelivery(
      await delivery('dates', {
        'delivery.yaml': manifestOfOne('a', ['dates: [exam_date]']),
        'tables/a.csv': 'mrn,exam_date\n001,14/06/1942\n002,June 14 1942\n003,2019-02-30\n',
      }),
    );
    expect(dates.problems.map(({ line, message }) => [line, message])).toEqual([
      [2, 'not a date read month first (MM/DD/YYYY); write day-first dates as YYYY-MM-DD'],
      [3, 'not a date in a form Lantern reads (YYYY-MM-DD, ISO datetime, MM/DD/YYYY, YYYYMMDD)'],
      [4, 'not a date of the calendar'],
    ]);
  });

  it('lets a WFDB header’s signal files travel with it, and reports one missing or outside', async () => {
    const root = await delivery('wfdb', {
      'delivery.yaml':
        'dataset: demo-x\npartner: P\ntables:\n  - name: ecgs\n    file: tables/ecgs.csv\n    patient: mrn\n    files: path\n',
      'tables/ecgs.csv': 'mrn,path\n001,r/100.hea\n002,r/101.hea\n003,r/102.hea\n',
      'files/r/100.hea': '100 2 360 650000\n100.dat 212 200 11 1024\n100.dat 212 200 11 1024\n',
      'files/r/100.dat': 'samples',
      'files/r/101.hea': '101 1 360\n101a.dat 16 200 16 0\n',
      'files/r/102.hea': '102 1 360\n102.dat 16 200 16 0\n',
      'files/r/stray.dat': 'nobody names me',
    });
    await symlink(join(scratch, 'outside.dat'), join(root, 'files/r/102.dat'));
    await writeFile(join(scratch, 'outside.dat'), 'outside');
    const reading = await readDelivery(root);
    expect(reading.problems.map(({ code, file, message }) => [code, file, message])).toEqual([
      [
        'file_missing',
        'files/r/101a.dat',
        'a WFDB header names this signal file, and it is not there',
      ],
      ['path_escapes', 'files/r/102.dat', 'the file points outside the delivery'],
      [
        'file_unnamed',
        'files/r/stray.dat',
        'no row of any table names this file; name it in a files column or remove it',
      ],
    ]);
    // The files a table names are the headers; their signal files are ingest's to carry.
    expect(reading.files).toEqual(['files/r/100.hea', 'files/r/101.hea', 'files/r/102.hea']);
  });

  it('lists a kind of problem a bounded number of times, and counts the rest', async () => {
    const rows = Array.from({ length: LISTED_PROBLEMS + 20 }, () => ',x').join('\n');
    const reading = await readDelivery(
      await delivery('many', {
        'delivery.yaml':
          'dataset: demo-x\npartner: P\ntables:\n  - name: a\n    file: tables/a.csv\n    patient: mrn\n',
        'tables/a.csv': `mrn,v\n${rows}\n`,
      }),
    );
    expect(reading.problems).toHaveLength(LISTED_PROBLEMS + 1);
    expect(reading.problems.at(-1)?.code).toBe('more_problems');
    expect(reading.problems.at(-1)?.message).toContain('20 more');
  });

  it('refuses a table file that is a link out of the delivery', async () => {
    const outsideTable = join(scratch, 'outside.csv');
    await writeFile(outsideTable, 'mrn\n1\n');
    const root = await delivery('linked', {
      'delivery.yaml':
        'dataset: demo-x\npartner: P\ntables:\n  - name: a\n    file: tables/a.csv\n    patient: mrn\n',
    });
    await mkdir(join(root, 'tables'));
    await symlink(outsideTable, join(root, 'tables/a.csv'));
    const reading = await readDelivery(root);
    expect(reading.problems).toEqual([
      expect.objectContaining({ code: 'path_escapes', file: 'tables/a.csv' }),
    ]);
  });
});
