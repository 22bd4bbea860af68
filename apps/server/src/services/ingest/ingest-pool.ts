/**
 * The processes an ingest de-identifies its native files in (issue 6): `LANTERN_INGEST_WORKERS`
 * child processes (node:child_process fork, IPC with the advanced serialization; 0 or 1, one), for
 * every object store, local or S3. Each worker takes files through writeNativeFile
 * (file-ingest.ts: DICOM, slides, MUSE XML, NumPy, WFDB) with its own ReadBuffers, writing each
 * file's de-identified bytes, hashed as they are made, into the worker's own folder in the data
 * directory's scratch area (made once, not a folder a file); this process stores them under those
 * hashes with storeWritten (ObjectStore.putFile: the local store renames the file, flushed, into
 * place; the S3 store sends it signed with the worker's hash, which the server checks) and removes
 * what the store left. So every byte
 * is hashed once, in a worker, and the server's main thread reads, parses and hashes none; workers
 * need no store, and no S3 credential ever leaves this process. Processes, not worker threads: on
 * the 2-vCPU machines measured, two threads of one process spent about a fifth more CPU on the
 * same files than two processes and ran no faster than one (bench/ingest/README.md).
 *
 * The main thread keeps everything else: the stores, the database writes, the order of the files
 * and the progress (ingest.service.ts takes the outcomes in the delivery's order, whichever
 * finished first). A job (FileJob) names the file's kind and path and carries what its
 * de-identifier needs (ingest-pool-messages.ts): the UID key and pseudonyms go to a worker over the
 * IPC channel, in memory only (never in its arguments, environment or output; a worker gets an
 * empty environment and no stdio). An answer is what the worker wrote (paths in the scratch area,
 * sizes, hashes, held or not), never the file's bytes.
 *
 * A worker that dies (an uncaught error, out of memory, a signal) fails its file with an
 * IngestWorkerError, and so the ingest run, which stays resumable as after any failure: the next
 * file starts a new worker. A worker whose parent dies exits as soon as its IPC channel closes
 * ('disconnect'), mid-file or not; what either leaves is its folder in the scratch area, swept by
 * the janitor once the worker is gone (sweepScratch), or, when the server itself dies between a
 * store and the row that names the object, an object no row refers to yet (the object sweep).
 * Workers start when a file first needs them, do not keep the process alive while idle, and end
 * with `close`. From the built server a worker runs `dist/services/ingest/ingest-worker.js`; from
 * the TypeScript sources (tests under tsx) it starts through `ingest-source-worker.mjs`, which
 * registers tsx first. */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join, resolve } from 'node:path';
import { DicomDeidError, MuseDeidError, SlideDeidError } from '@lantern/deid';
import { FormatError, TiffWriteError } from '@lantern/formats';
import { workerThreadExecArgv } from '@lantern/synth';
import { LocalObjectStore } from '../../storage/object-store.js';
import {
  IngestSystemError,
  storeWritten,
  sweepFolders,
  writtenPaths,
  type FileJob,
  type FileOutcome,
  type IngestStores,
  type WrittenOutcome,
} from './file-ingest.js';
import {
  FILES_PER_WORKER,
  type FileJobMessage,
  type IngestWorkerData,
  type IngestWorkerMessage,
  type SentError,
} from './ingest-pool-messages.js';

/** The most worker processes a pool runs. */
export const INGEST_WORKERS_MAX = 64;

/** The data directory's folder for an ingest's temporary files (a slide's rewrite). */
export const INGEST_SCRATCH_DIR = 'ingest-scratch';

export interface IngestPoolOptions {
  /** Worker processes; 0 means 1. */
  workers: number;
  /** The stores files go into, from this process. */
  stores: IngestStores;
  /**
   * The folder the workers write de-identified files in, in the data directory (on the local
   * store's file system, so that storing a file renames it), each worker's in a folder of its own
   * readable by its owner only. Default: INGEST_SCRATCH_DIR of the local store's data directory;
   * required with other stores.
   */
  scratch?: string;
  /**
   * Testing only: each worker process exits (code 7) when given its n-th file, as a process that
   * crashes would (ingest-pool.test.ts).
   */
  exitAtFile?: number;
}

/** A worker process died with a file in its hands: the ingest run fails, and can be run again. */
export class IngestWorkerError extends Error {
  /** The published name of the file the worker was taking. */
  readonly file: string;

  constructor(file: string, cause: string) {
    super(`the ingest worker process taking ${file} ${cause}; the ingest can be run again`);
    this.name = 'IngestWorkerError';
    this.file = file;
  }
}

