/**
 * Reading a generated delivery back in the tests: its files, their digests, a table's rows.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readCsv } from '@lantern/formats';

/** Every file under `dir`, relative and `/`-separated, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).replaceAll('\\', '/'))
    .sort();
}

/** SHA-256 of every file under `dir`, by relative path. */
export async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of await listFiles(dir)) {
    out[file] = createHash('sha256')
      .update(await readFile(join(dir, file)))
      .digest('hex');
  }
  return out;
}

/** A CSV file's rows by column name (null for an empty cell), read by @lantern/formats. */
export async function rowsOf(file: string): Promise<Record<string, string | null>[]> {
  const table = await readCsv(createReadStream(file), { name: file });
  const rows: Record<string, string | null>[] = [];
  try {
    for await (const row of table) {
      rows.push(Object.fromEntries(table.columns.map((name, i) => [name, row.values[i] ?? null])));
    }
  } finally {
    await table.close();
  }
  return rows;
}

/** The header of a CSV file. */
export async function columnsOf(file: string): Promise<string[]> {
  const table = await readCsv(createReadStream(file), { name: file });
  try {
    return [...table.columns];
  } finally {
    await table.close();
  }
}
