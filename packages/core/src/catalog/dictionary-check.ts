import type {
  ColumnType,
  DataDictionary,
  DictionaryColumn,
  Snapshot,
  TableSnapshot,
} from './dataset.js';
import { compareText } from './snapshot-diff.js';

/**
 * The data dictionary checked against the tables a version really holds, every problem at once.
 * A `blocking` problem refuses publication (the dictionary would say something false, or leave a
 * column unexplained, or a key would point nowhere); a `warning` is shown to the curator, who may
 * publish anyway.
 */
export type DictionaryProblemCode =
  // blocking
  | 'table-undocumented'
  | 'table-missing'
  | 'table-documented-twice'
  | 'column-undocumented'
  | 'column-missing'
  | 'column-documented-twice'
  | 'type-mismatch'
  | 'key-missing-column'
  | 'key-missing-table'
  | 'key-missing-referenced-column'
  | 'key-arity'
  | 'primary-key-nullable'
  // warnings
  | 'no-primary-key'
  | 'key-type-mismatch'
  | 'key-not-primary'
  | 'example-type'
  | 'allowed-value-type'
  | 'example-not-allowed'
  | 'date-not-deidentified';

export type ProblemSeverity = 'blocking' | 'warning';

/** Which problems block publication; every other is a warning. */
export const DICTIONARY_PROBLEM_SEVERITY: Readonly<Record<DictionaryProblemCode, ProblemSeverity>> =
  {
    'table-undocumented': 'blocking',
    'table-missing': 'blocking',
    'table-documented-twice': 'blocking',
    'column-undocumented': 'blocking',
    'column-missing': 'blocking',
    'column-documented-twice': 'blocking',
    'type-mismatch': 'blocking',
    'key-missing-column': 'blocking',
    'key-missing-table': 'blocking',
    'key-missing-referenced-column': 'blocking',
    'key-arity': 'blocking',
    'primary-key-nullable': 'blocking',
    'no-primary-key': 'warning',
    'key-type-mismatch': 'warning',
    'key-not-primary': 'warning',
    'example-type': 'warning',
    'allowed-value-type': 'warning',
    'example-not-allowed': 'warning',
    'date-not-deidentified': 'warning',
  };

export interface DictionaryProblem {
  code: DictionaryProblemCode;
  severity: ProblemSeverity;
  table: string;
  /** The column concerned, when the problem is about one. */
  column?: string;
  message: string;
}