/** An error of a worker's file that is no typed error here, rebuilt with its name. */
export class IngestFileError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Pending {
  message: FileJobMessage;
  resolve: (outcome: WrittenOutcome) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  child: ChildProcess;
  /** Its folder in the scratch area, the only one it may have this process store from. */
  folder: string;
  /** The files it is taking (at most FILES_PER_WORKER). */
  taking: Pending[];
}

/** How a worker process starts, from the built server or from the sources. */
function workerEntry(): { modulePath: string; args: string[]; execArgv: string[] } {
  if (import.meta.url.endsWith('.ts')) {
    return {
      modulePath: fileURLToPath(new URL('./ingest-source-worker.mjs', import.meta.url)),
      args: [new URL('./ingest-worker.ts', import.meta.url).href],
      execArgv: ['--conditions=lantern-source'],
    };
  }
  return {
    modulePath: fileURLToPath(new URL('./ingest-worker.js', import.meta.url)),
    args: [],
    // The built server's own Node options, less a string program's (--input-type, -e), which a
    // program started from a file refuses.
    execArgv: workerThreadExecArgv(),
  };
}

/** Whether the process has exited (or was killed), as 'exit' told or will tell. */
function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Holds the parent's event loop open while the worker has a file, and lets it go after. */
function holdOpen(child: ChildProcess, isHeld: boolean): void {
  if (isHeld) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}

export class IngestPool {
  /**
   * How many files a caller should have in hand at once: one more than each worker takes at once,
   * so that each has its next file queued when it finishes one (the caller takes outcomes in
   * order, and a slow file would otherwise leave the others idle).
   */
  readonly filesAtOnce: number;
  /** Worker processes it runs. */
  private readonly processes: number;
  private readonly stores: IngestStores;
  private readonly scratch: string;
  private readonly exitAtFile: number | undefined;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Pending[] = [];
  private nextJob = 1;
  private started = 0;
  private closed = false;

  constructor(options: IngestPoolOptions) {
    const { workers, stores } = options;
    if (!Number.isSafeInteger(workers) || workers < 0 || workers > INGEST_WORKERS_MAX) {
      throw new RangeError(`an ingest pool has 0 to ${INGEST_WORKERS_MAX} workers, not ${workers}`);
    }
    this.stores = stores;
    const scratch =
      options.scratch ??
      (stores.published instanceof LocalObjectStore
        ? join(dirname(stores.published.root), INGEST_SCRATCH_DIR)
        : null);
    if (scratch === null) {
      throw new RangeError('an ingest pool over stores of no local data directory needs a scratch');
    }
    this.scratch = resolve(scratch);
    this.processes = Math.max(workers, 1);
    this.filesAtOnce = (FILES_PER_WORKER + 1) * this.processes;
    this.exitAtFile = options.exitAtFile;
  }

  /** How many worker processes the pool has started (one that replaced a dead one counts too). */
  get workersStarted(): number {
    return this.started;
  }

  /** The process ids of the workers alive now (tests check that they end with their parent). */
  get workerPids(): number[] {
    return this.workers.flatMap((entry) =>
      entry.child.pid === undefined ? [] : [entry.child.pid],
    );
  }

  /**
   * De-identifies one native file in a worker process and stores it (writeNativeFile, then
   * storeWritten here). Errors are those of writeNativeFile (a FormatError, a DicomDeidError …)
   * and of the stores, or an IngestWorkerError when the worker died. Files given at once are taken
   * by the worker processes as each becomes free.
   */
  async ingestFile(job: FileJob): Promise<FileOutcome> {
    if (this.closed) {
      throw new Error('this ingest pool is closed');
    }
    const written = await new Promise<WrittenOutcome>((resolve, reject) => {
      this.queue.push({
        message: { ...job, job: this.nextJob++ },
        resolve,
        reject,
      });
      this.dispatch();
    });
    return storeWritten(written, this.stores);
  }

  /**
   * Removes what files begun before `before` left in the scratch area (a process killed
   * mid-slide: de-identified bytes, but never kept); called only while no ingest runs, so that
   * nothing under way is there. Each worker's folder counts from its newest entry, and those of
   * the workers alive stay (one may be given a file as the sweep runs). Returns how many folders
   * it removed.
   */
  async sweepScratch(before: Date): Promise<number> {
    const kept = this.workers.map((entry) => basename(entry.folder));
    return sweepFolders(this.scratch, before, kept);
  }

