/**
 * What an IngestPool and its worker processes say to each other over their IPC channel (the
 * advanced serialization, so bytes cross as bytes). Small messages only: a job (file-ingest.ts'
 * FileJob) names the file's kind and path (the worker reads it itself) and carries what its
 * de-identifier needs, the UID key as bytes (a function cannot cross); the answer is where the file
 * was written to (paths in the worker's folder of the scratch area, sizes, hashes, whether it was
 * held), never its bytes. The UID key and the pseudonyms are secrets: they travel in memory, over
 * the channel, and are never written to a file, an argument, the environment or a log.
 */
import type { FormatErrorCode, TiffWriteErrorCode } from '@lantern/formats';
import type { DicomDeidErrorCode, MuseDeidErrorCode, SlideDeidErrorCode } from '@lantern/deid';
import type { FileJob, WrittenOutcome } from './file-ingest.js';

/**
 * The files a worker takes at once, each read into a buffer of its own: when it answers for one,
 * the other is in hand, so that it never waits for the parent's next message (and, for the formats
 * read asynchronously, a slide, one file's wait for the disk overlaps the other's work).
 */
export const FILES_PER_WORKER = 2;

/** Parent to worker, first: where it writes the files it makes. */
export interface IngestWorkerData {
  kind: 'init';
  /** Its own folder in the data directory's ingest scratch area (file-ingest.ts' writeNativeFile). */
  folder: string;
  /**
   * Testing only (ingest-pool.test.ts): the worker process exits with code 7 when it is given its
   * n-th file, as a worker that crashes (out of memory, a native fault) would vanish; it lets the
   * files already in its hands finish first, so that no file is left half-written.
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
  | { kind: 'done'; job: number; outcome: WrittenOutcome }
  | { kind: 'failed'; job: number; error: SentError };
