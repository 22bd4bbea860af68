/**
 * A delivered table opened for reading, whatever its format: Parquet is recognised by its first
 * bytes ("PAR1"), anything else is read as CSV. Rows come one at a time, each with its place in
 * the file (a CSV row's line, a Parquet row's number), for the checks and the transform that
 * name the rows they find problems in.
 */
import { createReadStream } from 'node:fs';
import {
  isParquet,
  openRandomAccessFile,
  readCsv,
  readParquet,
  type ColumnType,
} from '@lantern/formats';

/** One row of a source table: its values in header order and where it is. */
export interface SourceRow {
  values: (string | null)[];
  /** The line a CSV row begins on, or the number (from 1) of a Parquet row. */
  place: number;
  offset: number;
}

/** A source table: its header, then its rows, each read once, in order. */
export interface SourceTable extends AsyncIterable<SourceRow> {
  readonly format: 'csv' | 'parquet';
  readonly columns: readonly string[];
  /** A Parquet file's own column types; null for CSV (inferred from the values instead). */
  readonly types: readonly ColumnType[] | null;
  /** The file's size in bytes. */
  readonly bytes: number;
  close(): Promise<void>;
}

/**
 * Opens the table file at `path` (`name` is how errors name it). Problems with the file are
 * FormatErrors, thrown here for the header and from the iteration for the rows.
 */
export async function openSourceTable(path: string, name: string): Promise<SourceTable> {
  const file = await openRandomAccessFile(path);
  let isOpen = true;
  const closeFile = async () => {
    if (isOpen) {
      isOpen = false;
      await file.close();
    }
  };
  try {
    if (file.byteLength >= 4 && isParquet(await file.read(0, 4))) {
      const table = await readParquet(file, { name });
      async function* rows(): AsyncGenerator<SourceRow, void, undefined> {
        try {
          for await (const row of table) {
            yield { values: row.values, place: row.row, offset: row.offset };
          }
        } finally {
          await closeFile();
        }
      }
      return {
        format: 'parquet',
        columns: table.columns.map((column) => column.name),
        types: table.columns.map((column) => column.type),
        bytes: file.byteLength,
        [Symbol.asyncIterator]: rows,
        close: closeFile,
      };
    }
  } catch (error) {
    await closeFile();
    throw error;
  }
  const bytes = file.byteLength;
  await closeFile();
  const stream = createReadStream(path);
  const table = await readCsv(stream, { name }).catch((error: unknown) => {
    stream.destroy();
    throw error;
  });
  async function* rows(): AsyncGenerator<SourceRow, void, undefined> {
    for await (const row of table) {
      yield { values: row.values, place: row.line, offset: row.offset };
    }
  }
  return {
    format: 'csv',
    columns: table.columns,
    types: null,
    bytes,
    [Symbol.asyncIterator]: rows,
    close: () => table.close(),
  };
}
