import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '@lantern/formats';
import { generateArrestEcgDelivery } from '@lantern/synth';
import { afterAll, describe, expect, it } from 'vitest';
import { phiBlocks, type PhiFinding, type PhiKind } from './phi-finding.js';
import { PhiScanner, scanTableForPhi } from './phi-scanner.js';

/** Findings as `column:kind`, for assertions that read like the table. */
function summary(findings: readonly PhiFinding[]): string[] {
  return findings.map((finding) => `${finding.column}:${finding.kind}`);
}

const PSEUDONYMS = ['3f9c2a7be41d5c08a6e1', 'b7e0c5d2a9f14e3b8c6d', '0a1b2c3d4e5f60718293'];

describe('scanTableForPhi', () => {
  it('flags nothing in clean clinical columns: pseudonyms, measures, codes, doses, categories, shifted dates', async () => {
    const columns = [
      'patient_ngsci_id',
      'ecg_id',
      'age',
      'sex',
      'troponin_ng_l',
      'icd10',
      'medication',
      'ecg_date',
      'admit_datetime',
      'smoker',
      'group',
    ];
    const rows = Array.from({ length: 60 }, (_, index) => [
      PSEUDONYMS[index % 3] ?? null,
      `ecg-${PSEUDONYMS[(index + 1) % 3] ?? ''}-${index}`,
      String(40 + (index % 45)),
      index % 2 === 0 ? 'F' : 'M',
      // A 7-digit lab accession typed into a measure column is a number there, not a record.
      index === 7 ? '1234567' : (3 + index * 0.37).toFixed(2),
      ['I21.4', 'E11.9', 'I48.0', 'Z95.1'][index % 4] ?? null,
      ['metoprolol 25 mg', 'aspirin 81 mg', 'heparin 5000 units'][index % 3] ?? null,
      `2023-04-${String(1 + (index % 28)).padStart(2, '0')}`,
      `2023-03-${String(1 + (index % 28)).padStart(2, '0')} 08:15:00`,
      index % 3 === 0 ? 'true' : 'false',
      index % 5 === 0 ? 'study' : 'control',
    ]);
    expect(await scanTableForPhi({ table: 'ecgs', columns }, rows)).toEqual([]);
  });

  it('finds record numbers in id-like columns but not in pseudonym columns', async () => {
    const scanner = new PhiScanner({
      table: 'patients',
      columns: ['patient_ngsci_id', 'mrn', 'ecg_id', 'legacy_key', 'weight_kg'],
    });
    for (let index = 0; index < 20; index += 1) {
      scanner.addRow([
        PSEUDONYMS[index % 3] ?? null,
        String(48_291_300 + index * 7).padStart(9, '0'),
        String(71_000_000 + index * 13),
        String(5_550_000 + index * 101),
        (70 + index / 3).toFixed(1),
      ]);
    }
    const findings = scanner.finish();
    expect(summary(findings)).toEqual(['mrn:mrn', 'ecg_id:mrn', 'legacy_key:mrn']);
    const mrn = findings[0];
    expect(mrn?.cells).toBe(20);
    expect(mrn?.rows.slice(0, 3)).toEqual([1, 2, 3]);
    // Masked: the first character and stars, never the number.
    expect(mrn?.examples).toEqual([
      { row: 1, masked: '0********' },
      { row: 2, masked: '0********' },
      { row: 3, masked: '0********' },
    ]);
    expect(mrn?.id).toBe('patients.mrn:mrn');
  });

  it('takes a lone number of 7-10 digits among text for a record number, but not in a column of measures', async () => {
    const rows = Array.from({ length: 20 }, (_, index) => [
      index === 4 ? '48291337' : (['none', 'see note', 'repeat ECG'][index % 3] ?? null),
      String(150_000 + index * 9_871),
    ]);
    const findings = await scanTableForPhi(
      { table: 't', columns: ['comment', 'platelets_per_ul'] },
      rows,
    );
    expect(findings.map(({ column, kind, rows: at }) => [column, kind, at])).toEqual([
      ['comment', 'mrn', [5]],
    ]);
  });

  it('treats a column the caller declares a pseudonym as one whatever its shape', async () => {
    const rows = Array.from({ length: 10 }, (_, index) => [String(10_000_000 + index)]);
    const options = { table: 't', columns: ['study_key'] };
    expect(summary(await scanTableForPhi(options, rows))).toEqual(['study_key:mrn']);
    const declared = { ...options, pseudonymColumns: ['study_key'] };
    expect(await scanTableForPhi(declared, rows)).toEqual([]);
  });

  it('finds birth dates by the column name or by dates decades before the others of the row', async () => {
    const columns = ['dob', 'ref_date', 'ecg_date', 'visit_date'];
    const rows = Array.from({ length: 30 }, (_, index) => {
      const day = String(1 + (index % 28)).padStart(2, '0');
      return [
        `03/${day}/19${50 + (index % 40)}`,
        `19${40 + (index % 40)}-06-${day}`,
        `2023-04-${day}`,
        `2023-05-${day}`,
      ];
    });
    const findings = await scanTableForPhi({ table: 't', columns }, rows);
    expect(summary(findings)).toEqual(['dob:birth-date', 'ref_date:birth-date']);
    expect(findings[0]?.confidence).toBe(0.95);
    expect(findings[1]?.reason).toMatch(/15 years or more before/u);
    expect(findings[1]?.cells).toBe(30);
  });

  it('finds names in columns of people, telephone digits in telephone columns, SSNs in SSN columns', async () => {
    const columns = ['PatientLastName', 'surname_guess', 'attending', 'home_phone', 'ssn', 'race'];
    const families = ['Okafor', 'Nakamura', 'Haddad', 'Kowalski', 'Mensah', 'Gupta', 'Silva'];
    const rows = Array.from({ length: 40 }, (_, index) => [
      families[index % 7] ?? null,
      (families[(index + 3) % 7] ?? '').toUpperCase(),
      index % 2 === 0 ? 'Lee' : 'Park',
      `617555${String(1000 + index)}`,
      `2${String(10 + (index % 80))}45${String(1000 + index)}`,
      ['White', 'Black', 'Asian', 'Other'][index % 4] ?? null,
    ]);
    const findings = await scanTableForPhi({ table: 't', columns }, rows);
    expect(summary(findings)).toEqual([
      'PatientLastName:name',
      'surname_guess:name',
      'attending:name',
      'home_phone:phone',
      'ssn:ssn',
    ]);
    expect(findings.every((finding) => finding.cells === 40)).toBe(true);
  });

  it('reports free-text identifiers with masked examples of the identifier alone', async () => {
    const rows = [
      ['Seen by Dr. Okafor; daughter reachable at (617) 555-0142.'],
      ['No change.'],
      ['Lives at 1200 Commonwealth Ave with his wife, email j.roe@example.org'],
    ];
    const findings = await scanTableForPhi({ table: 'notes', columns: ['note'] }, rows);
    expect(
      findings.map(({ kind, rows: at, examples, freeText }) => ({ kind, at, examples, freeText })),
    ).toEqual([
      { kind: 'name', at: [1], examples: [{ row: 1, masked: 'O*****' }], freeText: true },
      { kind: 'phone', at: [1], examples: [{ row: 1, masked: '(***********' }], freeText: true },
      { kind: 'email', at: [3], examples: [{ row: 3, masked: 'j***********' }], freeText: true },
      { kind: 'address', at: [3], examples: [{ row: 3, masked: '1***********' }], freeText: true },
    ]);
  });
});

