/**
 * The client half of remote ingest's resumable upload protocol (issue 6), shared by the web app's
 * ingest page and `lantern ingest --server`: what is left to send of a delivery given what the
 * server holds, and the loop that sends it — a few files at a time, each in chunks
 * (`PUT /api/v1/ingests/{id}/files/{index}?offset=N`) starting where the server's bytes of the
 * file end. A send that fails for a moment (the connection dropped, the server restarting, a 5xx,
 * a 409 for an offset the server no longer agrees with) is retried after a backoff by asking the
 * server what it holds (`GET /api/v1/ingests/{id}/files`) and going on from there, so a byte range
 * is sent again only when the server never kept it.
 *
 * How a chunk travels is the caller's (`UploadTransport`): the CLI sends through the SDK's fetch,
 * the browser through XMLHttpRequest to watch the body leave. Which errors are a moment's is
 * decided here, once: `isTransientUploadFailure`.
 */
import { ApiError, type IngestUpload, type IngestUploadFile } from './index.js';

/** How many files are sent at once: enough to hide each request's round trip, no more. */
export const PARALLEL_SENDS = 3;
/** The bytes of one request: small enough that a dropped one costs little, large enough to stream. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** Failures in a row, with no byte kept between them, before a file's send gives up. */
export const SEND_RETRIES = 6;

/** The sends were stopped by their caller. */
export class UploadAborted extends Error {
  override readonly name = 'UploadAborted';
}

/** The server could not be reached (no answer, or the connection dropped). */
export class UploadUnreachable extends Error {
  override readonly name = 'UploadUnreachable';
}

/** The server no longer takes files of the upload (it ran, was cancelled or expired). */
export class UploadClosed extends Error {
  override readonly name = 'UploadClosed';
}

/** A problem of a folder matched with an upload's declared files, by path. */
export interface UploadMismatch {
  path: string;
  message: string;
}

/** A file of the delivery as the client has it: the declared path and size, SHA-256 if known. */
export interface LocalFile {
  path: string;
  size: number;
  sha256?: string | undefined;
}

/** One file to send: its place in the declared list, and the byte to send it from. */
export interface PendingFile<TLocal extends LocalFile> {
  index: number;
  local: TLocal;
  from: number;
}

/** What is left to send of a delivery, given what the server holds of each declared file. */
export interface Remaining<TLocal extends LocalFile> {
  pending: PendingFile<TLocal>[];
  /** Bytes the server holds already. */
  held: number;
  /** Files the server holds whole already. */
  complete: number;
  /** Declared files the folder lacks, or has with another size or SHA-256: not the same folder. */
  problems: UploadMismatch[];
}

/**
 * Matches the server's declared files with the folder's, by path: what is left to send of each,
 * or why the folder is not the one declared (a file missing, of another size or SHA-256, or a
 * file the upload did not declare).
 */
export function remainingToSend<TLocal extends LocalFile>(
  declared: readonly IngestUploadFile[],
  local: readonly TLocal[],
): Remaining<TLocal> {
  const byPath = new Map(local.map((f) => [f.path, f]));
  const pending: PendingFile<TLocal>[] = [];
  const problems: UploadMismatch[] = [];
  let held = 0;
  let complete = 0;
  for (const d of declared) {
    const file = byPath.get(d.path);
    if (file === undefined) {
      problems.push({ path: d.path, message: 'declared for this upload, not in this folder' });
    } else if (file.size !== d.size) {
      problems.push({
        path: d.path,
        message: `${file.size} bytes here, ${d.size} declared for this upload`,
      });
    } else if (file.sha256 !== undefined && d.sha256 !== null && file.sha256 !== d.sha256) {
      problems.push({ path: d.path, message: 'changed since it was declared for this upload' });
    } else {
      held += d.received;
      if (d.received < d.size) {
        pending.push({ index: d.index, local: file, from: d.received });
      } else {
        complete += 1;
      }
    }
  }
  if (local.length !== declared.length && problems.length === 0) {
    problems.push({
      path: '.',
      message: `${local.length} files here, ${declared.length} declared for this upload`,
    });
  }
  return { pending, held, complete, problems };
}

/** One request's worth of a file: bytes `offset` up to (not including) `end`. */
export interface UploadChunk<TLocal extends LocalFile> {
  index: number;
  local: TLocal;
  offset: number;
  end: number;
}

/** How chunks reach the server, and how the server is asked what it holds. */
export interface UploadTransport<TLocal extends LocalFile> {
  /**
   * Sends one chunk; `onLoaded` (if the transport can tell) says how many of its bytes have left.
   * A connection lost is an UploadUnreachable, a refusal an ApiError.
   */
  sendChunk(
    chunk: UploadChunk<TLocal>,
    signal: AbortSignal,
    onLoaded: (bytes: number) => void,
  ): Promise<IngestUpload>;
  /** The declared files and the bytes of each the server holds (none once it no longer takes any). */
  listFiles(): Promise<IngestUploadFile[]>;
}

