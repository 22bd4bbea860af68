/**
 * Ingest benchmark (issue 6): DICOM de-identification throughput.
 *
 * One corpus of synthetic computed radiographs (CR, 512² to 2048², 16-bit, full identifying
 * headers: patient, physicians, institution, accession, dates, UIDs, a private block), written by
 * @lantern/formats' writer from a seeded generator, is de-identified by
 * - Lantern: the server's own path for a DICOM file of a delivery (`writeDicomFile` in a worker
 *   process: read whole, `deidentifyDicom` with the PS3.15 basic profile, modified dates, keyed UID
 *   remapping and the SHA-256 of every output byte once, one gathered write into the ingest
 *   scratch area; then the pool's process stores that file in a local object store under that
 *   hash, renamed), through the server's IngestPool as LANTERN_INGEST_WORKERS=1 and =2 (one and
 *   two worker processes) run it; twice, with
 *   the store's fsync of each object before its rename (as the server runs) and without (as the
 *   peers write: neither flushes anything);
 * - GDCM's `gdcmanon` (its PS3.15 E.1.1 basic profile, which encrypts the replaced attributes for
 *   a certificate, here a self-signed one openssl makes), one process per worker over its share;
 * - dcmtk's `dcmodify` (erase every X attribute of the table, empty every Z one, erase private
 *   data, new study, series and instance UIDs; in place on a copy made before timing), one process
 *   per worker.
 * Every timed run starts alike (`prepare`): dirty pages written back, its inputs read, and twice
 * the corpus written to memory and freed (`--warm`). Yet on the VMs measured, a run's output may
 * still land in guest memory the host took back, whose first touch costs the run's copy into the
 * page cache 3 to 6 times its CPU; which run pays depends on what ran before it (README, session
 * 12). So the contenders' order turns one place every round (over 4 rounds, the default, each
 * contender runs once in each place), the worker counts are interleaved, and each contender is
 * judged by its best round (its fastest run, and its least CPU), the one that paid least of the
 * host's tax, beside the medians. Files/s and MB/s (input bytes) and CPU seconds per GB (every
 * process and thread of a contender); the ratios to gdcmanon, best and median, and of each round
 * are printed, with the load average. Target (from the issue): at least 1.0x gdcmanon with 2
 * workers, judged like for like (without fsync, as gdcmanon writes) on the best rounds, the flushed
 * rate beside it. A measurement: it exits 0 whether or not the target is met, non-zero only on
 * errors.
 *
 *   node --conditions=lantern-source --import tsx bench/ingest/run.ts [--files 200] [--rounds 4]
 *     [--min-size 512] [--max-size 2048] [--seed 6] [--warm 2] [--out bench/out/ingest.json]
 */
import { execFile } from 'node:child_process';
import {
  copyFile,
  mkdir,
  mkdtemp,
  open,
  readFile,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { BASIC_PROFILE } from '@lantern/deid';
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

const execFileAsync = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');

const TARGET_RATIO = 1.0;
const WORKER_COUNTS = [1, 2] as const;

interface Options extends CorpusOptions {
  rounds: number;
  /** Bytes written to a scratch file and deleted before each timed run, in corpora. */
  warm: number;
  outFile: string;
}

function warmFactor(text: string | undefined): number {
  const value = Number(text ?? 2);
  if (!Number.isFinite(value) || value < 0 || value > 8) {
    throw new Error(`--warm must be a number from 0 to 8, not ${JSON.stringify(text)}`);
  }
  return value;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...CORPUS_ARGS,
      rounds: { type: 'string' },
      warm: { type: 'string' },
      out: { type: 'string' },
    },
  });
  return {
    ...corpusOptions(values),
    rounds: positiveInteger('rounds', values.rounds, 4),
    warm: warmFactor(values.warm),
    outFile: resolve(REPO_ROOT, values.out ?? 'bench/out/ingest.json'),
  };
}

/** Splits files into `parts` shares, round robin. */
function shares<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => out[i % parts]?.push(item));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lantern, through the server's ingest pool

/**
 * A pool as the server makes one (LANTERN_INGEST_WORKERS = `workers`), storing into local stores
 * in `dataDir` that flush each object before its rename (as the server's do) or not.
 */
