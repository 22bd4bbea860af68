/**
 * Ingest for the tests: a delivery written into a fresh folder and ingested by a test server, and
 * what it stored read back for the tests that check nothing identifying was: the bytes of each
 * file of a dataset's draft, and every object of both stores (published and quarantine).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { readCsv } from '@lantern/formats';
import type { AppContext } from '../context.js';
import type { IngestReport } from '../services/ingest/ingest.service.js';
import type { ObjectStore } from '../storage/object-store.js';
import { startTestServer, type TestServer } from './test-server.js';

/**
 * The manifest of an ECG delivery with one table, `tables/ecgs.csv`: columns mrn (the patient),
 * accession (the study), acquired (a date) and `files`, naming each row's native file.
 */
export function ecgDeliveryManifest(slug: string, files: string): string {
  return `dataset: ${slug}
partner: Example Health System
tables:
  - name: ecgs
    file: tables/ecgs.csv
    patient: mrn
    study: accession
    files: ${files}
    dates: [acquired]
`;
}

/** A test server that ingested a delivery, and what it reported. */
export interface IngestedDelivery {
  server: TestServer;
  report: IngestReport;
  /** Stops the server and removes the delivery's folder. */
  close(): Promise<void>;
}

/** Starts a test server and ingests `delivery` (file contents by path: manifest, tables, files). */
export async function ingestTestDelivery(
  delivery: Readonly<Record<string, Uint8Array | string>>,
): Promise<IngestedDelivery> {
  const server = await startTestServer();
  const work = await mkdtemp(join(tmpdir(), 'lantern-delivery-'));
  const close = async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  };
  try {
    for (const [path, bytes] of Object.entries(delivery)) {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), bytes);
    }
    const report = await server.ctx.services.ingest.ingestDirectory(work, {
      actor: 'system:lantern',
    });
    return { server, report, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** An object's bytes; a missing object is an error (the test expected it). */
export async function objectBytes(store: ObjectStore, key: string): Promise<Buffer> {
  const object = await store.get(key);
  if (object === null) {
    throw new Error(`no object ${key}`);
  }
  return buffer(object.body);
}

/** The object key of each file of a dataset's draft, by its path in the version. */
export async function draftObjectKeys(ctx: AppContext, slug: string): Promise<Map<string, string>> {
  const rows = await ctx.database.db
    .selectFrom('dataset_version_file')
    .innerJoin('dataset_version', 'dataset_version.id', 'dataset_version_file.version_id')
    .innerJoin('dataset', 'dataset.id', 'dataset_version.dataset_id')
    .select(['dataset_version_file.path', 'dataset_version_file.object_key'])
    .where('dataset.slug', '=', slug)
    .where('dataset_version.status', '=', 'draft')
    .execute();
  return new Map(rows.map((row) => [row.path, row.object_key]));
}

/** The values of one column of a draft table, read from its stored CSV. */
export async function draftTableColumn(
  ctx: AppContext,
  slug: string,
  table: string,
  column: string,
): Promise<(string | null)[]> {
  const key = (await draftObjectKeys(ctx, slug)).get(`tables/${table}.csv`);
  const object = key === undefined ? null : await ctx.objectStore.get(key);
  if (object === null) {
    throw new Error(`no table ${table}`);
  }
  const csv = await readCsv(object.body, { name: table });
  const index = csv.columns.indexOf(column);
  const values: (string | null)[] = [];
  for await (const row of csv) {
    values.push(row.values[index] ?? null);
  }
  return values;
}

/** The quarantine key of a held file (null: nothing of it kept). */
export async function quarantineKeyOf(ctx: AppContext, heldFileId: string): Promise<string | null> {
  const row = await ctx.database.db
    .selectFrom('ingest_held_file')
    .select('quarantine_key')
    .where('id', '=', heldFileId)
    .executeTakeFirstOrThrow();
  return row.quarantine_key;
}

/** The bytes of each file of a dataset's draft, by its path in the version. */
export async function draftObjects(ctx: AppContext, slug: string): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  for (const [path, key] of await draftObjectKeys(ctx, slug)) {
    objects.set(path, await objectBytes(ctx.objectStore, key));
  }
  return objects;
}

/** Every object of the published store and the quarantine: all a search for leaks must read. */
export async function everyStoredObject(
  ctx: AppContext,
): Promise<{ key: string; bytes: Buffer }[]> {
  const objects: { key: string; bytes: Buffer }[] = [];
  for (const store of [ctx.objectStore, ctx.quarantineStore]) {
    for await (const listed of store.list()) {
      objects.push({ key: listed.key, bytes: await objectBytes(store, listed.key) });
    }
  }
  return objects;
}
