/**
 * Table de-identification (issue 6, steps 2 and 3): a delivered table, row by row, becomes the
 * table a dataset publishes. The patient column becomes `patient_ngsci_id` (first), the study
 * column its study id (second, `ecg_id`), a column referencing another table's study becomes that
 * table's study id under its name, dropped columns go, dates move by the patient's offset, and the
 * files column names each native file by its published path (the mapping from source to published
 * path is returned, for the pipeline to store the right bytes under the right name). Every other
 * column is kept as it is: the PHI scan reads those.
 *
 * Streaming: one row in, one row out, memory bounded by the files named (their mapping) and the
 * studies with files (their counts). A cell that cannot be transformed (a date in no known form,
 * an empty patient id) becomes null — never its source value — and is listed as a problem naming
 * the table, the row and the column; the pipeline refuses to publish while there are any.
 */
import { posix } from 'node:path';
import {
  closestName,
  studyIdName,
  type DeliveryManifest,
  type DeliveryTable,
} from '@lantern/core/ingest';
import { DateShiftError, dateShiftDays, shiftDateValue } from './date-shift.js';
import type { SourceRow } from './delivery/table-source.js';
import { publishedFilePath, type Pseudonymizer } from './pseudonym.js';

/** The name of the patient pseudonym column in every dataset (DESIGN.md, "Names"). */
export const PATIENT_ID_COLUMN = 'patient_ngsci_id';

/** A problem with one cell, found while transforming. */
export interface TableProblem {
  code: 'empty_patient' | 'empty_study' | 'unparseable_date' | 'date_out_of_range' | 'path_escapes';
  table: string;
  /** The line of a CSV row, or the number (from 1) of a Parquet row. */
  row: number;
  column: string;
  message: string;
}

/** A table whose header cannot be transformed as the manifest says. */
export class TableShapeError extends Error {
  constructor(
    readonly code: 'column_missing' | 'column_collision',
    readonly table: string,
    readonly column: string,
    message: string,
  ) {
    super(message);
    this.name = 'TableShapeError';
  }
}

/** What happens to each source column, in source order; `null` for a dropped one. */
type ColumnAction =
  | { kind: 'patient' }
  | { kind: 'study' }
  | { kind: 'reference'; studyIdName: string; published: string }
  | { kind: 'files'; published: string }
  | { kind: 'date'; published: string }
  | { kind: 'keep'; published: string }
  | null;

/** The published header of a table and what becomes of each source column. */
export interface PublishedShape {
  columns: string[];
  actions: ColumnAction[];
  /** The study id's name, when the table has a study column. */
  studyIdName: string | null;
}

/** How many of a table's columns a missing column's message lists, when no name is close. */
const LISTED_COLUMNS = 20;

/**
 * A column the manifest names that the table lacks, said so that the partner can mend it in one
 * go: the table's column it most likely meant (the same but for case, or one or two letters off),
 * else the table's columns. Column names are the partner's schema, never a row's value.
 */
function missingColumnMessage(column: string, header: readonly string[]): string {
  const said = `delivery.yaml names the column "${column}", which this table does not have`;
  const close = closestName(column, header);
  if (close !== null) {
    return `${said} (did you mean "${close}"?)`;
  }
  const listed = header.slice(0, LISTED_COLUMNS).join(', ');
  const more = header.length > LISTED_COLUMNS ? `, and ${header.length - LISTED_COLUMNS} more` : '';
  return `${said} (its columns: ${listed}${more})`;
}

/**
 * The published header for a source header, or the problems that prevent one: a column the
 * manifest names that the header lacks, or two published columns of the same name (a kept column
 * called `patient_ngsci_id`, a reference renamed onto a kept column).
 */
