import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writePrivateJson } from './private-file.js';

/**
 * The uploads `lantern ingest --server` has begun and not yet run, so that the same command
 * started again (after a kill, a lost connection, a reboot) goes on with the upload instead of
 * sending the delivery anew. One file per server and delivery folder, in `uploads/` beside the
 * credentials file, written as the credentials are (0600 in a 0700 folder, through a private
 * temporary file renamed over the old): commands run at once, each with its own delivery, never
 * rewrite one file together, so none loses another's record — there is nothing to lock. A record
 * holds no secret, only the upload's id; the server says what it holds of it and whether it still
 * takes files, and the folder's files are matched with the declared ones before anything is sent.
 */

/** One upload begun: its id, and when it was declared (for a person reading the file). */
export interface UploadRecord {
  id: string;
  declaredAt: string;
}

/** A record as stored: what it is the upload of, so a file is never taken for another's. */
interface StoredRecord extends UploadRecord {
  server: string;
  delivery: string;
}

/** The folder of the records: beside the credentials file. */
export function uploadRecordsPath(credentialsFile: string): string {
  return join(dirname(credentialsFile), 'uploads');
}

/**
 * The file of the upload from `delivery` to `server`: named by a hash of both, as a path may
 * hold any character and be longer than a file name.
 */
function recordFile(dir: string, server: string, delivery: string): string {
  const key = createHash('sha256').update(`${server}\n${delivery}`).digest('hex');
  return join(dir, `${key.slice(0, 32)}.json`);
}

/** The upload begun from `delivery` to `server`, if one was recorded. */
export async function findUpload(
  dir: string,
  server: string,
  delivery: string,
): Promise<UploadRecord | null> {
  const stored = await readRecord(recordFile(dir, server, delivery));
  if (stored === null || stored.server !== server || stored.delivery !== delivery) {
    return null;
  }
  return { id: stored.id, declaredAt: stored.declaredAt };
}

/** Records the upload begun from `delivery` to `server` (replacing an older one). */
export async function rememberUpload(
  dir: string,
  server: string,
  delivery: string,
  record: UploadRecord,
): Promise<void> {
  const stored: StoredRecord = { server, delivery, id: record.id, declaredAt: record.declaredAt };
  await writePrivateJson(recordFile(dir, server, delivery), 'upload', stored);
}

/** Forgets the upload of `delivery` to `server` (it ran, or is gone), if it is `id`. */
export async function forgetUpload(
  dir: string,
  server: string,
  delivery: string,
  id: string,
): Promise<void> {
  if ((await findUpload(dir, server, delivery))?.id === id) {
    await rm(recordFile(dir, server, delivery), { force: true });
  }
}

/**
 * Reads a record; none, or a file that is not ours (damaged, hand-edited), is no record: the worst
 * it costs is sending a delivery anew.
 */
async function readRecord(path: string): Promise<StoredRecord | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) {
    return null;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isStoredRecord(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

function isStoredRecord(value: unknown): value is StoredRecord {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const fields: Record<string, unknown> = { ...value };
  return ['server', 'delivery', 'id', 'declaredAt'].every(
    (name) => typeof fields[name] === 'string',
  );
}
