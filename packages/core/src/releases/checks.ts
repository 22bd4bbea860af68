import { contentKind, delimiterOf, readDelimited, textOf } from './content.js';
import type { DisclosureThresholds, ReleaseCheck } from './release.js';

/**
 * The automated disclosure checks of a file in a release request, computed once when the request
 * is made and shown to the reviewer beside the file. They point at what a reviewer should look at
 * (statistical disclosure control's usual suspects: identifiers, row-level data, small cells) and
 * never decide alone. Pure: the bytes, and what the server knows of the project's datasets.
 */

/** What the checks know beyond the file. */
export interface DisclosureContext extends DisclosureThresholds {
  /** Is `token` a pseudonymous id of a dataset version attached to the project? */
  isIdentifier(token: string): boolean;
  /** Id columns of those versions (`patient_ngsci_id`, `ecg_id`, …), lower case. */
  idColumns: ReadonlySet<string>;
  /** How an offending value is shown (masked: never the value itself). */
  mask(value: string): string;
}

/** The column every dataset names its people by (DESIGN.md, "Names"). */
export const PATIENT_ID_COLUMN = 'patient_ngsci_id';

/** How many offending values or rows a message names. */
const EXAMPLES = 3;

/**
 * Count-like column names: `n`, `count`, `num_*`, `n_*`, `*_count`, `*_n`, and nouns counting people
 * or events (`patients`, `cases`, `deaths`, …).
 */
const COUNT_COLUMN =
  /^(n|count|counts|freq|frequency|num_.+|n_.+|.+_count|.+_counts|.+_n|patients|subjects|persons|people|cases|deaths|events|admissions|records)$/u;

/** Tokens that may be ids: runs of letters, digits and underscores. */
const TOKEN = /[\p{L}\p{N}_]+/gu;

const numberFormat = new Intl.NumberFormat('en-US');
const count = (n: number) => numberFormat.format(n);

/** Is a column count-like (by its name, case and surrounding space ignored)? */
export function isCountColumn(name: string): boolean {
  return COUNT_COLUMN.test(name.trim().toLowerCase());
}

/** The checks that flag `file`, in the order of RELEASE_CHECK_CODES; empty when none does. */
export function disclosureChecks(
  file: { bytes: Uint8Array; mediaType: string },
  context: DisclosureContext,
): ReleaseCheck[] {
  const kind = contentKind(file.mediaType);
  const text = kind === 'table' || kind === 'text' ? textOf(file.bytes) : null;
  if (text === null) {
    return kind === 'image'
      ? []
      : [
          {
            code: 'not-previewable',
            message: 'binary content: the reviewer cannot see what it holds',
          },
        ];
  }
  const checks: ReleaseCheck[] = [];
  const identifiers = identifierCheck(text, context);
  if (identifiers !== null) {
    checks.push(identifiers);
  }
  if (kind === 'table') {
    checks.push(...tableChecks(text, delimiterOf(file.mediaType), context));
  }
  return checks;
}

/** Ids of the project's datasets anywhere in the text: how many, on how many lines, masked. */
function identifierCheck(text: string, context: DisclosureContext): ReleaseCheck | null {
  const found = new Set<string>();
  let lines = 0;
  for (const line of text.split(/\r\n|\r|\n/u)) {
    let onLine = false;
    for (const [token] of line.matchAll(TOKEN)) {
      if (context.isIdentifier(token)) {
        found.add(token);
        onLine = true;
      }
    }
    lines += onLine ? 1 : 0;
  }
  if (found.size === 0) {
    return null;
  }
  const examples = [...found]
    .slice(0, EXAMPLES)
    .map((value) => context.mask(value))
    .join(', ');
  return {
    code: 'identifiers',
    message: `${count(found.size)} pseudonymous ids of the project's datasets on ${count(lines)} ${lines === 1 ? 'line' : 'lines'} (${examples}${found.size > EXAMPLES ? ', …' : ''})`,
  };
}

/** Row-level data and small counts in a CSV or TSV table. */
function tableChecks(
  text: string,
  delimiter: ',' | '\t',
  context: DisclosureContext,
): ReleaseCheck[] {
  let columns: string[] = [];
  let rows = 0;
  const idColumns: number[] = [];
  const countColumns: number[] = [];
  const small = new Map<number, { cells: number; rows: number[] }>();
  readDelimited(text, delimiter, (row, index) => {
    if (index === 0) {
      columns = row.map((name) => name.trim());
      columns.forEach((name, i) => {
        const lower = name.toLowerCase();
        if (lower === PATIENT_ID_COLUMN || context.idColumns.has(lower)) {
          idColumns.push(i);
        } else if (isCountColumn(name)) {
          countColumns.push(i);
        }
      });
      return;
    }
    rows += 1;
    for (const i of countColumns) {
      const value = Number((row[i] ?? '').trim());
      if (Number.isInteger(value) && value >= 1 && value < context.minCount) {
        const seen = small.get(i) ?? { cells: 0, rows: [] };
        seen.cells += 1;
        if (seen.rows.length < EXAMPLES) {
          // Rows as a spreadsheet numbers them: the header is row 1.
          seen.rows.push(index + 1);
        }
        small.set(i, seen);
      }
    }
  });
  const checks: ReleaseCheck[] = [];
  const rowLevel: string[] = idColumns.map(
    (i) => `column ${columns[i] ?? ''} holds ids on ${count(rows)} ${rows === 1 ? 'row' : 'rows'}`,
  );
  if (rows > context.maxRows) {
    rowLevel.push(`${count(rows)} rows, more than ${count(context.maxRows)}`);
  }
  if (rowLevel.length > 0) {
    checks.push({ code: 'row-level', message: rowLevel.join('; ') });
  }
  if (small.size > 0) {
    checks.push({
      code: 'small-counts',
      message: [...small.entries()]
        .sort(([a], [b]) => a - b)
        .map(
          ([i, seen]) =>
            `column ${columns[i] ?? ''}: ${count(seen.cells)} ${seen.cells === 1 ? 'count' : 'counts'} from 1 to ${context.minCount - 1} (rows ${seen.rows.join(', ')}${seen.cells > EXAMPLES ? ', …' : ''})`,
        )
        .join('; '),
    });
  }
  return checks;
}
