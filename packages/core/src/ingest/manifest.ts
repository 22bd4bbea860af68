import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { datasetSlugSchema } from '../catalog/dataset.js';
import { closestName } from './closest-name.js';

/**
 * The delivery manifest (`delivery.yaml`, issue 6): the contract with a partner. It names the
 * dataset the delivery feeds, who delivered it, and for each table which column holds the source
 * patient identifier (replaced by `patient_ngsci_id`), which holds the source study identifier
 * (replaced by `<study>_id`), which columns hold another table's study identifier, which name native
 * files, which are dates (shifted per patient) and which are dropped. Everything else is kept, and
 * the PHI scan looks at it.
 *
 * Parsing gives every problem at once, each with the line and column of `delivery.yaml` it is on,
 * because a partner fixes a manifest in one round rather than one error at a time.
 */

/** The most bytes a manifest may have: it lists tables and columns, never data. */
export const MANIFEST_MAX_BYTES = 1024 * 1024;

/** A table's name: lower-case words joined by `-` or `_` (`ecgs`, `ed-encounters`). */
const TABLE_NAME = /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/u;

/** A study id's name in the published tables: snake_case ending in `_id` (`ecg_id`, `ed_enc_id`). */
const STUDY_ID_NAME = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*_id$/u;

/** A table file: a relative path under `tables/`, ending in .csv or .parquet, no `.` or `..` parts. */
const TABLE_FILE = /^tables\/(?:[^/\\]+\/)*[^/\\]+\.(?:csv|parquet)$/u;

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/u;

/** A text's error: missing, or given something else (a list, a number). */
const TEXT = {
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'required' : 'expected text'),
};

/** A list's error when it is given something else (`dates: exam_date`): how to write one. */
const listOf = (howTo: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'required' : howTo),
});

/** A column of a delivered table, as its header spells it (spaces and capitals allowed). */
const columnName = z
  .string(TEXT)
  .min(1, 'a column name must not be empty')
  .max(256, 'a column name has at most 256 characters')
  .regex(NO_CONTROL, 'a column name is one line without control characters');

const tableFileSchema = z
  .string(TEXT)
  .refine(
    (path) =>
      TABLE_FILE.test(path) && !path.split('/').some((part) => part === '.' || part === '..'),
    'a table file is a .csv or .parquet file under tables/ (no . or .. parts), such as tables/xrays.csv',
  );

/** A column holding another table's study identifier (an ECG's encounter -> that encounter's id). */
export const deliveryReferenceSchema = z.strictObject({
  column: columnName,
  table: z.string(TEXT).regex(TABLE_NAME, 'name a table of this manifest'),
});
export type DeliveryReference = z.infer<typeof deliveryReferenceSchema>;

/** One delivered table and the role of its columns. */
export const deliveryTableSchema = z.strictObject({
  name: z
    .string()
    .max(64, 'a table name has at most 64 characters')
    .regex(
      TABLE_NAME,
      'use lower-case words of letters and digits joined by - or _, such as xrays',
    ),
  file: tableFileSchema,
  /** The source patient identifier (MRN), replaced by `patient_ngsci_id`. */
  patient: columnName,
  /** The source study identifier (accession number), replaced by the study id. */
  study: columnName.optional(),
  /** The study id's published name; default `<table name, singular>_id`. */
  study_id: z
    .string()
    .max(64, 'a study id name has at most 64 characters')
    .regex(STUDY_ID_NAME, 'a study id name is snake_case and ends in _id, such as ecg_id')
    .optional(),
  references: z
    .array(
      deliveryReferenceSchema,
      listOf('a list of references, such as [{ column: csn, table: encounters }]'),
    )
    .max(64)
    .optional(),
  /** The column naming native files, relative to the delivery's `files/` folder. */
  files: columnName.optional(),
  /** Columns of dates, shifted by the patient's offset. */
  dates: z.array(columnName, listOf('a list of columns, such as [exam_date]')).max(1024).optional(),
  /** Columns removed before anything is stored. */
  drop: z
    .array(columnName, listOf('a list of columns, such as [patient_name, phone]'))
    .max(4096)
    .optional(),
});
export type DeliveryTable = z.infer<typeof deliveryTableSchema>;

