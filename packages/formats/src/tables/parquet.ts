/**
 * Parquet tables, decoded by hyparquet (pure JavaScript) one row group at a time. Parquet keeps its
 * index (the footer) at the end of the file, so it is read from a file that can be read at any
 * offset, not from a stream.
 *
 * hyparquet trusts the file more than a reader of partner deliveries may, so the lengths that decide
 * allocations are checked here first (Apache Parquet format, "File format"): the magic "PAR1" at
 * both ends, the footer's declared length against the file and `maxMetadataBytes`, every column
 * chunk inside the file, a row group's uncompressed size against `maxRowGroupBytes`, and every
 * page's declared uncompressed size against the same bound before it is decompressed. Only
 * uncompressed and Snappy-compressed files are read (the default of pyarrow, Spark and DuckDB);
 * another codec is an `unsupported_parquet` error, as are nested columns (lists, maps, structs),
 * which a flat data dictionary cannot describe.
 *
 * Values are handed out as text in the forms `matchesColumnType` accepts, so that CSV and Parquet
 * rows are checked alike: integers and decimals in decimal notation, booleans as true/false, dates
 * as YYYY-MM-DD, timestamps in ISO 8601 (with "Z" when the file says they are UTC), binary as base64.
 */
import { open } from 'node:fs/promises';
import {
  parquetMetadata,
  parquetRead,
  snappyUncompress,
  type CompressionCodec,
  type FileMetaData,
  type SchemaElement,
} from 'hyparquet';
import { FormatError, type FormatErrorCode } from '../format-error.js';
import type { ColumnType } from './column-types.js';

