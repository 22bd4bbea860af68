import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectTable, readEcgNpz } from '@lantern/formats';
import { simulateEcg } from '../ecg/ecgsyn.js';
import { Random } from '../random.js';
import { columnsOf, digests, listFiles, rowsOf } from '../testing/delivery-files.js';
import {
  auc,
  detectRPeaks,
  mean,
  rrIntervals,
  standardDeviation,
  stDeviations,
} from '../testing/ecg-measures.js';
import {
  ED_ECG_HEART_RATE,
  maceTropPosOrDeath,
  makeEdCohort,
  reportTroponin,
  troponinAssayAt,
} from './cohort.js';
import { generateEdEcgDelivery } from './delivery.js';

let root: string;
let first: string;
let second: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lantern-synth-ed-'));
  first = join(root, 'first');
  second = join(root, 'second');
  await generateEdEcgDelivery({ out: first, scale: 1, seed: 21 });
  await generateEdEcgDelivery({ out: second, scale: 1, seed: 21, delivery: 2 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const table = (dir: string, name: string) => join(dir, 'tables', `${name}.csv`);

describe('the demo-ed-ecg delivery', () => {
  it('is written byte for byte the same from the same seed, and differently from another', async () => {
    const again = join(root, 'again');
    const other = join(root, 'other');
    const summary = await generateEdEcgDelivery({ out: again, scale: 1, seed: 21 });
    await generateEdEcgDelivery({ out: other, scale: 1, seed: 22 });
    expect(await digests(again)).toEqual(await digests(first));
    expect(await digests(other)).not.toEqual(await digests(first));
    expect(summary).toMatchObject({ dataset: 'demo-ed-ecg', delivery: 1, patients: 60 });
    expect(summary.studies).toBeGreaterThanOrEqual(60);
    expect(summary.images).toBeGreaterThanOrEqual(summary.studies);
    expect(summary.files).toBe(summary.images + 5);
  });

  it('has the manifest of issue 6, the encounters naming their id and the others referring to them', async () => {
    const manifest = await readFile(join(first, 'delivery.yaml'), 'utf8');
    expect(manifest).toContain('dataset: demo-ed-ecg\n');
    expect(manifest).toMatch(/^partner: .+$/mu);
    expect(manifest).toContain(
      [
        '  - name: ed_encounters',
        '    file: tables/ed_encounters.csv',
        '    patient: mrn',
        '    study: csn',
        '    study_id: ed_enc_id',
        '    dates: [arrival_datetime]',
      ].join('\n'),
    );
    expect(manifest).toContain(
      [
        '  - name: ecgs',
        '    file: tables/ecgs.csv',
        '    patient: mrn',
        '    study: accession',
        '    files: path',
        '    references: [{ column: csn, table: ed_encounters }]',
        '    dates: [acquired_datetime]',
      ].join('\n'),
    );
    expect(manifest).toContain('    drop: [patient_name, phone]\n');
    expect(manifest).toContain('    dates: [troponin_1_datetime, troponin_2_datetime]\n');
  });

  it('has tables that parse, with unique keys, and every visit, lab row and ECG joined to its patient', async () => {
    const inspect = (name: string, key: string) =>
      inspectTable(createReadStream(table(first, name)), { name, keyColumns: [key] });
    const patients = await inspect('patients', 'mrn');
    const encounters = await inspect('ed_encounters', 'csn');
    const labs = await inspect('labs', 'csn');
    const ecgs = await inspect('ecgs', 'accession');
    expect(patients.rowCount).toBe(60);
    expect(labs.rowCount).toBe(encounters.rowCount);
    for (const inspection of [patients, encounters, labs, ecgs]) {
      expect(inspection.keys).toMatchObject({ duplicates: 0, empty: 0 });
    }
    const typeOf = (inspection: typeof patients, name: string) =>
      inspection.columns.find((column) => column.name === name)?.type;
    expect(typeOf(patients, 'birth_date')).toBe('date');
    expect(typeOf(encounters, 'arrival_datetime')).toBe('datetime');
    expect(typeOf(encounters, 'age_at_admit')).toBe('integer');
    expect(typeOf(labs, 'troponin_1_value')).toBe('number');
    expect(labs.columns.find((column) => column.name === 'troponin_2_datetime')).toMatchObject({
      type: 'datetime',
      nullable: true,
    });

    const patientOf = new Map(
      (await rowsOf(table(first, 'ed_encounters'))).map((row) => [row['csn'], row['mrn']]),
    );
    const mrns = new Set((await rowsOf(table(first, 'patients'))).map((row) => row['mrn']));
    expect([...patientOf.values()].every((mrn) => mrns.has(mrn))).toBe(true);
    for (const row of await rowsOf(table(first, 'ecgs'))) {
      // An ECG's csn is a visit of the same patient.
      expect(patientOf.get(row['csn'])).toBe(row['mrn']);
    }
    for (const row of await rowsOf(table(first, 'labs'))) {
      expect(patientOf.get(row['csn'])).toBe(row['mrn']);
      // A result has its time, a second draw a first, and units only where something was drawn.
      expect(row['troponin_1_value'] === null).toBe(row['troponin_1_datetime'] === null);
      expect(row['troponin_2_value'] === null).toBe(row['troponin_2_datetime'] === null);
      expect(row['troponin_2_value'] === null || row['troponin_1_value'] !== null).toBe(true);
      expect(row['troponin_unit'] === null).toBe(row['troponin_1_value'] === null);
    }
    const units = new Set((await rowsOf(table(first, 'labs'))).map((row) => row['troponin_unit']));
    expect([...units].sort()).toEqual(['ng/L', 'ng/mL', null]);
  });

  it('has race, ethnicity and income indicators, one of each set, and triage notes naming people', async () => {
    const patients = await rowsOf(table(first, 'patients'));
    for (const row of patients) {
      const race = ['black', 'hispanic', 'white', 'other'].filter((c) => row[c] === '1');
      const income = Object.keys(row).filter((c) => c.startsWith('agi_') && row[c] === '1');
      expect(race).toHaveLength(1);
      expect(income).toHaveLength(1);
    }
    const notes = (await rowsOf(table(first, 'ed_encounters'))).map(
      (row) => row['chief_complaint'] ?? '',
    );
    expect(notes.some((note) => /\(\d{3}\) 555-01\d{2}/u.test(note))).toBe(true);
    expect(
      notes.some((note) => /Dr\. [A-Z]|[A-Z][a-z]+ [A-Z][a-z']+ (\(|at bedside)/u.test(note)),
    ).toBe(true);
  });

  it('has one .npz per ECG row, each reading back as 12 leads of int16 microvolts at 500 Hz', async () => {
    const rows = await rowsOf(table(first, 'ecgs'));
    expect(await listFiles(join(first, 'files'))).toEqual(rows.map((row) => row['path']).sort());
    for (const row of rows) {
      const path = row['path'] ?? '';
      expect(path).toMatch(/^\d{2}\/ED\d{9}\.npz$/u);
      const ecg = readEcgNpz(await readFile(join(first, 'files', path)), { name: path });
      expect(ecg.leads).toHaveLength(12);
      expect(ecg).toMatchObject({ samplingRate: 500, sampleCount: 5000, units: 'uV' });
      expect(ecg.samples.every((lead) => lead instanceof Int16Array)).toBe(true);
      const rate = 60 / mean(rrIntervals(detectRPeaks(ecg), ecg.samplingRate));
      expect(rate).toBeGreaterThan(ED_ECG_HEART_RATE.min * 0.9);
      expect(rate).toBeLessThan(ED_ECG_HEART_RATE.max * 1.1);
    }
  });

  it('carries a learnable outcome: the measured ST level and the troponin each beat chance, together better', () => {
    const { patients } = makeEdCohort({ seed: 5, patients: 120 });
    const st: number[] = [];
    const troponin: (number | null)[] = [];
    const labels: boolean[] = [];
    for (const encounter of patients.flatMap((patient) => patient.encounters)) {
      const record = encounter.ecgs[0];
      if (record === undefined) {
        continue;
      }
      const ecg = simulateEcg(record.params, new Random(record.waveformSeed));
      st.push(stDeviations(ecg, detectRPeaks(ecg)).reduce((sum, v) => sum + Math.abs(v), 0));
      // The peak result as reported, in ng/L whichever the assay.
      const reported = encounter.troponin.map((draw) => {
        const assay = troponinAssayAt(draw.at);
        return reportTroponin(draw.ngPerL, assay) * (assay === 'cTnT' ? 1000 : 1);
      });
      troponin.push(reported.length === 0 ? null : Math.max(...reported));
      labels.push(maceTropPosOrDeath(encounter));
    }
    const cases = labels.filter(Boolean).length;
    expect(cases).toBeGreaterThan(15);
    expect(cases).toBeLessThan(labels.length - 15);
    expect(auc(st, labels)).toBeGreaterThan(0.65);

    const drawn = troponin.flatMap((value, i) => (value === null ? [] : [i]));
    expect(drawn.length).toBeGreaterThan(40);
    const drawnAuc = auc(
      drawn.map((i) => troponin[i] ?? 0),
      drawn.map((i) => labels[i] ?? false),
    );
    expect(drawnAuc).toBeGreaterThan(0.85);

    // Both, standardised and summed (no troponin: the average).
    const z = (values: number[]) => {
      const m = mean(values);
      const sd = standardDeviation(values);
      return (value: number) => (value - m) / sd;
    };
    const zSt = z(st);
    const zTroponin = z(drawn.map((i) => Math.log(troponin[i] ?? 1)));
    const combined = st.map((value, i) => {
      const peak = troponin[i] ?? null;
      return zSt(value) + (peak === null ? 0 : zTroponin(Math.log(peak)));
    });
    expect(auc(combined, labels)).toBeGreaterThan(Math.max(0.8, auc(st, labels)));
  });

  it('has a second delivery that only corrects cells: the same files, rows and columns', async () => {
    const before = await digests(first);
    const after = await digests(second);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    const changed = Object.keys(after).filter((file) => after[file] !== before[file]);
    expect(changed.sort()).toEqual(['tables/ed_encounters.csv', 'tables/labs.csv']);

    const { corrections } = makeEdCohort({ seed: 21, scale: 1 });
    const differences: string[] = [];
    for (const name of ['ed_encounters', 'labs']) {
      expect(await columnsOf(table(second, name))).toEqual(await columnsOf(table(first, name)));
      const old = await rowsOf(table(first, name));
      const next = await rowsOf(table(second, name));
      expect(next).toHaveLength(old.length);
      next.forEach((row, i) => {
        for (const [column, value] of Object.entries(row)) {
          const was = old[i]?.[column] ?? null;
          if (was !== value) {
            differences.push(`${name} ${row['csn'] ?? ''} ${column} ${was ?? ''}`);
          }
        }
      });
    }
    expect(differences.sort()).toEqual(
      corrections.map((c) => `${c.table} ${c.csn} ${c.column} ${c.delivered}`).sort(),
    );
    expect(corrections.filter((c) => c.table === 'labs')).toHaveLength(3);
    expect(corrections.filter((c) => c.table === 'ed_encounters')).toHaveLength(1);
  });
});
