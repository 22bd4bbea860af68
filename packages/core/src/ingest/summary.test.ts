import { describe, expect, it } from 'vitest';
import {
  describeIngestSummary,
  formatBytes,
  nextIngestStep,
  type IngestSummary,
} from './summary.js';

const summary: IngestSummary = {
  ingest: 'ing_0123456789abcdef0123',
  dataset: 'demo-knee-xray',
  delivery: '/deliveries/knee-1',
  counts: { tables: 2, rows: 30, files: 3, stored: 1, deduplicated: 1, held: 1, bytes: 1_234_567 },
  tables: [
    {
      name: 'patients',
      file: 'tables/patients.csv',
      rows: 10,
      columns: ['patient_ngsci_id', 'sex'],
      primaryKey: ['patient_ngsci_id'],
    },
    {
      name: 'xrays',
      file: 'tables/xrays.csv',
      rows: 20,
      columns: ['patient_ngsci_id', 'xray_id', 'path'],
      primaryKey: ['xray_id'],
    },
  ],
  held: [{ path: 'files/a1b2.dcm', reason: 'burned-in annotation' }],
  cellProblems: [],
  phi: {
    findings: [
      {
        id: 'patients.birth_date:birth-date',
        table: 'patients',
        column: 'birth_date',
        kind: 'birth-date',
        cells: 10,
        rows: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        examples: [
          { row: 1, masked: '19**-**-**' },
          { row: 2, masked: '19**-**-**' },
        ],
        confidence: 0.9,
        freeText: false,
        reason: 'exact dates of birth',
      },
    ],
    blocked: true,
  },
  decisions: { from: null, kept: { phi: 0, held: 0 }, dropped: [], open: { findings: 1, held: 1 } },
  publication: {
    version: '1.0',
    level: 'major',
    publishable: false,
    problems: [
      {
        source: 'phi',
        severity: 'blocking',
        code: 'phi-birth-date',
        table: 'patients',
        column: 'birth_date',
        message: '10 cells look like birth-date',
      },
      {
        source: 'phi',
        severity: 'warning',
        code: 'files-held',
        table: '',
        message: '1 file is held back',
      },
    ],
  },
  next: '',
};

summary.next = nextIngestStep('demo-knee-xray', true, summary.publication.problems);