/** A file readable at any offset: what Parquet needs. */
export interface RandomAccessFile {
  readonly byteLength: number;
  /** Exactly `length` bytes from `offset` (the caller keeps within `byteLength`). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A local file opened for reading at any offset; close it when done. */
export async function openRandomAccessFile(
  path: string,
): Promise<RandomAccessFile & { close(): Promise<void> }> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    return {
      byteLength: size,
      read: async (offset, length) => {
        const bytes = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(bytes, done, length - done, offset + done);
          if (bytesRead === 0) {
            throw new Error(`${path} ended at byte ${offset + done} while being read`);
          }
          done += bytesRead;
        }
        return bytes;
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export interface ParquetOptions {
  /** The file's name, for error messages. */
  name: string;
  /** The largest footer (file metadata), in bytes. Default 64 MiB. */
  maxMetadataBytes?: number;
  /** The largest row group (uncompressed) and page, in bytes. Default 512 MiB. */
  maxRowGroupBytes?: number;
}

export const PARQUET_DEFAULT_LIMITS = {
  maxMetadataBytes: 64 * 1024 * 1024,
  maxRowGroupBytes: 512 * 1024 * 1024,
} as const;

/** One column as the file declares it. */
export interface ParquetColumn {
  name: string;
  /** The data dictionary's type for the column's physical and logical types. */
  type: ColumnType;
  /** The Parquet physical type (INT32, BYTE_ARRAY, …). */
  physicalType: string;
  /** The logical (or legacy converted) type, if the file gives one: STRING, DATE, DECIMAL, … */
  logicalType: string | null;
  /** Does the schema allow nulls (OPTIONAL)? */
  isOptional: boolean;
}

/** One row: its values in column order, and its number. */
export interface ParquetRow {
  values: (string | null)[];
  /** The row's number in the file, from 1. */
  row: number;
  /** The byte offset of its row group's first column chunk. */
  offset: number;
}

export interface ParquetTable extends AsyncIterable<ParquetRow> {
  readonly columns: readonly ParquetColumn[];
  readonly rowCount: number;
  readonly rowGroups: number;
  /** The software that wrote the file, as the file says. */
  readonly createdBy: string | null;
}

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"
const FOOTER_BYTES = 8; // metadata length (4, little endian) + "PAR1"
/** The codecs hyparquet decodes without extra packages. */
const SUPPORTED_CODECS: readonly CompressionCodec[] = ['UNCOMPRESSED', 'SNAPPY'];

/** Does a file begin like Parquet ("PAR1")? */
export function isParquet(head: Uint8Array): boolean {
  return MAGIC.every((byte, i) => head[i] === byte);
}

/**
 * Opens a Parquet file: reads and checks its footer, and returns the table whose rows (one row
 * group decoded at a time) the caller then iterates. Every problem is a `FormatError`.
 */
export async function readParquet(
  file: RandomAccessFile,
  options: ParquetOptions,
): Promise<ParquetTable> {
  const limits = { ...PARQUET_DEFAULT_LIMITS, ...options };
  const fail = (code: FormatErrorCode, detail: string, offset: number) =>
    new FormatError(code, detail, { file: options.name, offset });
  const size = file.byteLength;
  if (size < MAGIC.length * 2 + FOOTER_BYTES - 4) {
    throw fail('invalid_parquet', `the file is ${size} bytes, too short for Parquet`, 0);
  }
  if (!isParquet(await file.read(0, MAGIC.length))) {
    throw fail('invalid_parquet', 'the file does not begin with PAR1', 0);
  }
  const footer = await file.read(size - FOOTER_BYTES, FOOTER_BYTES);
  if (!isParquet(footer.subarray(4))) {
    throw fail('invalid_parquet', 'the file does not end with PAR1', size - 4);
  }
  const metadataLength = new DataView(footer.buffer, footer.byteOffset, 4).getUint32(0, true);
  const metadataOffset = size - FOOTER_BYTES - metadataLength;
  if (metadataOffset < MAGIC.length || metadataLength > limits.maxMetadataBytes) {
    throw fail(
      'invalid_parquet',
      `the footer declares ${metadataLength} bytes of metadata, more than the file has or ${limits.maxMetadataBytes}`,
      size - FOOTER_BYTES,
    );
  }
  const metadataBytes = await file.read(metadataOffset, metadataLength + FOOTER_BYTES);
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(toArrayBuffer(metadataBytes));
  } catch (error) {
    throw fail(
      'invalid_parquet',
      `the metadata cannot be read: ${describe(error)}`,
      metadataOffset,
    );
  }
  const columns = describeSchema(metadata.schema, (detail) =>
    fail('unsupported_parquet', detail, metadataOffset),
  );
  checkRowGroups(metadata, columns, limits, size, fail);
  const rowCount = Number(metadata.num_rows);
  return {
    columns,
    rowCount,
    rowGroups: metadata.row_groups.length,
    createdBy: metadata.created_by ?? null,
    [Symbol.asyncIterator]: () => readRows(file, metadata, columns, limits, fail),
  };
}

async function* readRows(
  file: RandomAccessFile,
  metadata: FileMetaData,
  columns: readonly ParquetColumn[],
  limits: Required<ParquetOptions>,
  fail: (code: FormatErrorCode, detail: string, offset: number) => FormatError,
): AsyncGenerator<ParquetRow, void, undefined> {
  const buffer = {
    byteLength: file.byteLength,
    slice: async (start: number, end?: number) =>
      toArrayBuffer(await file.read(start, (end ?? file.byteLength) - start)),
  };
  const isLocalTime = metadata.schema
    .slice(1)
    .map(({ logical_type: logical }) => logical?.type === 'TIMESTAMP' && !logical.isAdjustedToUTC);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const groupRows = Number(group.num_rows);
    const offset = Number(group.columns[0]?.meta_data?.data_page_offset ?? 0);
    const guardedSnappy = (input: Uint8Array, outputLength: number): Uint8Array => {
      if (outputLength > limits.maxRowGroupBytes) {
        throw fail(
          'invalid_parquet',
          `a page declares ${outputLength} uncompressed bytes, more than ${limits.maxRowGroupBytes}`,
          offset,
        );
      }
      const output = new Uint8Array(outputLength);
      snappyUncompress(input, output);
      return output;
    };
    let rows: unknown[][] = [];
    try {
      await parquetRead({
        file: buffer,
        metadata,
        rowStart,
        rowEnd: rowStart + groupRows,
        rowFormat: 'array',
        compressors: { SNAPPY: guardedSnappy },
        onComplete: (decoded: unknown[][]) => {
          rows = decoded;
        },
      });
    } catch (error) {
      if (error instanceof FormatError) {
        throw error;
      }
      throw fail('invalid_parquet', `a row group cannot be decoded: ${describe(error)}`, offset);
    }
    if (rows.length !== groupRows) {
      throw fail(
        'invalid_parquet',
        `a row group declares ${groupRows} rows and holds ${rows.length}`,
        offset,
      );
    }
    for (let i = 0; i < rows.length; i++) {
      const values = rows[i] ?? [];
      yield {
        values: columns.map((column, c) => formatValue(values[c], column, isLocalTime[c] ?? false)),
        row: rowStart + i + 1,
        offset,
      };
    }
    rowStart += groupRows;
  }
}

