/**
 * What a curator needs to know about a delivered table before it enters a dataset: its columns with
 * an inferred type each (the data dictionary's types, see column-types.ts), which of them have
 * missing values, how many rows it has, and, when asked, whether its primary key is one.
 * The whole file is streamed once; memory does not grow with its length.
 */
import { FormatError } from '../format-error.js';
import { ColumnTypeInference, isEmptyValue, type ColumnType } from './column-types.js';
import { readCsv, type ByteSource, type CsvOptions } from './csv.js';
import { KeySet } from './key-set.js';

/** What every table inspection may be asked, whatever the file's format. */
export interface TableProfileOptions {
  /** The file's name, for error messages. */
  name: string;
  /** Columns whose values together identify a row: their values are collected and checked. */
  keyColumns?: readonly string[];
  /** The most distinct keys kept (each costs 32 bytes at most). Default 10,000,000. */
  maxKeys?: number;
}

export interface InspectTableOptions extends CsvOptions, TableProfileOptions {}

/** The default bound on distinct key values (about 200 MB of digests, 300 MB while the table grows). */
export const DEFAULT_MAX_KEYS = 10_000_000;

/** How many duplicate key rows are listed (all are counted). */
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
  /** Where the first duplicates are: their line in a CSV file, their row number (from 1) in Parquet. */
  duplicateRows: number[];
  /** The keys themselves (as digests), to check other tables' references against. */
  values: KeySet;
}

export interface TableInspection {
  format: 'csv' | 'parquet';
  columns: TableColumn[];
  /** Data rows, a CSV header not counted. */
  rowCount: number;
  /** The size of the file in bytes. */
  bytes: number;
  /** The primary key's check, when `keyColumns` were given. */
  keys: TableKeys | null;
}

/** Where a row is, for the errors and duplicates that name it. */
export interface RowPlace {
  /** The line a CSV row begins on, or the row number (from 1) of a Parquet row. */
  row: number;
  offset: number;
  /** Set for text files only. */
  line?: number;
}

/**
 * A table's description, learnt one row at a time in memory that does not grow with the rows:
 * a type inference per column, and the key set when key columns are named.
 */
export class TableProfile {
  private readonly inferences: ColumnTypeInference[];
  private readonly keyIndexes: number[];
  private readonly keys: TableKeys | null;
  private readonly maxKeys: number;
  private rowCount = 0;

  /** Fails with `missing_column` when a key column is not one of `columns`. */
  constructor(
    private readonly columns: readonly string[],
    private readonly options: TableProfileOptions,
  ) {
    this.inferences = columns.map(() => new ColumnTypeInference());
    this.keyIndexes = (options.keyColumns ?? []).map((name) => {
      const index = columns.indexOf(name);
      if (index < 0) {
        throw new FormatError('missing_column', `the key column "${name}" is not in the table`, {
          file: options.name,
          offset: 0,
        });
      }
      return index;
    });
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.keys =
      options.keyColumns === undefined
        ? null
        : {
            columns: [...options.keyColumns],
            distinct: 0,
            duplicates: 0,
            empty: 0,
            duplicateRows: [],
            values: new KeySet(),
          };
  }

  /** Takes one row (its values in column order) into account. */
  add(values: readonly (string | null)[], place: RowPlace): void {
    this.rowCount++;
    for (let i = 0; i < this.inferences.length; i++) {
      this.inferences[i]?.add(values[i] ?? null);
    }
    const keys = this.keys;
    if (keys === null) {
      return;
    }
    const key: string[] = [];
    for (const index of this.keyIndexes) {
      const value = values[index] ?? null;
      if (isEmptyValue(value)) {
        keys.empty++;
        return;
      }
      key.push(value);
    }
    if (keys.values.size >= this.maxKeys && !keys.values.has(key)) {
      throw new FormatError(
        'too_many_keys',
        `the table has more than ${this.maxKeys} distinct keys`,
        {
          file: this.options.name,
          ...place,
        },
      );
    }
    if (!keys.values.add(key)) {
      keys.duplicates++;
      if (keys.duplicateRows.length < LISTED_DUPLICATES) {
        keys.duplicateRows.push(place.row);
      }
    }
  }

  /** The description so far; `types`, when given, are the file's own (Parquet) and not inferred. */
  describe(
    format: TableInspection['format'],
    bytes: number,
    types?: readonly ColumnType[],
  ): TableInspection {
    if (this.keys !== null) {
      this.keys.distinct = this.keys.values.size;
    }
    return {
      format,
      columns: this.columns.map((name, i) => {
        const inference = this.inferences[i] ?? new ColumnTypeInference();
        return {
          name,
          type: types?.[i] ?? inference.type,
          nullable: inference.nullable,
          example: inference.example === null ? null : inference.example.slice(0, EXAMPLE_CHARS),
          empty: inference.empty,
        };
      }),
      rowCount: this.rowCount,
      bytes,
      keys: this.keys,
    };
  }
}

/** Streams a CSV file once and describes it; any problem with the file is a `FormatError`. */
export async function inspectTable(
  source: ByteSource,
  options: InspectTableOptions,
): Promise<TableInspection> {
  const table = await readCsv(source, options);
  try {
    const profile = new TableProfile(table.columns, options);
    for await (const row of table) {
      profile.add(row.values, { row: row.line, line: row.line, offset: row.offset });
    }
    return profile.describe('csv', table.bytesRead);
  } finally {
    await table.close();
  }
}
