/**
 * How busy the two cores are while the server's IngestPool de-identifies the radiographs of
 * bench/ingest/run.ts (the same corpus, corpus.ts), and who keeps them busy: for 1 and 2 worker
 * processes (no fsync, as run.ts judges the target, unless `--fsync`), per pass, the wall time and,
 * for the server process and each worker apart, every thread's CPU (the JavaScript thread apart
 * from the others: libuv's thread pool, V8's helpers), the time its threads were runnable but
 * waited for a core (/proc/PID/task/TID/schedstat), and their context switches (voluntary: the
 * thread waited for something; involuntary: the scheduler took the core away). The sum of every
 * thread's CPU over the wall time is how many of the cores the ingest kept busy; a main thread
 * neither running nor waiting for a core was asleep (for a message, or a read or a trip through the
 * thread pool).
 *
 *   node --conditions=lantern-source --import tsx bench/ingest/utilization.ts [--files 200]
 *     [--passes 3] [--workers 1,2] [--fsync] [--min-size 512] [--max-size 2048] [--seed 6]
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { IngestPool } from '../../apps/server/src/services/ingest/ingest-pool.js';
import {
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

interface Options extends CorpusOptions {
  passes: number;
  workers: number[];
  /** Each object flushed before its rename, as the server stores (run.ts measures both). */
  fsync: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...CORPUS_ARGS,
      passes: { type: 'string' },
      workers: { type: 'string' },
      fsync: { type: 'boolean' },
    },
  });
  const workers = (values.workers ?? '1,2')
    .split(',')
    .map((text) => positiveInteger('workers', text, 1));
  return {
    ...corpusOptions(values),
    passes: positiveInteger('passes', values.passes, 3),
    workers,
    fsync: values.fsync ?? false,
  };
}

/** What the kernel counts of one thread, cumulative. */
interface ThreadCounts {
  /** Nanoseconds on a core (schedstat's first field). */
  runNs: number;
  /** Nanoseconds runnable but waiting for a core (its second). */
  waitNs: number;
  voluntary: number;
  involuntary: number;
}

/**
 * A thread's role: the JavaScript thread, or another (libuv's thread pool and V8's helpers; Node 20
 * names every thread `node`, so they are not told apart here).
 */
function roleOf(tid: number, pid: number): string {
  return tid === pid ? 'main' : 'threads';
}

function statusField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'mu').exec(status);
  return Number(match?.[1] ?? 0);
}

