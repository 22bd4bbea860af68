import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  describeIngestSummary,
  formatBytes,
  progressOn,
  type ProgressBar,
} from '@lantern/core/ingest';
import { describeDeliveryRefusal, readDelivery } from '@lantern/deid';
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
import { UploadDigests, type HashedFile } from '../upload-digests.js';
import { findUpload, forgetUpload, rememberUpload, uploadRecordsPath } from '../upload-records.js';

/**
 * `lantern ingest DIR --server URL`: a delivery handed to a running server, which ingests it as a
 * local ingest does (the same pipeline, the same report). The folder's files are declared with
 * their sizes, sent in chunks a few files at a time (`@lantern/sdk/upload`, the loop the web app's
 * ingest page uses), then the run is started and followed until it ends; the server deletes its
 * copy of the delivery when the run ends. It needs a token with catalog.curate. The delivery is
 * first checked here as the server's first step checks it (readDelivery: the manifest, every table
 * read, every named file present), so a delivery the server would refuse is refused with every
 * problem before a byte is sent.
 * Progress goes to stderr (a bar on a terminal, plain lines elsewhere; none with --json); the
 * draft made to stdout.
 *
 * Each byte is read once: each file's SHA-256 is worked out as its chunks go and sent with its
 * last (upload-digests.ts); the server refuses a file whose bytes it received have another, and
 * the loop sends it again from its start. Resuming reads once more what the server holds: the
 * hashes of its files start at their first byte, and the files it holds whole are checked against
 * the SHA-256 they were taken with, so a folder changed since is not mixed with the old one.
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

type DeliveryFile = LocalFile & HashedFile;

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
  const progress = options.json !== true;
  const files = await listDelivery(delivery);
  // The server's own first step, here before a byte is sent: a typo in a column name costs a
  // moment, not the upload of the whole delivery.
  const reading = await readDelivery(delivery);
  if (!reading.isValid) {
    const refusal = describeDeliveryRefusal(reading.problems);
    return printRefusal(refusal.message, refusal.problems, options.json === true);
  }
  const records = uploadRecordsPath(target.credentialsFile);
  const digests = new UploadDigests();
  let begun: Begun | null = null;
  let running: string | null = null;
  const stopListening = onCtrlC(() => {
    if (begun !== null) {
      return whatIsKept(begun.id);
    }
    return running === null
      ? 'Nothing was sent.'
      : `The server goes on with the ingest of the upload ${running} without this command: the draft page (/datasets/${reading.manifest?.dataset ?? ''}/draft) shows what it made.`;
  });
  let upload: IngestUpload;
  try {
    begun = await begin(
      { client, target, records, delivery, digests, progress },
      files,
      options.resume,
    );
    await send(client, begun, digests, progress);
    upload = await client.runIngestUpload(begun.id);
    await forgetUpload(records, target.server, delivery, begun.id);
    // Running: nothing is left to resume.
    running = begun.id;
    begun = null;
    upload = await follow(client, upload, progress);
  } catch (error) {
    throw interrupted(error, target, begun);
  } finally {
    stopListening();
  }
  return report(upload, delivery, options.json === true);
}

/** What beginning an upload works with. */
interface Beginning {
  client: LanternClient;
  target: Target;
  /** The records of the uploads begun (upload-records.ts). */
  records: string;
  delivery: string;
  digests: UploadDigests;
  /** Whether progress goes to stderr (not with --json). */
  progress: boolean;
}

/**
 * The upload to send: the one named by `--resume`, or the one recorded for this folder and server
 * if the server still takes its files and they are this folder's; otherwise a new one, declared
 * and recorded.
 */
