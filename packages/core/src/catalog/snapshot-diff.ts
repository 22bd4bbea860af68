import type { Column, ColumnType, ForeignKey, Snapshot, TableSnapshot } from './dataset.js';

/**
 * What changed between two versions' tables: the input of the version number (version.ts) and of
 * the change log (change-log.ts). Rows are identified by their primary key when the caller can
 * list the keys; otherwise only the row counts are compared, and the diff says so.
 */

/** The primary-key values of every row of each table, by table name. */
export type RowKeysByTable = ReadonlyMap<string, Iterable<string>>;

/** Row keys of the two versions, for the tables whose keys are known (both sides needed). */
export interface SnapshotRowKeys {
  previous: RowKeysByTable;
  next: RowKeysByTable;
}

/**
 * The key of one row from the values of its primary-key columns, in the table's key order. Within
 * one table (whose key always has the same number of columns) the same values give the same
 * string and different values never do: a one-column text key is itself, others are JSON (which
 * keeps `["a,b"]` and `["a","b"]`, `[1]` and `["1"]` apart).
 */
export function rowKey(values: readonly (string | number | boolean | null)[]): string {
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : JSON.stringify(values);
}

/**
 * Rows added and removed in a table present in both versions. With `basis: 'keys'` the numbers
 * are exact (rows told apart by primary key: a row whose key is new was added, even if as many
 * others were removed). With `basis: 'counts'` only the row counts were compared: `added` and
 * `removed` are the net change, and rows replaced one for one are invisible.
 */
export interface RowChange {
  basis: 'keys' | 'counts';
  previousCount: number;
  nextCount: number;
  added: number;
  removed: number;
}

/** A column whose type or nullability changed. */
export interface ColumnChange {
  name: string;
  from: { type: ColumnType; nullable: boolean };
  to: { type: ColumnType; nullable: boolean };
}

/** Everything that changed in a table present in both versions. */
export interface TableChange {
  name: string;
  /** The file moved (its path inside the version folder). */
  file: { from: string; to: string } | null;
  columnsAdded: Column[];
  columnsRemoved: Column[];
  columnsChanged: ColumnChange[];
  /** The primary key is another list of columns. */
  primaryKey: { from: string[]; to: string[] } | null;
  foreignKeysAdded: ForeignKey[];
  foreignKeysRemoved: ForeignKey[];
  rows: RowChange;
}

/** A table as it was added or removed. */
export interface TableSummary {
  name: string;
  file: string;
  rowCount: number;
  columns: Column[];
}

/** The difference between two versions' tables, every list sorted by name. */
export interface SnapshotDiff {
  tablesAdded: TableSummary[];
  tablesRemoved: TableSummary[];
  /** Every table present in both versions, changed or not. */
  tables: TableChange[];
}

const byName = <T extends { name: string }>(a: T, b: T) => compareText(a.name, b.name);

/** Code-point order, independent of the locale (so the same diff reads the same everywhere). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function summary(table: TableSnapshot): TableSummary {
  return {
    name: table.name,
    file: table.file,
    rowCount: table.rowCount,
    columns: [...table.columns].sort(byName),
  };
}

const foreignKeyId = (key: ForeignKey) =>
  JSON.stringify([key.columns, key.references.table, key.references.columns]);

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function rowChange(
  previous: TableSnapshot,
  next: TableSnapshot,
  previousKeys: Iterable<string> | undefined,
  nextKeys: Iterable<string> | undefined,
): RowChange {
  if (previousKeys !== undefined && nextKeys !== undefined) {
    const before = new Set(previousKeys);
    const after = new Set(nextKeys);
    let added = 0;
    for (const key of after) {
      if (!before.has(key)) {
        added += 1;
      }
    }
    let removed = 0;
    for (const key of before) {
      if (!after.has(key)) {
        removed += 1;
      }
    }
    return {
      basis: 'keys',
      previousCount: previous.rowCount,
      nextCount: next.rowCount,
      added,
      removed,
    };
  }
  const delta = next.rowCount - previous.rowCount;
  return {
    basis: 'counts',
    previousCount: previous.rowCount,
    nextCount: next.rowCount,
    added: Math.max(0, delta),
    removed: Math.max(0, -delta),
  };
}

function tableChange(
  previous: TableSnapshot,
  next: TableSnapshot,
  keys: SnapshotRowKeys | undefined,
): TableChange {
  const before = new Map(previous.columns.map((column) => [column.name, column]));
  const after = new Map(next.columns.map((column) => [column.name, column]));
  const columnsChanged: ColumnChange[] = [];
  for (const column of next.columns) {
    const old = before.get(column.name);
    if (old !== undefined && (old.type !== column.type || old.nullable !== column.nullable)) {
      columnsChanged.push({
        name: column.name,
        from: { type: old.type, nullable: old.nullable },
        to: { type: column.type, nullable: column.nullable },
      });
    }
  }
  const oldKeys = new Set(previous.foreignKeys.map(foreignKeyId));
  const newKeys = new Set(next.foreignKeys.map(foreignKeyId));
  const byKey = (a: ForeignKey, b: ForeignKey) => compareText(foreignKeyId(a), foreignKeyId(b));
  return {
    name: next.name,
    file: previous.file === next.file ? null : { from: previous.file, to: next.file },
    columnsAdded: next.columns.filter((column) => !before.has(column.name)).sort(byName),
    columnsRemoved: previous.columns.filter((column) => !after.has(column.name)).sort(byName),
    columnsChanged: columnsChanged.sort(byName),
    primaryKey: sameList(previous.primaryKey, next.primaryKey)
      ? null
      : { from: [...previous.primaryKey], to: [...next.primaryKey] },
    foreignKeysAdded: next.foreignKeys.filter((key) => !oldKeys.has(foreignKeyId(key))).sort(byKey),
    foreignKeysRemoved: previous.foreignKeys
      .filter((key) => !newKeys.has(foreignKeyId(key)))
      .sort(byKey),
    rows: rowChange(previous, next, keys?.previous.get(next.name), keys?.next.get(next.name)),
  };
}

/**
 * The difference between the tables of the previous published version (null for a first
 * publication: every table is added) and the next one. `rowKeys` gives the primary-key values of
 * the rows of tables whose keys are known on both sides; the other tables compare row counts.
 */
export function diffSnapshots(
  previous: Snapshot | null,
  next: Snapshot,
  rowKeys?: SnapshotRowKeys,
): SnapshotDiff {
  const before = new Map((previous?.tables ?? []).map((table) => [table.name, table]));
  const after = new Map(next.tables.map((table) => [table.name, table]));
  const tables: TableChange[] = [];
  for (const table of next.tables) {
    const old = before.get(table.name);
    if (old !== undefined) {
      tables.push(tableChange(old, table, rowKeys));
    }
  }
  return {
    tablesAdded: next.tables
      .filter((table) => !before.has(table.name))
      .map(summary)
      .sort(byName),
    tablesRemoved: [...before.values()]
      .filter((table) => !after.has(table.name))
      .map(summary)
      .sort(byName),
    tables: tables.sort(byName),
  };
}

/** Does this table's structure differ (anything but its rows)? */
export function isStructureChanged(table: TableChange): boolean {
  return (
    table.file !== null ||
    table.columnsAdded.length > 0 ||
    table.columnsRemoved.length > 0 ||
    table.columnsChanged.length > 0 ||
    table.primaryKey !== null ||
    table.foreignKeysAdded.length > 0 ||
    table.foreignKeysRemoved.length > 0
  );
}