/** Every thread of a process, by role, summed (a thread that ended since is not counted). */
async function processCounts(pid: number): Promise<Map<string, ThreadCounts>> {
  const roles = new Map<string, ThreadCounts>();
  for (const name of await readdir(`/proc/${pid}/task`)) {
    const tid = Number(name);
    const base = `/proc/${pid}/task/${name}`;
    try {
      const [schedstat, status] = await Promise.all([
        readFile(`${base}/schedstat`, 'utf8'),
        readFile(`${base}/status`, 'utf8'),
      ]);
      const [run, wait] = schedstat.trim().split(' ').map(Number);
      const role = roleOf(tid, pid);
      const sum = roles.get(role) ?? { runNs: 0, waitNs: 0, voluntary: 0, involuntary: 0 };
      sum.runNs += run ?? 0;
      sum.waitNs += wait ?? 0;
      sum.voluntary += statusField(status, 'voluntary_ctxt_switches');
      sum.involuntary += statusField(status, 'nonvoluntary_ctxt_switches');
      roles.set(role, sum);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return roles;
}

function minus(after: ThreadCounts, before: ThreadCounts | undefined): ThreadCounts {
  return {
    runNs: after.runNs - (before?.runNs ?? 0),
    waitNs: after.waitNs - (before?.waitNs ?? 0),
    voluntary: after.voluntary - (before?.voluntary ?? 0),
    involuntary: after.involuntary - (before?.involuntary ?? 0),
  };
}

/** One pass's counts: process label -> role -> counts during the pass. */
type PassCounts = Map<string, Map<string, ThreadCounts>>;

async function snapshot(pids: Map<string, number>): Promise<PassCounts> {
  const counts: PassCounts = new Map();
  for (const [label, pid] of pids) {
    counts.set(label, await processCounts(pid));
  }
  return counts;
}

function difference(after: PassCounts, before: PassCounts): PassCounts {
  const out: PassCounts = new Map();
  for (const [label, roles] of after) {
    const diff = new Map<string, ThreadCounts>();
    for (const [role, counts] of roles) {
      diff.set(role, minus(counts, before.get(label)?.get(role)));
    }
    out.set(label, diff);
  }
  return out;
}

/** The machine's CPU seconds since boot from /proc/stat: busy (every mode but idle and iowait) and steal. */
async function machineCpu(): Promise<{ busy: number; steal: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [user, nice, system, , , irq, softirq, steal] = line
    .trim()
    .split(/\s+/u)
    .slice(1)
    .map(Number);
  const ticks = (value: number | undefined) => (value ?? 0) / 100;
  return {
    busy: ticks(user) + ticks(nice) + ticks(system) + ticks(irq) + ticks(softirq),
    steal: ticks(steal),
  };
}

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const work = await mkdtemp(join(tmpdir(), 'lantern-bench-utilization-'));
  const pools: IngestPool[] = [];
  try {
    const corpus = await writeCorpus(join(work, 'corpus'), options);
    const gb = corpus.bytes / 1e9;
    const jobs = corpus.files.map(benchJob);
    const dataDir = join(work, 'data');
    const stores = await localStores(dataDir, options.fsync);
    const emptyStores = () =>
      rm(join(dataDir, 'objects', 'sha256'), { recursive: true, force: true });
    log(
      `${options.files} radiographs, ${(corpus.bytes / 1e6).toFixed(1)} MB, ${options.fsync ? 'fsync' : 'no fsync'}; load average ${loadAverage()} at the start`,
    );
    for (const workers of options.workers) {
      const pool = new IngestPool({ workers, stores });
      pools.push(pool);
      const run = () => Promise.all(jobs.map((job) => pool.ingestFile(job)));
      // Untimed: the workers start, their code loaded.
      await run();
      await emptyStores();
      const pids = new Map<string, number>([['server', process.pid]]);
      pool.workerPids.forEach((pid, index) => pids.set(`worker ${index + 1}`, pid));
      const walls: number[] = [];
      const busy: number[] = [];
      for (let pass = 0; pass < options.passes; pass += 1) {
        const before = await snapshot(pids);
        const machineBefore = await machineCpu();
        const start = performance.now();
        await run();
        const wall = (performance.now() - start) / 1000;
        const machineAfter = await machineCpu();
        const counts = difference(await snapshot(pids), before);
        await emptyStores();
        let totalNs = 0;
        const lines: string[] = [];
        for (const [label, roles] of counts) {
          const parts: string[] = [];
          let processNs = 0;
          let waitNs = 0;
          let voluntary = 0;
          let involuntary = 0;
          let asleep = 0;
          for (const [role, c] of [...roles].sort(([a], [b]) => a.localeCompare(b))) {
            processNs += c.runNs;
            waitNs += c.waitNs;
            voluntary += c.voluntary;
            involuntary += c.involuntary;
            parts.push(`${role} ${(c.runNs / 1e9 / gb).toFixed(3)}`);
            if (role === 'main') {
              // Neither on a core nor waiting for one: blocked (a message, a read, a trip through
              // the thread pool), which a worker with files in hand should never be.
              asleep = 1 - (c.runNs + c.waitNs) / 1e9 / wall;
            }
          }
          totalNs += processNs;
          lines.push(
            `    ${label.padEnd(9)} ${(processNs / 1e9 / gb).toFixed(3)} CPU s/GB (${parts.join(', ')}); ` +
              `busy ${(processNs / 1e9 / wall).toFixed(2)} of the wall, waited for a core ` +
              `${(waitNs / 1e9 / wall).toFixed(2)}, main thread asleep ${asleep.toFixed(2)}; switches ${voluntary} voluntary, ${involuntary} involuntary`,
          );
        }
        walls.push(wall);
        busy.push(totalNs / 1e9 / wall);
        log(
          `${workers} worker(s), pass ${pass + 1}: ${wall.toFixed(3)} s, ${(corpus.bytes / 1e6 / wall).toFixed(1)} MB/s, ` +
            `${(totalNs / 1e9 / gb).toFixed(3)} CPU s/GB, cores busy ${(totalNs / 1e9 / wall).toFixed(2)} ` +
            `(the whole machine ${((machineAfter.busy - machineBefore.busy) / wall).toFixed(2)}, ` +
            `stolen ${((machineAfter.steal - machineBefore.steal) / wall).toFixed(2)}); load ${loadAverage()}`,
        );
        for (const line of lines) {
          log(line);
        }
      }
      log(
        `${workers} worker(s), median: ${(corpus.bytes / 1e6 / median(walls)).toFixed(1)} MB/s, cores busy ${median(busy).toFixed(2)}`,
      );
    }
    log(`load average ${loadAverage()} at the end`);
  } finally {
    for (const pool of pools) {
      await pool.close();
    }
    await rm(work, { recursive: true, force: true });
  }
}

runMain(main);
