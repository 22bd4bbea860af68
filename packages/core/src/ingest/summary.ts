import type { ChangeLevel } from '../catalog/version.js';
import { describePublicationProblem, type PublicationProblem } from '../catalog/publication.js';

/**
 * What an ingest made (issue 6), as `lantern ingest --json` prints it, and the same in lines a
 * curator reads: the dataset's draft, its tables with rows and columns, the native files stored,
 * deduplicated and held back (with why), the PHI findings with masked examples, what blocks
 * publication and the command to run next. Kept here, without I/O, so that every place that
 * reports an ingest says it the same way.
 */
export interface IngestSummary {
  /** The ingest run, `ing_…`. */
  ingest: string;
  dataset: string;
  /** The delivery folder as the curator named it. */
  delivery: string;
  counts: {
    tables: number;
    rows: number;
    files: number;
    stored: number;
    deduplicated: number;
    held: number;
    bytes: number;
  };
  tables: { name: string; file: string; rows: number; columns: string[]; primaryKey: string[] }[];
  held: { path: string; reason: string }[];
  /** Cells that could not be de-identified (published empty), located, never quoted. */
  cellProblems: unknown[];
  phi: {
    findings: {
      id: string;
      table: string;
      column: string;
      kind: string;
      cells: number;
      /** The data rows (from 1) of those cells, the first ones only. */
      rows: number[];
      /** Masked: the identifier's shape, never its value. */
      examples: { row: number; masked: string }[];
      confidence: number;
      freeText: boolean;
      reason: string;
    }[];
    blocked: boolean;
  };
  /**
   * The decisions of the review before this delivery (the draft's last ingest's, else the last
   * published version's) carried onto it: how many kept, which dropped (what they decided is no
   * longer in the delivery), and the findings and held files that are new, open.
   */
  decisions: {
    /** The ingest whose review they were; null when there was none. */
    from: string | null;
    kept: { phi: number; held: number };
    dropped: { action: 'drop' | 'confirm' | 'release' | 'exclude'; target: string }[];
    open: { findings: number; held: number };
  };
  publication: {
    version: string;
    level: ChangeLevel;
    publishable: boolean;
    problems: PublicationProblem[];
  };
  next: string;
}

/** Lists longer than this are cut in the text (`--json` has everything). */
const LIST_LIMIT = 20;

/** 1234567 -> `1.2 MB`: decimal units, as disks and networks count. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * What to do once a draft is made, in order: decide the PHI findings, review the files held back
 * (release or exclude each), fix the draft's other blocking problems (dictionary, keys, names),
 * publish. Each step names the command that does it, or the draft page where only the web app
 * does (the data dictionary): the text is read on a terminal, where an API route is no help.
 */
