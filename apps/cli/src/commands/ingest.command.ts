import { openAsBlob } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeIngestSummary, ProgressBar } from '@lantern/core/ingest';
import type { IngestUpload, LanternClient } from '@lantern/sdk';
import { CliError } from '../cli-error.js';
import { clientFor, describeFailure, requireToken, resolveTarget } from '../connection.js';

/**
 * `lantern ingest DIR --server URL`: a delivery handed to a running server, which ingests it as a
 * local ingest does (the same pipeline, the same report). The folder's files are declared with
 * their sizes, sent one by one (streamed from disk), then the run is started and followed until it
 * ends; the server deletes its copy of the delivery when the run ends. It needs a token with
 * catalog.curate. Progress goes to stderr on a terminal; the draft made to stdout.
 *
 * Exit codes as the local command's: 0 a draft was made; 1 refused (by the server, or the delivery
 * with every problem); 2 not run (no folder, an unreachable server).
 */

/** How often the run is asked where it is. */
const POLL_MS = 500;

interface DeliveryFile {
  path: string;
  size: number;
}

export async function ingestRemote(
  dir: string,
  options: { server: string; json?: boolean },
): Promise<number> {
  const delivery = resolve(dir);
  const files = await listDelivery(delivery);
  const target = await resolveTarget(options.server);
  requireToken(target);
  const client = clientFor(target);
  const onTerminal = process.stderr.isTTY && options.json !== true;
  let upload: IngestUpload;
  try {
    upload = await send(client, delivery, files, onTerminal);
    upload = await follow(client, await client.runIngestUpload(upload.id), onTerminal);
  } catch (error) {
    throw describeFailure(error, target);
  }
  return report(upload, delivery, options.json === true);
}

/** Declares the delivery and sends each file, with a bar of files and bytes sent. */
async function send(
  client: LanternClient,
  delivery: string,
  files: readonly DeliveryFile[],
  onTerminal: boolean,
): Promise<IngestUpload> {
  const bar = onTerminal ? new ProgressBar(process.stderr, () => performance.now()) : null;
  try {
    let upload = await client.createIngestUpload(files.map((f) => ({ ...f })));
    let bytes = 0;
    for (const [done, file] of files.entries()) {
      bar?.update({ phase: 'uploading', done, total: files.length, bytes });
      const blob = await openAsBlob(join(delivery, ...file.path.split('/')));
      upload = await client.putIngestUploadFile(upload.id, done, blob);
      bytes += file.size;
    }
    return upload;
  } finally {
    bar?.clear();
  }
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

/** The regular files under `delivery`, as `/`-separated paths, in a stable order. */
async function listDelivery(delivery: string): Promise<DeliveryFile[]> {
  const info = await stat(delivery).catch(() => null);
  if (info === null || !info.isDirectory()) {
    throw new CliError(
      2,
      `no delivery folder at ${delivery}: pass the folder that holds delivery.yaml`,
    );
  }
  const files: DeliveryFile[] = [];
  const walk = async (relativeDir: string[]): Promise<void> => {
    const entries = await readdir(join(delivery, ...relativeDir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const parts = [...relativeDir, entry.name];
      if (entry.isDirectory()) {
        await walk(parts);
      } else if (entry.isFile()) {
        files.push({ path: parts.join('/'), size: (await stat(join(delivery, ...parts))).size });
      }
    }
  };
  await walk([]);
  return files;
}
