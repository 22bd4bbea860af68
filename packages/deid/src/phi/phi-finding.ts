/**
 * What the PHI scan reports and what a curator decides about it, as plain data the server stores
 * beside a draft version: findings per table column and kind of identifier, decisions that drop a
 * column or confirm a finding as not PHI (with a note), and `phiBlocks`, which says whether the
 * draft may be published — not while any finding is without a decision (issue 6, step 5).
 */

/** The kinds of identifier the scan looks for (HIPAA Safe Harbor's list, 45 CFR 164.514(b)(2)). */
export const PHI_KINDS = [
  /** A person's name: a patient's, a relative's, a clinician's. */
  'name',
  /** A medical record, accession, account or other hospital number. */
  'mrn',
  /** A telephone or fax number: NANP or international E.164. */
  'phone',
  'email',
  /** A street address, a PO box, a ZIP+4 or a state and ZIP code. */
  'address',
  /** A US Social Security number, ###-##-#### in a range the SSA assigns. */
  'ssn',
  /** An exact date of birth. */
  'birth-date',
  'url',
  /** An IPv4 or IPv6 address. */
  'ip',
] as const;

export type PhiKind = (typeof PHI_KINDS)[number];

/** One cell's identifier shown to a curator: the data row (from 1) and the value, masked. */
export interface PhiExample {
  row: number;
  /** The identifier alone (never the rest of the cell), masked as `maskValue` of formats does. */
  masked: string;
}

/** One kind of identifier found in one column of one table. */
export interface PhiFinding {
  /** `<table>.<column>:<kind>`: stable across scans of the same table, so decisions carry over. */
  id: string;
  table: string;
  column: string;
  kind: PhiKind;
  /** How many cells of the column hold at least one identifier of this kind. */
  cells: number;
  /** The data rows (from 1) of those cells, in order; the first `maxRows` of the scan only. */
  rows: number[];
  /** Up to three, masked. */
  examples: PhiExample[];
  /** How sure the scan is, from 0 to 1: the strongest evidence among the cells. */
  confidence: number;
  /** Is the column free text (sentences), rather than one value per cell? */
  freeText: boolean;
  /** Why the scan thinks so, in words a curator reads. */
  reason: string;
}

/**
 * A curator's decision: `drop` a column (every finding of it is resolved: the column will not be
 * published), or `confirm` one finding as not PHI, saying why in `note`.
 */
export type PhiDecision =
  | { action: 'drop'; table: string; column: string; note?: string }
  | { action: 'confirm'; finding: string; note: string };

/** Where publication stands after the decisions so far. */
export interface PhiReview {
  /** True while any finding has no decision. */
  blocked: boolean;
  /** The findings without a decision. */
  open: PhiFinding[];
  /** The findings resolved by dropping their column. */
  dropped: PhiFinding[];
  /** The findings a curator confirmed as not PHI. */
  confirmed: PhiFinding[];
  /**
   * Decisions that resolve nothing: a confirmation without a note, or a decision about a column
   * or finding this scan no longer reports (kept by the caller, but shown as such).
   */
  ignored: PhiDecision[];
}

/** The id of the finding of `kind` in `table`.`column`. */
export function phiFindingId(table: string, column: string, kind: PhiKind): string {
  return `${table}.${column}:${kind}`;
}

/** Which findings the decisions resolve, and whether publication is still blocked. */
export function phiBlocks(
  findings: readonly PhiFinding[],
  decisions: readonly PhiDecision[],
): PhiReview {
  const droppedColumns = new Set<string>();
  const confirmedIds = new Set<string>();
  const ignored: PhiDecision[] = [];
  const columns = new Set(findings.map((finding) => columnKey(finding.table, finding.column)));
  const ids = new Set(findings.map((finding) => finding.id));
  for (const decision of decisions) {
    switch (decision.action) {
      case 'drop': {
        const key = columnKey(decision.table, decision.column);
        if (columns.has(key)) {
          droppedColumns.add(key);
        } else {
          ignored.push(decision);
        }
        break;
      }
      case 'confirm':
        if (ids.has(decision.finding) && decision.note.trim().length > 0) {
          confirmedIds.add(decision.finding);
        } else {
          ignored.push(decision);
        }
        break;
      default:
        decision satisfies never;
    }
  }
  const review: PhiReview = { blocked: false, open: [], dropped: [], confirmed: [], ignored };
  for (const finding of findings) {
    if (droppedColumns.has(columnKey(finding.table, finding.column))) {
      review.dropped.push(finding);
    } else if (confirmedIds.has(finding.id)) {
      review.confirmed.push(finding);
    } else {
      review.open.push(finding);
    }
  }
  review.blocked = review.open.length > 0;
  return review;
}

function columnKey(table: string, column: string): string {
  return JSON.stringify([table, column]);
}