async function begin(
  { client, target, records, delivery, digests, progress }: Beginning,
  files: readonly DeliveryFile[],
  resumeId: string | undefined,
): Promise<Begun> {
  const resume = (id: string) => resumeUpload(client, id, files, digests, progress);
  if (resumeId !== undefined) {
    const resumed = await resume(resumeId);
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
    const resumed = await resume(recorded.id);
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
  // Sizes only: each file's SHA-256 goes with its last chunk.
  const made = await client.createIngestUpload(files.map((f) => ({ path: f.path, size: f.size })));
  await rememberUpload(records, target.server, delivery, {
    id: made.id,
    declaredAt: new Date().toISOString(),
  });
  const declared = await client.listIngestUploadFiles(made.id);
  return { id: made.id, ...remainingToSend(declared, files) };
}

/**
 * What is left of upload `id` for this folder, saying so on stderr; or why it cannot be resumed
 * (gone, no longer taking files, not this folder's files: another size, or for a file the server
 * holds whole another SHA-256).
 */
async function resumeUpload(
  client: LanternClient,
  id: string,
  files: readonly DeliveryFile[],
  digests: UploadDigests,
  progress: boolean,
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
  const remaining = remainingToSend(declared, await hashHeld(declared, files, digests, progress));
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
async function send(
  client: LanternClient,
  begun: Begun,
  digests: UploadDigests,
  progress: boolean,
): Promise<void> {
  const bar = barOf(progress);
  let done = 0;
  let sent = 0;
  const totalBytes = begun.pending.reduce((sum, f) => sum + f.local.size - f.from, 0);
  const draw = () =>
    bar?.update({ phase: 'uploading', done, total: begun.pending.length, bytes: sent, totalBytes });
  try {
    draw();
    await sendUploadFiles({
      files: begun.pending,
      transport: transportOf(client, begun.id, digests),
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

/**
 * Chunks sent through the SDK's client, each read from disk as it goes and hashed once the server
 * took it; a file's last chunk carries its SHA-256.
 */
function transportOf(
  client: LanternClient,
  id: string,
  digests: UploadDigests,
): UploadTransport<DeliveryFile> {
  return {
    async sendChunk({ index, local, offset, end }) {
      const chunk = await digests.read(local, offset, end);
      const upload = await unreachableIfLost(() =>
        client.putIngestUploadFile(id, index, chunk.bytes, offset, chunk.sha256),
      );
      chunk.taken();
      return upload;
    },
    listFiles: () => unreachableIfLost(() => client.listIngestUploadFiles(id)),
  };
}

/** The bar of a step's progress on stderr (plain lines off a terminal), or none. */
function barOf(progress: boolean): ProgressBar | null {
  return progress ? progressOn(process.stderr, () => performance.now()) : null;
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
  return new CliError(failure.exitCode, `${failure.message}\n${whatIsKept(begun.id)}`);
}

/** What the server keeps of an upload stopped before it ran, and how to send the rest. */
function whatIsKept(id: string): string {
  return `The server keeps what it received of the upload ${id} for an hour: run the same command again to send the rest (--resume ${id} names it).`;
}

/**
 * Ctrl-C while the delivery is sent or run ends the command as a failure would, saying what the
 * server kept and how to go on (`said`), with the shell's exit code for it (130). Returns the
 * way to stop listening.
 */
function onCtrlC(said: () => string): () => void {
  const stop = () => {
    // Below a bar drawn in place, not over it.
    console.error(`${process.stderr.isTTY ? '\n' : ''}lantern: stopped. ${said()}`);
    process.exit(130);
  };
  process.once('SIGINT', stop);
  return () => process.off('SIGINT', stop);
}

/** Asks where the run is until it ends, drawing the server's progress. */
async function follow(
  client: LanternClient,
  started: IngestUpload,
  progress: boolean,
): Promise<IngestUpload> {
  const bar = barOf(progress);
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
    return printRefusal(upload.error ?? 'the delivery cannot be ingested', upload.problems, json);
  }
  throw new CliError(
    1,
    `the server could not ingest the delivery: ${upload.error ?? upload.status}`,
  );
}

/** A refused delivery: the reason and every problem (stderr, or one object with --json); exit 1. */
function printRefusal(
  message: string,
  problems: readonly { path: string; message: string }[],
  json: boolean,
): number {
  if (json) {
    console.log(
      JSON.stringify({ refused: true, code: 'validation_failed', message, problems }, null, 2),
    );
    return 1;
  }
  console.error(`lantern: ${message}`);
  for (const problem of problems) {
    console.error(`  ${problem.path}: ${problem.message}`);
  }
  console.error('Nothing was stored. Fix the delivery and run lantern ingest again.');
  return 1;
}

/**
 * Hashes the bytes the server holds of each file of a resumed upload (the hash of a file goes on
 * from there as its rest is sent), showing its progress; the files it holds whole come back with
 * their SHA-256, for remainingToSend to match with the one the server checked them against. A
 * file of another size than declared is left to remainingToSend to report.
 */
async function hashHeld(
  declared: readonly IngestUploadFile[],
  files: readonly DeliveryFile[],
  digests: UploadDigests,
  progress: boolean,
): Promise<DeliveryFile[]> {
  const byPath = new Map(declared.map((d) => [d.path, d]));
  const held = files.filter((f) => {
    const d = byPath.get(f.path);
    return d !== undefined && d.size === f.size && d.received > 0;
  });
  const bar = held.length > 0 ? barOf(progress) : null;
  const hashed = new Map<string, string>();
  let bytes = 0;
  const draw = () =>
    bar?.update({ phase: 'checking', done: hashed.size, total: held.length, bytes });
  try {
    draw();
    for (const file of held) {
      const received = byPath.get(file.path)?.received ?? 0;
      hashed.set(file.path, await digests.held(file, received));
      bytes += received;
      draw();
    }
  } finally {
    bar?.clear();
  }
  return files.map((f) => {
    const d = byPath.get(f.path);
    const sha256 = hashed.get(f.path);
    return d !== undefined && d.received === d.size && sha256 !== undefined ? { ...f, sha256 } : f;
  });
}

/**
 * The regular files under `delivery`, as `/`-separated paths in a stable order, with their sizes
 * (not read: their SHA-256 is worked out as they are sent).
 */
async function listDelivery(delivery: string): Promise<DeliveryFile[]> {
  const info = await stat(delivery).catch(() => null);
  if (info === null || !info.isDirectory()) {
    throw new CliError(
      2,
      `no delivery folder at ${delivery}: pass the folder that holds delivery.yaml`,
    );
  }
  const found: DeliveryFile[] = [];
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
  return found;
}
