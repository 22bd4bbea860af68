import { phiFindingId, type PhiFinding } from '@lantern/deid';
import { describe, expect, it } from 'vitest';
import type { RecordedPhiDecision } from '../../db/schema.js';
import { carryDecisions, type HeldDecided } from './carry-decisions.js';

/** What the carry does not read of a finding. */
const scanned = {
  cells: 1,
  rows: [1],
  examples: [],
  confidence: 1,
  freeText: false,
  reason: 'planted',
};

function finding(table: string, column: string, kind: PhiFinding['kind']): PhiFinding {
  return { id: phiFindingId(table, column, kind), table, column, kind, ...scanned };
}

const by = 'user:curator';
const at = '2026-01-02T03:04:05.000Z';
const drop: RecordedPhiDecision = { action: 'drop', table: 'patients', column: 'phone', by, at };
const confirm: RecordedPhiDecision = {
  action: 'confirm',
  finding: 'patients.birth_date:birth-date',
  note: 'shifted, not a birth date',
  by,
  at,
};

function decided(
  path: string,
  quarantineKey: string | null,
  decision: HeldDecided['decision'],
): HeldDecided {
  return { path, quarantineKey, decision, note: 'seen', by, at: new Date(at) };
}

describe('carrying a review onto a new delivery', () => {
  it('keeps the PHI decisions whose findings are found again, and leaves new findings open', () => {
    const carry = carryDecisions(
      { phi: [drop, confirm], held: [] },
      {
        findings: [
          finding('patients', 'phone', 'phone'),
          finding('patients', 'birth_date', 'birth-date'),
          finding('xrays', 'notes', 'name'),
        ],
        held: [],
      },
    );
    expect(carry.phi).toEqual({ kept: [drop, confirm], dropped: [] });
    expect(carry.open).toEqual({ findings: 1, held: 0 });
  });

  it('drops a decision whose finding is gone, and does not stretch a confirmation to a new kind', () => {
    const carry = carryDecisions(
      { phi: [drop, confirm], held: [] },
      // The phone column is gone; birth_date now holds names, which nobody confirmed.
      { findings: [finding('patients', 'birth_date', 'name')], held: [] },
    );
    expect(carry.phi).toEqual({ kept: [], dropped: [drop, confirm] });
    expect(carry.open).toEqual({ findings: 1, held: 0 });
  });

  it('carries a held file decision to the same bytes, at the same path first, else at another', () => {
    const released = decided('xrays/a.dcm', 'sha256/aa', 'release');
    const excluded = decided('xrays/b.dcm', 'sha256/bb', 'exclude');
    const moved = decided('xrays/c.dcm', 'sha256/cc', 'exclude');
    const carry = carryDecisions(
      { phi: [], held: [released, excluded, moved] },
      {
        findings: [],
        held: [
          { path: 'xrays/a.dcm', quarantineKey: 'sha256/aa' },
          // Other bytes at a path decided before: a new file, open.
          { path: 'xrays/b.dcm', quarantineKey: 'sha256/b2' },
          { path: 'xrays/c2.dcm', quarantineKey: 'sha256/cc' },
        ],
      },
    );
    expect(carry.held.kept.map(({ file, decided: d }) => [file.path, d])).toEqual([
      ['xrays/a.dcm', released],
      ['xrays/c2.dcm', moved],
    ]);
    expect(carry.held.dropped).toEqual([excluded]);
    expect(carry.open).toEqual({ findings: 0, held: 1 });
  });

  it('carries the exclusion of a file no de-identifier reads to the same path, and nothing else', () => {
    const unreadable = decided('xrays/u.bin', null, 'exclude');
    const carry = carryDecisions(
      { phi: [], held: [unreadable] },
      {
        findings: [],
        held: [
          { path: 'xrays/v.bin', quarantineKey: null },
          { path: 'xrays/u.bin', quarantineKey: null },
        ],
      },
    );
    expect(carry.held.kept.map(({ file }) => file.path)).toEqual(['xrays/u.bin']);
    expect(carry.open.held).toBe(1);
  });
});
