/**
 * What a curator needs to know about a delivered table before it enters a dataset: its columns with
 * an inferred type each (the data dictionary's types, see column-types.ts), which of them have
 * missing values, how many rows it has, and, when asked, whether its primary key is one.
 * The whole file is streamed once; memory does not grow with its length.
 */
import { FormatError } from '../format-error.js';
import { ColumnTypeInference, isEmptyValue, type ColumnType } from './column-types.js';
import { readCsv, type ByteSource, type CsvOptions, type CsvTable } from './csv.js';
import { KeySet } from './key-set.js';

export interface InspectTableOptions extends CsvOptions {
  /** Columns whose values together identify a row: their values are collected and checked. */
  keyColumns?: readonly string[];
  /** The most distinct keys kept (each costs 32 bytes at most). Default 10,000,000. */
  maxKeys?: number;
}

/** The default bound on distinct key values (about 200 MB of digests, 300 MB while the table grows). */
export const DEFAULT_MAX_KEYS = 10_000_000;

/** How many duplicate key lines are listed (all are counted). */
const LISTED_DUPLICATES = 10;

/** The longest example value shown, in characters. */
const EXAMPLE_CHARS = 100;

export interface TableColumn {
  name: string;
  type: ColumnType;
  /** Does the column have empty cells (or no values at all)? */
  nullable: boolean;
  /** The first non-empty value, cut to 100 characters, or null in an empty column. */
  example: string | null;
  /** How many cells of the column are empty. */
  empty: number;
}

export interface TableKeys {
  columns: string[];
  /** Distinct keys among the rows whose key columns are all filled. */
  distinct: number;
  /** Rows whose key an earlier row already had. */
  duplicates: number;
  /** Rows with an empty value in a key column (a primary key has none). */
  empty: number;
  /** The lines of the first duplicates, for the curator to look at. */
  duplicateLines: number[];
  /** The keys themselves (as digests), to check other tables' references against. */
  values: KeySet;
}

export interface TableInspection {
  format: 'csv';
  columns: TableColumn[];
  /** Data rows, the header not counted. */
  rowCount: number;
  /** The size of the file in bytes. */
  bytes: number;
  /** The primary key's check, when `keyColumns` were given. */
  keys: TableKeys | null;
}

/** Streams a CSV file once and describes it; any problem with the file is a `FormatError`. */
export async function inspectTable(
  source: ByteSource,
  options: InspectTableOptions,
): Promise<TableInspection> {
  const table = await readCsv(source, options);
  try {
    return await inspectRows(table, options);
  } finally {
    await table.close();
  }
}

async function inspectRows(
  table: CsvTable,
  options: InspectTableOptions,
): Promise<TableInspection> {
  const inferences = table.columns.map(() => new ColumnTypeInference());
  const keyIndexes = (options.keyColumns ?? []).map((name) => {
    const index = table.columns.indexOf(name);
    if (index < 0) {
      throw new FormatError('missing_column', `the key column "${name}" is not in the header`, {
        file: options.name,
        offset: 0,
        line: 1,
      });
    }
    return index;
  });
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  const keys: TableKeys | null =
    options.keyColumns === undefined
      ? null
      : {
          columns: [...options.keyColumns],
          distinct: 0,
          duplicates: 0,
          empty: 0,
          duplicateLines: [],
          values: new KeySet(),
        };
  let rowCount = 0;
  for await (const row of table) {
    rowCount++;
    const { values } = row;
    for (let i = 0; i < inferences.length; i++) {
      inferences[i]?.add(values[i] ?? null);
    }
    if (keys === null) {
      continue;
    }
    const key: string[] = [];
    for (const index of keyIndexes) {
      const value = values[index] ?? null;
      if (isEmptyValue(value)) {
        break;
      }
      key.push(value);
    }
    if (key.length < keyIndexes.length) {
      keys.empty++;
    } else if (keys.values.size >= maxKeys && !keys.values.has(key)) {
      throw new FormatError('too_many_keys', `the table has more than ${maxKeys} distinct keys`, {
        file: options.name,
        offset: row.offset,
        line: row.line,
      });
    } else if (!keys.values.add(key)) {
      keys.duplicates++;
      if (keys.duplicateLines.length < LISTED_DUPLICATES) {
        keys.duplicateLines.push(row.line);
      }
    }
  }
  if (keys !== null) {
    keys.distinct = keys.values.size;
  }
  return {
    format: 'csv',
    columns: table.columns.map((name, i) => {
      const inference = inferences[i] ?? new ColumnTypeInference();
      return {
        name,
        type: inference.type,
        nullable: inference.nullable,
        example: inference.example === null ? null : inference.example.slice(0, EXAMPLE_CHARS),
        empty: inference.empty,
      };
    }),
    rowCount,
    bytes: table.bytesRead,
    keys,
  };
}
