import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseDeliveryManifest,
  type DeliveryManifest,
  type DeliveryTable,
} from '@lantern/core/ingest';
import { formatCsvRow, readCsv } from '@lantern/formats';
import { generateArrestEcgDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dateShiftDays } from './date-shift.js';
import { readDelivery } from './delivery/read-delivery.js';
import { openSourceTable, type SourceRow } from './delivery/table-source.js';
import { createPseudonymizer, isPseudonym, type Pseudonymizer } from './pseudonym.js';
import { deidentifyTable, TableShapeError, type DeidentifiedTable } from './tables.js';

const KEY = new Uint8Array(32).map((_, i) => (i * 37 + 5) & 255);
const OTHER_KEY = new Uint8Array(32).map((_, i) => (i * 59 + 11) & 255);

function manifestOf(text: string): DeliveryManifest {
  const parsed = parseDeliveryManifest(text);
  if (!parsed.ok) {
    throw new Error(JSON.stringify(parsed.problems));
  }
  return parsed.manifest;
}

async function csvSource(text: string) {
  async function* bytes(): AsyncGenerator<Uint8Array, void, undefined> {
    yield new TextEncoder().encode(text);
  }
  const table = await readCsv(bytes(), { name: 'test.csv' });
  async function* rows(): AsyncGenerator<SourceRow, void, undefined> {
    for await (const row of table) {
      yield { values: row.values, place: row.line, offset: row.offset };
    }
  }
  return { columns: table.columns, [Symbol.asyncIterator]: rows };
}

async function collect(table: DeidentifiedTable): Promise<(string | null)[][]> {
  const rows: (string | null)[][] = [];
  for await (const row of table.rows) {
    rows.push(row);
  }
  return rows;
}

const MANIFEST = manifestOf(`dataset: demo-ed-ecg
partner: Example Health System
tables:
  - name: encounters
    file: tables/encounters.csv
    patient: mrn
    study: csn
    study_id: ed_enc_id
  - name: ecgs
    file: tables/ecgs.csv
    patient: mrn
    study: accession
    references: [{ column: csn, table: encounters }]
    files: path
    dates: [acquired]
    drop: [physician]
`);
const ECGS = tableOf(MANIFEST, 'ecgs');

function tableOf(manifest: DeliveryManifest, name: string): DeliveryTable {
  const table = manifest.tables.find((candidate) => candidate.name === name);
  if (table === undefined) {
    throw new Error(`no table ${name}`);
  }
  return table;
}

