/**
 * One DICOM file of a delivery, from its path to a de-identified file in the ingest's scratch
 * area, the way an ingest worker (ingest-worker.ts) takes every DICOM file and bench/ingest
 * measures it:
 *
 * 1. read with one blocking read call (readWholeFileSync), not in fs.readFile's 512 KiB steps, into
 *    a buffer the caller's ReadBuffer lends again for each file, not a new one each time;
 * 2. de-identified by @lantern/deid, whose result is the new file as chunks (the pixel data a view
 *    of the bytes read, never copied) and the SHA-256 of every output byte, hashed once;
 * 3. written with one blocking gathered write to a file of the scratch area, which the server's main thread
 *    stores under that hash (ObjectStore.putFile: locally flushed and renamed, hashed nothing
 *    again), or, for an image held for burned-in text, keeps in the quarantine for a curator.
 *
 * Nothing identifying is written on the way: the bytes read stay in memory, and only the
 * de-identified chunks reach a file.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { deidentifyDicom, type DicomDeidOptions } from '@lantern/deid';
import { writeHashedFileSync, type HashedFile } from '../../storage/object-store.js';

/**
 * The largest file read whole: Node's own limit for fs.readFile (a larger DICOM file, a whole
 * slide, is beyond what this in-memory path takes).
 */
export const READ_WHOLE_MAX_BYTES = 2 ** 31 - 1;

/**
 * A file not read into memory whole: too large, or no regular file (a named pipe, a device, which
 * a blocking read could wait on for ever, deaf to its parent's end; ingest-worker.ts).
 */
export class NotReadWholeError extends Error {
  /** The message names no path: a delivery's file names may identify a patient. */
  constructor(why: string) {
    super(why);
    this.name = 'NotReadWholeError';
  }
}

/** The largest buffer a ReadBuffer keeps between reads; a larger file gets a buffer of its own. */
export const READ_BUFFER_KEPT_MAX_BYTES = 256 * 1024 * 1024;

/**
 * One buffer lent to each whole-file read in turn, grown as files need. A new buffer of a
 * radiograph's size for every file costs more than de-identifying it: each is external memory to
 * V8, which collects garbage every few files to free them, and the kernel maps, zeroes and unmaps
 * their megabytes each time (bench/ingest/README.md). Lent to one reader at a time: the bytes of
 * one read, and every view of them (a de-identified file's chunks), are valid until the next.
 */
export class ReadBuffer {
  private kept: Buffer | null = null;

  /** `size` bytes to read into: the kept buffer, grown if need be, or one of its own if huge. */
  lend(size: number): Buffer {
    if (size > READ_BUFFER_KEPT_MAX_BYTES) {
      return Buffer.allocUnsafe(size);
    }
    if (this.kept === null || this.kept.byteLength < size) {
      // Grown in whole MiB, so a corpus of slightly different sizes does not grow it every file.
      this.kept = Buffer.allocUnsafe(Math.ceil(Math.max(size, 1) / 2 ** 20) * 2 ** 20);
    }
    return this.kept.subarray(0, size);
  }
}

/**
 * A file's bytes, read with one read call (another only if the system returns fewer bytes) into
 * a buffer of its size: lent by `readBuffer` (valid until its next read), else a new one. A file
 * that shrinks while read gives the bytes it had; one that grows, the bytes of its size when
 * opened; anything but a regular file is refused (NotReadWholeError).
 *
 * Blocking, for an ingest worker process only (never the server's main thread): a worker makes
 * one file at a time on its own thread, where a trip through libuv's thread pool overlaps nothing
 * and costs a thread's wake-up, and the bytes copied on another core than the one that hashes them
 * (bench/ingest/README.md, session 11).
 */
export function readWholeFileSync(path: string, readBuffer?: ReadBuffer): Uint8Array {
  // Opened without waiting for a writer, so that a named pipe is refused, not waited on.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      throw new NotReadWholeError('not a regular file');
    }
    const { size } = stats;
    if (size > READ_WHOLE_MAX_BYTES) {
      throw new NotReadWholeError(
        `${size} bytes, more than the ${READ_WHOLE_MAX_BYTES} read into memory whole`,
      );
    }
    const buffer = readBuffer?.lend(size) ?? Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const bytesRead = readSync(fd, buffer, filled, size - filled, filled);
      if (bytesRead === 0) {
        break;
      }
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/**
 * De-identifies the DICOM file at `path` into a new file at `out` (see the file's comment),
 * reading it into `readBuffer` when given (one worker's files one after another share one), and
 * returns the file written with the SHA-256 of its bytes, and why it is held for review, if it is.
 * A file that is not DICOM, or breaks the reader's limits, throws the reader's FormatError;
 * options that cannot be applied throw a DicomDeidError; nothing is written then.
 */
export function writeDicomFile(
  path: string,
  options: DicomDeidOptions,
  out: string,
  readBuffer?: ReadBuffer,
): { file: HashedFile; hold: string | null } {
  // Nothing of the bytes read outlives this call: the chunks that view them are written by then.
  const result = deidentifyDicom(readWholeFileSync(path, readBuffer), options);
  // Held (headers cleaned, pixels as they are) or not, the caller decides where it is stored.
  return { file: writeHashedFileSync(out, result), hold: result.hold?.reason ?? null };
}
