import type { Column, ForeignKey } from './dataset.js';
import type { RowChange, SnapshotDiff, TableChange } from './snapshot-diff.js';

/**
 * The change log of a version, generated from its diff and shown on the version page beside the
 * curator's own notes: one entry per fact, in a stable order (tables added, tables removed, then
 * each remaining table by name: file, columns added, removed, changed, keys, rows).
 */
export type ChangeLogKind =
  | 'table-added'
  | 'table-removed'
  | 'file-moved'
  | 'column-added'
  | 'column-removed'
  | 'column-changed'
  | 'primary-key-changed'
  | 'foreign-key-added'
  | 'foreign-key-removed'
  | 'rows-added'
  | 'rows-removed';

export interface ChangeLogEntry {
  kind: ChangeLogKind;
  table: string;
  column?: string;
  /** One plain-text sentence (no markup; pages escape it like any text). */
  text: string;
}

/** `4213` as `4,213`, the same on every machine whatever its locale. */
export function formatCount(count: number): string {
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/gu, ',');
}

const plural = (count: number, one: string, many: string) =>
  `${formatCount(count)} ${count === 1 ? one : many}`;

const describeColumn = (column: Column) =>
  `${column.type}${column.nullable ? ', may be empty' : ''}`;

const describeKey = (key: ForeignKey) =>
  `(${key.columns.join(', ')}) -> ${key.references.table} (${key.references.columns.join(', ')})`;

function rowEntries(table: string, rows: RowChange): ChangeLogEntry[] {
  const entries: ChangeLogEntry[] = [];
  const counted =
    rows.basis === 'counts' ? ' (net change in row count; row keys were not compared)' : '';
  const total = ` (${formatCount(rows.previousCount)} -> ${formatCount(rows.nextCount)})`;
  if (rows.added > 0) {
    entries.push({
      kind: 'rows-added',
      table,
      text: `${plural(rows.added, 'row', 'rows')} added to ${table}${total}${counted}`,
    });
  }
  if (rows.removed > 0) {
    entries.push({
      kind: 'rows-removed',
      table,
      text: `${plural(rows.removed, 'row', 'rows')} removed from ${table}${total}${counted}`,
    });
  }
  return entries;
}

function tableEntries(table: TableChange): ChangeLogEntry[] {
  const name = table.name;
  const entries: ChangeLogEntry[] = [];
  if (table.file !== null) {
    entries.push({
      kind: 'file-moved',
      table: name,
      text: `${name} moved from ${table.file.from} to ${table.file.to}`,
    });
  }
  for (const column of table.columnsAdded) {
    entries.push({
      kind: 'column-added',
      table: name,
      column: column.name,
      text: `Column ${name}.${column.name} added (${describeColumn(column)})`,
    });
  }
  for (const column of table.columnsRemoved) {
    entries.push({
      kind: 'column-removed',
      table: name,
      column: column.name,
      text: `Column ${name}.${column.name} removed`,
    });
  }
  for (const change of table.columnsChanged) {
    entries.push({
      kind: 'column-changed',
      table: name,
      column: change.name,
      text: `Column ${name}.${change.name} changed from ${describeColumn({ name: change.name, ...change.from })} to ${describeColumn({ name: change.name, ...change.to })}`,
    });
  }
  if (table.primaryKey !== null) {
    const list = (columns: readonly string[]) =>
      columns.length === 0 ? 'none' : `(${columns.join(', ')})`;
    entries.push({
      kind: 'primary-key-changed',
      table: name,
      text: `Primary key of ${name} changed from ${list(table.primaryKey.from)} to ${list(table.primaryKey.to)}`,
    });
  }
  for (const key of table.foreignKeysAdded) {
    entries.push({
      kind: 'foreign-key-added',
      table: name,
      text: `Foreign key ${name} ${describeKey(key)} added`,
    });
  }
  for (const key of table.foreignKeysRemoved) {
    entries.push({
      kind: 'foreign-key-removed',
      table: name,
      text: `Foreign key ${name} ${describeKey(key)} removed`,
    });
  }
  return [...entries, ...rowEntries(name, table.rows)];
}

/** The change log of `diff`, every fact once, in a stable order. */
export function changeLog(diff: SnapshotDiff): ChangeLogEntry[] {
  return [
    ...diff.tablesAdded.map((table): ChangeLogEntry => ({
      kind: 'table-added',
      table: table.name,
      text: `Table ${table.name} added (${table.file}; ${plural(table.rowCount, 'row', 'rows')}, ${plural(table.columns.length, 'column', 'columns')})`,
    })),
    ...diff.tablesRemoved.map((table): ChangeLogEntry => ({
      kind: 'table-removed',
      table: table.name,
      text: `Table ${table.name} removed (${table.file}; had ${plural(table.rowCount, 'row', 'rows')})`,
    })),
    ...diff.tables.flatMap(tableEntries),
  ];
}