async function startPool(workers: number, dataDir: string, fsync: boolean): Promise<IngestPool> {
  return new IngestPool({ workers, stores: await localStores(dataDir, fsync) });
}

/** Removes what the pool stored, keeping the stores' folders. */
async function emptyStores(dataDir: string): Promise<void> {
  await rm(join(dataDir, 'objects', 'sha256'), { recursive: true, force: true });
  await rm(join(dataDir, 'quarantine', 'sha256'), { recursive: true, force: true });
}

/** Every file given to the pool at once (it takes them one per thread at a time). */
async function runLantern(pool: IngestPool, files: readonly string[]): Promise<void> {
  const outcomes = await Promise.all(files.map((file) => pool.ingestFile(benchJob(file))));
  const held = outcomes.filter((outcome) => outcome.kind === 'held').length;
  if (held > 0) {
    throw new Error(`${held} radiographs held: the corpus says no burned-in text`);
  }
}

// ---------------------------------------------------------------------------------------------
// The same start for every timed run

/**
 * Brings the machine to the same state before every contender's timed run (README, "What the
 * machine does to a measurement"): every dirty page written back (`sync`), the contender's inputs
 * read once (so that none reads from the disk what the kernel's idle-page reclaim dropped), and
 * `warmBytes` written to a scratch file and deleted, so that each run's output lands in memory
 * that was just touched and freed, not in guest memory the host took back.
 */
async function prepare(
  inputs: readonly string[],
  warmBytes: number,
  scratch: string,
): Promise<void> {
  await execFileAsync('sync');
  const buffer = Buffer.allocUnsafe(16 * 2 ** 20);
  for (const input of inputs) {
    const handle = await open(input, 'r');
    try {
      while ((await handle.read(buffer, 0, buffer.byteLength)).bytesRead > 0) {
        // Only the reading matters.
      }
    } finally {
      await handle.close();
    }
  }
  if (warmBytes > 0) {
    const zeros = Buffer.alloc(64 * 2 ** 20);
    const handle = await open(scratch, 'w', 0o600);
    try {
      for (let written = 0; written < warmBytes; written += zeros.byteLength) {
        await handle.write(zeros);
      }
    } finally {
      await handle.close();
      await unlink(scratch);
    }
  }
}

/** Where the warm-up's scratch file goes: memory (tmpfs) where there is one, else the work folder. */
async function scratchFile(work: string): Promise<string> {
  const shm = '/dev/shm';
  const isDirectory = await stat(shm).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  return join(isDirectory ? shm : work, `lantern-bench-warm-${process.pid}`);
}

/** Clock ticks a second, for the children's CPU times in /proc/self/stat. */
let clockTicks = 100;

