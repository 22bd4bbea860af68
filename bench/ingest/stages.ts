/**
 * Where the ingest's CPU goes, stage by stage (issue 6's "hash every byte once": the SHA-256 is
 * the floor; this says what is spent beside it). On the radiographs of bench/ingest/run.ts (the
 * same corpus, corpus.ts), CPU seconds per GB of input, medians of `--passes`:
 *
 * - in this one process, cumulative, as one ingest worker takes each file: the read
 *   (readWholeFileSync into one ReadBuffer), the read and a SHA-256 of as many bytes, the read and
 *   `deidentifyDicom` (rules, chunks, the output's SHA-256), the worker's whole file
 *   (writeNativeFile: its scratch folder asked for, read, de-identify, one gathered write);
 * - the server process's part alone: storeWritten of files a worker wrote (putFile into a local
 *   store without fsync, what it left removed), the files written untimed before;
 * - the pool as the server runs it (IngestPool, 1 and 2 worker processes, no fsync): the server
 *   process's CPU (its IPC, storeWritten) and the workers' apart.
 *
 * CPU time, not wall time: other engineers share the 2 vCPUs, and their load moves the clock far
 * more than it moves the CPU a stage takes. Prints the load average with the numbers.
 *
 *   node --conditions=lantern-source --import tsx bench/ingest/stages.ts [--files 200]
 *     [--passes 3] [--min-size 512] [--max-size 2048] [--seed 6]
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deidentifyDicom, hmacUidRemapper } from '@lantern/deid';
import {
  ReadBuffer,
  readWholeFileSync,
} from '../../apps/server/src/services/ingest/dicom-ingest.js';
import {
  storeWritten,
  writeNativeFile,
  type WrittenOutcome,
} from '../../apps/server/src/services/ingest/file-ingest.js';
import { IngestPool } from '../../apps/server/src/services/ingest/ingest-pool.js';
import {
  BENCH_KEY,
  benchJob,
  CORPUS_ARGS,
  corpusOptions,
  loadAverage,
  localStores,
  median,
  positiveInteger,
  runMain,
  writeCorpus,
  type CorpusOptions,
} from './corpus.js';

function parseOptions(argv: readonly string[]): CorpusOptions & { passes: number } {
  const { values } = parseArgs({
    args: [...argv],
    options: { ...CORPUS_ARGS, passes: { type: 'string' } },
  });
  return { ...corpusOptions(values), passes: positiveInteger('passes', values.passes, 3) };
}

/**
 * A whole file read into `readBuffer` as the worker read it before session 11: each call (open,
 * fstat, read, close) a trip through libuv's thread pool (fs/promises).
 */
async function readThroughPool(path: string, readBuffer: ReadBuffer): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = readBuffer.lend(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) {
        break;
      }
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** CPU seconds of a live process (every thread), from /proc: the pool's workers. */
async function processCpu(pid: number, clockTicks: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / clockTicks;
}