describe('phiBlocks', () => {
  const findings: PhiFinding[] = [
    finding('patients', 'patient_name', 'name'),
    finding('patients', 'phone', 'phone'),
    finding('ecgs', 'note', 'name'),
    finding('ecgs', 'note', 'mrn'),
  ];

  it('blocks publication until every finding is dropped with its column or confirmed with a note', () => {
    expect(phiBlocks(findings, []).blocked).toBe(true);
    const review = phiBlocks(findings, [
      { action: 'drop', table: 'patients', column: 'patient_name' },
      { action: 'drop', table: 'patients', column: 'phone' },
      { action: 'confirm', finding: 'ecgs.note:name', note: 'eponyms: "Brugada", "Wolff"' },
    ]);
    expect(review.blocked).toBe(true);
    expect(review.open.map((open) => open.id)).toEqual(['ecgs.note:mrn']);
    expect(review.dropped.map((dropped) => dropped.id)).toEqual([
      'patients.patient_name:name',
      'patients.phone:phone',
    ]);
    const done = phiBlocks(findings, [
      { action: 'drop', table: 'patients', column: 'patient_name' },
      { action: 'drop', table: 'patients', column: 'phone' },
      { action: 'drop', table: 'ecgs', column: 'note' },
    ]);
    expect(done.blocked).toBe(false);
    expect(done.open).toEqual([]);
  });

  it('ignores a confirmation without a note and decisions about what the scan no longer finds', () => {
    const blank = { action: 'confirm', finding: 'patients.phone:phone', note: '  ' } as const;
    const stale = { action: 'drop', table: 'ecgs', column: 'gone' } as const;
    const review = phiBlocks(findings, [blank, stale]);
    expect(review.ignored).toEqual([blank, stale]);
    expect(review.open).toHaveLength(4);
  });
});

function finding(table: string, column: string, kind: PhiKind): PhiFinding {
  return {
    id: `${table}.${column}:${kind}`,
    table,
    column,
    kind,
    cells: 1,
    rows: [1],
    examples: [],
    confidence: 0.9,
    freeText: false,
    reason: 'test',
  };
}

describe('the arrest-ecg delivery, before ingest', () => {
  const out = mkdtemp(join(tmpdir(), 'lantern-phi-'));
  afterAll(async () => rm(await out, { recursive: true, force: true }));

  async function scanDeliveryTable(name: string): Promise<PhiFinding[]> {
    const table = await readCsv(createReadStream(join(await out, 'tables', `${name}.csv`)), {
      name: `${name}.csv`,
    });
    return scanTableForPhi({ table: name, columns: table.columns }, table);
  }

  it('finds the MRNs, names, birth dates, telephones, accessions and physicians', async () => {
    await generateArrestEcgDelivery({ out: await out, scale: 0.5, seed: 5 });
    const patients = await scanDeliveryTable('patients');
    expect(summary(patients)).toEqual([
      'mrn:mrn',
      'patient_name:name',
      'birth_date:birth-date',
      'phone:phone',
    ]);
    const ecgs = await scanDeliveryTable('ecgs');
    // The file path holds the accession number too, until ingest renames the files.
    expect(summary(ecgs)).toEqual([
      'mrn:mrn',
      'accession:mrn',
      'path:mrn',
      'ordering_physician:name',
    ]);
    expect(summary(await scanDeliveryTable('outcomes'))).toEqual(['mrn:mrn']);
    for (const finding of [...patients, ...ecgs]) {
      // Every identifying cell, not some: the tables carry one on every row.
      const rows = finding.table === 'patients' ? 20 : ecgs[0]?.cells;
      expect(finding.cells).toBe(rows);
    }
  });
});
