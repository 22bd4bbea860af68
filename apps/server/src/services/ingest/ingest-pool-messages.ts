/**
 * What an IngestPool and its worker processes say to each other over their IPC channel (the
 * advanced serialization, so bytes cross as bytes). Small messages only: a job (file-ingest.ts'
 * FileJob) names the file's kind and path (the worker reads it itself) and carries what its
 * de-identifier needs, the UID key as bytes (a function cannot cross); the answer is where the
 * file went (keys, sizes, whether it was held), never its bytes. The UID key and the pseudonyms
 * are secrets: they travel in memory, over the channel, and are never written to a file, an
 * argument, the environment or a log.
 */
import type { FormatErrorCode, TiffWriteErrorCode } from '@lantern/formats';
import type { DicomDeidErrorCode, MuseDeidErrorCode, SlideDeidErrorCode } from '@lantern/deid';
import type { FileJob, FileOutcome } from './file-ingest.js';

/**
 * The files a worker takes at once, each read into a buffer of its own: while one waits for the
 * disk (its write flushed by fsync before the rename), the worker de-identifies and hashes the
 * next, so that the flush costs the ingest the disk's time, not the disk's and the CPU's one
 * after the other.
 */
export const FILES_PER_WORKER = 2;

/**
 * Parent to worker, first: what it needs to open its own object stores (the same local folders as
 * the server's).
 */
export interface IngestWorkerData {
  kind: 'init';
  /** The data directory whose objects/ and quarantine/ the workers write into. */
  dataDir: string;
  /** The data directory's ingest scratch area, for temporary files (file-ingest.ts). */
  scratch: string;
  /** Whether the stores flush each object before its rename, as the server's (LocalObjectStore). */
  fsync: boolean;
  /**
   * Testing only (ingest-pool.test.ts): the worker process exits with code 7 when it is given its
   * n-th file, as a worker that crashes (out of memory, a native fault) would vanish; it lets the
   * files already in its hands finish first, so that the test's stores hold no temporary file.
   */
  exitAtFile: number | undefined;
}

/** Parent to worker: de-identify and store one native file. */
export type FileJobMessage = FileJob & { job: number };

/** An error of the worker, sent so that the parent throws the same typed error. */
export type SentError =
  | {
      kind: 'format';
      code: FormatErrorCode;
      detail: string;
      file: string;
      offset: number;
      line: number | undefined;
      column: number | undefined;
    }
  | { kind: 'dicom-deid'; code: DicomDeidErrorCode; file: string; detail: string }
  | { kind: 'slide-deid'; code: SlideDeidErrorCode; file: string; detail: string }
  | { kind: 'muse-deid'; code: MuseDeidErrorCode; file: string; detail: string }
  | { kind: 'tiff-write'; code: TiffWriteErrorCode; message: string }
  | { kind: 'system'; code: string; file: string; syscall: string }
  | { kind: 'other'; name: string; message: string };

/** Parent to worker: its stores, then one file after another. */
export type IngestWorkerInbound = IngestWorkerData | FileJobMessage;

/** Worker to parent: the file's outcome, or its error. */
export type IngestWorkerMessage =
  | { kind: 'done'; job: number; outcome: FileOutcome }
  | { kind: 'failed'; job: number; error: SentError };