describe('table de-identification', () => {
  it('replaces identifiers, shifts dates, renames files and keeps the rest (golden)', async () => {
    const pseudonymizer = createPseudonymizer(KEY, 'Example Health System');
    const source = await csvSource(
      [
        'physician,mrn,acquired,accession,csn,path,device',
        '"Kim, Wei MD",0001,2012-11-05 08:48:49,ACC1,E1,21/ACC1.npz,MAC2000',
        'Okafor,0001,11/06/2012,ACC2,,21/ACC2.XML,MAC5500',
        'Okafor,0002,,ACC3,E2,33/ACC3.npz,',
        '',
      ].join('\r\n'),
    );
    const table = deidentifyTable(source, { table: ECGS, manifest: MANIFEST, pseudonymizer });
    expect(table.columns).toEqual([
      'patient_ngsci_id',
      'ecg_id',
      'acquired',
      'ed_enc_id',
      'path',
      'device',
    ]);
    const rows = await collect(table);
    const p1 = pseudonymizer.patient('0001');
    const p2 = pseudonymizer.patient('0002');
    const [e1, e2, e3] = ['ACC1', 'ACC2', 'ACC3'].map((id) => pseudonymizer.study('ecg_id', id));
    const shift = dateShiftDays(pseudonymizer, '0001');
    const shifted = new Date(Date.UTC(2012, 10, 5 + shift)).toISOString().slice(0, 10);
    const shiftedUs = new Date(Date.UTC(2012, 10, 6 + shift)).toISOString().slice(0, 10).split('-');
    expect(rows).toEqual([
      [
        p1,
        e1,
        `${shifted} 08:48:49`,
        pseudonymizer.study('ed_enc_id', 'E1'),
        `ecgs/${e1?.slice(0, 2)}/${e1}_1.npz`,
        'MAC2000',
      ],
      [
        p1,
        e2,
        `${shiftedUs[1]}/${shiftedUs[2]}/${shiftedUs[0]}`,
        null,
        `ecgs/${e2?.slice(0, 2)}/${e2}_1.xml`,
        'MAC5500',
      ],
      [
        p2,
        e3,
        null,
        pseudonymizer.study('ed_enc_id', 'E2'),
        `ecgs/${e3?.slice(0, 2)}/${e3}_1.npz`,
        null,
      ],
    ]);
    expect(new Map(table.files)).toEqual(
      new Map([
        ['files/21/ACC1.npz', rows[0]?.[4]],
        ['files/21/ACC2.XML', rows[1]?.[4]],
        ['files/33/ACC3.npz', rows[2]?.[4]],
      ]),
    );
    expect(table.problems).toEqual([]);
  });

  it('publishes a cell it cannot transform as null and names its table, row and column', async () => {
    const pseudonymizer = createPseudonymizer(KEY, 'Example Health System');
    const source = await csvSource(
      [
        'mrn,accession,csn,path,acquired,physician',
        '0001,ACC1,,a/x.npz,yesterday,A',
        ',ACC2,,../../etc/passwd,2012-01-01,B',
        '0003,,,,2012-02-30,C',
        '',
      ].join('\n'),
    );
    const table = deidentifyTable(source, { table: ECGS, manifest: MANIFEST, pseudonymizer });
    const rows = await collect(table);
    expect(table.columns).toEqual(['patient_ngsci_id', 'ecg_id', 'ed_enc_id', 'path', 'acquired']);
    // Dates that do not parse, and a date of no known patient, are not published.
    expect(rows.map((row) => row[4])).toEqual([null, null, null]);
    expect(rows[1]?.[0]).toBeNull();
    expect(rows[1]?.[3]).toBeNull();
    expect(rows[0]?.[3]).toMatch(/^ecgs\/.+_1\.npz$/u);
    expect(
      table.problems.map(({ code, table: name, row, column }) => [code, name, row, column]),
    ).toEqual([
      ['unparseable_date', 'ecgs', 2, 'acquired'],
      ['empty_patient', 'ecgs', 3, 'mrn'],
      ['path_escapes', 'ecgs', 3, 'path'],
      ['empty_study', 'ecgs', 4, 'accession'],
      ['unparseable_date', 'ecgs', 4, 'acquired'],
    ]);
    expect(JSON.stringify(table.problems)).not.toMatch(/yesterday|2012-02-30|passwd/u);
  });

  it('refuses a header the manifest does not fit', async () => {
    const pseudonymizer = createPseudonymizer(KEY, 'Example Health System');
    const missing = await csvSource('mrn,accession,path,acquired\n1,2,3,4\n');
    expect(() =>
      deidentifyTable(missing, { table: ECGS, manifest: MANIFEST, pseudonymizer }),
    ).toThrow(TableShapeError);
    const colliding = await csvSource('mrn,accession,csn,path,acquired,physician,ecg_id\n');
    expect(() =>
      deidentifyTable(colliding, { table: ECGS, manifest: MANIFEST, pseudonymizer }),
    ).toThrow(/two columns named "ecg_id"/u);
  });
});

