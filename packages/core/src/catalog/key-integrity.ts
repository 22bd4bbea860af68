import type { Snapshot } from './dataset.js';
import { compareText, rowKey } from './snapshot-diff.js';

/**
 * The declared keys checked against the rows themselves, as ingestion reads them: a primary key
 * that is empty or repeated, and a foreign key whose value the referenced table does not have (a
 * study whose patient does not exist). Rows are fed one at a time, in any order of tables, so a
 * delivery is read once and never held whole; only key values are kept.
 */
export type KeyIntegrityCode = 'empty-primary-key' | 'duplicate-primary-key' | 'orphan-reference';

export interface KeyIntegrityProblem {
  code: KeyIntegrityCode;
  /** Every key problem refuses publication. */
  severity: 'blocking';
  table: string;
  columns: string[];
  /** How many rows have the problem. */
  count: number;
  /** A few of the offending key values (pseudonymous ids), for the curator to look up. */
  examples: string[];
  message: string;
}

/** A row as read from a table's file: column name to cell (empty cells as '' or null). */
export type Row = Readonly<Record<string, string | number | boolean | null | undefined>>;

const EXAMPLES = 3;

/** The key of a row's values in `columns`, or null when any of them is empty. */
function keyOf(row: Row, columns: readonly string[]): string | null {
  const values: (string | number | boolean)[] = [];
  for (const column of columns) {
    const value = Object.hasOwn(row, column) ? row[column] : undefined;
    if (value === null || value === undefined || value === '') {
      return null;
    }
    values.push(value);
  }
  return rowKey(values.map(String));
}

interface Reference {
  table: string;
  columns: readonly string[];
  target: string;
  targetColumns: readonly string[];
  /** Values seen in the child, with how many rows hold each. */
  values: Map<string, number>;
}

interface Index {
  table: string;
  columns: readonly string[];
  values: Set<string>;
}

const indexId = (table: string, columns: readonly string[]) => JSON.stringify([table, columns]);

/** Collects key values row by row, then says what does not hold (`problems`). */
export class KeyIntegrityCheck {
  private readonly primaryKeys = new Map<string, readonly string[]>();
  /** Key values of each referenced (table, columns), primary keys included, by `indexId`. */
  private readonly indexes = new Map<string, Index>();
  private readonly references: Reference[] = [];
  private readonly empty = new Map<string, number>();
  private readonly duplicates = new Map<string, Map<string, number>>();

  constructor(snapshot: Snapshot) {
    const names = new Set(snapshot.tables.map((table) => table.name));
    for (const table of snapshot.tables) {
      if (table.primaryKey.length > 0) {
        this.primaryKeys.set(table.name, table.primaryKey);
        this.index(table.name, table.primaryKey);
      }
      for (const key of table.foreignKeys) {
        // A key to a table this version lacks is a dictionary problem (checkDictionary).
        if (names.has(key.references.table)) {
          this.index(key.references.table, key.references.columns);
          this.references.push({
            table: table.name,
            columns: key.columns,
            target: key.references.table,
            targetColumns: key.references.columns,
            values: new Map(),
          });
        }
      }
    }
  }

  private index(table: string, columns: readonly string[]): void {
    const id = indexId(table, columns);
    if (!this.indexes.has(id)) {
      this.indexes.set(id, { table, columns, values: new Set() });
    }
  }

  /** Reads one row of `table`. */
  addRow(table: string, row: Row): void {
    const primaryKey = this.primaryKeys.get(table);
    if (primaryKey !== undefined) {
      const key = keyOf(row, primaryKey);
      const seen = this.indexes.get(indexId(table, primaryKey))?.values;
      if (key === null) {
        this.empty.set(table, (this.empty.get(table) ?? 0) + 1);
      } else if (seen?.has(key) === true) {
        const repeated = this.duplicates.get(table) ?? new Map<string, number>();
        repeated.set(key, (repeated.get(key) ?? 0) + 1);
        this.duplicates.set(table, repeated);
      }
    }
    for (const index of this.indexes.values()) {
      if (index.table === table) {
        const key = keyOf(row, index.columns);
        if (key !== null) {
          index.values.add(key);
        }
      }
    }
    for (const reference of this.references) {
      if (reference.table === table) {
        // An empty foreign key refers to nothing; whether it may be empty is the column's type.
        const key = keyOf(row, reference.columns);
        if (key !== null) {
          reference.values.set(key, (reference.values.get(key) ?? 0) + 1);
        }
      }
    }
  }

  /** Every key problem of the rows read so far, by table. */
  problems(): KeyIntegrityProblem[] {
    const problems: KeyIntegrityProblem[] = [];
    for (const [table, count] of this.empty) {
      const columns = [...(this.primaryKeys.get(table) ?? [])];
      problems.push({
        code: 'empty-primary-key',
        severity: 'blocking',
        table,
        columns,
        count,
        examples: [],
        message: `${plural(count, 'row')} of ${table} ${count === 1 ? 'has' : 'have'} an empty primary key (${columns.join(', ')})`,
      });
    }
    for (const [table, repeated] of this.duplicates) {
      const columns = [...(this.primaryKeys.get(table) ?? [])];
      const count = [...repeated.values()].reduce((sum, n) => sum + n, 0);
      const examples = [...repeated.keys()].sort(compareText).slice(0, EXAMPLES);
      problems.push({
        code: 'duplicate-primary-key',
        severity: 'blocking',
        table,
        columns,
        count,
        examples,
        message: `${plural(count, 'row')} of ${table} repeat${count === 1 ? 's' : ''} a primary key (${columns.join(', ')}) already used, such as ${examples.join(', ')}`,
      });
    }
    for (const reference of this.references) {
      const known = this.indexes.get(indexId(reference.target, reference.targetColumns))?.values;
      const missing = [...reference.values].filter(([value]) => known?.has(value) !== true);
      if (missing.length === 0) {
        continue;
      }
      const count = missing.reduce((sum, [, n]) => sum + n, 0);
      const examples = missing
        .map(([value]) => value)
        .sort(compareText)
        .slice(0, EXAMPLES);
      problems.push({
        code: 'orphan-reference',
        severity: 'blocking',
        table: reference.table,
        columns: [...reference.columns],
        count,
        examples,
        message: `${plural(count, 'row')} of ${reference.table} refer${count === 1 ? 's' : ''} by (${reference.columns.join(', ')}) to ${reference.target} rows that do not exist, such as ${examples.join(', ')}`,
      });
    }
    return problems.sort(
      (a, b) =>
        compareText(a.table, b.table) ||
        compareText(a.code, b.code) ||
        compareText(a.columns.join(','), b.columns.join(',')),
    );
  }
}

const plural = (count: number, word: string) => `${count} ${count === 1 ? word : `${word}s`}`;
