/**
 * A pool of worker threads (node:worker_threads) that make the native files of a delivery's
 * patients in parallel. The parent plans the delivery and writes its tables; the pool hands the
 * patients out in small chunks, in cohort order, to whichever worker is free, and each worker
 * writes its patients' files itself into the delivery's folder (the parent never holds an image,
 * and holds at most one chunk per worker in flight). Every file depends only on its patient and
 * the plan's context (each patient's randomness is derived from the seed, the dataset and the
 * patient's index), so the bytes are the same whatever the number of workers and however they
 * are scheduled.
 *
 * Workers start when a task first needs them, are kept for the next task (a catalogue's eight
 * deliveries share them), and do not keep the process alive while idle; `close` ends them. From
 * the built package a worker runs `dist/pool/worker.js`; from the TypeScript sources (tests and
 * benchmarks under tsx) it starts through `source-worker.mjs`, which registers tsx first.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DeliveryGenerationError } from '../demo/delivery-generation-error.js';
import { type WrittenFile } from '../demo/delivery-writer.js';
import { type ChunkMessage, type PatientFilesRef, type WorkerMessage } from './pool-messages.js';

/** The workers a pool has when not told: one per core the process may use. */
export function defaultWorkerCount(): number {
  return availableParallelism();
}

/** A worker count from a user (`--workers`): a whole number from 1 to 256, or null. */
export function parseWorkerCount(text: string): number | null {
  if (!/^\d{1,3}$/u.test(text)) {
    return null;
  }
  const count = Number(text);
  return count >= 1 && count <= 256 ? count : null;
}

/** One delivery's native files, for the pool to spread over its workers. */
export interface PoolTask {
  dataset: string;
  delivery: number;
  files: PatientFilesRef;
  /** The folder the delivery is being written into. */
  out: string;
  reuse: string | undefined;
  /** The plan's context (structured-cloneable), the same for every patient. */
  context: unknown;
  /** The cohort, in order; each is cloned to the worker that makes their files. */
  patients: readonly { person: { mrn: string } }[];
  /** Told of every file a worker wrote, in the order they are reported. */
  onFile: (file: WrittenFile) => void;
}

interface Chunk {
  first: number;
  count: number;
}

interface PoolWorker {
  worker: Worker;
  /** The chunk it is making, if any, and what to do when it reports. */
  busy: { chunk: Chunk; onMessage: (message: WorkerMessage) => void } | null;
  /** Told when the worker dies, by the task it works for. */
  onLost: (cause: unknown) => void;
}

/**
 * The Node options a worker thread of the built code runs with: the process's own, less those
 * that only serve a main program given as a string (`node --input-type=module -e PROGRAM`, as the
 * browser tests start one), which a worker made from a file refuses ("--input-type can only be
 * used with string input"). Shared by every worker pool of the platform.
 */
export function workerThreadExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const arg = execArgv[i] ?? '';
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') {
      i += 1; // and the program that follows it
    } else if (!/^--(?:input-type|eval|print)=/u.test(arg)) {
      kept.push(arg);
    }
  }
  return kept;
}

/** Where the worker's code is, from the built package or from the sources. */
function workerEntry(): { url: URL; workerData: unknown; execArgv: string[] } {
  if (import.meta.url.endsWith('.ts')) {
    return {
      url: new URL('./source-worker.mjs', import.meta.url),
      workerData: { entry: new URL('./worker.ts', import.meta.url).href },
      execArgv: ['--conditions=lantern-source'],
    };
  }
  return {
    url: new URL('./worker.js', import.meta.url),
    workerData: {},
    execArgv: workerThreadExecArgv(),
  };
}