  /** Ends every worker and waits for it to exit; files still queued or taken fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.reject(new Error('the ingest pool closed before this file was taken'));
    }
    const workers = this.workers.splice(0);
    await Promise.all(
      workers.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (hasExited(child)) {
              resolve();
              return;
            }
            child.once('exit', () => resolve());
            // Held until it has exited: an idle worker does not keep the process alive, and
            // a caller awaiting close (then removing the data) must not see the process end first.
            holdOpen(child, true);
            child.kill('SIGKILL');
          }),
      ),
    );
    for (const entry of workers) {
      for (const pending of entry.taking.splice(0)) {
        pending.reject(new IngestWorkerError(pending.message.name, 'was ended'));
      }
    }
  }

  /**
   * Hands queued files to workers: an idle one first, else a new one up to the pool's processes,
   * else one with room for a second file.
   */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let worker = this.workers.find((entry) => entry.taking.length === 0);
      if (worker === undefined && this.workers.length < this.processes) {
        worker = this.start();
        this.workers.push(worker);
      }
      worker ??= this.workers.find((entry) => entry.taking.length < FILES_PER_WORKER);
      const pending = worker === undefined ? undefined : this.queue.shift();
      if (worker === undefined || pending === undefined) {
        return;
      }
      worker.taking.push(pending);
      holdOpen(worker.child, true);
      worker.child.send(pending.message);
    }
  }

  private start(): PoolWorker {
    const { modulePath, args, execArgv } = workerEntry();
    this.started += 1;
    // No environment (the server's secrets stay with it) and no stdio (a stack trace could name
    // a source path): the worker says everything it has to say over the IPC channel.
    const child = fork(modulePath, args, {
      execArgv,
      env: {},
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    const entry: PoolWorker = {
      child,
      folder: join(this.scratch, `worker-${randomUUID()}`),
      taking: [],
    };
    const init: IngestWorkerData = {
      kind: 'init',
      folder: entry.folder,
      exitAtFile: this.exitAtFile,
    };
    child.send(init);
    holdOpen(child, false);
    child.on('message', (message: IngestWorkerMessage) => {
      const index = entry.taking.findIndex((pending) => pending.message.job === message.job);
      const [pending] = index < 0 ? [] : entry.taking.splice(index, 1);
      if (pending === undefined) {
        return;
      }
      holdOpen(child, entry.taking.length > 0);
      switch (message.kind) {
        case 'done':
          // Its own folder of the scratch area, and no other path, is what a worker may have this
          // process read from and remove.
          if (writtenPaths(message.outcome).every((path) => dirname(path) === entry.folder)) {
            pending.resolve(message.outcome);
          } else {
            pending.reject(new Error('an ingest worker answered with a file outside its folder'));
          }
          break;
        case 'failed':
          pending.reject(receivedError(message.error));
          break;
        default:
          message satisfies never;
      }
      this.dispatch();
    });
    const lost = (cause: string) => {
      const index = this.workers.indexOf(entry);
      if (index < 0) {
        return;
      }
      this.workers.splice(index, 1);
      for (const pending of entry.taking.splice(0)) {
        pending.reject(new IngestWorkerError(pending.message.name, cause));
      }
      if (!this.closed) {
        // The files still queued go to the workers left, or to a new one.
        this.dispatch();
      }
    };
    child.on('error', (error) => {
      if (child.pid !== undefined && isChannelError(error)) {
        // A file was sent as the worker went (its end of the channel is closed): its exit, which
        // follows, says why, and fails what it held. One that lingers is killed.
        const linger = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
        linger.unref();
        child.once('exit', () => clearTimeout(linger));
        return;
      }
      lost(`failed (${error.name}: ${error.message})`);
      // A process that could not be started or signalled is not left behind.
      child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) =>
      lost(signal === null ? `exited with code ${code}` : `was killed by ${signal}`),
    );
    return entry;
  }
}

/** How long a worker whose channel closed may take to exit before it is killed. */
const EXIT_GRACE_MS = 5_000;

/** Whether a send failed because the worker's end of the IPC channel is gone. */
function isChannelError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_IPC_CHANNEL_CLOSED';
}

/** The typed error a worker sent, rebuilt in this process. */
function receivedError(error: SentError): Error {
  switch (error.kind) {
    case 'format':
      return new FormatError(error.code, error.detail, {
        file: error.file,
        offset: error.offset,
        ...(error.line === undefined ? {} : { line: error.line }),
        ...(error.column === undefined ? {} : { column: error.column }),
      });
    case 'dicom-deid':
      return new DicomDeidError(error.code, error.file, error.detail);
    case 'slide-deid':
      return new SlideDeidError(error.code, error.file, error.detail);
    case 'muse-deid':
      return new MuseDeidError(error.code, error.file, error.detail);
    case 'tiff-write':
      return new TiffWriteError(error.code, error.message);
    case 'system':
      return new IngestSystemError(error.code, error.file, error.syscall);
    case 'other':
      return new IngestFileError(error.name, error.message);
    default:
      return error satisfies never;
  }
}
