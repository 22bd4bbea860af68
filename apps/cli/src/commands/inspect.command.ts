import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  describeDicomFile,
  describeEcgFile,
  describeSlideFile,
  FormatError,
  inspectTableFile,
  type TableInspection,
} from '@lantern/formats';
import { CliError } from '../cli-error.js';
import { isIdentifyingName, maskValue } from '../identifying.js';
import { describeBytes, printTable } from './describe.js';

/** What `lantern inspect --json` prints for a table. */
export interface TableReport {
  file: string;
  format: TableInspection['format'];
  rowCount: number;
  bytes: number;
  columns: {
    name: string;
    type: string;
    nullable: boolean;
    /** Empty cells. */
    empty: number;
    /** The first value, masked when the column is identifying. */
    example: string | null;
  }[];
  /** Columns whose names look identifying, with a masked example each. */
  identifying: { field: string; example: string | null }[];
}

/** How many bytes are read to tell a file's kind (DICOM's "DICM" is at 128). */
const SNIFF_BYTES = 132;

/**
 * `lantern inspect FILE`: what a file is, before it enters a dataset: tables (CSV, Parquet),
 * DICOM (images and waveforms) and ECGs (.npy, .npz, MUSE XML, WFDB), with the fields that
 * identify a person masked, and whole-slide images (tiled pyramidal TIFF, BigTIFF, Aperio SVS);
 * an unreadable file gets its FormatError (file, line or byte, what) and exit code 1.
 */
export async function inspect(path: string, options: { json?: boolean }): Promise<number> {
  const other = await otherFormat(path);
  if (other === 'DICOM') {
    return printDescription(path, await readOrExplain(() => describeDicomFile(path)), options);
  }
  if (other !== null && /ECG/u.test(other)) {
    return printDescription(path, await readOrExplain(() => describeEcgFile(path)), options);
  }
  if (other !== null) {
    return printDescription(path, await readOrExplain(() => describeSlideFile(path)), options);
  }
  let inspection: TableInspection;
  try {
    inspection = await inspectTableFile(path, { name: path });
  } catch (error) {
    if (error instanceof FormatError) {
      throw new CliError(1, error.message);
    }
    throw new CliError(2, `cannot read ${path}: ${describeSystemError(error)}`);
  }
  const report = tableReport(path, inspection);
  if (options.json === true) {
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  const columns = report.columns.length;
  console.log(
    `${path}: ${report.format === 'csv' ? 'CSV' : 'Parquet'} table, ${report.rowCount} row${report.rowCount === 1 ? '' : 's'}, ${columns} column${columns === 1 ? '' : 's'}, ${describeBytes(report.bytes)}`,
  );
  printTable([
    ['  COLUMN', 'TYPE', 'NULLABLE', 'EXAMPLE'],
    ...report.columns.map((c) => [
      `  ${c.name}`,
      c.type,
      c.nullable ? `yes (${c.empty} empty)` : 'no',
      c.example === null ? '' : JSON.stringify(c.example),
    ]),
  ]);
  if (report.identifying.length > 0) {
    console.log('');
    console.log('Identifying fields (examples masked): de-identify these before publishing');
    printTable(
      report.identifying.map((f) => [
        `  ${f.field}`,
        f.example === null ? '' : JSON.stringify(f.example),
      ]),
    );
  }
  return 0;
}

/** A reader's answer, or its FormatError as a one-line refusal (exit 1). */
async function readOrExplain<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof FormatError) {
      throw new CliError(1, error.message);
    }
    throw error;
  }
}

/** A DICOM or ECG description: as JSON, or as `field: value` lines with identifying fields apart. */
function printDescription(
  path: string,
  description: object & { format: string; identifying: object[] },
  options: { json?: boolean },
): number {
  if (options.json === true) {
    console.log(JSON.stringify({ file: path, ...description }, null, 2));
    return 0;
  }
  const { identifying, ...facts } = description;
  console.log(`${path}: ${description.format}`);
  printTable(
    Object.entries(facts)
      .filter(([key, value]) => key !== 'format' && value !== null && value !== undefined)
      .map(([key, value]) => [
        `  ${key}`,
        typeof value === 'object' ? JSON.stringify(value) : String(value as string | number),
      ]),
  );
  if (identifying.length > 0) {
    console.log('');
    console.log('Identifying fields (values masked): de-identify these before publishing');
    printTable(identifying.map(identifyingRow));
  }
  return 0;
}

/**
 * An identifying field as columns a person reads, in its reader's order: a DICOM attribute's tag,
 * keyword, masked value and the sequences it is nested in; an ECG or slide field's place and
 * masked value. It was printed as a JSON object per line.
 */
function identifyingRow(field: object): string[] {
  const cells = Object.values(field).map((value: unknown) =>
    Array.isArray(value) ? value.join(' > ') : String(value),
  );
  // A field at the top of a DICOM file is nested in nothing: no empty column to pad the line.
  while (cells.at(-1) === '') {
    cells.pop();
  }
  return cells.map((cell, i) => (i === 0 ? `  ${cell}` : cell));
}

/** The inspection as printed, identifying examples masked everywhere they appear. */
export function tableReport(file: string, inspection: TableInspection): TableReport {
  const columns = inspection.columns.map((column) => {
    const identifying = isIdentifyingName(column.name);
    return {
      name: column.name,
      type: column.type,
      nullable: column.nullable,
      empty: column.empty,
      example: identifying && column.example !== null ? maskValue(column.example) : column.example,
      identifying,
    };
  });
  return {
    file,
    format: inspection.format,
    rowCount: inspection.rowCount,
    bytes: inspection.bytes,
    columns: columns.map(({ identifying: _identifying, ...column }) => column),
    identifying: columns
      .filter((column) => column.identifying)
      .map((column) => ({ field: column.name, example: column.example })),
  };
}

/**
 * The kind of a file that is not a table, told from its first bytes (DICOM PS3.10 7.1 preamble
 * and "DICM"; TIFF 6.0 and BigTIFF headers; the NumPy .npy magic) or, for formats without a
 * signature (WFDB, MUSE XML, .npz archives), its extension. Null for anything else: read as a table.
 */
async function otherFormat(path: string): Promise<string | null> {
  let head: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      head = Buffer.alloc(SNIFF_BYTES);
      const { bytesRead } = await file.read(head, 0, SNIFF_BYTES, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new CliError(2, `cannot read ${path}: ${describeSystemError(error)}`);
  }
  const starts = (signature: string) =>
    head.subarray(0, signature.length).equals(Buffer.from(signature, 'latin1'));
  if (head.length >= 132 && head.subarray(128, 132).toString('latin1') === 'DICM') {
    return 'DICOM';
  }
  if (starts('II*\0') || starts('MM\0*') || starts('II+\0') || starts('MM\0+')) {
    return 'a TIFF image (a slide?)';
  }
  if (starts('\x93NUMPY')) {
    return 'a NumPy array (an ECG?)';
  }
  if (starts('PK\x03\x04')) {
    return 'a NumPy archive (an ECG?)';
  }
  const extension = extname(path).toLowerCase();
  switch (extension) {
    case '.dcm':
      return 'DICOM';
    case '.npz':
      return 'a NumPy archive (an ECG?)';
    case '.hea':
    case '.dat':
      return 'a WFDB record (an ECG?)';
    case '.xml':
      return 'XML (a MUSE ECG?)';
    case '.svs':
    case '.tif':
    case '.tiff':
      return 'a TIFF image (a slide?)';
    default:
      return null;
  }
}

function describeSystemError(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    return error.code === 'ENOENT' ? 'no such file' : `${error.code}, ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
