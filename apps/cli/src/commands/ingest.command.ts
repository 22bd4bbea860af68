import { createHash } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describeIngestSummary, formatBytes, ProgressBar } from '@lantern/core/ingest';
import {
  ApiError,
  type IngestUpload,
  type IngestUploadFile,
  type LanternClient,
} from '@lantern/sdk';
import {
  remainingToSend,
  sendUploadFiles,
  UploadClosed,
  UploadUnreachable,
  type LocalFile,
  type PendingFile,
  type UploadTransport,
} from '@lantern/sdk/upload';
import { CliError } from '../cli-error.js';
import {
  clientFor,
  describeFailure,
  requireToken,
  resolveTarget,
  type Target,
} from '../connection.js';
import { findUpload, forgetUpload, rememberUpload, uploadRecordsPath } from '../upload-records.js';

/**
 * `lantern ingest DIR --server URL`: a delivery handed to a running server, which ingests it as a
 * local ingest does (the same pipeline, the same report). The folder's files are declared with
 * their sizes and SHA-256, sent in chunks a few files at a time (`@lantern/sdk/upload`, the loop
 * the web app's ingest page uses), then the run is started and followed until it ends; the server
 * deletes its copy of the delivery when the run ends. It needs a token with catalog.curate.
 * Progress goes to stderr on a terminal; the draft made to stdout.
 *
 * The upload resumes. A dropped connection or a server away for a moment is retried with backoff
 * from the bytes the server says it holds; and the upload begun is recorded (upload-records.ts)
 * until it runs, so the same command started again after a kill continues where the server's
 * bytes end instead of sending the delivery anew — as `--resume ID` does for an upload named. A
 * folder whose files are not those declared (changed since) starts a new upload, or with
 * `--resume` is refused, saying how it differs.
 *
 * Exit codes as the local command's: 0 a draft was made; 1 refused (by the server, or the delivery
 * with every problem); 2 not run (no folder, an unreachable server: run it again to resume).
 */

/** How often the run is asked where it is. */
const POLL_MS = 500;

interface DeliveryFile extends LocalFile {
  sha256: string;
  /** Where it is on this machine. */
  absolute: string;
}

/**
 * Why an upload cannot be resumed: the server has none by its id, it takes no more files, or the
 * folder's files are not those it declared (changed since).
 */
interface Unusable {
  why: 'gone' | 'closed' | 'changed';
  message: string;
}

/** An upload to send the rest of: its id and what is left. */
interface Begun {
  id: string;
  pending: PendingFile<DeliveryFile>[];
  held: number;
  complete: number;
}

export async function ingestRemote(
  dir: string,
  options: { server: string; json?: boolean; resume?: string },
): Promise<number> {
  const delivery = resolve(dir);
  const target = await resolveTarget(options.server);
  requireToken(target);
  const client = clientFor(target);
  const onTerminal = process.stderr.isTTY && options.json !== true;
  const files = await listDelivery(delivery, onTerminal);
  const records = uploadRecordsPath(target.credentialsFile);
  let begun: Begun | null = null;
  let upload: IngestUpload;
  try {
    begun = await begin(client, target, records, delivery, files, options.resume);
    await send(client, begun, onTerminal);
    upload = await client.runIngestUpload(begun.id);
    await forgetUpload(records, target.server, delivery, begun.id);
    // Running: nothing is left to resume.
    begun = null;
    upload = await follow(client, upload, onTerminal);
  } catch (error) {
    throw interrupted(error, target, begun);
  }
  return report(upload, delivery, options.json === true);
}

/**
 * The upload to send: the one named by `--resume`, or the one recorded for this folder and server
 * if the server still takes its files and they are this folder's; otherwise a new one, declared
 * and recorded.
 */