export function nextIngestStep(
  slug: string,
  phiBlocked: boolean,
  problems: readonly (Pick<PublicationProblem, 'source' | 'severity'> & { code?: string })[],
): string {
  const steps: string[] = [];
  const listed = `lantern phi list ${slug} names each`;
  if (phiBlocked) {
    steps.push(
      `decide each PHI finding: lantern phi decide ${slug} --drop TABLE.COLUMN, or --confirm FINDING --note WHY it is not PHI (${listed})`,
    );
  }
  const held = problems.some((p) => p.severity === 'blocking' && p.code === 'held-file-undecided');
  if (held) {
    steps.push(
      `review each file held back on the draft page (/datasets/${slug}/draft previews it), then lantern phi decide ${slug} --release FILE --note WHY it identifies no one, or --exclude FILE (${listed})`,
    );
  }
  if (problems.some((p) => p.severity === 'blocking' && p.source !== 'phi')) {
    steps.push(
      `fix the ${phiBlocked || held ? 'other ' : ''}blocking problems above on the draft page, /datasets/${slug}/draft (lantern publish ${slug} lists what is left)`,
    );
  }
  steps.push(`lantern publish ${slug}`);
  return steps.join('; then ');
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The summary in lines a curator reads. */
export function describeIngestSummary(summary: IngestSummary): string[] {
  return [
    `Ingested ${summary.delivery} into the draft of ${summary.dataset} (ingest ${summary.ingest}).`,
    '',
    ...describeTables(summary),
    '',
    ...describeFiles(summary),
    '',
    ...describePhi(summary),
    ...describeCarriedDecisions(summary.decisions),
    '',
    ...describePublication(summary),
    '',
    `Next: ${summary.next}`,
  ];
}

function describeTables({ counts, tables }: IngestSummary): string[] {
  const nameWidth = Math.max(...tables.map((t) => t.name.length), 0);
  const rowWidth = Math.max(...tables.map((t) => String(t.rows).length), 0);
  return [
    `Tables: ${counts.tables}, ${counts.rows} rows`,
    ...tables.map(
      (table) =>
        `  ${table.name.padEnd(nameWidth)}  ${String(table.rows).padStart(rowWidth)} rows  ${table.columns.length} columns: ${table.columns.join(', ')}`,
    ),
  ];
}

function describeFiles({ counts, held, cellProblems }: IngestSummary): string[] {
  const lines = [
    `Files: ${counts.files} delivered: ${counts.stored} stored, ${counts.deduplicated} deduplicated (already in the store), ${counts.held} held back; ${formatBytes(counts.bytes)}`,
    ...held.slice(0, LIST_LIMIT).map((file) => `  held  ${file.path}: ${file.reason}`),
  ];
  if (held.length > LIST_LIMIT) {
    lines.push(`  … and ${held.length - LIST_LIMIT} more held back (--json lists them)`);
  }
  if (cellProblems.length > 0) {
    lines.push(
      `Cells that could not be de-identified, published empty: ${cellProblems.length} (--json locates them)`,
    );
  }
  return lines;
}

function describePhi({ phi, decisions }: IngestSummary): string[] {
  if (phi.findings.length === 0) {
    return ['PHI scan: nothing found'];
  }
  const open = decisions.open.findings;
  let state = `${open} open; publication waits for a decision on each open one`;
  if (open === phi.findings.length) {
    state = 'publication waits for a decision on each';
  } else if (open === 0) {
    state = 'each decided (decisions kept from the review before)';
  }
  return [
    `PHI findings: ${phi.findings.length}; ${state}`,
    ...phi.findings.map((finding) => {
      const examples = finding.examples.map((e) => e.masked).join(', ');
      return `  ${finding.table}.${finding.column}  ${finding.kind}  ${plural(finding.cells, 'cell', 'cells')}${examples === '' ? '' : `  e.g. ${examples}`}  (${finding.reason})`;
    }),
  ];
}

/**
 * What became of the review before a delivery, in lines (none when nothing was decided): the CLI's
 * summary and the web app's ingest page say it alike.
 */
export function describeCarriedDecisions(decisions: IngestSummary['decisions']): string[] {
  const { kept, dropped, open } = decisions;
  // Nothing was decided before (or there was no review): nothing to say.
  if (decisions.from === null || kept.phi + kept.held + dropped.length === 0) {
    return [];
  }
  return [
    `Decisions of the review before (ingest ${decisions.from}): ${kept.phi + kept.held} kept (${kept.phi} on PHI findings, ${kept.held} on held files), ${dropped.length} dropped; new and open: ${plural(open.findings, 'PHI finding', 'PHI findings')}, ${plural(open.held, 'held file', 'held files')}`,
    ...dropped
      .slice(0, LIST_LIMIT)
      .map(
        (decision) =>
          `  dropped  ${decision.action} ${decision.target}: what it decided is no longer in this delivery`,
      ),
    ...(dropped.length > LIST_LIMIT
      ? [`  … and ${dropped.length - LIST_LIMIT} more dropped (--json lists them)`]
      : []),
  ];
}

function describePublication({ publication }: IngestSummary): string[] {
  const blocking = publication.problems.filter((p) => p.severity === 'blocking');
  const warnings = plural(publication.problems.length - blocking.length, 'warning', 'warnings');
  const lines = [
    publication.publishable
      ? `Publication: ready as version ${publication.version} (${publication.level}), ${warnings}`
      : `Publication: blocked by ${plural(blocking.length, 'problem', 'problems')} (it would be version ${publication.version}), ${warnings}`,
    ...blocking.slice(0, LIST_LIMIT).map((problem) => `  ${describePublicationProblem(problem)}`),
  ];
  if (blocking.length > LIST_LIMIT) {
    lines.push(`  … and ${blocking.length - LIST_LIMIT} more (--json lists them)`);
  }
  return lines;
}
