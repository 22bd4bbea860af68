import { ApiError, toApiError, type IngestUpload } from '@lantern/sdk';
import type { DeliveryFile } from './delivery-files.js';

/**
 * Sends a declared delivery's files to the upload API (issue 6), a few at a time, with the bytes
 * sent reported as they go: `PUT /api/v1/ingests/{id}/files/{path}` as the SDK sends it, but
 * through XMLHttpRequest, the browser's one way to watch a request body leave. Cancelling aborts
 * every send in flight.
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

export interface SendOptions {
  id: string;
  files: readonly DeliveryFile[];
  /** Bytes of all files sent so far (acknowledged or on their way), whenever it grows. */
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
      sent[index] = file.file.size;
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

/** One PUT of one file, its upload progress reported; resolves to the upload after it. */
function putFile(
  id: string,
  { path, file }: DeliveryFile,
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
    xhr.open('PUT', `/api/v1/ingests/${encodeURIComponent(id)}/files/${encodeURIComponent(path)}`);
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
    xhr.send(file);
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
