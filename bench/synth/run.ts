/**
 * Large corpora benchmark (issue 5): the demo's generators make the corpora benchmarks need —
 * 100,000 ECGs, 10,000 radiographs, a slide of 50,000 x 50,000 pixels — in flat memory, and a
 * first start on an empty data directory shows the whole demo catalogue within a known time.
 *
 * For each corpus it writes the delivery to a scratch folder (removed after, unless `--keep`) and
 * reports files, bytes, seconds, files/s and MB/s, and the resident memory sampled every 200 ms:
 * at a quarter of the way, at the end, and the peak (the process's, its worker threads included).
 * Memory is flat when the end is not much above the quarter: the native files are made one at a
 * time per worker and written by the worker, never held together. ECGs and radiographs are made by
 * `--workers` threads (default one per core; 1 makes them in the main thread); the slide is one
 * file, made in the main thread. The
 * tables (one CSV row per ECG or image) are held while written, tens of megabytes at these sizes.
 * The first start runs the built server (`npm run build` first) on a fresh data directory and
 * times it until the log says the demo catalogue is ready.
 *
 * There is no peer: no other tool writes these deliveries. It exits 0 with the table printed,
 * non-zero only on errors.
 *
 *   node --conditions=lantern-source --import tsx bench/synth/run.ts [--ecgs 100000]
 *     [--radiographs 10000] [--slide 50000] [--only ecgs,radiographs,slide,first-start]
 *     [--workers N] [--seed 1] [--keep DIR] [--out bench/out/synth.json]
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ARREST_ECG_PATIENTS_AT_SCALE_1,
  brcaSlidePath,
  defaultWorkerCount,
  generateArrestEcgDelivery,
  generateKneeXrayDelivery,
  KNEE_XRAY_PATIENTS_AT_SCALE_1,
  makeArrestCohort,
  makeBrcaCohort,
  makeKneeCohort,
  writeBrcaSlide,
  type DeliveryProgress,
} from '@lantern/synth';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const SERVER = join(REPO_ROOT, 'apps/server/dist/main.js');
const CORPORA = ['ecgs', 'radiographs', 'slide', 'first-start'] as const;
type Corpus = (typeof CORPORA)[number];

interface Options {
  ecgs: number;
  radiographs: number;
  slide: number;
  only: readonly Corpus[];
  workers: number;
  seed: number;
  keep: string | undefined;
  outFile: string;
}

interface Result {
  corpus: string;
  items: number;
  files: number;
  bytes: number;
  seconds: number;
  /** Resident memory in MiB: a quarter of the way through, at the end, the peak. */
  rss: { quarter: number; end: number; peak: number };
}

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) {
    return fallback;
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`--${name} must be a positive integer, not ${JSON.stringify(text)}`);
  }
  return value;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ecgs: { type: 'string' },
      radiographs: { type: 'string' },
      slide: { type: 'string' },
      only: { type: 'string' },
      workers: { type: 'string' },
      seed: { type: 'string' },
      keep: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const only = (values.only ?? CORPORA.join(',')).split(',').map((name) => name.trim());
  const unknown = only.filter((name) => !(CORPORA as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(`--only takes ${CORPORA.join(', ')}; not ${unknown.join(', ')}`);
  }
  return {
    ecgs: positiveInteger('ecgs', values.ecgs, 100_000),
    radiographs: positiveInteger('radiographs', values.radiographs, 10_000),
    slide: positiveInteger('slide', values.slide, 50_000),
    only: only as Corpus[],
    workers: positiveInteger('workers', values.workers, defaultWorkerCount()),
    seed: positiveInteger('seed', values.seed, 1),
    keep: values.keep === undefined ? undefined : resolve(values.keep),
    outFile: resolve(values.out ?? join(REPO_ROOT, 'bench/out/synth.json')),
  };
}

const MIB = 1024 * 1024;