async function begin(
  client: LanternClient,
  target: Target,
  records: string,
  delivery: string,
  files: readonly DeliveryFile[],
  resumeId: string | undefined,
): Promise<Begun> {
  if (resumeId !== undefined) {
    const resumed = await resume(client, resumeId, files);
    if ('why' in resumed) {
      throw new CliError(1, `cannot resume the upload ${resumeId}: ${resumed.message}`);
    }
    await rememberUpload(records, target.server, delivery, {
      id: resumeId,
      declaredAt: new Date().toISOString(),
    });
    return resumed;
  }
  const recorded = await findUpload(records, target.server, delivery);
  if (recorded !== null) {
    const resumed = await resume(client, recorded.id, files);
    if (!('why' in resumed)) {
      return resumed;
    }
    if (resumed.why === 'changed') {
      // The folder changed since: what the server holds of it is of no use, and identified.
      await client.cancelIngestUpload(recorded.id);
      console.error(
        `The upload ${recorded.id} was cancelled: ${resumed.message}. Sending the delivery anew.`,
      );
    }
    await forgetUpload(records, target.server, delivery, recorded.id);
  }
  const made = await client.createIngestUpload(
    files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
  );
  await rememberUpload(records, target.server, delivery, {
    id: made.id,
    declaredAt: new Date().toISOString(),
  });
  const declared = await client.listIngestUploadFiles(made.id);
  return { id: made.id, ...remainingToSend(declared, files) };
}

/**
 * What is left of upload `id` for this folder, saying so on stderr; or why it cannot be resumed
 * (gone, no longer taking files, not this folder's files).
 */
async function resume(
  client: LanternClient,
  id: string,
  files: readonly DeliveryFile[],
): Promise<Begun | Unusable> {
  let declared: IngestUploadFile[];
  try {
    declared = await client.listIngestUploadFiles(id);
  } catch (error) {
    if (error instanceof ApiError && (error.code === 'not_found' || error.status === 400)) {
      return {
        why: 'gone',
        message: 'the server has no such upload (cancelled, or expired after an hour unused)',
      };
    }
    throw error;
  }
  if (declared.length === 0) {
    return { why: 'closed', message: 'the server no longer takes its files (it ran, or failed)' };
  }
  const remaining = remainingToSend(declared, files);
  if (remaining.problems.length > 0) {
    const first = remaining.problems
      .slice(0, 3)
      .map((p) => `${p.path}: ${p.message}`)
      .join('; ');
    return { why: 'changed', message: `this folder is not the one it declared (${first})` };
  }
  const total = files.reduce((sum, f) => sum + f.size, 0);
  console.error(
    `Resuming the upload ${id}: the server holds ${formatBytes(remaining.held)} of ${formatBytes(total)} (${remaining.complete} of ${files.length} files).`,
  );
  return { id, ...remaining };
}

/**
 * Sends the rest of each file in chunks, a few files at a time, with a bar of the files and bytes
 * this run sends (a resumed upload's rate and time left are this run's, not inflated by what the
 * server held); a dropped connection or a server away for a moment is retried from what the server
 * holds.
 */
async function send(client: LanternClient, begun: Begun, onTerminal: boolean): Promise<void> {
  const bar = onTerminal ? new ProgressBar(process.stderr, () => performance.now()) : null;
  let done = 0;
  let sent = 0;
  const draw = () =>
    bar?.update({ phase: 'uploading', done, total: begun.pending.length, bytes: sent });
  try {
    draw();
    await sendUploadFiles({
      files: begun.pending,
      transport: transportOf(client, begun.id),
      onBytes: (bytes) => {
        sent = bytes;
        draw();
      },
      onFile: () => {
        done += 1;
        draw();
      },
    });
  } finally {
    bar?.clear();
  }
}

/** Chunks sent through the SDK's client, each a slice of the file read from disk as it goes. */
function transportOf(client: LanternClient, id: string): UploadTransport<DeliveryFile> {
  return {
    async sendChunk({ index, local, offset, end }) {
      const blob = await openAsBlob(local.absolute);
      return unreachableIfLost(() =>
        client.putIngestUploadFile(id, index, blob.slice(offset, end), offset),
      );
    },
    listFiles: () => unreachableIfLost(() => client.listIngestUploadFiles(id)),
  };
}

/** The server's answers as they are; a request that got none is an UploadUnreachable. */
async function unreachableIfLost<TResult>(call: () => Promise<TResult>): Promise<TResult> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) {
      throw error;
    }
    const reason =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new UploadUnreachable(reason);
  }
}