/** Does any problem refuse publication? */
export function hasBlockingProblems(problems: readonly { severity: ProblemSeverity }[]): boolean {
  return problems.some((problem) => problem.severity === 'blocking');
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/u;
const DATETIME =
  /^(\d{4}-\d{2}-\d{2})[T ]([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$/u;

function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  if (match === null) {
    return false;
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  );
}

/**
 * Does `text` read as a value of `type` as a CSV cell holds it? Integers and numbers in decimal,
 * booleans as true/false or 1/0, dates as ISO 8601 calendar dates (YYYY-MM-DD) and datetimes as
 * ISO 8601 / RFC 3339 (a space allowed for the T, the offset optional).
 */
export function isValueOfType(text: string, type: ColumnType): boolean {
  switch (type) {
    case 'string':
      return true;
    case 'integer':
      return /^[+-]?\d+$/u.test(text);
    case 'number':
      return /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/u.test(text);
    case 'boolean':
      return /^(?:true|false|1|0)$/iu.test(text);
    case 'date':
      return isCalendarDate(text);
    case 'datetime': {
      const match = DATETIME.exec(text);
      return match !== null && isCalendarDate(match[1] ?? '');
    }
    default:
      return type satisfies never;
  }
}

function problem(
  code: DictionaryProblemCode,
  table: string,
  column: string | undefined,
  message: string,
): DictionaryProblem {
  const severity = DICTIONARY_PROBLEM_SEVERITY[code];
  return column === undefined
    ? { code, severity, table, message }
    : { code, severity, table, column, message };
}

function checkDocumentedColumn(
  table: string,
  documented: DictionaryColumn,
  observed: ColumnType,
): DictionaryProblem[] {
  const problems: DictionaryProblem[] = [];
  const name = documented.name;
  if (documented.type !== observed) {
    problems.push(
      problem(
        'type-mismatch',
        table,
        name,
        `${table}.${name} is documented as ${documented.type} but the table holds ${observed}`,
      ),
    );
  }
  if (documented.example !== undefined && !isValueOfType(documented.example, documented.type)) {
    problems.push(
      problem(
        'example-type',
        table,
        name,
        `the example of ${table}.${name} ("${documented.example}") is not a ${documented.type}`,
      ),
    );
  }
  for (const value of documented.allowedValues ?? []) {
    if (!isValueOfType(value, documented.type)) {
      problems.push(
        problem(
          'allowed-value-type',
          table,
          name,
          `the allowed value "${value}" of ${table}.${name} is not a ${documented.type}`,
        ),
      );
    }
  }
  if (
    documented.example !== undefined &&
    documented.allowedValues !== undefined &&
    !documented.allowedValues.includes(documented.example)
  ) {
    problems.push(
      problem(
        'example-not-allowed',
        table,
        name,
        `the example of ${table}.${name} ("${documented.example}") is not one of its allowed values`,
      ),
    );
  }
  if (
    (observed === 'date' || observed === 'datetime') &&
    (documented.deidentification === undefined || documented.deidentification.method === 'none')
  ) {
    problems.push(
      problem(
        'date-not-deidentified',
        table,
        name,
        `${table}.${name} is a date: say how it was de-identified (dates are shifted by a per-patient offset)`,
      ),
    );
  }
  return problems;
}

function checkColumns(
  table: TableSnapshot,
  documented: readonly DictionaryColumn[],
): DictionaryProblem[] {
  const problems: DictionaryProblem[] = [];
  const observed = new Map(table.columns.map((column) => [column.name, column]));
  const seen = new Map<string, DictionaryColumn>();
  for (const column of documented) {
    if (seen.has(column.name)) {
      problems.push(
        problem(
          'column-documented-twice',
          table.name,
          column.name,
          `${table.name}.${column.name} is documented twice`,
        ),
      );
      continue;
    }
    seen.set(column.name, column);
    const actual = observed.get(column.name);
    if (actual === undefined) {
      problems.push(
        problem(
          'column-missing',
          table.name,
          column.name,
          `${table.name}.${column.name} is documented but the table has no such column`,
        ),
      );
    } else {
      problems.push(...checkDocumentedColumn(table.name, column, actual.type));
    }
  }
  for (const column of table.columns) {
    if (!seen.has(column.name)) {
      problems.push(
        problem(
          'column-undocumented',
          table.name,
          column.name,
          `${table.name}.${column.name} is in the table but not in the dictionary`,
        ),
      );
    }
  }
  return problems;
}

function checkKeys(table: TableSnapshot, tables: ReadonlyMap<string, TableSnapshot>) {
  const problems: DictionaryProblem[] = [];
  const columns = new Map(table.columns.map((column) => [column.name, column]));
  if (table.primaryKey.length === 0) {
    problems.push(
      problem(
        'no-primary-key',
        table.name,
        undefined,
        `${table.name} has no primary key: its rows cannot be told apart between versions`,
      ),
    );
  }
  for (const name of table.primaryKey) {
    const column = columns.get(name);
    if (column === undefined) {
      problems.push(
        problem(
          'key-missing-column',
          table.name,
          name,
          `the primary key of ${table.name} names ${name}, which the table does not have`,
        ),
      );
    } else if (column.nullable) {
      problems.push(
        problem(
          'primary-key-nullable',
          table.name,
          name,
          `${table.name}.${name} is part of the primary key and may not be empty`,
        ),
      );
    }
  }
  for (const key of table.foreignKeys) {
    const target = tables.get(key.references.table);
    const label = `the foreign key (${key.columns.join(', ')}) of ${table.name}`;
    for (const name of key.columns) {
      if (!columns.has(name)) {
        problems.push(
          problem(
            'key-missing-column',
            table.name,
            name,
            `${label} names ${name}, which the table does not have`,
          ),
        );
      }
    }
    if (key.columns.length !== key.references.columns.length) {
      problems.push(
        problem(
          'key-arity',
          table.name,
          undefined,
          `${label} has ${key.columns.length} columns but refers to ${key.references.columns.length}`,
        ),
      );
    }
    if (target === undefined) {
      problems.push(
        problem(
          'key-missing-table',
          table.name,
          undefined,
          `${label} refers to the table ${key.references.table}, which this version does not have`,
        ),
      );
      continue;
    }
    const targetColumns = new Map(target.columns.map((column) => [column.name, column]));
    key.references.columns.forEach((name, i) => {
      const referenced = targetColumns.get(name);
      if (referenced === undefined) {
        problems.push(
          problem(
            'key-missing-referenced-column',
            table.name,
            key.columns[i],
            `${label} refers to ${target.name}.${name}, which does not exist`,
          ),
        );
        return;
      }
      const own = columns.get(key.columns[i] ?? '');
      if (own !== undefined && own.type !== referenced.type) {
        problems.push(
          problem(
            'key-type-mismatch',
            table.name,
            own.name,
            `${table.name}.${own.name} is ${own.type} but refers to ${target.name}.${name}, which is ${referenced.type}`,
          ),
        );
      }
    });
    const referencesPrimary =
      target.primaryKey.length === key.references.columns.length &&
      target.primaryKey.every((name) => key.references.columns.includes(name));
    if (!referencesPrimary) {
      problems.push(
        problem(
          'key-not-primary',
          table.name,
          undefined,
          `${label} refers to (${key.references.columns.join(', ')}) of ${target.name}, which is not its primary key`,
        ),
      );
    }
  }
  return problems;
}

/** Blocking problems first, then by table, column and code: the same problems, the same order. */
function compareProblems(a: DictionaryProblem, b: DictionaryProblem): number {
  return (
    compareText(a.severity, b.severity) ||
    compareText(a.table, b.table) ||
    compareText(a.column ?? '', b.column ?? '') ||
    compareText(a.code, b.code) ||
    compareText(a.message, b.message)
  );
}

/**
 * Every disagreement between the tables of a version and its data dictionary: tables and columns
 * documented but absent or present but undocumented, documented types that are not the observed
 * ones, keys naming columns or tables that do not exist, and the softer warnings (no primary key,
 * keys of another type than what they refer to, examples and allowed values that do not fit the
 * type, dates without a word on de-identification). Empty when all is well.
 */
export function checkDictionary(
  snapshot: Snapshot,
  dictionary: DataDictionary,
): DictionaryProblem[] {
  const problems: DictionaryProblem[] = [];
  const tables = new Map(snapshot.tables.map((table) => [table.name, table]));
  const documented = new Map<string, DictionaryColumn[]>();
  for (const entry of dictionary.tables) {
    if (documented.has(entry.name)) {
      problems.push(
        problem(
          'table-documented-twice',
          entry.name,
          undefined,
          `${entry.name} is documented twice`,
        ),
      );
      continue;
    }
    documented.set(entry.name, entry.columns);
    if (!tables.has(entry.name)) {
      problems.push(
        problem(
          'table-missing',
          entry.name,
          undefined,
          `${entry.name} is documented but this version has no such table`,
        ),
      );
    }
  }
  for (const table of snapshot.tables) {
    const columns = documented.get(table.name);
    if (columns === undefined) {
      problems.push(
        problem(
          'table-undocumented',
          table.name,
          undefined,
          `${table.name} (${table.file}) is not in the dictionary: document its ${table.columns.length} columns`,
        ),
      );
    } else {
      problems.push(...checkColumns(table, columns));
    }
    problems.push(...checkKeys(table, tables));
  }
  return problems.sort(compareProblems);
}