/** Samples this process's resident memory while `run` goes, and notes it a quarter of the way. */
async function measured(
  corpus: string,
  run: (progress: (done: number, total: number) => void) => Promise<{
    items: number;
    files: number;
    bytes: number;
  }>,
): Promise<Result> {
  let peak = process.memoryUsage().rss;
  let quarter = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 200);
  const started = performance.now();
  let lastPrint = 0;
  try {
    const done = await run((count, total) => {
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      if (quarter === 0 && count >= total / 4) {
        quarter = rss;
      }
      const now = performance.now();
      if (now - lastPrint > 5_000) {
        lastPrint = now;
        const seconds = (now - started) / 1000;
        process.stderr.write(
          `  ${corpus}: ${count.toLocaleString('en')} of ${total.toLocaleString('en')} ` +
            `(${((100 * count) / total).toFixed(0)}%), ${seconds.toFixed(0)} s, ` +
            `${(rss / MIB).toFixed(0)} MiB resident\n`,
        );
      }
    });
    const end = process.memoryUsage().rss;
    return {
      corpus,
      ...done,
      seconds: (performance.now() - started) / 1000,
      rss: {
        quarter: Math.round((quarter || end) / MIB),
        end: Math.round(end / MIB),
        peak: Math.round(Math.max(peak, end) / MIB),
      },
    };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The scale at which a generator's cohort holds about `target` items (ECGs, images): the items
 * per patient of a sample cohort, and 2% more patients for the draw's spread.
 */
function scaleFor(target: number, atScale1: number, itemsOf: (patients: number) => number): number {
  const sample = atScale1 * 8;
  const perPatient = itemsOf(sample) / sample;
  return Math.ceil((1.02 * target) / perPatient) / atScale1;
}

async function ecgs(options: Options, out: string): Promise<Result> {
  const scale = scaleFor(options.ecgs, ARREST_ECG_PATIENTS_AT_SCALE_1, (patients) =>
    makeArrestCohort({ seed: options.seed, patients }).reduce((n, p) => n + p.ecgs.length, 0),
  );
  return measured('ECGs (demo-arrest-ecg: .npz and MUSE XML)', async (progress) => {
    const summary = await generateArrestEcgDelivery({
      out: join(out, 'delivery-1'),
      scale,
      seed: options.seed,
      workers: options.workers,
      // The manifest and three tables come first.
      onProgress: (p: DeliveryProgress) => progress(Math.max(0, p.files - 4), options.ecgs),
    });
    return { items: summary.images, files: summary.files, bytes: summary.bytes };
  });
}

async function radiographs(options: Options, out: string): Promise<Result> {
  const scale = scaleFor(options.radiographs, KNEE_XRAY_PATIENTS_AT_SCALE_1, (patients) =>
    makeKneeCohort({ seed: options.seed, patients }).reduce(
      (n, p) => n + p.studies.reduce((m, s) => m + s.images.length, 0),
      0,
    ),
  );
  return measured('radiographs (demo-knee-xray: DICOM CR/DX)', async (progress) => {
    const summary = await generateKneeXrayDelivery({
      out: join(out, 'delivery-1'),
      scale,
      seed: options.seed,
      workers: options.workers,
      onProgress: (p) => progress(Math.max(0, p.files - 4), options.radiographs),
    });
    return { items: summary.images, files: summary.files, bytes: summary.bytes };
  });
}

async function slide(options: Options, out: string): Promise<Result> {
  const [patient] = makeBrcaCohort({ seed: options.seed, patients: 1 });
  const biopsy = patient?.biopsies[0];
  const record = biopsy?.slides[0];
  if (patient === undefined || biopsy === undefined || record === undefined) {
    throw new Error('the breast cohort made no slide');
  }
  const size = { width: options.slide, height: options.slide };
  const tiles = Math.ceil(options.slide / 256) ** 2;
  return measured(
    `slide ${options.slide.toLocaleString('en')}² (pyramidal JPEG TIFF)`,
    async () => {
      const path = join(out, 'files', ...brcaSlidePath(biopsy.accession, record).split('/'));
      await mkdir(dirname(path), { recursive: true });
      const written = await writeBrcaSlide(path, patient, biopsy.accession, record, size);
      return { items: tiles, files: 1, bytes: written.byteLength };
    },
  );
}

/** A port nobody listens on now. */
async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** The built server on an empty data directory, until its log says the demo catalogue is ready. */
async function firstStart(out: string): Promise<Result> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [SERVER, 'start', '--data-dir', join(out, 'data'), '--port', String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let peakKib = 0;
  try {
    const versions = await new Promise<string[]>((resolveReady, reject) => {
      let buffered = '';
      const onData = (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (line.includes('demo catalogue ready')) {
            const parsed = JSON.parse(line) as { versions?: string[] };
            resolveReady(parsed.versions ?? []);
          } else if (line.includes('demo catalogue failed') || line.includes('not published')) {
            reject(new Error(`first start: ${line}`));
          }
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`the server exited with ${String(code)}`)));
    });
    const seconds = (performance.now() - started) / 1000;
    peakKib = await peakResidentKib(child.pid);
    return {
      corpus: `first start to the demo catalogue published (${versions.length} versions)`,
      items: versions.length,
      files: 0,
      bytes: 0,
      seconds,
      rss: { quarter: 0, end: 0, peak: Math.round(peakKib / 1024) },
    };
  } finally {
    child.kill('SIGTERM');
  }
}

/** The peak resident memory (VmHWM) of a process, from /proc. */
async function peakResidentKib(pid: number | undefined): Promise<number> {
  if (pid === undefined) {
    return 0;
  }
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /^VmHWM:\s+(\d+) kB$/mu.exec(status);
  return match === null ? 0 : Number(match[1]);
}

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
    .join('  ');
}

function printTable(results: readonly Result[]): void {
  const header = [
    'corpus',
    'items',
    'files',
    'GB',
    'seconds',
    'items/s',
    'MB/s',
    'RSS ¼ / end / peak MiB',
  ];
  const lines = results.map((r) => [
    r.corpus,
    r.items.toLocaleString('en'),
    r.files.toLocaleString('en'),
    (r.bytes / 1e9).toFixed(2),
    r.seconds.toFixed(1),
    (r.items / r.seconds).toFixed(1),
    (r.bytes / 1e6 / r.seconds).toFixed(1),
    r.rss.quarter === 0 ? `peak ${r.rss.peak}` : `${r.rss.quarter} / ${r.rss.end} / ${r.rss.peak}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)));
  console.log(row(header, widths));
  for (const line of lines) {
    console.log(row(line, widths));
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const runs: Record<Corpus, (options: Options, out: string) => Promise<Result>> = {
    ecgs,
    radiographs,
    slide,
    'first-start': (_options, out) => firstStart(out),
  };
  const results: Result[] = [];
  for (const corpus of options.only) {
    const out =
      options.keep === undefined
        ? await mkdtemp(join(tmpdir(), `lantern-bench-synth-${corpus}-`))
        : join(options.keep, corpus);
    await mkdir(out, { recursive: true });
    process.stderr.write(`${corpus}: writing into ${out}\n`);
    try {
      results.push(await runs[corpus](options, out));
    } finally {
      if (options.keep === undefined) {
        await rm(out, { recursive: true, force: true });
      }
    }
  }
  console.log(`ECGs and radiographs made by ${options.workers} worker thread(s)`);
  printTable(results);
  await mkdir(dirname(options.outFile), { recursive: true });
  await writeFile(
    options.outFile,
    `${JSON.stringify({ node: process.version, options, results }, null, 2)}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