describe('ingest summary', () => {
  it('says bytes as people read them', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_234)).toBe('1.2 kB');
    expect(formatBytes(45_600_000)).toBe('46 MB');
    expect(formatBytes(2_500_000_000)).toBe('2.5 GB');
  });

  it('describes the draft: tables, files, PHI, what blocks publication, and what to do next', () => {
    expect(describeIngestSummary(summary)).toEqual([
      'Ingested /deliveries/knee-1 into the draft of demo-knee-xray (ingest ing_0123456789abcdef0123).',
      '',
      'Tables: 2, 30 rows',
      '  patients  10 rows  2 columns: patient_ngsci_id, sex',
      '  xrays     20 rows  3 columns: patient_ngsci_id, xray_id, path',
      '',
      'Files: 3 delivered: 1 stored, 1 deduplicated (already in the store), 1 held back; 1.2 MB',
      '  held  files/a1b2.dcm: burned-in annotation',
      '',
      'PHI findings: 1; publication waits for a decision on each',
      '  patients.birth_date  birth-date  10 cells  e.g. 19**-**-**, 19**-**-**  (exact dates of birth)',
      '',
      'Publication: blocked by 1 problem (it would be version 1.0), 1 warning',
      '  BLOCKING phi patients.birth_date: 10 cells look like birth-date',
      '',
      'Next: decide each PHI finding: lantern phi decide demo-knee-xray --drop TABLE.COLUMN, or --confirm FINDING --note WHY it is not PHI (lantern phi list demo-knee-xray names each); then lantern publish demo-knee-xray',
    ]);
  });

  it('says a publishable draft is ready, and cuts long lists', () => {
    const held = Array.from({ length: 25 }, (_, i) => ({ path: `files/${i}.dcm`, reason: 'r' }));
    const lines = describeIngestSummary({
      ...summary,
      held,
      cellProblems: [{ code: 'unparseable_date' }],
      phi: { findings: [], blocked: false },
      publication: { version: '1.1', level: 'minor', publishable: true, problems: [] },
      next: nextIngestStep('demo-knee-xray', false, []),
    });
    expect(lines.filter((l) => l.startsWith('  held  '))).toHaveLength(20);
    expect(lines).toContain('  … and 5 more held back (--json lists them)');
    expect(lines).toContain(
      'Cells that could not be de-identified, published empty: 1 (--json locates them)',
    );
    expect(lines).toContain('PHI scan: nothing found');
    expect(lines).toContain('Publication: ready as version 1.1 (minor), 0 warnings');
    expect(lines.at(-1)).toBe('Next: lantern publish demo-knee-xray');
  });

  // A delivery ingested again into a reviewed draft reopened every finding and held file, and
  // said nothing of the curator's decisions it had thrown away.
  it('says which earlier decisions were kept, which dropped, and what is new', () => {
    const lines = describeIngestSummary({
      ...summary,
      phi: { ...summary.phi, blocked: false },
      decisions: {
        from: 'ing_aaaaaaaaaaaaaaaaaaaa',
        kept: { phi: 1, held: 1 },
        dropped: [{ action: 'confirm', target: 'xrays.notes:name' }],
        open: { findings: 0, held: 0 },
      },
    });
    expect(lines).toContain(
      'PHI findings: 1; each decided (decisions kept from the review before)',
    );
    expect(lines).toContain(
      'Decisions of the review before (ingest ing_aaaaaaaaaaaaaaaaaaaa): 2 kept (1 on PHI findings, 1 on held files), 1 dropped; new and open: 0 PHI findings, 0 held files',
    );
    expect(lines).toContain(
      '  dropped  confirm xrays.notes:name: what it decided is no longer in this delivery',
    );
    const nothingDecided = {
      ...summary,
      decisions: { ...summary.decisions, from: 'ing_aaaaaaaaaaaaaaaaaaaa' },
    };
    for (const quiet of [summary, nothingDecided]) {
      expect(describeIngestSummary(quiet).some((l) => l.startsWith('Decisions of'))).toBe(false);
    }
  });

  // A problem of the whole draft printed an empty place: "BLOCKING phi : the last ingest …".
  it('names no place for a problem of the whole draft', () => {
    const lines = describeIngestSummary({
      ...summary,
      publication: {
        ...summary.publication,
        problems: [
          {
            source: 'phi',
            severity: 'blocking',
            code: 'held-files-unreviewable',
            table: '',
            message: 'review them',
          },
        ],
      },
    });
    expect(lines).toContain('  BLOCKING phi: review them');
  });

  // It named API routes (POST /api/v1/datasets/x/draft/phi/decisions) to a curator on a terminal,
  // where lantern phi decide does the same; and "on the draft" said nowhere to go.
  it('says what to do next, in order, with the commands and the page that do it', () => {
    const dictionary = { source: 'dictionary' as const, severity: 'blocking' as const };
    const warning = { source: 'naming' as const, severity: 'warning' as const };
    expect(nextIngestStep('x', false, [warning])).toBe('lantern publish x');
    expect(nextIngestStep('x', false, [dictionary, warning])).toBe(
      'fix the blocking problems above on the draft page, /datasets/x/draft (lantern publish x lists what is left); then lantern publish x',
    );
    const held = {
      source: 'phi' as const,
      severity: 'blocking' as const,
      code: 'held-file-undecided',
    };
    expect(nextIngestStep('x', false, [held, dictionary])).toBe(
      'review each file held back on the draft page (/datasets/x/draft previews it), then lantern phi decide x --release FILE --note WHY it identifies no one, or --exclude FILE (lantern phi list x names each); then fix the other blocking problems above on the draft page, /datasets/x/draft (lantern publish x lists what is left); then lantern publish x',
    );
    expect(nextIngestStep('x', true, [dictionary])).toBe(
      'decide each PHI finding: lantern phi decide x --drop TABLE.COLUMN, or --confirm FINDING --note WHY it is not PHI (lantern phi list x names each); then fix the other blocking problems above on the draft page, /datasets/x/draft (lantern publish x lists what is left); then lantern publish x',
    );
  });
});
