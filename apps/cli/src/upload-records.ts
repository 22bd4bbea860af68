import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writePrivateJson } from './private-file.js';

/**
 * The uploads `lantern ingest --server` has begun and not yet run, so that the same command
 * started again (after a kill, a lost connection, a reboot) goes on with the upload instead of
 * sending the delivery anew: `uploads.json` beside the credentials file, one entry per server and
 * delivery folder, written as the credentials are (0600, renamed over the old). An entry holds no
 * secret, only the upload's id; the server says what it holds of it and whether it still takes
 * files, and the folder's files are matched with the declared ones before anything is sent.
 */

/** One upload begun: its id, and when it was declared (for a person reading the file). */
export interface UploadRecord {
  id: string;
  declaredAt: string;
}

interface UploadRecords {
  uploads: Record<string, UploadRecord>;
}

/** Where the records live: beside the credentials file. */
export function uploadRecordsPath(credentialsFile: string): string {
  return join(dirname(credentialsFile), 'uploads.json');
}

/** The key of a delivery folder sent to a server. */
function keyOf(server: string, delivery: string): string {
  return `${server} ${delivery}`;
}

/** The upload begun from `delivery` to `server`, if one was recorded. */
export async function findUpload(
  path: string,
  server: string,
  delivery: string,
): Promise<UploadRecord | null> {
  const records = await readRecords(path);
  return records.uploads[keyOf(server, delivery)] ?? null;
}

/** Records the upload begun from `delivery` to `server` (replacing an older one). */
export async function rememberUpload(
  path: string,
  server: string,
  delivery: string,
  record: UploadRecord,
): Promise<void> {
  const records = await readRecords(path);
  records.uploads[keyOf(server, delivery)] = record;
  await writeRecords(path, records);
}

/** Forgets the upload of `delivery` to `server` (it ran, or is gone), if it is `id`. */
export async function forgetUpload(
  path: string,
  server: string,
  delivery: string,
  id: string,
): Promise<void> {
  const records = await readRecords(path);
  const key = keyOf(server, delivery);
  if (records.uploads[key]?.id !== id) {
    return;
  }
  const { [key]: _gone, ...rest } = records.uploads;
  await writeRecords(path, { uploads: rest });
}

/**
 * Reads the records; none yet, or a file that is not ours (damaged, hand-edited), is no record:
 * the worst it costs is sending a delivery anew.
 */
async function readRecords(path: string): Promise<UploadRecords> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) {
    return { uploads: {} };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { uploads: {} };
  }
  const uploads =
    typeof parsed === 'object' && parsed !== null && 'uploads' in parsed ? parsed.uploads : null;
  const result: UploadRecords = { uploads: {} };
  if (typeof uploads === 'object' && uploads !== null) {
    for (const [key, entry] of Object.entries(uploads)) {
      if (isUploadRecord(entry)) {
        result.uploads[key] = { id: entry.id, declaredAt: entry.declaredAt };
      }
    }
  }
  return result;
}

function isUploadRecord(value: unknown): value is UploadRecord {
  return (
    typeof value === 'object' &&
    value !== null &&
    'id' in value &&
    typeof value.id === 'string' &&
    'declaredAt' in value &&
    typeof value.declaredAt === 'string'
  );
}

/** Writes the records through a private temporary file renamed over the old (never half a file). */
async function writeRecords(path: string, records: UploadRecords): Promise<void> {
  await writePrivateJson(path, 'uploads', records);
}