/** The flat columns of the schema (its first element is the root), or why they are not flat. */
function describeSchema(
  schema: readonly SchemaElement[],
  unsupported: (detail: string) => FormatError,
): ParquetColumn[] {
  const [root, ...fields] = schema;
  if (root === undefined || (root.num_children ?? 0) !== fields.length) {
    throw unsupported('the schema is not a flat list of columns (nested columns are not read)');
  }
  return fields.map((element) => {
    if ((element.num_children ?? 0) > 0 || element.repetition_type === 'REPEATED') {
      throw unsupported(`column "${element.name}" is nested or repeated, which is not read`);
    }
    if (element.type === undefined) {
      throw unsupported(`column "${element.name}" has no physical type`);
    }
    return {
      name: element.name,
      type: columnTypeOf(element),
      physicalType: element.type,
      logicalType: element.logical_type?.type ?? element.converted_type ?? null,
      isOptional: element.repetition_type !== 'REQUIRED',
    };
  });
}

/** The data dictionary's type for a Parquet column (Parquet LogicalTypes.md). */
export function columnTypeOf(element: SchemaElement): ColumnType {
  const logical = element.logical_type?.type;
  const converted = element.converted_type;
  if (logical === 'DECIMAL' || converted === 'DECIMAL' || logical === 'FLOAT16') {
    return 'number';
  }
  if (logical === 'DATE' || converted === 'DATE') {
    return 'date';
  }
  if (
    logical === 'TIMESTAMP' ||
    converted === 'TIMESTAMP_MILLIS' ||
    converted === 'TIMESTAMP_MICROS'
  ) {
    return 'datetime';
  }
  if (logical === 'TIME' || converted === 'TIME_MILLIS' || converted === 'TIME_MICROS') {
    // A time of day has no type of its own in the dictionary.
    return 'string';
  }
  switch (element.type) {
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
    case 'INT64':
      return 'integer';
    case 'INT96':
      // The legacy timestamp of Impala and older Spark.
      return 'datetime';
    case 'FLOAT':
    case 'DOUBLE':
      return 'number';
    case 'BYTE_ARRAY':
    case 'FIXED_LEN_BYTE_ARRAY':
    case undefined:
      return 'string';
    default:
      return element.type satisfies never;
  }
}

function checkRowGroups(
  metadata: FileMetaData,
  columns: readonly ParquetColumn[],
  limits: Required<ParquetOptions>,
  size: number,
  fail: (code: FormatErrorCode, detail: string, offset: number) => FormatError,
): void {
  let rows = 0n;
  for (const [index, group] of metadata.row_groups.entries()) {
    const where = Number(group.columns[0]?.meta_data?.data_page_offset ?? 0);
    if (group.columns.length !== columns.length) {
      throw fail(
        'invalid_parquet',
        `row group ${index} has ${group.columns.length} columns`,
        where,
      );
    }
    if (group.num_rows < 0n || group.total_byte_size > BigInt(limits.maxRowGroupBytes)) {
      throw fail(
        'invalid_parquet',
        `row group ${index} declares ${group.total_byte_size} bytes, more than ${limits.maxRowGroupBytes}`,
        where,
      );
    }
    rows += group.num_rows;
    for (const [c, chunk] of group.columns.entries()) {
      const meta = chunk.meta_data;
      if (meta === undefined || chunk.file_path !== undefined) {
        throw fail('unsupported_parquet', `column ${c} of row group ${index} is elsewhere`, where);
      }
      if (!SUPPORTED_CODECS.includes(meta.codec)) {
        throw fail(
          'unsupported_parquet',
          `column "${columns[c]?.name ?? c}" is compressed with ${meta.codec}; only uncompressed and Snappy files are read`,
          Number(meta.data_page_offset),
        );
      }
      const start = meta.dictionary_page_offset ?? meta.data_page_offset;
      if (start < 4n || start + meta.total_compressed_size > BigInt(size - FOOTER_BYTES)) {
        throw fail(
          'invalid_parquet',
          `column ${c} of row group ${index} lies outside the file`,
          Number(start),
        );
      }
    }
  }
  if (rows !== metadata.num_rows) {
    throw fail(
      'invalid_parquet',
      `the file declares ${metadata.num_rows} rows and its row groups ${rows}`,
      size - FOOTER_BYTES,
    );
  }
}

/** A decoded value as text, in the form `matchesColumnType` accepts for the column's type. */
function formatValue(value: unknown, column: ParquetColumn, isLocalTime: boolean): string | null {
  if (value === null || value === undefined) {
    return null;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      return null;
    }
    const iso = value.toISOString();
    if (column.type === 'date') {
      return iso.slice(0, 10);
    }
    // A local timestamp (not adjusted to UTC) carries no zone.
    return isLocalTime ? iso.slice(0, -1) : iso;
  }
  if (value instanceof Uint8Array) {
    return Buffer.from(value).toString('base64');
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  // Anything else hyparquet decodes (JSON, variants) as JSON text.
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'bigint' ? String(inner) : inner,
  );
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
