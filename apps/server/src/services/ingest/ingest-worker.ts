/**
 * An IngestPool's worker process: de-identifies the native files it is sent (DICOM, slides, MUSE
 * XML, NumPy, WFDB), one after another, with file-ingest.ts' writeNativeFile (DICOM read whole into
 * this worker's own ReadBuffer, de-identified, written with one gathered write, both with blocking
 * calls on this thread, which has nothing else to do meanwhile; the other formats by their own
 * de-identifiers), into this worker's folder in the data directory's scratch area (named by the
 * parent), every byte hashed as it is made. It answers each job with what it wrote (paths, sizes,
 * hashes) or a typed error, never with the file's bytes; the parent stores the files under those
 * hashes (storeWritten), so this process holds no store, no credential and no secret beyond each
 * job's own. It writes no database row and logs nothing. It exits when its parent closes the
 * IPC channel or dies. */
import {
  DicomDeidError,
  hmacUidRemapper,
  MuseDeidError,
  SlideDeidError,
  type UidRemapper,
} from '@lantern/deid';
import { FormatError, TiffWriteError } from '@lantern/formats';
import { ReadBuffer } from './dicom-ingest.js';
import { IngestSystemError, writeNativeFile } from './file-ingest.js';
import {
  FILES_PER_WORKER,
  type FileJobMessage,
  type IngestWorkerInbound,
  type IngestWorkerMessage,
  type SentError,
} from './ingest-pool-messages.js';

if (process.send === undefined) {
  throw new Error('the ingest pool worker runs as a child process with an IPC channel');
}
// The parent closed the channel, or died (the kernel closes it then): whatever this worker has in
// hand is abandoned as a crash would abandon it, and it leaves no process behind. Killed, not
// exited: process.exit waits for the thread pool's threads, and one blocked in a read (a pipe, a
// hung mount) would keep this process alive, orphaned, with a file in its hands.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));

/** Set by the parent's first message. */
let folder: string | null = null;
let exitAtFile: number | undefined;

/** A buffer for each file in hand (see ReadBuffer), lent to one file at a time. */
const idleBuffers = Array.from({ length: FILES_PER_WORKER }, () => new ReadBuffer());
/** Files sent while every buffer was lent (the parent sends no more than FILES_PER_WORKER). */
const waiting: FileJobMessage[] = [];
/** The remapper of the last UID key (one per deployment and partner), kept between files. */
let remapper: { key: string; remap: UidRemapper } | null = null;
let jobs = 0;

function remapperOf(key: Uint8Array): UidRemapper {
  const hex = Buffer.from(key).toString('hex');
  if (remapper?.key !== hex) {
    remapper = { key: hex, remap: hmacUidRemapper(key) };
  }
  return remapper.remap;
}

function send(message: IngestWorkerMessage): void {
  process.send?.(message);
}

/** The error as a message from which the parent rebuilds the same typed error. */
function sentError(error: unknown): SentError {
  if (error instanceof FormatError) {
    return {
      kind: 'format',
      code: error.code,
      detail: error.detail,
      file: error.file,
      offset: error.offset,
      line: error.line,
      column: error.column,
    };
  }
  if (error instanceof DicomDeidError) {
    return { kind: 'dicom-deid', code: error.code, file: error.file, detail: error.detail };
  }
  if (error instanceof SlideDeidError) {
    return { kind: 'slide-deid', code: error.code, file: error.file, detail: error.detail };
  }
  if (error instanceof MuseDeidError) {
    return { kind: 'muse-deid', code: error.code, file: error.file, detail: error.detail };
  }
  if (error instanceof TiffWriteError) {
    return { kind: 'tiff-write', code: error.code, message: error.message };
  }
  if (error instanceof IngestSystemError) {
    return { kind: 'system', code: error.code, file: error.file, syscall: error.syscall };
  }
  return error instanceof Error
    ? { kind: 'other', name: error.name, message: error.message }
    : { kind: 'other', name: 'Error', message: String(error) };
}

async function run(job: FileJobMessage, readBuffer: ReadBuffer): Promise<void> {
  try {
    if (folder === null) {
      throw new Error('the ingest worker was given a file before its scratch folder');
    }
    const outcome = await writeNativeFile(job, folder, readBuffer, remapperOf);
    send({ kind: 'done', job: job.job, outcome });
  } catch (error) {
    send({ kind: 'failed', job: job.job, error: sentError(error) });
  }
}

/** Starts the files waiting, each with a buffer of its own, as buffers come back. */
function take(): void {
  while (waiting.length > 0 && idleBuffers.length > 0) {
    const job = waiting.shift();
    const readBuffer = idleBuffers.pop();
    if (job === undefined || readBuffer === undefined) {
      return;
    }
    void run(job, readBuffer).finally(() => {
      idleBuffers.push(readBuffer);
      if (isExiting) {
        exitIfDone();
      } else {
        take();
      }
    });
  }
}

/** Testing only: set at the file exitAtFile names (IngestWorkerData); exits when none is left. */
let isExiting = false;

function exitIfDone(): void {
  if (isExiting && idleBuffers.length === FILES_PER_WORKER && process.connected) {
    // As a dying process's can, the channel closes a moment before the exit is seen: a file the
    // pool sends in between fails to send, and the pool must still report the exit.
    process.removeAllListeners('disconnect');
    process.disconnect();
    setTimeout(() => process.exit(7), 50);
  }
}

process.on('message', (message: IngestWorkerInbound) => {
  switch (message.kind) {
    case 'init':
      folder = message.folder;
      exitAtFile = message.exitAtFile;
      break;
    case 'dicom':
    case 'slide':
    case 'muse':
    case 'numpy':
    case 'wfdb':
      jobs += 1;
      if (exitAtFile !== undefined && jobs >= exitAtFile) {
        isExiting = true;
        exitIfDone();
        break;
      }
      waiting.push(message);
      take();
      break;
    default:
      message satisfies never;
  }
});
