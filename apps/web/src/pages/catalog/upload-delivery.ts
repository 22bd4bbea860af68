import { ApiError, toApiError, type IngestUpload, type IngestUploadFile } from '@lantern/sdk';
import {
  isDigestMismatch,
  remainingToSend as remainingOf,
  sendUploadFiles,
  UploadAborted,
  UploadUnreachable,
  type PendingFile,
  type UploadChunk,
  type UploadTransport,
} from '@lantern/sdk/upload';
import { api } from '../../api.js';
import type { DeliveryFile, DeliveryProblem } from './delivery-files.js';
import { HashingUnavailable } from './hash-worker.js';
import type { ChunkRead, UploadDigests } from './upload-digests.js';

export { HashingUnavailable, UploadAborted, UploadUnreachable };

/**
 * Sends a declared delivery's files to the upload API (issue 6) with the SDK's resumable upload
 * loop (`@lantern/sdk/upload`, which `lantern ingest --server` uses too): a few at a time, each
 * from the byte where the server's copy of it ends, so an upload interrupted (a lost connection, a
 * reload, a server restart) resumes — the curator picks the same folder again, and only the
 * missing bytes go. The chunks travel by XMLHttpRequest, the browser's one way to watch a request
 * body leave, and a failure stops the sends at once for the page to offer Resume. Cancelling
 * aborts every send in flight.
 *
 * Each file is checked end to end as the CLI's are: its chunks (the SDK's size) are read once
 * and hashed as they go (upload-digests.ts, in a worker), and its last carries the file's SHA-256.
 * Bytes that reach the server altered make it discard the file (FileAltered here), and Resume
 * sends it anew. Resuming hashes again the files the server holds whole, and a file whose SHA-256
 * is not the one the server took it with (changed on disk since) makes the folder not the one
 * declared: nothing of it is sent or run.
 */

/**
 * A file of the picked folder the browser can no longer read: it changed or went since the folder
 * was picked (a File is a snapshot, and reading one whose file moved on fails). The folder is to
 * be picked again.
 */
export class FileUnreadable extends Error {
  override readonly name = 'FileUnreadable';
  static readonly reason = 'can no longer be read: it changed or went since the folder was chosen';
  constructor(readonly path: string) {
    super(`${path} ${FileUnreadable.reason}`);
  }
}

/** A file whose bytes reached the server altered: it kept nothing of it, to be sent again. */
export class FileAltered extends Error {
  override readonly name = 'FileAltered';
  constructor(readonly path: string) {
    super(
      `${path} did not arrive as it was sent: the bytes the server received do not have the file's SHA-256, and it discarded them`,
    );
  }
}

/** A file of the picked folder, as the upload loop sees it. */
export interface PickedFile {
  path: string;
  size: number;
  file: File;
}

/** What is left to send of a delivery, given what the server holds of each declared file. */
export interface Remaining {
  pending: PendingFile<PickedFile>[];
  /** Bytes the server holds already. */
  held: number;
  /**
   * Declared files the picked folder lacks, or has with another size or (held whole) SHA-256: not
   * the same folder.
   */
  problems: DeliveryProblem[];
}

/**
 * Matches the server's declared files with the picked folder's, by path: what is left to send of
 * each, or why the folder is not the one declared (a file missing, of another size, or held whole
 * by the server with another SHA-256 than it has now). As `lantern ingest --server` does, the
 * files the server holds whole are hashed again first, `onChecked` saying how many so far: a file
 * changed on disk since it was sent is not mixed with the rest.
 */
export async function remainingToSend(
  declared: readonly IngestUploadFile[],
  picked: readonly DeliveryFile[],
  digests: UploadDigests,
  onChecked: (done: number, total: number) => void = () => undefined,
): Promise<Remaining> {
  const byPath = new Map(declared.map((d) => [d.path, d]));
  const whole = picked.filter((f) => {
    const d = byPath.get(f.path);
    return d !== undefined && d.received === d.size && d.size === f.file.size;
  });
  const hashed = new Map<string, string>();
  onChecked(0, whole.length);
  for (const { path, file } of whole) {
    const sha256 = await digests.held(file, file.size).catch((error: unknown) => {
      throw error instanceof HashingUnavailable ? error : new FileUnreadable(path);
    });
    hashed.set(path, sha256);
    onChecked(hashed.size, whole.length);
  }
  const { pending, held, problems } = remainingOf(
    declared,
    picked.map((f) => ({
      path: f.path,
      size: f.file.size,
      file: f.file,
      sha256: hashed.get(f.path),
    })),
  );
  return { pending, held, problems };
}

