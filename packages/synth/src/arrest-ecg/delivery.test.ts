import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectTable, readEcgNpz, readMuseXml, type Ecg } from '@lantern/formats';
import { simulateEcg } from '../ecg/ecgsyn.js';
import { Random } from '../random.js';
import { digests, listFiles, rowsOf } from '../testing/delivery-files.js';
import {
  auc,
  detectRPeaks,
  mean,
  rrIntervals,
  standardDeviation,
} from '../testing/ecg-measures.js';
import { ARREST_ECG_HEART_RATE, makeArrestCohort } from './cohort.js';
import { generateArrestEcgDelivery } from './delivery.js';

let root: string;
let first: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lantern-synth-'));
  first = join(root, 'first');
  await generateArrestEcgDelivery({ out: first, scale: 1, seed: 11 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the demo-arrest-ecg delivery', () => {
  it('is written byte for byte the same from the same seed, and differently from another', async () => {
    const again = join(root, 'again');
    const other = join(root, 'other');
    const summary = await generateArrestEcgDelivery({ out: again, scale: 1, seed: 11 });
    await generateArrestEcgDelivery({ out: other, scale: 1, seed: 12 });
    expect(await digests(again)).toEqual(await digests(first));
    expect(await digests(other)).not.toEqual(await digests(first));
    expect(summary).toMatchObject({ dataset: 'demo-arrest-ecg', patients: 40 });
    expect(summary.images).toBeGreaterThanOrEqual(40);
    expect(summary.files).toBe(summary.images + 4);
  });

  it('has the manifest of issue 6 naming the patient, study, files and date columns', async () => {
    const manifest = await readFile(join(first, 'delivery.yaml'), 'utf8');
    expect(manifest).toContain('dataset: demo-arrest-ecg\n');
    expect(manifest).toMatch(/^partner: .+$/mu);
    expect(manifest).toContain(
      [
        '  - name: ecgs',
        '    file: tables/ecgs.csv',
        '    patient: mrn',
        '    study: accession',
        '    files: path',
        '    dates: [acquired_datetime]',
        '    drop: [ordering_physician]',
      ].join('\n'),
    );
    for (const table of ['patients', 'ecgs', 'outcomes']) {
      expect(manifest).toContain(`file: tables/${table}.csv`);
    }
  });

  it('has tables that parse, with unique keys that join, identifiers and dates included', async () => {
    const tables = join(first, 'tables');
    const patients = await inspectTable(createReadStream(join(tables, 'patients.csv')), {
      name: 'patients.csv',
      keyColumns: ['mrn'],
    });
    const ecgs = await inspectTable(createReadStream(join(tables, 'ecgs.csv')), {
      name: 'ecgs.csv',
      keyColumns: ['accession'],
    });
    const outcomes = await inspectTable(createReadStream(join(tables, 'outcomes.csv')), {
      name: 'outcomes.csv',
      keyColumns: ['mrn'],
    });
    expect(patients.rowCount).toBe(40);
    expect(outcomes.rowCount).toBe(40);
    for (const table of [patients, ecgs, outcomes]) {
      expect(table.keys).toMatchObject({ duplicates: 0, empty: 0 });
    }
    const typeOf = (table: typeof patients, name: string) =>
      table.columns.find((column) => column.name === name)?.type;
    expect(typeOf(patients, 'mrn')).toBe('string');
    expect(typeOf(patients, 'birth_date')).toBe('date');
    expect(typeOf(ecgs, 'acquired_datetime')).toBe('datetime');
    expect(typeOf(outcomes, 'cardiac_arrest')).toBe('boolean');
    expect(outcomes.columns.find((column) => column.name === 'arrest_datetime')).toMatchObject({
      type: 'datetime',
      nullable: true,
    });

    const patientRows = await rowsOf(join(tables, 'patients.csv'));
    expect(patientRows.every((row) => /^\d{8}$/u.test(row['mrn'] ?? ''))).toBe(true);
    expect(patientRows.every((row) => /^[^,]+, .+$/u.test(row['patient_name'] ?? ''))).toBe(true);
    for (const row of await rowsOf(join(tables, 'ecgs.csv'))) {
      expect(patients.keys?.values.has([row['mrn'] ?? ''])).toBe(true);
    }
    for (const row of await rowsOf(join(tables, 'outcomes.csv'))) {
      expect(patients.keys?.values.has([row['mrn'] ?? ''])).toBe(true);
      expect(row['arrest_datetime'] === null).toBe(row['cardiac_arrest'] === 'false');
    }
  });

  it('has one native file per ECG row, each reading back as 12 leads at 500 Hz', async () => {
    const rows = await rowsOf(join(first, 'tables', 'ecgs.csv'));
    const files = await listFiles(join(first, 'files'));
    expect(files).toEqual(rows.map((row) => row['path'] ?? '').sort());
    const formats = new Set<string>();
    for (const row of rows) {
      const path = row['path'] ?? '';
      expect(path).toMatch(/^(\w{2})\/ECG\d+\.(npz|xml)$/u);
      expect(path.slice(0, 2)).toBe((row['accession'] ?? '').slice(-2));
      const bytes = await readFile(join(first, 'files', path));
      let ecg: Ecg;
      if (row['file_format'] === 'npz') {
        ecg = readEcgNpz(bytes, { name: path });
        expect(ecg.samples.every((lead) => lead instanceof Int16Array)).toBe(true);
      } else {
        const muse = readMuseXml(bytes, { name: path });
        ecg = muse.ecg;
        // MUSE XML carries the patient: de-identification will have work to do.
        expect(muse.identifying.map((field) => field.field)).toEqual(
          expect.arrayContaining([
            'PatientDemographics/PatientID',
            'PatientDemographics/PatientLastName',
            'PatientDemographics/DateofBirth',
            'TestDemographics/AcquisitionDate',
          ]),
        );
      }
      formats.add(row['file_format'] ?? '');
      expect(ecg.leads).toHaveLength(12);
      expect(ecg).toMatchObject({ samplingRate: 500, sampleCount: 5000, units: 'uV' });
      const rate = 60 / mean(rrIntervals(detectRPeaks(ecg), ecg.samplingRate));
      expect(rate).toBeGreaterThan(ARREST_ECG_HEART_RATE.min * 0.9);
      expect(rate).toBeLessThan(ARREST_ECG_HEART_RATE.max * 1.1);
    }
    expect([...formats].sort()).toEqual(['muse-xml', 'npz']);
  });

  it('carries a learnable outcome: a threshold on the measured heart-rate variability beats chance', () => {
    const cohort = makeArrestCohort({ seed: 5, patients: 160 });
    const lowVariability: number[] = [];
    const labels: boolean[] = [];
    for (const patient of cohort) {
      const record = patient.ecgs[patient.ecgs.length - 1];
      if (record === undefined) {
        continue;
      }
      const ecg = simulateEcg(record.params, new Random(record.waveformSeed));
      lowVariability.push(-standardDeviation(rrIntervals(detectRPeaks(ecg), ecg.samplingRate)));
      labels.push(patient.cardiacArrest);
    }
    const cases = labels.filter(Boolean).length;
    expect(cases).toBeGreaterThan(20);
    expect(cases).toBeLessThan(cohort.length - 20);
    expect(auc(lowVariability, labels)).toBeGreaterThan(0.6);
  });

  it('has a second delivery that repeats the first byte for byte and adds patients with their ECGs', async () => {
    const second = join(root, 'second');
    const summary = await generateArrestEcgDelivery({
      out: second,
      scale: 1,
      seed: 11,
      delivery: 2,
    });
    expect(summary).toMatchObject({ dataset: 'demo-arrest-ecg', delivery: 2, patients: 50 });
    const before = await digests(first);
    const after = await digests(second);
    const tables = ['tables/ecgs.csv', 'tables/outcomes.csv', 'tables/patients.csv'];
    for (const [file, digest] of Object.entries(before)) {
      if (!tables.includes(file)) {
        expect(after[file], file).toBe(digest);
      }
    }
    const added = Object.keys(after).filter((file) => !(file in before));
    expect(added.length).toBeGreaterThanOrEqual(10);
    expect(added.every((file) => file.startsWith('files/'))).toBe(true);
    for (const table of tables) {
      const old = await readFile(join(first, table), 'utf8');
      const next = await readFile(join(second, table), 'utf8');
      // Every row of delivery 1, in order, then the new ones: more rows, the same columns.
      expect(next.startsWith(old), table).toBe(true);
      expect(next.length).toBeGreaterThan(old.length);
    }
    expect((await rowsOf(join(second, 'tables', 'patients.csv'))).length).toBe(50);
  });
});