/** A failure before the run began: the upload stays on the server, to be resumed. */
function interrupted(error: unknown, target: Target, begun: Begun | null): CliError {
  if (error instanceof UploadClosed && begun !== null) {
    return new CliError(
      1,
      `the server no longer takes files of the upload ${begun.id} (cancelled, or expired after an hour unused): run the same command again to send the delivery anew`,
    );
  }
  const failure = describeFailure(error, target);
  if (begun === null) {
    return failure;
  }
  return new CliError(
    failure.exitCode,
    `${failure.message}\nThe server keeps what it received of the upload ${begun.id} for an hour: run the same command again to send the rest (--resume ${begun.id} names it).`,
  );
}

/** Asks where the run is until it ends, drawing the server's progress. */
async function follow(
  client: LanternClient,
  started: IngestUpload,
  onTerminal: boolean,
): Promise<IngestUpload> {
  const bar = onTerminal ? new ProgressBar(process.stderr, () => performance.now()) : null;
  let upload = started;
  try {
    while (upload.status === 'running' || upload.status === 'uploading') {
      if (upload.progress !== null) {
        bar?.update(upload.progress);
      }
      await new Promise((done) => setTimeout(done, POLL_MS));
      upload = await client.getIngestUpload(upload.id);
    }
    return upload;
  } finally {
    bar?.clear();
  }
}

/** Prints the draft made, or every problem of a refused delivery. */
function report(upload: IngestUpload, delivery: string, json: boolean): number {
  if (upload.status === 'done' && upload.summary !== null) {
    const summary = { ...upload.summary, delivery };
    if (json) {
      console.log(JSON.stringify(summary, null, 2));
    } else {
      for (const line of describeIngestSummary(summary)) {
        console.log(line);
      }
    }
    return 0;
  }
  if (upload.status === 'refused') {
    const message = upload.error ?? 'the delivery cannot be ingested';
    if (json) {
      console.log(
        JSON.stringify(
          { refused: true, code: 'validation_failed', message, problems: upload.problems },
          null,
          2,
        ),
      );
      return 1;
    }
    console.error(`lantern: ${message}`);
    for (const problem of upload.problems) {
      console.error(`  ${problem.path}: ${problem.message}`);
    }
    console.error('Nothing was stored. Fix the delivery and run lantern ingest again.');
    return 1;
  }
  throw new CliError(
    1,
    `the server could not ingest the delivery: ${upload.error ?? upload.status}`,
  );
}

/**
 * The regular files under `delivery`, as `/`-separated paths in a stable order, with their
 * SHA-256 (declared, so the server checks each file complete, and a resumed upload is matched
 * with the folder's bytes, not only its sizes); a bar of the bytes read on a terminal.
 */
async function listDelivery(delivery: string, onTerminal: boolean): Promise<DeliveryFile[]> {
  const info = await stat(delivery).catch(() => null);
  if (info === null || !info.isDirectory()) {
    throw new CliError(
      2,
      `no delivery folder at ${delivery}: pass the folder that holds delivery.yaml`,
    );
  }
  const found: { path: string; absolute: string; size: number }[] = [];
  const walk = async (relativeDir: string[]): Promise<void> => {
    const entries = await readdir(join(delivery, ...relativeDir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const parts = [...relativeDir, entry.name];
      const absolute = join(delivery, ...parts);
      if (entry.isDirectory()) {
        await walk(parts);
      } else if (entry.isFile()) {
        found.push({ path: parts.join('/'), absolute, size: (await stat(absolute)).size });
      }
    }
  };
  await walk([]);
  const bar = onTerminal ? new ProgressBar(process.stderr, () => performance.now()) : null;
  const files: DeliveryFile[] = [];
  let bytes = 0;
  try {
    for (const file of found) {
      bar?.update({ phase: 'reading', done: files.length, total: found.length, bytes });
      const hash = createHash('sha256');
      await pipeline(createReadStream(file.absolute), hash);
      files.push({ ...file, sha256: hash.digest('hex') });
      bytes += file.size;
    }
  } finally {
    bar?.clear();
  }
  return files;
}