/** The keys of a manifest's top. */
const manifestShape = {
  dataset: datasetSlugSchema,
  partner: z
    .string()
    .trim()
    .min(1, 'name the partner that delivered the data')
    .max(200, 'at most 200 characters')
    .regex(NO_CONTROL, 'the partner is one line without control characters'),
  tables: z
    .array(deliveryTableSchema, listOf('a list of tables, each an entry "- name: …"'))
    .min(1, 'a delivery has at least one table')
    .max(200, 'a delivery has at most 200 tables'),
};

/** A delivery's manifest, its rules across tables checked. */
export const deliveryManifestSchema = z
  .strictObject(manifestShape)
  .superRefine((manifest, context) => {
    for (const issue of checkManifestRules(manifest)) {
      context.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    }
  });
export type DeliveryManifest = z.infer<typeof deliveryManifestSchema>;

/** A column's role in its table, as the manifest assigns it. */
export type ColumnRole = 'patient' | 'study' | 'reference' | 'files' | 'dates' | 'drop';

/** One column of a table with the role the manifest gives it, and where the manifest says so. */
export interface AssignedColumn {
  column: string;
  role: ColumnRole;
  path: (string | number)[];
}

/** Every column the manifest names for `table`, in the order the manifest names them. */
export function assignedColumns(table: DeliveryTable, index: number): AssignedColumn[] {
  const at = (...rest: (string | number)[]) => ['tables', index, ...rest];
  const assigned: AssignedColumn[] = [
    { column: table.patient, role: 'patient', path: at('patient') },
  ];
  if (table.study !== undefined) {
    assigned.push({ column: table.study, role: 'study', path: at('study') });
  }
  (table.references ?? []).forEach((reference, i) => {
    assigned.push({
      column: reference.column,
      role: 'reference',
      path: at('references', i, 'column'),
    });
  });
  if (table.files !== undefined) {
    assigned.push({ column: table.files, role: 'files', path: at('files') });
  }
  (table.dates ?? []).forEach((column, i) => {
    assigned.push({ column, role: 'dates', path: at('dates', i) });
  });
  (table.drop ?? []).forEach((column, i) => {
    assigned.push({ column, role: 'drop', path: at('drop', i) });
  });
  return assigned;
}

interface RuleIssue {
  path: (string | number)[];
  message: string;
}

/**
 * The rules a schema of one table cannot check: names unique across tables, references that
 * resolve, and each column given one role only.
 */
function checkManifestRules(manifest: {
  tables: readonly (DeliveryTable | { name: string } | null)[];
}): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const byName = new Map<string, DeliveryTable | { name: string }>();
  const byFile = new Map<string, string>();
  manifest.tables.forEach((table, index) => {
    if (table === null) {
      return;
    }
    if (byName.has(table.name)) {
      issues.push({
        path: ['tables', index, 'name'],
        message: `a second table named "${table.name}"`,
      });
    } else {
      byName.set(table.name, table);
    }
    if (!isWholeTable(table)) {
      return;
    }
    const other = byFile.get(table.file);
    if (other !== undefined) {
      issues.push({
        path: ['tables', index, 'file'],
        message: `${table.file} is already the file of table "${other}"`,
      });
    } else {
      byFile.set(table.file, table.name);
    }
    if (table.study === undefined && table.study_id !== undefined) {
      issues.push({
        path: ['tables', index, 'study_id'],
        message: 'study_id names the study column, and the table has no study column',
      });
    }
    const seen = new Map<string, ColumnRole>();
    for (const { column, role, path } of assignedColumns(table, index)) {
      const earlier = seen.get(column);
      if (earlier === undefined) {
        seen.set(column, role);
      } else if (earlier === role) {
        issues.push({ path, message: `the column "${column}" is named twice in ${role}` });
      } else {
        issues.push({
          path,
          message: `the column "${column}" is already the ${earlier} column; a column has one role`,
        });
      }
    }
  });
  manifest.tables.forEach((table, index) => {
    if (table === null || !isWholeTable(table)) {
      return;
    }
    (table.references ?? []).forEach((reference, i) => {
      const path = ['tables', index, 'references', i, 'table'];
      const target = byName.get(reference.table);
      if (target === undefined) {
        issues.push({ path, message: `no table named "${reference.table}" in this manifest` });
      } else if (isWholeTable(target) && target.study === undefined) {
        issues.push({
          path,
          message: `the table "${reference.table}" has no study column, so nothing to reference`,
        });
      }
    });
  });
  return issues;
}

