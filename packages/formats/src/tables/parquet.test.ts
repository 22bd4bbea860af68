import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { inspectParquet, inspectTableFile } from './inspect-file.js';
import { readParquet, type ParquetOptions, type RandomAccessFile } from './parquet.js';

/** Files written by DuckDB (fixtures/tables/README.md says how). */
const fixture = (name: string) =>
  new URL(`../../fixtures/tables/${name}`, import.meta.url).pathname;

function inMemory(bytes: Uint8Array): RandomAccessFile {
  return {
    byteLength: bytes.length,
    read: async (offset, length) => bytes.slice(offset, offset + length),
  };
}

async function readAll(bytes: Uint8Array, options: Partial<ParquetOptions> = {}) {
  const table = await readParquet(inMemory(bytes), { name: 'test.parquet', ...options });
  const rows = [];
  for await (const row of table) {
    rows.push(row);
  }
  return { table, rows };
}

async function failureOf(bytes: Uint8Array, options: Partial<ParquetOptions> = {}) {
  const error: unknown = await readAll(bytes, options).then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof FormatError)) {
    throw new Error(`expected a FormatError, got ${String(error)}`);
  }
  return error;
}

describe('Parquet written by DuckDB', () => {
  let ecgs = new Uint8Array();
  beforeAll(async () => {
    ecgs = new Uint8Array(await readFile(fixture('ecgs-duckdb-snappy.parquet')));
  });

  it('reads the schema as the data dictionary types, and every row group', async () => {
    const { table, rows } = await readAll(ecgs);
    expect(table.createdBy).toMatch(/^DuckDB/u);
    expect([table.rowCount, table.rowGroups]).toEqual([5000, 3]);
    expect(table.columns.map(({ name, type, physicalType }) => [name, type, physicalType])).toEqual(
      [
        ['ecg_id', 'integer', 'INT32'],
        ['patient_ngsci_id', 'string', 'BYTE_ARRAY'],
        ['accession', 'integer', 'INT64'],
        ['heart_rate', 'number', 'FIXED_LEN_BYTE_ARRAY'],
        ['qt_ms', 'number', 'INT64'],
        ['arrest', 'boolean', 'BOOLEAN'],
        ['ecg_date', 'date', 'INT32'],
        ['ecg_time', 'datetime', 'INT64'],
        ['rhythm', 'string', 'BYTE_ARRAY'],
      ],
    );
    expect(rows).toHaveLength(5000);
    expect(rows[0]?.values).toEqual([
      '0',
      'p0000',
      '1000000000000',
      '50',
      '0',
      'true',
      null,
      '2020-01-01T08:00:00.000',
      'sinus',
    ]);
    expect(rows[4999]).toMatchObject({
      row: 5000,
      values: [
        '4999',
        'p0199',
        '1000000004999',
        '89',
        '6248.75',
        'false',
        '2020-07-18',
        '2020-07-27T15:00:00.000',
        'sinus, paced',
      ],
    });
    // Each row group's rows carry its offset: three groups, three offsets, in file order.
    const offsets = [...new Set(rows.map((row) => row.offset))];
    expect(offsets).toHaveLength(3);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  });

  it('is inspected like a CSV file, keys and missing values included', async () => {
    const inspection = await inspectTableFile(fixture('ecgs-duckdb-snappy.parquet'), {
      keyColumns: ['patient_ngsci_id'],
    });
    expect(inspection).toMatchObject({ format: 'parquet', rowCount: 5000, bytes: ecgs.length });
    expect(
      inspection.columns.map(({ name, type, nullable, empty }) => [name, type, nullable, empty]),
    ).toEqual([
      ['ecg_id', 'integer', false, 0],
      ['patient_ngsci_id', 'string', false, 0],
      ['accession', 'integer', false, 0],
      ['heart_rate', 'number', true, 500],
      ['qt_ms', 'number', false, 0],
      ['arrest', 'boolean', false, 0],
      ['ecg_date', 'date', true, 715],
      ['ecg_time', 'datetime', false, 0],
      ['rhythm', 'string', false, 0],
    ]);
    expect(inspection.columns[6]?.example).toBe('2020-01-02');
    expect(inspection.keys).toMatchObject({ distinct: 300, duplicates: 4700, empty: 0 });
    expect(inspection.keys?.duplicateRows.slice(0, 2)).toEqual([301, 302]);
    expect(inspection.keys?.values.has(['p0042'])).toBe(true);
  });

  it('reads a file with a schema and no rows', async () => {
    const inspection = await inspectParquet(
      inMemory(new Uint8Array(await readFile(fixture('empty-duckdb.parquet')))),
      { name: 'empty.parquet' },
    );
    expect(inspection.rowCount).toBe(0);
    expect(inspection.columns.map((column) => column.type)).toEqual([
      'integer',
      'string',
      'integer',
      'number',
      'number',
      'boolean',
      'date',
      'datetime',
      'string',
    ]);
  });

  it('names the codec it does not decode', async () => {
    const zstd = new Uint8Array(await readFile(fixture('ecgs-duckdb-zstd.parquet')));
    const error = await failureOf(zstd);
    expect(error.code).toBe('unsupported_parquet');
    expect(error.detail).toContain('ZSTD');
  });
});

