import type { DataDictionary, Snapshot } from './dataset.js';
import { checkDictionary } from './dictionary-check.js';
import type { KeyIntegrityProblem } from './key-integrity.js';
import type { NamingFinding } from './naming-lint.js';

/**
 * Everything that stands between a draft and its publication, in one list (the issue's "refused
 * with a list of every problem"): the dictionary against the tables, the keys against the rows,
 * and the naming lint of the catalog for this dataset. Blocking problems refuse publication;
 * warnings are shown to the curator beside the button.
 */
export interface PublicationProblem {
  /** `phi`: the PHI scan of the ingest that made the draft, and files it held back. */
  source: 'dictionary' | 'keys' | 'naming' | 'phi';
  severity: 'blocking' | 'warning';
  code: string;
  table: string;
  column?: string;
  message: string;
}

/**
 * A problem in one line, as the command line prints it: `BLOCKING phi patients.birth_date: …`.
 * A problem of the whole draft (no table) names no place, rather than an empty one (`phi :`).
 */
export function describePublicationProblem(
  problem: Pick<PublicationProblem, 'source' | 'severity' | 'table' | 'column' | 'message'>,
): string {
  const where = problem.column === undefined ? problem.table : `${problem.table}.${problem.column}`;
  const severity = problem.severity === 'blocking' ? 'BLOCKING' : 'warning ';
  return `${severity} ${problem.source}${where === '' ? '' : ` ${where}`}: ${problem.message}`;
}

export interface PublicationInput {
  slug: string;
  snapshot: Snapshot;
  dictionary: DataDictionary;
  /** lintNaming over the whole catalog with this draft in it; other datasets' findings are dropped. */
  naming: readonly NamingFinding[];
  /** KeyIntegrityCheck.problems() over the draft's rows, when they were read. */
  keys?: readonly KeyIntegrityProblem[];
}

export interface PublicationCheck {
  isPublishable: boolean;
  problems: PublicationProblem[];
}

/** Every problem of a draft, blocking ones first, each source in its own stable order. */
export function checkPublication(input: PublicationInput): PublicationCheck {
  const problems: PublicationProblem[] = [
    ...checkDictionary(input.snapshot, input.dictionary).map((problem): PublicationProblem => ({
      source: 'dictionary',
      ...problem,
    })),
    ...(input.keys ?? []).map((problem): PublicationProblem => ({
      source: 'keys',
      severity: problem.severity,
      code: problem.code,
      table: problem.table,
      message: problem.message,
    })),
    ...input.naming
      .filter((finding) => finding.dataset === input.slug)
      .map((finding): PublicationProblem => ({
        source: 'naming',
        severity: finding.severity === 'error' ? 'blocking' : 'warning',
        code: finding.rules.join(','),
        table: finding.table,
        column: finding.column,
        message: `rename ${finding.table}.${finding.column} to ${finding.preferred}: ${finding.why}`,
      })),
  ];
  const rank = (problem: PublicationProblem) => (problem.severity === 'blocking' ? 0 : 1);
  // Array.prototype.sort is stable: within a severity, each source keeps its order.
  const sorted = problems.sort((a, b) => rank(a) - rank(b));
  return { isPublishable: !sorted.some((problem) => rank(problem) === 0), problems: sorted };
}