function isWholeTable(table: DeliveryTable | { name: string }): table is DeliveryTable {
  return 'file' in table;
}

/**
 * A table name in the singular, for its study id: `xrays` -> `xray`, `biopsies` -> `biopsy`,
 * `ed-encounters` -> `ed_encounter`. English plurals of the kinds of tables deliveries hold; a
 * name it gets wrong is given as `study_id` in the manifest.
 */
export function singularTableName(name: string): string {
  const words = name.split(/[-_]/u);
  const last = words.pop() ?? '';
  return [...words, singularWord(last)].join('_');
}

const UNCHANGED_PLURALS = new Set(['series', 'species', 'data', 'status', 'analysis', 'diagnosis']);

function singularWord(word: string): string {
  if (UNCHANGED_PLURALS.has(word) || word.length < 3) {
    return word;
  }
  if (word.endsWith('ies')) {
    return `${word.slice(0, -3)}y`;
  }
  if (word.endsWith('ses') && word.endsWith('yses')) {
    return `${word.slice(0, -2)}is`; // analyses -> analysis
  }
  if (/(?:ss|x|ch|sh)es$/u.test(word)) {
    return word.slice(0, -2);
  }
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us')) {
    return word.slice(0, -1);
  }
  return word;
}

/** The published name of a table's study id: `study_id`, or `<table name, singular>_id`. */
export function studyIdName(table: Pick<DeliveryTable, 'name' | 'study_id'>): string {
  return table.study_id ?? `${singularTableName(table.name)}_id`;
}

/** One problem with a manifest, and where in `delivery.yaml` it is. */
export interface ManifestProblem {
  /** Where in the manifest: `tables[1].study`, or `` for the whole file. */
  path: string;
  message: string;
  /** One-based line and column in the file, when known. */
  line: number | null;
  column: number | null;
}

export type ManifestParse =
  { ok: true; manifest: DeliveryManifest } | { ok: false; problems: ManifestProblem[] };

/**
 * Parses `delivery.yaml`: YAML syntax first (duplicate keys and several documents are errors),
 * then the schema and the rules across tables. Every problem is returned, with its line.
 */
export function parseDeliveryManifest(text: string): ManifestParse {
  if (text.length > MANIFEST_MAX_BYTES) {
    return {
      ok: false,
      problems: [
        {
          path: '',
          message: `a manifest has at most ${MANIFEST_MAX_BYTES} bytes`,
          line: null,
          column: null,
        },
      ],
    };
  }
  const lines = new LineCounter();
  const document = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => {
        const position = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
        return {
          path: '',
          message: firstLine(error.message),
          line: position.line,
          column: position.col,
        };
      }),
    };
  }
  let value: unknown;
  try {
    // The default bound on alias expansion (maxAliasCount) stops "billion laughs" documents.
    value = document.toJS();
  } catch (error) {
    return {
      ok: false,
      problems: [
        {
          path: '',
          message: error instanceof Error ? firstLine(error.message) : 'the YAML cannot be read',
          line: null,
          column: null,
        },
      ],
    };
  }
  const parsed = deliveryManifestSchema.safeParse(value);
  if (parsed.success) {
    return { ok: true, manifest: parsed.data };
  }
  const issues: { path: PropertyKey[]; message: string; keys?: string[] }[] = [
    ...parsed.error.issues.map((issue) => ({
      path: issue.path,
      message: issue.message,
      ...(issue.code === 'unrecognized_keys' ? { keys: issue.keys } : {}),
    })),
  ];
  // Zod skips the rules across tables once a table fails its own schema; run them on the tables
  // that passed, so that one round of fixes is enough.
  const known = new Set(
    issues.map((issue) => `${formatPath(onlyParts(issue.path))}\n${issue.message}`),
  );
  for (const issue of checkManifestRules(leniently(value))) {
    if (!known.has(`${formatPath(issue.path)}\n${issue.message}`)) {
      issues.push(issue);
    }
  }
  const problems = issues.flatMap((issue): ManifestProblem[] => {
    const path = onlyParts(issue.path);
    if (issue.keys !== undefined) {
      return issue.keys.map((key) => ({
        ...locate(document, lines, [...path, key], true),
        path: formatPath([...path, key]),
        message: unknownKey(key, path),
      }));
    }
    return [
      { ...locate(document, lines, path, false), path: formatPath(path), message: issue.message },
    ];
  });
  return { ok: false, problems: problems.sort(byPlace) };
}