export interface SendOptions<TLocal extends LocalFile> {
  files: readonly PendingFile<TLocal>[];
  transport: UploadTransport<TLocal>;
  /** Bytes sent by these sends so far (kept by the server or on their way), whenever it grows. */
  onBytes?: (sent: number) => void;
  /** A file the server has taken whole; the upload as it stands after it. */
  onFile?: (upload: IngestUpload) => void;
  /** A failure about to be retried, after `delayMs`. */
  onRetry?: (failure: unknown, delayMs: number) => void;
  signal?: AbortSignal;
  parallel?: number;
  /** Bytes per request; Infinity sends the rest of each file in one. */
  chunkBytes?: number;
  /** Failures in a row before a file's send gives up; 0 gives up on the first. */
  retries?: number;
  /** Waits `ms` (or until `signal` aborts); a test's clock may replace the timer. */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Whether `error` is a moment's: the connection, a server away or overloaded (5xx, 429), or a 409
 * (an offset the server no longer agrees with, a send of the file the server still sees in flight).
 * Whatever the server said is then asked again rather than believed.
 */
export function isTransientUploadFailure(error: unknown): boolean {
  return (
    error instanceof UploadUnreachable ||
    (error instanceof ApiError &&
      (error.status >= 500 || error.status === 429 || error.code === 'conflict'))
  );
}

/**
 * Whether `error` is the server's refusal of a file whose bytes received do not have the SHA-256
 * sent with its last chunk (409, naming `query.sha256`): it discarded every byte of the file,
 * which is to be sent again from its start, hashed anew. The bytes changed on their way, or the
 * file since its first bytes were sent.
 */
export function isDigestMismatch(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    error.code === 'conflict' &&
    (error.problem.errors ?? []).some((e) => e.path === 'query.sha256')
  );
}

/**
 * The wait before retry number `attempt` (1, 2, …): 0.5 s doubling up to 15 s, or the
 * Retry-After the server asked for. No jitter: a single client's retries meet no one's.
 */
export function retryDelayMs(attempt: number, failure: unknown): number {
  if (failure instanceof ApiError && failure.retryAfter !== null) {
    return failure.retryAfter * 1000;
  }
  return Math.min(15_000, 500 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Sends every pending file in chunks, `parallel` files at a time; resolves when the server holds
 * all of them. A transient failure is retried (see isTransientUploadFailure) from the byte the
 * server says it holds; any other, or `retries` in a row, rejects, and every other send stops
 * after its chunk in flight. The server keeps what it received, so the caller can resume later.
 */
export async function sendUploadFiles<TLocal extends LocalFile>(
  options: SendOptions<TLocal>,
): Promise<void> {
  const { files, transport } = options;
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const retries = options.retries ?? SEND_RETRIES;
  const wait = options.wait ?? delay;
  const signal = options.signal ?? new AbortController().signal;
  // Per pending file: bytes gone beyond its `from` (kept by the server, or the chunk on its way).
  const sent = new Array<number>(files.length).fill(0);
  const report = () => options.onBytes?.(sent.reduce((a, b) => a + b, 0));
  // The first failure stops every send; the caller's abort does too.
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort);
  let next = 0;

  const sendFile = async (slot: number, file: PendingFile<TLocal>) => {
    const { size } = file.local;
    let held = file.from;
    let failures = 0;
    while (held < size) {
      if (stop.signal.aborted) {
        throw new UploadAborted('the upload was stopped');
      }
      const end = Math.min(size, held + chunkBytes);
      try {
        const upload = await transport.sendChunk(
          { index: file.index, local: file.local, offset: held, end },
          stop.signal,
          (loaded) => {
            sent[slot] = held - file.from + loaded;
            report();
          },
        );
        held = end;
        failures = 0;
        sent[slot] = held - file.from;
        report();
        if (held === size) {
          options.onFile?.(upload);
        }
      } catch (error) {
        if (stop.signal.aborted || error instanceof UploadAborted) {
          throw new UploadAborted('the upload was stopped');
        }
        if (!isTransientUploadFailure(error) || failures >= retries) {
          throw error;
        }
        failures += 1;
        const ms = retryDelayMs(failures, error);
        options.onRetry?.(error, ms);
        await wait(ms, stop.signal);
        if (stop.signal.aborted) {
          throw new UploadAborted('the upload was stopped');
        }
        const now = await heldOf(transport, file.index).catch((asked: unknown) => {
          // The server still away: the next chunk's try counts as the next failure.
          if (isTransientUploadFailure(asked)) {
            return held;
          }
          throw asked;
        });
        if (now > held) {
          failures = 0;
        }
        held = now;
        sent[slot] = held - file.from;
        report();
      }
    }
  };

  const worker = async () => {
    while (next < files.length && !stop.signal.aborted) {
      const slot = next;
      next += 1;
      const file = files[slot];
      if (file !== undefined) {
        await sendFile(slot, file);
      }
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

/** The bytes of file `index` the server holds; UploadClosed when it takes no more files. */
async function heldOf<TLocal extends LocalFile>(
  transport: UploadTransport<TLocal>,
  index: number,
): Promise<number> {
  const declared = await transport.listFiles();
  const file = declared.find((f) => f.index === index);
  if (file === undefined) {
    throw new UploadClosed('the server no longer takes files of this upload');
  }
  return file.received;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