export class SynthPool {
  /** The most workers it runs at once. */
  readonly size: number;
  private readonly workers: PoolWorker[] = [];
  private nextTask = 1;
  private closed = false;
  /** Tasks run one after another: the one before, settled or not. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(options: { workers?: number } = {}) {
    const size = options.workers ?? defaultWorkerCount();
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new RangeError(`a synth pool needs at least one worker, not ${size}`);
    }
    this.size = size;
  }

  /**
   * Makes every patient's native files. Resolves when all are written; when one fails, hands out
   * no more, waits for the chunks in flight (so that nothing is still writing when the caller
   * removes the folder) and rejects with a DeliveryGenerationError naming the first patient that
   * failed. Tasks given while another runs wait for it.
   */
  async run(task: PoolTask): Promise<void> {
    const run = this.tail.then(() => this.runNow(task));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async runNow(task: PoolTask): Promise<void> {
    if (this.closed) {
      throw new Error('this synth pool is closed');
    }
    const chunks = chunksOf(task.patients.length, this.size);
    const id = this.nextTask++;
    this.grow(Math.min(this.size, chunks.length));
    const failures: DeliveryGenerationError[] = [];
    let next = 0;
    let inFlight = 0;

    return new Promise<void>((resolve, reject) => {
      const settle = () => {
        if (inFlight > 0 || (next < chunks.length && failures.length === 0)) {
          return;
        }
        const first = failures.sort((a, b) => a.patient - b.patient)[0];
        if (first === undefined) {
          resolve();
        } else {
          reject(first);
        }
      };
      const fail = (patient: number, cause: unknown) => {
        failures.push(
          new DeliveryGenerationError({
            dataset: task.dataset,
            delivery: task.delivery,
            patient,
            mrn: task.patients[patient]?.person.mrn,
            cause,
          }),
        );
      };
      const dispatch = (entry: PoolWorker) => {
        const chunk = chunks[next];
        if (chunk === undefined || failures.length > 0) {
          entry.busy = null;
          entry.worker.unref();
          return;
        }
        next += 1;
        inFlight += 1;
        entry.busy = {
          chunk,
          onMessage: (message) => {
            if (message.task !== id) {
              return;
            }
            switch (message.kind) {
              case 'file':
                task.onFile({ bytes: message.bytes, reused: message.reused });
                return;
              case 'done':
                break;
              case 'failed':
                fail(message.patient, workerFailure(message.message, message.stack));
                break;
              default:
                message satisfies never;
                return;
            }
            inFlight -= 1;
            dispatch(entry);
            settle();
          },
        };
        entry.worker.ref();
        const message: ChunkMessage = {
          kind: 'chunk',
          task: id,
          files: task.files,
          out: task.out,
          reuse: task.reuse,
          context: task.context,
          first: chunk.first,
          patients: task.patients.slice(chunk.first, chunk.first + chunk.count),
        };
        entry.worker.postMessage(message);
      };
      const lost = (entry: PoolWorker, cause: unknown) => {
        // The worker died (an uncaught error, out of memory): its chunk fails as a whole.
        if (entry.busy !== null) {
          inFlight -= 1;
          fail(entry.busy.chunk.first, cause);
          entry.busy = null;
        }
        settle();
      };
      for (const entry of this.workers.slice(0, Math.min(this.size, chunks.length))) {
        entry.onLost = (cause) => lost(entry, cause);
        dispatch(entry);
      }
      settle();
    });
  }

  /** Ends every worker; the pool runs nothing after. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((entry) => entry.worker.terminate()));
  }

  /** Starts workers until there are `count`. */
  private grow(count: number): void {
    while (this.workers.length < count) {
      this.workers.push(this.start());
    }
  }

  private start(): PoolWorker {
    const { url, workerData, execArgv } = workerEntry();
    const worker = new Worker(url, {
      workerData,
      execArgv,
    });
    worker.unref();
    const entry: PoolWorker = {
      worker,
      busy: null,
      onLost: () => undefined,
    };
    worker.on('message', (message: WorkerMessage) => entry.busy?.onMessage(message));
    const remove = () => {
      const index = this.workers.indexOf(entry);
      if (index >= 0) {
        this.workers.splice(index, 1);
      }
    };
    worker.on('error', (error) => {
      remove();
      entry.onLost(error);
    });
    worker.on('exit', (code) => {
      remove();
      if (!this.closed) {
        entry.onLost(new Error(`the worker thread exited with code ${code}`));
      }
    });
    return entry;
  }
}

/**
 * The cohort cut into chunks, in order: small enough that the workers stay evenly busy to the
 * end (about eight per worker), at most 16 patients so that a failure stops the rest soon.
 */
function chunksOf(patients: number, workers: number): Chunk[] {
  const size = Math.max(1, Math.min(16, Math.floor(patients / (workers * 8))));
  const chunks: Chunk[] = [];
  for (let first = 0; first < patients; first += size) {
    chunks.push({ first, count: Math.min(size, patients - first) });
  }
  return chunks;
}

/** A worker's error as an Error of this thread, its stack kept. */
function workerFailure(message: string, stack: string | undefined): Error {
  const error = new Error(message);
  if (stack !== undefined) {
    error.stack = stack;
  }
  return error;
}