export interface SendOptions {
  id: string;
  files: readonly PendingFile<PickedFile>[];
  /** Bytes sent by these sends so far (acknowledged or on their way), whenever it grows. */
  onBytes: (sent: number) => void;
  /** A file the server has taken whole; the upload as it stands after it. */
  onFile?: (upload: IngestUpload) => void;
  /** The files' hashes as far as they have been sent, kept across the sends of one page. */
  digests: UploadDigests;
  signal: AbortSignal;
  parallel?: number;
}

/**
 * Sends every file; rejects on the first refusal (ApiError, or FileAltered), file that cannot be
 * read (FileUnreadable), abort or lost connection.
 */
export async function sendDeliveryFiles(options: SendOptions): Promise<void> {
  await sendUploadFiles({
    files: options.files,
    transport: xhrTransport(options.id, options.digests),
    onBytes: options.onBytes,
    ...(options.onFile === undefined ? {} : { onFile: options.onFile }),
    signal: options.signal,
    ...(options.parallel === undefined ? {} : { parallel: options.parallel }),
    // The page shows the upload paused with a Resume button rather than retrying unseen.
    retries: 0,
  });
}

/** Chunks read and hashed as they go; a file's last carries its SHA-256. */
function xhrTransport(id: string, digests: UploadDigests): UploadTransport<PickedFile> {
  return {
    async sendChunk(chunk, signal, onLoaded) {
      const read = await digests
        .read(chunk.local.file, chunk.offset, chunk.end)
        .catch((error: unknown) => {
          throw error instanceof HashingUnavailable ? error : new FileUnreadable(chunk.local.path);
        });
      try {
        const upload = await putChunk(id, chunk, read, signal, onLoaded);
        read.taken();
        return upload;
      } catch (error) {
        throw isDigestMismatch(error) ? new FileAltered(chunk.local.path) : error;
      }
    },
    listFiles: () => api.listIngestUploadFiles(id),
  };
}

/** One PUT of a chunk of one file, its progress reported; resolves to the upload after it. */
function putChunk(
  id: string,
  { index, local, offset }: UploadChunk<PickedFile>,
  { bytes, sha256 }: ChunkRead,
  signal: AbortSignal,
  onLoaded: (bytes: number) => void,
): Promise<IngestUpload> {
  const query = new URLSearchParams({
    offset: String(offset),
    ...(sha256 === undefined ? {} : { sha256 }),
  });
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new UploadAborted('the upload was cancelled'));
      return;
    }
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    signal.addEventListener('abort', abort);
    const settle = () => signal.removeEventListener('abort', abort);
    xhr.open('PUT', `/api/v1/ingests/${encodeURIComponent(id)}/files/${index}?${query}`);
    // As the SDK sends every write: the server's CSRF defence wants it.
    xhr.setRequestHeader('x-lantern-csrf', '1');
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.responseType = 'text';
    xhr.upload.onprogress = (event) => onLoaded(event.loaded);
    xhr.onabort = () => {
      settle();
      reject(new UploadAborted('the upload was cancelled'));
    };
    xhr.onerror = () => {
      settle();
      reject(new UploadUnreachable(`the connection was lost while ${local.path} was sent`));
    };
    xhr.onload = () => {
      settle();
      const body = parseJson(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300 && isUpload(body)) {
        resolve(body);
        return;
      }
      reject(
        toApiError(new Response(null, { status: xhr.status, statusText: xhr.statusText }), body),
      );
    };
    xhr.send(bytes);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function isUpload(value: unknown): value is IngestUpload {
  return typeof value === 'object' && value !== null && 'id' in value && 'status' in value;
}

/** Whether `error` says the server has no such upload (it restarted, or the upload expired). */
export function isForgotten(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'not_found';
}