export function publishedShape(
  header: readonly string[],
  table: DeliveryTable,
  manifest: DeliveryManifest,
): { shape: PublishedShape | null; problems: TableShapeError[] } {
  const problems: TableShapeError[] = [];
  const named = [
    table.patient,
    ...(table.study === undefined ? [] : [table.study]),
    ...(table.references ?? []).map((reference) => reference.column),
    ...(table.files === undefined ? [] : [table.files]),
    ...(table.dates ?? []),
    ...(table.drop ?? []),
  ];
  for (const column of named) {
    if (!header.includes(column)) {
      problems.push(
        new TableShapeError(
          'column_missing',
          table.name,
          column,
          missingColumnMessage(column, header),
        ),
      );
    }
  }
  const references = new Map(
    (table.references ?? []).map((reference) => {
      const target = manifest.tables.find((candidate) => candidate.name === reference.table);
      return [
        reference.column,
        studyIdName({ name: reference.table, study_id: target?.study_id }),
      ] as const;
    }),
  );
  const dates = new Set(table.dates ?? []);
  const drop = new Set(table.drop ?? []);
  const ownStudyId = table.study === undefined ? null : studyIdName(table);
  const actions = header.map((column): ColumnAction => {
    if (column === table.patient) {
      return { kind: 'patient' };
    }
    if (column === table.study) {
      return { kind: 'study' };
    }
    if (drop.has(column)) {
      return null;
    }
    const reference = references.get(column);
    if (reference !== undefined) {
      return { kind: 'reference', studyIdName: reference, published: reference };
    }
    if (column === table.files) {
      return { kind: 'files', published: column };
    }
    return dates.has(column)
      ? { kind: 'date', published: column }
      : { kind: 'keep', published: column };
  });
  const columns = [PATIENT_ID_COLUMN, ...(ownStudyId === null ? [] : [ownStudyId])];
  for (const action of actions) {
    if (action === null || action.kind === 'patient' || action.kind === 'study') {
      continue;
    }
    if (columns.includes(action.published)) {
      problems.push(
        new TableShapeError(
          'column_collision',
          table.name,
          action.published,
          `the published table would have two columns named "${action.published}"; drop or rename one`,
        ),
      );
    }
    columns.push(action.published);
  }
  return {
    shape: problems.length === 0 ? { columns, actions, studyIdName: ownStudyId } : null,
    problems,
  };
}

/** A table being de-identified: its published header, its rows, and what they found. */
export interface DeidentifiedTable {
  readonly columns: readonly string[];
  /** The published rows, in source order; iterate once. */
  readonly rows: AsyncIterable<(string | null)[]>;
  /**
   * Native files named so far: source path (relative to the delivery, `files/21/ECG1.npz`) ->
   * published path (`ecgs/k3/<ecg_id>_1.npz`). Complete once the rows are exhausted.
   */
  readonly files: ReadonlyMap<string, string>;
  /** Cells that could not be transformed so far (each published as null). */
  readonly problems: readonly TableProblem[];
}

export interface DeidentifyTableOptions {
  /** The table's entry in the manifest. */
  table: DeliveryTable;
  manifest: DeliveryManifest;
  /** The partner's pseudonymizer (createPseudonymizer(key, manifest.partner)). */
  pseudonymizer: Pseudonymizer;
}

/**
 * De-identifies a table given its source header and rows. Throws TableShapeError at once when the
 * header does not fit the manifest (readDelivery reports the same problems beforehand).
 */