describe('Parquet that cannot be read', () => {
  let ecgs = new Uint8Array();
  beforeAll(async () => {
    ecgs = new Uint8Array(await readFile(fixture('ecgs-duckdb-snappy.parquet')));
  });

  it('refuses files cut short or without the magic', async () => {
    const cut = await failureOf(ecgs.subarray(0, ecgs.length - 100));
    expect([cut.code, cut.offset]).toEqual(['invalid_parquet', ecgs.length - 104]);
    expect((await failureOf(new TextEncoder().encode('a,b\n1,2\n'))).code).toBe('invalid_parquet');
    expect((await failureOf(new Uint8Array())).code).toBe('invalid_parquet');
  });

  it('checks the declared metadata length before reading it', async () => {
    const lying = ecgs.slice();
    new DataView(lying.buffer).setUint32(lying.length - 8, 0x7fff_ffff, true);
    const error = await failureOf(lying);
    expect([error.code, error.offset]).toEqual(['invalid_parquet', lying.length - 8]);
    const bounded = await failureOf(ecgs, { maxMetadataBytes: 100 });
    expect(bounded.code).toBe('invalid_parquet');
  });

  it('refuses a row group larger than the bound before decoding it', async () => {
    const error = await failureOf(ecgs, { maxRowGroupBytes: 10_000 });
    expect(error.code).toBe('invalid_parquet');
    expect(error.detail).toMatch(/^row group 0 declares \d+ bytes, more than 10000$/u);
  });

  it('turns corrupted bytes anywhere into a FormatError, never a crash', async () => {
    let seed = 12_345;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const outcomes = { read: 0, refused: 0 };
    for (let trial = 0; trial < 60; trial++) {
      const damaged = ecgs.slice();
      // Half the trials hit the footer (the metadata), half anywhere.
      const region = trial % 2 === 0 ? 2000 : damaged.length;
      for (let k = 0; k < 8; k++) {
        damaged[damaged.length - 1 - (next() % region)] = next() % 256;
      }
      const error: unknown = await readAll(damaged).then(
        () => null,
        (caught: unknown) => caught,
      );
      if (error === null) {
        outcomes.read++;
      } else {
        expect(error).toBeInstanceOf(FormatError);
        outcomes.refused++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});

describe('inspecting a table file', () => {
  let directory = '';
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'lantern-table-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('reads anything that is not Parquet as CSV, named after the file', async () => {
    const path = join(directory, 'patients.csv');
    await writeFile(path, 'patient_ngsci_id,age\np1,40\np2,\n');
    const inspection = await inspectTableFile(path);
    expect(inspection).toMatchObject({ format: 'csv', rowCount: 2, bytes: 31 });
    await writeFile(path, 'a,b\n1\n');
    await expect(inspectTableFile(path)).rejects.toMatchObject({
      code: 'ragged_row',
      file: 'patients.csv',
    });
  });
});
