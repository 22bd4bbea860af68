/**
 * Reading a partner's delivery (issue 6, step 1): the manifest, then every table and native file
 * checked against it, and every problem found reported at once — a partner fixes a delivery in one
 * round, not one error at a time. Delivery problems are results, not exceptions; only a failure of
 * the machine (a disk error) is thrown.
 *
 * What is checked: `delivery.yaml` present and valid (problems with their line); each table file
 * present, a regular file inside the delivery, and readable to its end (a FormatError names the
 * line); each column the manifest names present in its table, and the published header free of
 * duplicate names; every patient id filled; every date in a form the date shift reads; every file
 * a files column names present under `files/` without leaving the delivery (no `..`, no absolute
 * path, no symbolic link pointing outside); the signal files of each WFDB header named (they
 * travel with it: PhysioNet's header(5) names them, beside it) present and inside the delivery
 * too; and every file under `files/` named by some row or travelling with a header so named. The
 * tables' descriptions (types, empty cells, row counts) come back for the data dictionary.
 *
 * Problem messages name columns and places, never a value from a row: values may identify.
 */
import { lstat, open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import {
  MANIFEST_MAX_BYTES,
  parseDeliveryManifest,
  type DeliveryManifest,
} from '@lantern/core/ingest';
import {
  FormatError,
  isWfdbHeader,
  parseWfdbHeader,
  TableProfile,
  type TableInspection,
} from '@lantern/formats';
import { DateShiftError, shiftDateValue } from '../date-shift.js';
import { deliveryFilePath, publishedShape } from '../tables.js';
import { openSourceTable } from './table-source.js';

/** Why a delivery cannot be ingested as it is. */
export type DeliveryProblemCode =
  | 'manifest_missing'
  | 'manifest_invalid'
  | 'table_missing'
  | 'table_unreadable'
  | 'column_missing'
  | 'column_collision'
  | 'empty_patient'
  | 'bad_date'
  | 'file_missing'
  | 'path_escapes'
  | 'file_unnamed'
  | 'more_problems';

/** One problem, and where it is. */
export interface DeliveryProblem {
  code: DeliveryProblemCode;
  message: string;
  /** The file it is in or about, relative to the delivery (`delivery.yaml`, `tables/ecgs.csv`). */
  file: string;
  /** A line of the manifest or of a CSV table, or the number (from 1) of a Parquet row. */
  line: number | null;
  /** The manifest's path (`tables[1].study`) or the table's column the problem is in. */
  column: string | null;
}

/** A table that was read to its end, described for the data dictionary. */
export interface DeliveredTable {
  name: string;
  file: string;
  inspection: TableInspection;
}

/** A delivery as read: its manifest when valid, its tables, its named files, and every problem. */
export interface DeliveryReading {
  manifest: DeliveryManifest | null;
  tables: DeliveredTable[];
  /** Every native file the tables name, relative to the delivery (`files/21/ECG1.npz`), sorted. */
  files: string[];
  problems: DeliveryProblem[];
  /** No problem at all: the delivery may be ingested. */
  isValid: boolean;
}

/**
 * A refused delivery as every client says it (the server's refusal, `lantern ingest`'s check
 * before it sends a byte): one line with the count, then each problem located as
 * `file:line column` with `code: message`.
 */
export function describeDeliveryRefusal(problems: readonly DeliveryProblem[]): {
  message: string;
  problems: { path: string; message: string }[];
} {
  return {
    message: `the delivery cannot be ingested: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'} to fix first`,
    problems: problems.map((p) => ({
      path: `${p.file}${p.line === null ? '' : `:${p.line}`}${p.column === null ? '' : ` ${p.column}`}`,
      message: `${p.code}: ${p.message}`,
    })),
  };
}

/** How many problems of one kind are listed per file before the rest are counted. */
export const LISTED_PROBLEMS = 50;

/** Reads and checks the delivery in the folder `dir`. */
export async function readDelivery(dir: string): Promise<DeliveryReading> {
  const problems = new ProblemList();
  const root = await realpath(dir);
  const manifest = await readManifest(root, problems);
  if (manifest === null) {
    return problems.reading(null, [], []);
  }
  const tables: DeliveredTable[] = [];
  const named = new Set<string>();
  for (const table of manifest.tables) {
    const delivered = await readTable(root, manifest, table, named, problems);
    if (delivered !== null) {
      tables.push(delivered);
    }
  }
  const files = [...named].sort();
  const present = new Set<string>();
  for (const path of files) {
    if (await checkNamedFile(root, path, problems)) {
      present.add(path);
    }
  }
  // WFDB signal files travel with the header a row names; one that is missing is the delivery's
  // problem as a named file's is.
  const travelling = new Set<string>();
  for (const path of present) {
    for (const signal of await wfdbSignalFiles(root, path)) {
      if (!named.has(signal) && !travelling.has(signal)) {
        travelling.add(signal);
        await checkNamedFile(root, signal, problems, 'a WFDB header names this signal file');
      }
    }
  }
  for await (const path of walk(root, 'files')) {
    if (!named.has(path) && !travelling.has(path)) {
      problems.add({
        code: 'file_unnamed',
        message: 'no row of any table names this file; name it in a files column or remove it',
        file: path,
        line: null,
        column: null,
      });
    }
  }
  return problems.reading(manifest, tables, files);
}

/** The problems found, each kind listed up to LISTED_PROBLEMS times per file, the rest counted. */
class ProblemList {
  private readonly problems: DeliveryProblem[] = [];
  private readonly counts = new Map<string, number>();

  add(problem: DeliveryProblem): void {
    const key = `${problem.file}\n${problem.code}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    if (count <= LISTED_PROBLEMS) {
      this.problems.push(problem);
    }
  }

  reading(
    manifest: DeliveryManifest | null,
    tables: DeliveredTable[],
    files: string[],
  ): DeliveryReading {
    const problems = [...this.problems];
    for (const [key, count] of this.counts) {
      if (count > LISTED_PROBLEMS) {
        const [file = '', code = ''] = key.split('\n');
        problems.push({
          code: 'more_problems',
          message: `${count - LISTED_PROBLEMS} more problems of the kind ${code} in this file`,
          file,
          line: null,
          column: null,
        });
      }
    }
    return { manifest, tables, files, problems, isValid: problems.length === 0 };
  }
}

async function readManifest(root: string, problems: ProblemList): Promise<DeliveryManifest | null> {
  const file = 'delivery.yaml';
  const path = join(root, file);
  const found = await inside(root, path);
  if (found === 'missing') {
    problems.add({
      code: 'manifest_missing',
      message: 'the delivery has no delivery.yaml',
      file,
      line: null,
      column: null,
    });
    return null;
  }
  if (found === 'outside') {
    problems.add({
      code: 'path_escapes',
      message: 'delivery.yaml points outside the delivery',
      file,
      line: null,
      column: null,
    });
    return null;
  }
  const info = await stat(path);
  if (!info.isFile() || info.size > MANIFEST_MAX_BYTES) {
    problems.add({
      code: 'manifest_invalid',
      message: `delivery.yaml must be a file of at most ${MANIFEST_MAX_BYTES} bytes`,
      file,
      line: null,
      column: null,
    });
    return null;
  }
  const parsed = parseDeliveryManifest(await readFile(path, 'utf8'));
  if (parsed.ok) {
    return parsed.manifest;
  }
  for (const problem of parsed.problems) {
    problems.add({
      code: 'manifest_invalid',
      message: problem.message,
      file,
      line: problem.line,
      column: problem.path === '' ? null : problem.path,
    });
  }
  return null;
}

async function readTable(
  root: string,
  manifest: DeliveryManifest,
  table: DeliveryManifest['tables'][number],
  named: Set<string>,
  problems: ProblemList,
): Promise<DeliveredTable | null> {
  const file = table.file;
  const at = (line: number | null, column: string | null) => ({ file, line, column });
  const path = join(root, file);
  const found = await inside(root, path);
  if (found !== 'inside' || !(await stat(path)).isFile()) {
    problems.add(
      found === 'outside'
        ? {
            code: 'path_escapes',
            message: 'the table file points outside the delivery',
            ...at(null, null),
          }
        : {
            code: 'table_missing',
            message: `the table ${table.name} has no file ${file}`,
            ...at(null, null),
          },
    );
    return null;
  }
  let source;
  try {
    source = await openSourceTable(path, file);
  } catch (error) {
    if (error instanceof FormatError) {
      problems.add({
        code: 'table_unreadable',
        message: error.detail,
        ...at(error.line ?? null, null),
      });
      return null;
    }
    throw error;
  }
  const { columns } = source;
  for (const problem of publishedShape(columns, table, manifest).problems) {
    problems.add({ code: problem.code, message: problem.message, ...at(null, problem.column) });
  }
  const index = (column: string | undefined) =>
    column === undefined ? -1 : columns.indexOf(column);
  const patientIndex = index(table.patient);
  const filesIndex = index(table.files);
  const dateIndexes = (table.dates ?? []).map((column) => [column, index(column)] as const);
  const profile = new TableProfile(columns, { name: file });
  try {
    for await (const row of source) {
      profile.add(row.values, { row: row.place, offset: row.offset });
      if (patientIndex >= 0 && (row.values[patientIndex] ?? '').trim() === '') {
        problems.add({
          code: 'empty_patient',
          message: 'the patient id is empty',
          ...at(row.place, table.patient),
        });
      }
      for (const [column, i] of dateIndexes) {
        const value = i < 0 ? null : (row.values[i] ?? null);
        try {
          shiftDateValue(value, 0);
        } catch (error) {
          // The date shift's own words: the forms it reads, or what is off (never the value).
          if (!(error instanceof DateShiftError)) {
            throw error;
          }
          problems.add({ code: 'bad_date', message: error.message, ...at(row.place, column) });
        }
      }
      const value = filesIndex < 0 ? null : (row.values[filesIndex] ?? null);
      if (value !== null && value !== '') {
        const filePath = deliveryFilePath(value);
        if (filePath === null) {
          problems.add({
            code: 'path_escapes',
            message: 'the file path is absolute or leaves the files/ folder',
            ...at(row.place, table.files ?? null),
          });
        } else {
          named.add(filePath);
        }
      }
    }
  } catch (error) {
    if (error instanceof FormatError) {
      problems.add({
        code: 'table_unreadable',
        message: error.detail,
        ...at(error.line ?? null, null),
      });
      return null;
    }
    throw error;
  } finally {
    await source.close();
  }
  return {
    name: table.name,
    file,
    inspection: profile.describe(source.format, source.bytes, source.types ?? undefined),
  };
}

/** Is the named file there, a regular file, and inside the delivery (links followed)? */
async function checkNamedFile(
  root: string,
  path: string,
  problems: ProblemList,
  namedBy = 'a table names this file',
): Promise<boolean> {
  const found = await inside(root, join(root, path));
  if (found === 'outside') {
    problems.add({
      code: 'path_escapes',
      message: 'the file points outside the delivery',
      file: path,
      line: null,
      column: null,
    });
    return false;
  }
  if (found === 'missing' || !(await stat(join(root, path))).isFile()) {
    problems.add({
      code: 'file_missing',
      message: `${namedBy}, and it is not there`,
      file: path,
      line: null,
      column: null,
    });
    return false;
  }
  return true;
}

/** The largest WFDB header read for its signal files (real ones are a few hundred bytes). */
const WFDB_HEADER_MAX_BYTES = 1024 * 1024;
/** A signal file name as WFDB writes it: no folder, nothing hidden (others are ingest's to hold). */
const WFDB_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/u;

/**
 * The signal files (delivery paths) a named file names when it is a WFDB header; none when it is
 * not one, or one the reader refuses (ingest holds such a record back).
 */
async function wfdbSignalFiles(root: string, path: string): Promise<string[]> {
  const handle = await open(join(root, path), 'r');
  let bytes: Uint8Array;
  try {
    const { size } = await handle.stat();
    if (size > WFDB_HEADER_MAX_BYTES) {
      return [];
    }
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, 0);
    bytes = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (!isWfdbHeader(bytes)) {
    return [];
  }
  try {
    const names = parseWfdbHeader(bytes, { name: path }).signals.map((s) => s.fileName);
    return [...new Set(names)]
      .filter((name) => WFDB_FILE_NAME.test(name))
      .map((name) => posix.join(posix.dirname(path), name));
  } catch (error) {
    if (error instanceof FormatError) {
      return [];
    }
    throw error;
  }
}

/** Where `path` really is, links followed: inside the delivery, outside it, or nowhere. */
async function inside(root: string, path: string): Promise<'inside' | 'outside' | 'missing'> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    if (isMissing(error)) {
      return 'missing';
    }
    throw error;
  }
  const rel = relative(root, real);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep)
    ? 'inside'
    : 'outside';
}

function isMissing(error: unknown): boolean {
  return (
    error instanceof Error &&
    'code' in error &&
    (error.code === 'ENOENT' || error.code === 'ENOTDIR' || error.code === 'ELOOP')
  );
}

/** Every file and link under `dir` (relative to `root`, `/`-separated), links not followed. */
async function* walk(root: string, dir: string): AsyncGenerator<string, void, undefined> {
  let entries;
  try {
    const info = await lstat(join(root, dir));
    if (!info.isDirectory()) {
      return;
    }
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) {
      return;
    }
    throw error;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      yield* walk(root, path);
    } else {
      yield path;
    }
  }
}