/**
 * An unknown key, and what was likely meant: the key of that place it is a slip for (`flies`,
 * `files`), else the keys that place takes.
 */
function unknownKey(key: string, path: readonly (string | number)[]): string {
  const place = path.at(-2);
  const keys = Object.keys(
    place === 'references'
      ? deliveryReferenceSchema.shape
      : place === 'tables'
        ? deliveryTableSchema.shape
        : manifestShape,
  );
  const meant = closestName(key, keys);
  return meant === null
    ? `unknown key "${key}"; the keys here: ${keys.join(', ')}`
    : `unknown key "${key}" (did you mean "${meant}"?)`;
}

function onlyParts(path: readonly PropertyKey[]): (string | number)[] {
  return path.filter((part): part is string | number => typeof part !== 'symbol');
}

/**
 * The tables of a manifest that failed its schema: each table that passes its own schema (unknown
 * keys aside: they are reported already), and for
 * the others their name alone (so that references to them are not reported as missing).
 */
function leniently(value: unknown): { tables: (DeliveryTable | { name: string } | null)[] } {
  const tables: unknown =
    typeof value === 'object' && value !== null && 'tables' in value ? value.tables : null;
  if (!Array.isArray(tables)) {
    return { tables: [] };
  }
  return {
    tables: tables.map((table: unknown) => {
      const parsed = z.object(deliveryTableSchema.shape).safeParse(table);
      if (parsed.success) {
        return parsed.data;
      }
      const name: unknown =
        typeof table === 'object' && table !== null && 'name' in table ? table.name : null;
      return typeof name === 'string' ? { name } : null;
    }),
  };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function byPlace(a: ManifestProblem, b: ManifestProblem): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
}

/** `['tables', 1, 'dates', 0]` -> `tables[1].dates[0]`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

/**
 * The line and column of the node at `path`, or of its nearest ancestor present in the file (a
 * missing key is reported where its map begins). With `isKey`, the last part is a key of a map
 * and its key is located rather than its value.
 */
function locate(
  document: Document,
  lines: LineCounter,
  path: readonly (string | number)[],
  isKey: boolean,
): { line: number | null; column: number | null } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = nodeAt(document, path.slice(0, depth), isKey && depth === path.length);
    if (node !== null) {
      const position = lines.linePos(node);
      return { line: position.line, column: position.col };
    }
  }
  return { line: null, column: null };
}

/** The offset where the node at `path` begins, or null. */
function nodeAt(
  document: Document,
  path: readonly (string | number)[],
  isKey: boolean,
): number | null {
  let node: unknown = document.contents;
  for (let i = 0; i < path.length; i++) {
    const part = path[i];
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && item.key.value === part,
      );
      if (pair === undefined) {
        return null;
      }
      node = isKey && i === path.length - 1 ? pair.key : pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
    } else {
      return null;
    }
  }
  if (isScalar(node) || isMap(node) || isSeq(node)) {
    return node.range?.[0] ?? null;
  }
  return null;
}