export function deidentifyTable(
  source: { columns: readonly string[] } & AsyncIterable<SourceRow>,
  options: DeidentifyTableOptions,
): DeidentifiedTable {
  const { table, pseudonymizer } = options;
  const { shape, problems: shapeProblems } = publishedShape(
    source.columns,
    table,
    options.manifest,
  );
  if (shape === null) {
    throw shapeProblems[0] ?? new TableShapeError('column_missing', table.name, '', 'no shape');
  }
  const problems: TableProblem[] = [];
  const files = new Map<string, string>();
  const fileCounts = new Map<string, number>();
  const patientIndex = source.columns.indexOf(table.patient);
  const studyIndex = table.study === undefined ? -1 : source.columns.indexOf(table.study);
  const studyId = shape.studyIdName;

  const transformRow = (row: SourceRow): (string | null)[] => {
    const problem = (code: TableProblem['code'], column: string, message: string) => {
      problems.push({ code, table: table.name, row: row.place, column, message });
    };
    const patientSource = row.values[patientIndex] ?? null;
    const hasPatient = patientSource !== null && patientSource.trim() !== '';
    if (!hasPatient) {
      problem('empty_patient', table.patient, 'the patient id is empty');
    }
    const patient = hasPatient ? pseudonymizer.patient(patientSource) : null;
    const days = hasPatient ? dateShiftDays(pseudonymizer, patientSource) : null;
    let study: string | null = null;
    const out: (string | null)[] = [patient];
    if (studyId !== null) {
      const studySource = row.values[studyIndex] ?? null;
      if (studySource === null || studySource.trim() === '') {
        problem('empty_study', table.study ?? '', 'the study id is empty');
      } else {
        study = pseudonymizer.study(studyId, studySource);
      }
      out.push(study);
    }
    shape.actions.forEach((action, i) => {
      const value = row.values[i] ?? null;
      const column = source.columns[i] ?? '';
      if (action === null || action.kind === 'patient' || action.kind === 'study') {
        return;
      }
      switch (action.kind) {
        case 'keep':
          out.push(value);
          return;
        case 'reference':
          out.push(
            value === null || value.trim() === ''
              ? null
              : pseudonymizer.study(action.studyIdName, value),
          );
          return;
        case 'date':
          out.push(shiftCell(value, days, column, problem));
          return;
        case 'files':
          out.push(publishFile(value, study ?? patient, column, problem));
          return;
        default:
          action satisfies never;
      }
    });
    return out;
  };

  const publishFile = (
    value: string | null,
    id: string | null,
    column: string,
    problem: (code: TableProblem['code'], column: string, message: string) => void,
  ): string | null => {
    if (value === null || value === '' || id === null) {
      return null;
    }
    const sourcePath = deliveryFilePath(value);
    if (sourcePath === null) {
      problem('path_escapes', column, 'the file path leaves the files/ folder');
      return null;
    }
    const known = files.get(sourcePath);
    if (known !== undefined) {
      return known;
    }
    const ordinal = (fileCounts.get(id) ?? 0) + 1;
    fileCounts.set(id, ordinal);
    const published = publishedFilePath({ folder: table.name, id, ordinal, sourcePath });
    files.set(sourcePath, published);
    return published;
  };

  async function* rows(): AsyncGenerator<(string | null)[], void, undefined> {
    for await (const row of source) {
      yield transformRow(row);
    }
  }
  return { columns: shape.columns, rows: rows(), files, problems };
}

function shiftCell(
  value: string | null,
  days: number | null,
  column: string,
  problem: (code: TableProblem['code'], column: string, message: string) => void,
): string | null {
  if (value === null || value.trim() === '') {
    return value;
  }
  if (days === null) {
    // No patient, no offset: a date of nobody known is not published.
    return null;
  }
  try {
    return shiftDateValue(value, days);
  } catch (error) {
    if (error instanceof DateShiftError) {
      problem(error.code, column, error.message);
      return null;
    }
    throw error;
  }
}

/**
 * The path of a files-column value relative to the delivery (`files/<value>`, normalized), or null
 * when it is absolute or leaves `files/` (`..`). Backslashes count as separators, as a delivery
 * written on Windows has them.
 */
export function deliveryFilePath(value: string): string | null {
  const slashed = value.replaceAll('\\', '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/u.test(slashed) || slashed.includes('\0')) {
    return null;
  }
  const normalized = posix.normalize(`files/${slashed}`);
  return normalized.startsWith('files/') && normalized !== 'files/' ? normalized : null;
}
