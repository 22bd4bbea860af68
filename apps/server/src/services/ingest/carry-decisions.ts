/**
 * A new delivery into a dataset keeps the curator's review (issue 6): the decisions taken on the
 * review before it — the draft's last finished ingest, or the last published version's — are
 * mapped onto the new delivery's PHI findings and held files. A decision carries when what it
 * decided is found again; what is new stays open; a decision whose finding or file is gone is
 * reported dropped, never silently lost nor silently applied to something else.
 *
 * - A PHI decision carries by the rule publication itself applies (phiBlocks): a drop while its
 *   column (table, column) still has a finding, a confirmation while its finding (table, column,
 *   kind) is found again.
 * - A held file's decision carries to a file held again with the same de-identified bytes (their
 *   quarantine key is their SHA-256), at the same published path first, else at any: the same
 *   pixels were judged. A file no de-identifier reads keeps no bytes, and can only be excluded;
 *   its exclusion carries to a file held again at the same path with no bytes either (an
 *   exclusion publishes nothing, so carrying it can never leak).
 */
import { phiBlocks, type PhiFinding } from '@lantern/deid';
import type { HeldDecision, RecordedPhiDecision } from '../../db/schema.js';

/** A file a delivery holds back, as the carry knows it. */
export interface HeldCandidate {
  /** Its published path (pseudonymous). */
  path: string;
  /** Its de-identified bytes' key in the quarantine (content-addressed); null when none kept. */
  quarantineKey: string | null;
}

/** A decision recorded on a held file, with what identifies the file and who decided. */
export interface HeldDecided extends HeldCandidate {
  decision: HeldDecision;
  note: string | null;
  by: string | null;
  at: Date | null;
}

/** What the earlier review's decisions become on a new delivery. */
export interface DecisionCarry<THeld extends HeldCandidate> {
  phi: { kept: RecordedPhiDecision[]; dropped: RecordedPhiDecision[] };
  /** Each new held file a decision carries to, with that decision. */
  held: { kept: { file: THeld; decided: HeldDecided }[]; dropped: HeldDecided[] };
  /** What no decision covers: new findings and new held files, open. */
  open: { findings: number; held: number };
}

/** Maps the `previous` review's decisions onto the `current` delivery's findings and held files. */
export function carryDecisions<THeld extends HeldCandidate>(
  previous: { phi: readonly RecordedPhiDecision[]; held: readonly HeldDecided[] },
  current: { findings: readonly PhiFinding[]; held: readonly THeld[] },
): DecisionCarry<THeld> {
  const review = phiBlocks(current.findings, previous.phi);
  const ignored = new Set(review.ignored);
  const kept: { file: THeld; decided: HeldDecided }[] = [];
  const used = new Set<HeldDecided>();
  for (const file of current.held) {
    const decided = heldDecisionFor(file, previous.held);
    if (decided !== undefined) {
      kept.push({ file, decided });
      used.add(decided);
    }
  }
  return {
    phi: {
      kept: previous.phi.filter((decision) => !ignored.has(decision)),
      dropped: previous.phi.filter((decision) => ignored.has(decision)),
    },
    held: { kept, dropped: previous.held.filter((decided) => !used.has(decided)) },
    open: { findings: review.open.length, held: current.held.length - kept.length },
  };
}

/** The earlier decision on the same file, if any (see the module's comment). */
function heldDecisionFor(
  file: HeldCandidate,
  decisions: readonly HeldDecided[],
): HeldDecided | undefined {
  if (file.quarantineKey === null) {
    return decisions.find(
      (d) => d.quarantineKey === null && d.path === file.path && d.decision === 'exclude',
    );
  }
  const same = decisions.filter((d) => d.quarantineKey === file.quarantineKey);
  return same.find((d) => d.path === file.path) ?? same[0];
}