describe('the arrest ECG delivery, de-identified', () => {
  let root = '';
  let manifest: DeliveryManifest;
  const identifiers = new Set<string>();

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lantern-deid-'));
    await generateArrestEcgDelivery({ out: root, seed: 7 });
    const reading = await readDelivery(root);
    expect(reading.problems).toEqual([]);
    manifest = reading.manifest ?? MANIFEST;
    // Every source identifier and dropped value, read from the delivered tables themselves.
    for (const table of manifest.tables) {
      const source = await openSourceTable(join(root, table.file), table.file);
      const sensitive = [table.patient, table.study, ...(table.drop ?? [])].map((column) =>
        column === undefined ? -1 : source.columns.indexOf(column),
      );
      for await (const row of source) {
        for (const i of sensitive) {
          const value = row.values[i];
          if (value !== undefined && value !== null && value !== '') {
            identifiers.add(value);
          }
        }
      }
    }
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function transformAll(pseudonymizer: Pseudonymizer) {
    const out = new Map<string, { columns: readonly string[]; rows: (string | null)[][] }>();
    const files = new Map<string, string>();
    for (const table of manifest.tables) {
      const source = await openSourceTable(join(root, table.file), table.file);
      const result = deidentifyTable(source, { table, manifest, pseudonymizer });
      out.set(table.name, { columns: result.columns, rows: await collect(result) });
      expect(result.problems).toEqual([]);
      for (const [from, to] of result.files) {
        files.set(from, to);
      }
    }
    return { tables: out, files };
  }

  it('leaves no MRN, accession number, name, phone or physician anywhere in the tables', async () => {
    expect(identifiers.size).toBeGreaterThan(100);
    const { tables, files } = await transformAll(createPseudonymizer(KEY, manifest.partner));
    const text = [...tables.values()]
      .map(({ columns, rows }) => [columns, ...rows].map(formatCsvRow).join(''))
      .join('\n');
    const published = [...files.values()].join('\n');
    for (const identifier of identifiers) {
      expect(text.includes(identifier), identifier).toBe(false);
      expect(published.includes(identifier), identifier).toBe(false);
    }
    // Numbers without their leading zeros, and accession digits alone, are not there either.
    for (const identifier of identifiers) {
      const digits = identifier.replace(/\D/gu, '').replace(/^0+/u, '');
      if (digits.length >= 6) {
        expect(text.includes(digits), identifier).toBe(false);
      }
    }
  });

  it('names every delivered file once, and links patients across tables', async () => {
    const { tables, files } = await transformAll(createPseudonymizer(KEY, manifest.partner));
    const delivered = (await readDelivery(root)).files;
    expect([...files.keys()].sort()).toEqual(delivered);
    expect(new Set(files.values()).size).toBe(files.size);
    const patientsOf = (name: string) => new Set(tables.get(name)?.rows.map((row) => row[0]));
    const patients = patientsOf('patients');
    expect([...patients].every((id) => typeof id === 'string' && isPseudonym(id))).toBe(true);
    expect(patientsOf('outcomes')).toEqual(patients);
    expect([...patientsOf('ecgs')].every((id) => patients.has(id))).toBe(true);
    const ecgs = tables.get('ecgs');
    expect(ecgs?.columns.slice(0, 2)).toEqual(['patient_ngsci_id', 'ecg_id']);
    expect(ecgs?.columns).not.toContain('ordering_physician');
  });

  it('shifts every date of a patient by the same offset, in every table', async () => {
    const pseudonymizer = createPseudonymizer(KEY, manifest.partner);
    const { tables } = await transformAll(pseudonymizer);
    const offsets = new Map<string, Set<number>>();
    for (const table of manifest.tables) {
      const source = await openSourceTable(join(root, table.file), table.file);
      const published = tables.get(table.name);
      let i = 0;
      for await (const row of source) {
        const out = published?.rows[i++] ?? [];
        for (const column of table.dates ?? []) {
          const before = row.values[source.columns.indexOf(column)] ?? null;
          const after = out[published?.columns.indexOf(column) ?? -1] ?? null;
          if (before === null || after === null) {
            expect(after).toBe(before);
            continue;
          }
          const days =
            (Date.parse(after.slice(0, 10)) - Date.parse(before.slice(0, 10))) / 86_400_000;
          expect(after.slice(10)).toBe(before.slice(10));
          const patient = String(out[0]);
          offsets.set(patient, (offsets.get(patient) ?? new Set()).add(days));
        }
      }
    }
    expect(offsets.size).toBeGreaterThan(10);
    for (const days of offsets.values()) {
      expect(days.size).toBe(1);
      const [only = 0] = days;
      expect(Math.abs(only)).toBeGreaterThanOrEqual(30);
    }
  });

  it('gives the same tables twice, and unlinkable ones under another key', async () => {
    const first = await transformAll(createPseudonymizer(KEY, manifest.partner));
    const again = await transformAll(createPseudonymizer(KEY, manifest.partner));
    expect(again).toEqual(first);
    const other = await transformAll(createPseudonymizer(OTHER_KEY, manifest.partner));
    const ids = (result: typeof first) =>
      new Set(
        [...result.tables.values()].flatMap(({ columns, rows }) =>
          rows.flatMap((row) => row.filter((_, i) => columns[i]?.endsWith('_id'))),
        ),
      );
    const shared = [...ids(first)].filter((id) => ids(other).has(id));
    expect(shared).toEqual([]);
    expect(await readFile(join(root, 'delivery.yaml'), 'utf8')).toContain('Synthetic');
  });
});