/** The fields of /proc/PID/stat after the command's name: state is field 3, so utime (14) is at 11. */
async function statFields(pid: number | 'self'): Promise<string[]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU seconds used so far by this process (every thread), by the child processes it has waited
 * for (a peer's, once ended: Linux's cutime and cstime) and by the running `workers` (the ingest
 * pool's): a cost that the other engineers' load on the machine moves far less than it moves the
 * wall clock.
 */
async function cpuSeconds(workers: readonly number[]): Promise<number> {
  const own = process.cpuUsage();
  const self = await statFields('self');
  let ticks = Number(self[13] ?? 0) + Number(self[14] ?? 0);
  for (const pid of workers) {
    const fields = await statFields(pid);
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return (own.user + own.system) / 1e6 + ticks / clockTicks;
}

/** One timed run: wall-clock and CPU seconds. */
interface Timing {
  seconds: number;
  cpu: number;
}

async function timed(run: () => Promise<void>, workers: readonly number[]): Promise<Timing> {
  const cpuBefore = await cpuSeconds(workers);
  const start = performance.now();
  await run();
  const seconds = (performance.now() - start) / 1000;
  return { seconds, cpu: (await cpuSeconds(workers)) - cpuBefore };
}

// ---------------------------------------------------------------------------------------------
// Peers

async function makeCertificate(dir: string): Promise<{ key: string; cert: string }> {
  const key = join(dir, 'bench.key');
  const cert = join(dir, 'bench.pem');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=lantern-bench',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { key, cert };
}

/** A peer's inputs, copied before timing, and the command lines of its processes. */
interface PeerRun {
  inputs: string[];
  outputs: string[];
  commands: { command: string; args: string[] }[];
}

/** gdcmanon's basic profile, one process per share (each a directory of copies of the corpus). */
async function gdcmanonRun(
  files: readonly string[],
  workers: number,
  certificate: { key: string; cert: string },
  work: string,
): Promise<PeerRun> {
  const run: PeerRun = { inputs: [], outputs: [], commands: [] };
  for (const [i, share] of shares(files, workers).entries()) {
    const input = join(work, `gdcm-in-${i}`);
    const output = join(work, `gdcm-out-${i}`);
    await mkdir(input, { recursive: true });
    await mkdir(output, { recursive: true });
    run.inputs.push(...(await copyAll(share, input)));
    run.outputs.push(input, output);
    run.commands.push({
      command: 'gdcmanon',
      args: [
        '-e',
        '-c',
        certificate.cert,
        '-k',
        certificate.key,
        '--continue',
        '-i',
        input,
        '-o',
        output,
      ],
    });
  }
  return run;
}

async function copyAll(files: readonly string[], dir: string): Promise<string[]> {
  return Promise.all(
    files.map(async (file) => {
      const copy = join(dir, file.slice(file.lastIndexOf('/') + 1));
      await copyFile(file, copy);
      return copy;
    }),
  );
}

/** The peer's processes, all at once. */
async function runPeer(run: PeerRun): Promise<void> {
  await Promise.all(
    run.commands.map(({ command, args }) =>
      execFileAsync(command, args, { maxBuffer: 64 * 1024 * 1024 }),
    ),
  );
}

/** The tags dcmodify erases (X) and empties (Z), from the same PS3.15 table. */
function dcmodifyArguments(): string[] {
  const tag = (value: number) => {
    const hex = value.toString(16).toUpperCase().padStart(8, '0');
    return `(${hex.slice(0, 4)},${hex.slice(4)})`;
  };
  const args = ['-nb', '-imt', '-ep', '-gst', '-gse', '-gin'];
  for (const row of BASIC_PROFILE) {
    if (row.tag >>> 16 === 0x0002 || row.tag >>> 16 === 0x0000) {
      continue;
    }
    if (row.basic === 'X' && row.modifiedDates === null) {
      args.push('-ea', tag(row.tag));
    } else if (
      (row.basic === 'Z' || row.basic === 'X/Z') &&
      row.modifiedDates === null &&
      !row.isSequence
    ) {
      args.push('-ma', `${tag(row.tag)}=`);
    }
  }
  return args;
}

/** dcmodify in place on copies of the corpus, one process per share. */
async function dcmodifyRun(
  files: readonly string[],
  workers: number,
  work: string,
): Promise<PeerRun> {
  const dir = join(work, 'dcmodify');
  await mkdir(dir, { recursive: true });
  const copies = await copyAll(files, dir);
  const args = dcmodifyArguments();
  return {
    inputs: copies,
    outputs: [dir],
    commands: shares(copies, workers).map((share) => ({
      command: 'dcmodify',
      args: [...args, ...share],
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Report

type Contender = 'lantern' | 'lanternNoFsync' | 'gdcmanon' | 'dcmodify';

/** Each contender's timed runs, in round order. */
function noTimings(): Record<Contender, Timing[]> {
  return { lantern: [], lanternNoFsync: [], gdcmanon: [], dcmodify: [] };
}

interface Rate {
  filesPerSec: number;
  mbPerSec: number;
  /** CPU seconds a gigabyte of input took, every process and thread of the contender together. */
  cpuSecondsPerGb: number;
}

/** A contender's rounds: the median, and the best (its fastest run; its least CPU). */
interface Rates {
  median: Rate;
  best: Rate;
}

interface Row {
  workers: number;
  /** The server's path as it runs: each object flushed to the disk before its rename. */
  lantern: Rates;
  /** The same path with the store's fsync left out, as the peers write. */
  lanternNoFsync: Rates;
  gdcmanon: Rates;
  dcmodify: Rates;
  /** Best rounds' rates, Lantern's over gdcmanon's: what the target is judged on. */
  bestRatioNoFsyncToGdcmanon: number;
  bestRatioToGdcmanon: number;
  /** Best rounds' CPU per GB, gdcmanon's over Lantern's (no fsync). */
  bestCpuRatioNoFsyncToGdcmanon: number;
  /** Medians' rates, Lantern's over the peer's. */
  ratioToGdcmanon: number;
  ratioNoFsyncToGdcmanon: number;
  ratioToDcmodify: number;
  ratioNoFsyncToDcmodify: number;
  /**
   * gdcmanon's CPU per GB / Lantern's (no fsync): the work each does for the same bytes. When both
   * keep both cores busy the rates' ratio is this one; a ratio of rates far from it says that a
   * side waited (for a core, the disk, or guest memory the host took back: README).
   */
  cpuRatioNoFsyncToGdcmanon: number;
  /**
   * Lantern / gdcmanon within each round (the two ran minutes apart at most, in alternating
   * order), without and with fsync: less moved by a load that changes between rounds.
   */
  roundRatiosNoFsyncToGdcmanon: number[];
  roundRatiosToGdcmanon: number[];
}

function rates(files: number, bytes: number, timings: readonly Timing[]): Rates {
  const rate = (pick: (values: number[]) => number): Rate => {
    const seconds = pick(timings.map((timing) => timing.seconds));
    return {
      filesPerSec: files / seconds,
      mbPerSec: bytes / 1e6 / seconds,
      cpuSecondsPerGb: pick(timings.map((timing) => timing.cpu)) / (bytes / 1e9),
    };
  };
  return { median: rate(median), best: rate((values) => Math.min(...values)) };
}

/** `items` turned `by` places to the left: round r's order of the contenders. */
function turned<T>(items: readonly T[], by: number): T[] {
  const at = by % items.length;
  return [...items.slice(at), ...items.slice(0, at)];
}

/** Each round's ratio of the two contenders' rates (the inverse of their times). */
function roundRatios(ours: readonly Timing[], theirs: readonly Timing[]): number[] {
  return ours.map((timing, round) => (theirs[round]?.seconds ?? Number.NaN) / timing.seconds);
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function versionOf(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args);
    return `${stdout}${stderr}`.split('\n')[0]?.trim() ?? command;
  } catch (error) {
    const output = error instanceof Error && 'stdout' in error ? String(error.stdout) : '';
    return output.split('\n')[0]?.trim() || command;
  }
}

/** One contender's timed run in a round: its inputs, the run, and the removal of its outputs. */
interface Entry {
  contender: Contender;
  inputs: readonly string[];
  /** Its worker processes that outlive the run (the ingest pool's), whose CPU counts too. */
  workers: () => number[];
  run: () => Promise<void>;
  clean: () => Promise<void>;
}

/** A peer's timed run: its processes, then its outputs (and the copies it read) removed. */
function peerEntry(contender: Contender, run: PeerRun): Entry {
  return {
    contender,
    inputs: run.inputs,
    workers: () => [],
    run: () => runPeer(run),
    clean: async () => {
      for (const output of run.outputs) {
        await rm(output, { recursive: true, force: true });
      }
    },
  };
}

/** The server's pools, one per worker count and fsync, started (untimed) on a few files. */
async function startPools(
  work: string,
  files: readonly string[],
): Promise<Map<string, { pool: IngestPool; dataDir: string }>> {
  const pools = new Map<string, { pool: IngestPool; dataDir: string }>();
  for (const workers of WORKER_COUNTS) {
    for (const fsync of [true, false]) {
      const dataDir = join(work, `out-${workers}-${fsync ? 'fsync' : 'nofsync'}`);
      const pool = await startPool(workers, dataDir, fsync);
      pools.set(`${workers}-${fsync}`, { pool, dataDir });
      // Untimed: the workers start (their code loaded through tsx) on their first files.
      await runLantern(pool, files.slice(0, 2 * workers));
      await emptyStores(dataDir);
    }
  }
  return pools;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const work = await mkdtemp(join(tmpdir(), 'lantern-bench-ingest-'));
  const loadAtStart = loadAverage();
  let pools = new Map<string, { pool: IngestPool; dataDir: string }>();
  try {
    clockTicks = Number((await execFileAsync('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
    log(`writing ${options.files} synthetic radiographs (seed ${options.seed}) …`);
    const corpus = await writeCorpus(join(work, 'corpus'), options);
    log(`corpus: ${options.files} files, ${(corpus.bytes / 1e6).toFixed(1)} MB`);
    const certificate = await makeCertificate(work);
    const scratch = await scratchFile(work);
    const warmBytes = Math.round(options.warm * corpus.bytes);
    pools = await startPools(work, corpus.files);
    const timings = new Map<number, Record<Contender, Timing[]>>(
      WORKER_COUNTS.map((workers) => [workers, noTimings()]),
    );
    for (let round = 0; round < options.rounds; round += 1) {
      // Worker counts interleaved and the order turned one place every round, so that neither a
      // load that changes nor the state one run leaves to the next (the first run after the peers'
      // copies are made pays the most for the host's memory: README) favours one contender.
      for (const workers of WORKER_COUNTS) {
        const peerDir = join(work, `peer-${workers}-${round}`);
        const gdcmanon = await gdcmanonRun(corpus.files, workers, certificate, peerDir);
        const dcmodify = await dcmodifyRun(corpus.files, workers, peerDir);
        const entries: Entry[] = [
          ...[true, false].map((fsync): Entry => {
            const entry = pools.get(`${workers}-${fsync}`);
            if (entry === undefined) {
              throw new Error(`no pool of ${workers} workers`);
            }
            return {
              contender: fsync ? 'lantern' : 'lanternNoFsync',
              inputs: corpus.files,
              workers: () => entry.pool.workerPids,
              run: () => runLantern(entry.pool, corpus.files),
              clean: () => emptyStores(entry.dataDir),
            };
          }),
          peerEntry('gdcmanon', gdcmanon),
          peerEntry('dcmodify', dcmodify),
        ];
        const record = timings.get(workers);
        const line: string[] = [];
        for (const entry of turned(entries, round)) {
          await prepare(entry.inputs, warmBytes, scratch);
          const timing = await timed(entry.run, entry.workers());
          await entry.clean();
          record?.[entry.contender].push(timing);
          line.push(
            `${entry.contender} ${timing.seconds.toFixed(2)} s (${timing.cpu.toFixed(2)} s CPU)`,
          );
        }
        await rm(peerDir, { recursive: true, force: true });
        log(`round ${round + 1}, ${workers} worker(s), load ${loadAverage()}: ${line.join(', ')}`);
      }
    }
    const rows: Row[] = WORKER_COUNTS.map((workers) => {
      const record = timings.get(workers) ?? noTimings();
      const measured = (contender: Contender) =>
        rates(options.files, corpus.bytes, record[contender]);
      const lantern = measured('lantern');
      const lanternNoFsync = measured('lanternNoFsync');
      const gdcmanon = measured('gdcmanon');
      const dcmodify = measured('dcmodify');
      return {
        workers,
        lantern,
        lanternNoFsync,
        gdcmanon,
        dcmodify,
        bestRatioNoFsyncToGdcmanon: lanternNoFsync.best.filesPerSec / gdcmanon.best.filesPerSec,
        bestRatioToGdcmanon: lantern.best.filesPerSec / gdcmanon.best.filesPerSec,
        bestCpuRatioNoFsyncToGdcmanon:
          gdcmanon.best.cpuSecondsPerGb / lanternNoFsync.best.cpuSecondsPerGb,
        ratioToGdcmanon: lantern.median.filesPerSec / gdcmanon.median.filesPerSec,
        ratioNoFsyncToGdcmanon: lanternNoFsync.median.filesPerSec / gdcmanon.median.filesPerSec,
        ratioToDcmodify: lantern.median.filesPerSec / dcmodify.median.filesPerSec,
        ratioNoFsyncToDcmodify: lanternNoFsync.median.filesPerSec / dcmodify.median.filesPerSec,
        cpuRatioNoFsyncToGdcmanon:
          gdcmanon.median.cpuSecondsPerGb / lanternNoFsync.median.cpuSecondsPerGb,
        roundRatiosNoFsyncToGdcmanon: roundRatios(record.lanternNoFsync, record.gdcmanon),
        roundRatiosToGdcmanon: roundRatios(record.lantern, record.gdcmanon),
      };
    });
    const report = {
      corpus: {
        files: options.files,
        bytes: corpus.bytes,
        seed: options.seed,
        sizes: [options.minSize, options.maxSize],
      },
      peers: {
        gdcmanon: await versionOf('gdcmanon', ['--version']),
        dcmodify: await versionOf('dcmodify', ['--version']),
      },
      rounds: options.rounds,
      warm: options.warm,
      loadAverage: { start: loadAtStart, end: loadAverage() },
      rows,
      target: {
        vsGdcmanonWith2Workers: TARGET_RATIO,
        /** Like for like (neither flushes to the disk), each contender's best round. */
        met: (rows.at(-1)?.bestRatioNoFsyncToGdcmanon ?? 0) >= TARGET_RATIO,
        /** With every object flushed, as the server stores it, each contender's best round. */
        metWithFsync: (rows.at(-1)?.bestRatioToGdcmanon ?? 0) >= TARGET_RATIO,
      },
    };
    await mkdir(dirname(options.outFile), { recursive: true });
    await writeFile(options.outFile, `${JSON.stringify(report, null, 2)}\n`);
    printReport(report);
  } finally {
    for (const { pool } of pools.values()) {
      await pool.close();
    }
    await rm(work, { recursive: true, force: true });
  }
}

function printReport(report: {
  rows: Row[];
  loadAverage: { start: string; end: string };
  target: { met: boolean; metWithFsync: boolean };
}): void {
  const rate = (r: Rate) =>
    `${r.filesPerSec.toFixed(1).padStart(7)} files/s ${r.mbPerSec.toFixed(1).padStart(7)} MB/s ` +
    `${r.cpuSecondsPerGb.toFixed(2).padStart(5)} CPU s/GB`;
  const line = (name: string, r: Rates) =>
    `  ${name.padEnd(18)} best ${rate(r.best)}   median ${rate(r.median)}`;
  const ratios = (values: readonly number[]) =>
    values.map((value) => `${value.toFixed(2)}x`).join(' ');
  process.stdout.write(
    `load average ${report.loadAverage.start} at the start, ${report.loadAverage.end} at the end\n`,
  );
  for (const row of report.rows) {
    process.stdout.write(`DICOM de-identification, ${row.workers} worker(s):\n`);
    process.stdout.write(
      `${line('lantern (fsync)', row.lantern)}\n${line('lantern (no fsync)', row.lanternNoFsync)}\n` +
        `${line('gdcmanon', row.gdcmanon)}\n${line('dcmodify', row.dcmodify)}\n`,
    );
    process.stdout.write(
      `  best rounds' ratio to gdcmanon ${row.bestRatioNoFsyncToGdcmanon.toFixed(2)}x without fsync, ` +
        `${row.bestRatioToGdcmanon.toFixed(2)}x with; in CPU per GB, without fsync: ` +
        `${row.bestCpuRatioNoFsyncToGdcmanon.toFixed(2)}x gdcmanon's\n` +
        `  medians' ratio to gdcmanon ${row.ratioNoFsyncToGdcmanon.toFixed(2)}x without fsync, ` +
        `${row.ratioToGdcmanon.toFixed(2)}x with; to dcmodify ${row.ratioNoFsyncToDcmodify.toFixed(2)}x ` +
        `without, ${row.ratioToDcmodify.toFixed(2)}x with\n` +
        `  in CPU per GB, without fsync: ${row.cpuRatioNoFsyncToGdcmanon.toFixed(2)}x gdcmanon's\n` +
        `  round by round to gdcmanon: ${ratios(row.roundRatiosNoFsyncToGdcmanon)} without fsync, ` +
        `${ratios(row.roundRatiosToGdcmanon)} with\n`,
    );
  }
  process.stdout.write(
    `target: at least ${TARGET_RATIO.toFixed(1)}x gdcmanon with 2 workers, best rounds, like for like (no fsync): ` +
      `${report.target.met ? 'met' : 'NOT met'}; with every object flushed: ` +
      `${report.target.metWithFsync ? 'met' : 'NOT met'}\n`,
  );
}

runMain(main);
