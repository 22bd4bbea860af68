import { ApiError, toApiError, type IngestUpload, type IngestUploadFile } from '@lantern/sdk';
import type { DeliveryFile, DeliveryProblem } from './delivery-files.js';

/**
 * Sends a declared delivery's files to the upload API (issue 6), a few at a time, with the bytes
 * sent reported as they go: `PUT /api/v1/ingests/{id}/files/{index}?offset=N` as the SDK sends
 * it, but through XMLHttpRequest, the browser's one way to watch a request body leave. Each file
 * is sent from the byte where the server's copy of it ends, so an upload interrupted (a lost
 * connection, a reload, a server restart) resumes: the curator picks the same folder again, and
 * only the missing bytes go. Cancelling aborts every send in flight.
 */

/** How many files are sent at once: enough to hide each request's round trip, no more. */
export const PARALLEL_SENDS = 3;

/** The sends were stopped by their caller. */
export class UploadAborted extends Error {
  override readonly name = 'UploadAborted';
}

/** The server could not be reached (no answer, or the connection dropped). */
export class UploadUnreachable extends Error {
  override readonly name = 'UploadUnreachable';
}

/** One file to send: its place in the declared list, and the byte to send it from. */
export interface PendingFile {
  index: number;
  path: string;
  file: File;
  from: number;
}

/** What is left to send of a delivery, given what the server holds of each declared file. */
export interface Remaining {
  pending: PendingFile[];
  /** Bytes the server holds already. */
  held: number;
  /** Declared files the picked folder lacks or has with another size: not the same folder. */
  problems: DeliveryProblem[];
}

/**
 * Matches the server's declared files with the picked folder's, by path: what is left to send of
 * each, or why the folder is not the one declared (a file missing, or of another size).
 */
export function remainingToSend(
  declared: readonly IngestUploadFile[],
  picked: readonly DeliveryFile[],
): Remaining {
  const byPath = new Map(picked.map((f) => [f.path, f.file]));
  const pending: PendingFile[] = [];
  const problems: DeliveryProblem[] = [];
  let held = 0;
  for (const d of declared) {
    const file = byPath.get(d.path);
    if (file === undefined) {
      problems.push({ path: d.path, message: 'declared for this upload, not in this folder' });
    } else if (file.size !== d.size) {
      problems.push({
        path: d.path,
        message: `${file.size} bytes here, ${d.size} declared for this upload`,
      });
    } else {
      held += d.received;
      if (d.received < d.size) {
        pending.push({ index: d.index, path: d.path, file, from: d.received });
      }
    }
  }
  if (picked.length !== declared.length && problems.length === 0) {
    problems.push({
      path: '.',
      message: `${picked.length} files here, ${declared.length} declared for this upload`,
    });
  }
  return { pending, held, problems };
}

export interface SendOptions {
  id: string;
  files: readonly PendingFile[];
  /** Bytes sent by these sends so far (acknowledged or on their way), whenever it grows. */
  onBytes: (sent: number) => void;
  /** A file the server has taken whole; the upload as it stands after it. */
  onFile?: (upload: IngestUpload) => void;
  signal: AbortSignal;
  parallel?: number;
}

/** Sends every file; rejects on the first refusal (ApiError), abort or lost connection. */
export async function sendDeliveryFiles(options: SendOptions): Promise<void> {
  const { files, signal } = options;
  const sent = new Array<number>(files.length).fill(0);
  const report = () => options.onBytes(sent.reduce((a, b) => a + b, 0));
  let next = 0;
  // The first failure stops every send: the others are aborted with it.
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort);
  const worker = async () => {
    while (next < files.length && !stop.signal.aborted) {
      const index = next;
      next += 1;
      const file = files[index];
      if (file === undefined) {
        return;
      }
      const upload = await putFile(options.id, file, stop.signal, (loaded) => {
        sent[index] = loaded;
        report();
      });
      sent[index] = file.file.size - file.from;
      report();
      options.onFile?.(upload);
    }
  };
  try {
    const workers = Array.from(
      { length: Math.min(options.parallel ?? PARALLEL_SENDS, files.length) },
      () =>
        worker().catch((error: unknown) => {
          stop.abort();
          throw error;
        }),
    );
    const results = await Promise.allSettled(workers);
    if (signal.aborted) {
      throw new UploadAborted('the upload was cancelled');
    }
    // The first real failure, not the aborts it caused in the other sends.
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    const cause = failures.find((f) => !(f instanceof UploadAborted)) ?? failures[0];
    if (cause !== undefined) {
      throw cause instanceof Error ? cause : new UploadUnreachable('a send failed');
    }
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

/** One PUT of the rest of one file, its progress reported; resolves to the upload after it. */
function putFile(
  id: string,
  { index, path, file, from }: PendingFile,
  signal: AbortSignal,
  onLoaded: (bytes: number) => void,
): Promise<IngestUpload> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new UploadAborted('the upload was cancelled'));
      return;
    }
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    signal.addEventListener('abort', abort);
    const settle = () => signal.removeEventListener('abort', abort);
    xhr.open('PUT', `/api/v1/ingests/${encodeURIComponent(id)}/files/${index}?offset=${from}`);
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
      reject(new UploadUnreachable(`the connection was lost while ${path} was sent`));
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
    xhr.send(from === 0 ? file : file.slice(from));
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
