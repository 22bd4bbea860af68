/**
 * The inspection of a table file on disk, whatever its format: Parquet is recognised by its first
 * bytes ("PAR1"), anything else is read as CSV.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { type CsvOptions } from './csv.js';
import {
  inspectTable,
  TableProfile,
  type TableInspection,
  type TableProfileOptions,
} from './inspect-table.js';
import {
  isParquet,
  openRandomAccessFile,
  readParquet,
  type ParquetOptions,
  type RandomAccessFile,
} from './parquet.js';

export type InspectFileOptions = Partial<CsvOptions & ParquetOptions & TableProfileOptions>;

/**
 * Reads a Parquet file's rows once and describes it. The column types are the file's own (its
 * schema), not inferred; nullability, examples and keys come from the values.
 */
export async function inspectParquet(
  file: RandomAccessFile,
  options: ParquetOptions & TableProfileOptions,
): Promise<TableInspection> {
  const table = await readParquet(file, options);
  const profile = new TableProfile(
    table.columns.map((column) => column.name),
    options,
  );
  for await (const row of table) {
    profile.add(row.values, { row: row.row, offset: row.offset });
  }
  return profile.describe(
    'parquet',
    file.byteLength,
    table.columns.map((column) => column.type),
  );
}

/** Describes the table file at `path` (CSV or Parquet); `name` defaults to the file's base name. */
export async function inspectTableFile(
  path: string,
  options: InspectFileOptions = {},
): Promise<TableInspection> {
  const named = { ...options, name: options.name ?? basename(path) };
  const file = await openRandomAccessFile(path);
  try {
    if (file.byteLength >= 4 && isParquet(await file.read(0, 4))) {
      return await inspectParquet(file, named);
    }
  } finally {
    await file.close();
  }
  return inspectTable(createReadStream(path), named);
}