function ownCpu(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** One stage: untimed preparation, the timed pass over every file, untimed cleaning. */
interface Stage {
  name: string;
  prepare?: () => Promise<void>;
  run: () => Promise<void>;
  clean?: () => Promise<void>;
  /** The CPU seconds it counts so far: this process's, unless said. */
  cpu?: () => Promise<number>;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const work = await mkdtemp(join(tmpdir(), 'lantern-bench-stages-'));
  const clockTicks = 100;
  const pools: IngestPool[] = [];
  try {
    const corpus = await writeCorpus(join(work, 'corpus'), options);
    const gb = corpus.bytes / 1e9;
    const jobs = corpus.files.map(benchJob);
    const deid = {
      shiftDays: -123,
      remapUid: hmacUidRemapper(BENCH_KEY),
      pseudonym: { patientId: 'BENCH-P', patientName: 'BENCH^P' },
    };
    const dataDir = join(work, 'data');
    const scratch = join(dataDir, 'ingest-scratch');
    const stores = await localStores(dataDir, false);
    const emptyStores = async () => {
      await rm(join(dataDir, 'objects', 'sha256'), { recursive: true, force: true });
      await rm(scratch, { recursive: true, force: true });
    };
    const readBuffer = new ReadBuffer();
    let written: WrittenOutcome[] = [];
    const writeAll = async () => {
      written = [];
      for (const job of jobs) {
        written.push(await writeNativeFile(job, scratch, readBuffer));
      }
    };
    const stages: Stage[] = [
      {
        name: 'read (readWholeFileSync into a ReadBuffer)',
        run: () => {
          for (const job of jobs) {
            readWholeFileSync(job.path, readBuffer);
          }
          return Promise.resolve();
        },
      },
      // The read's alternatives, for comparison (not what the ingest does).
      {
        name: 'read, alternative: fs.readFile (a new buffer a file)',
        run: async () => {
          for (const job of jobs) {
            await readFile(job.path);
          }
        },
      },
      {
        name: 'read, alternative: a stream of 1 MiB chunks',
        run: async () => {
          for (const job of jobs) {
            for await (const chunk of createReadStream(job.path, { highWaterMark: 2 ** 20 })) {
              void chunk;
            }
          }
        },
      },
      {
        name: 'read, alternative: fs/promises into the ReadBuffer',
        run: async () => {
          for (const job of jobs) {
            await readThroughPool(job.path, readBuffer);
          }
        },
      },
      {
        name: 'read + SHA-256 of as many bytes',
        run: () => {
          for (const job of jobs) {
            createHash('sha256').update(readWholeFileSync(job.path, readBuffer)).digest('hex');
          }
          return Promise.resolve();
        },
      },
      {
        name: 'read + deidentifyDicom (rules, chunks, SHA-256)',
        run: () => {
          for (const job of jobs) {
            deidentifyDicom(readWholeFileSync(job.path, readBuffer), { name: job.name, ...deid });
          }
          return Promise.resolve();
        },
      },
      {
        name: 'the worker: writeNativeFile (+ scratch folder, write)',
        run: writeAll,
        clean: emptyStores,
      },
      {
        name: 'the server process alone: storeWritten',
        prepare: writeAll,
        run: async () => {
          for (const outcome of written) {
            await storeWritten(outcome, stores);
          }
        },
        clean: emptyStores,
      },
    ];
    for (const workers of [1, 2]) {
      const pool = new IngestPool({ workers, stores });
      pools.push(pool);
      const run = async () => {
        await Promise.all(jobs.map((job) => pool.ingestFile(job)));
      };
      // Untimed: the workers start, their code loaded.
      await run();
      await emptyStores();
      const workersCpu = async () => {
        let sum = 0;
        for (const pid of pool.workerPids) {
          sum += await processCpu(pid, clockTicks);
        }
        return sum;
      };
      stages.push(
        { name: `pool, ${workers} worker(s): the server process`, run, clean: emptyStores },
        {
          name: `pool, ${workers} worker(s): the worker processes`,
          run,
          clean: emptyStores,
          cpu: workersCpu,
        },
      );
    }
    process.stdout.write(
      `${options.files} radiographs, ${(corpus.bytes / 1e6).toFixed(1)} MB; load average ${loadAverage()} at the start\n`,
    );
    for (const stage of stages) {
      const perGb: number[] = [];
      for (let pass = 0; pass < options.passes; pass += 1) {
        await stage.prepare?.();
        const cpu = stage.cpu ?? (() => Promise.resolve(ownCpu()));
        const before = await cpu();
        await stage.run();
        perGb.push(((await cpu()) - before) / gb);
        await stage.clean?.();
      }
      process.stdout.write(
        `${stage.name.padEnd(58)} ${median(perGb).toFixed(3)} CPU s/GB (${perGb.map((v) => v.toFixed(3)).join(' ')})\n`,
      );
    }
    process.stdout.write(`load average ${loadAverage()} at the end\n`);
  } finally {
    for (const pool of pools) {
      await pool.close();
    }
    await rm(work, { recursive: true, force: true });
  }
}

runMain(main);
