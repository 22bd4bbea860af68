/**
 * Ingest benchmark of a non-DICOM delivery (issue 6): the demo ECG dataset (demo-arrest-ecg:
 * NumPy `.npz` for most ECGs, GE MUSE XML for the rest, tables with identifiers) written by
 * @lantern/synth at `--scale`, ingested whole — tables, files, PHI scan — by the server's own
 * IngestService into a new PGlite data directory, with LANTERN_INGEST_WORKERS=1 (one worker process)
 * and =2 (two). There is no outside peer for a whole ingest: the peer is the
 * same ingest with one worker, and the ratio is 2 workers' rate over 1 worker's. Files/s and MB/s
 * (input bytes of the native files), medians of `--rounds`, the worker counts interleaved, with
 * the load average; and the CPU seconds the server's own process spent, which tells how much of
 * the work left its main thread for the workers, whatever else loads the machine. A measurement: it exits 0 whatever the ratio, non-zero only on errors.
 *
 *   node --conditions=lantern-source --import tsx bench/ingest/ecg.ts [--scale 25] [--rounds 3]
 *     [--seed 6] [--delivery DIR]
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { generateArrestEcgDelivery } from '@lantern/synth';
import { parseConfig } from '../../apps/server/src/config.js';
import { createContext } from '../../apps/server/src/context.js';
import { createLogger } from '../../apps/server/src/logging.js';

const WORKER_COUNTS = [1, 2] as const;

const { values: flags } = parseArgs({
  options: {
    scale: { type: 'string', default: '25' },
    rounds: { type: 'string', default: '3' },
    seed: { type: 'string', default: '6' },
    delivery: { type: 'string' },
  },
});

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

/** The native files of a delivery (under files/): how many, and their bytes. */
async function nativeFiles(delivery: string): Promise<{ files: number; bytes: number }> {
  const names = await readdir(join(delivery, 'files'), { recursive: true });
  let files = 0;
  let bytes = 0;
  for (const name of names) {
    const info = await stat(join(delivery, 'files', name));
    if (info.isFile()) {
      files += 1;
      bytes += info.size;
    }
  }
  return { files, bytes };
}

/**
 * One whole ingest of `delivery` into a new data directory: its seconds, and the CPU seconds of
 * this process (the server's main thread and its libuv pool; the workers are other processes).
 */
async function ingestOnce(
  delivery: string,
  workers: number,
  work: string,
): Promise<{ seconds: number; mainCpu: number }> {
  const dataDir = await mkdtemp(join(work, `data-${workers}-`));
  const config = parseConfig({
    LANTERN_DATA_DIR: dataDir,
    LANTERN_LOG_LEVEL: 'silent',
    LANTERN_DEMO: 'off',
    LANTERN_INGEST_WORKERS: String(workers),
  });
  const ctx = await createContext(config, createLogger(config));
  try {
    const start = performance.now();
    const cpu = process.cpuUsage();
    await ctx.services.ingest.ingestDirectory(delivery, { actor: 'system:lantern' });
    const used = process.cpuUsage(cpu);
    return {
      seconds: (performance.now() - start) / 1000,
      mainCpu: (used.user + used.system) / 1e6,
    };
  } finally {
    await ctx.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'lantern-bench-ingest-ecg-'));
  try {
    const delivery = flags.delivery ?? join(work, 'delivery');
    if (flags.delivery === undefined) {
      const started = performance.now();
      await generateArrestEcgDelivery({
        out: delivery,
        scale: Number(flags.scale),
        seed: Number(flags.seed),
      });
      console.log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const { files, bytes } = await nativeFiles(delivery);
    console.log(
      `demo-arrest-ecg at scale ${flags.scale}: ${files} native files, ${(bytes / 1e6).toFixed(1)} MB; load ${load()}`,
    );
    const seconds = new Map<number, number[]>(WORKER_COUNTS.map((w) => [w, []]));
    const mainCpu = new Map<number, number[]>(WORKER_COUNTS.map((w) => [w, []]));
    for (let round = 0; round < Number(flags.rounds); round += 1) {
      // Interleaved, the order turned every round, so that drift in the machine hits both alike.
      const order = round % 2 === 0 ? WORKER_COUNTS : [...WORKER_COUNTS].reverse();
      for (const workers of order) {
        const run = await ingestOnce(delivery, workers, work);
        const s = run.seconds;
        seconds.get(workers)?.push(s);
        mainCpu.get(workers)?.push(run.mainCpu);
        console.log(
          `round ${round + 1}, ${workers} worker(s): ${s.toFixed(2)} s, ${(files / s).toFixed(0)} files/s, ${(bytes / 1e6 / s).toFixed(1)} MB/s, main process CPU ${run.mainCpu.toFixed(2)} s; load ${load()}`,
        );
      }
    }
    const one = median(seconds.get(1) ?? []);
    const two = median(seconds.get(2) ?? []);
    console.log(`peer (1 worker):    ${one.toFixed(2)} s, ${(files / one).toFixed(0)} files/s`);
    console.log(`Lantern (2 workers): ${two.toFixed(2)} s, ${(files / two).toFixed(0)} files/s`);
    console.log(`ratio 2 workers / 1: ${(one / two).toFixed(2)}x; load ${load()}`);
    for (const workers of WORKER_COUNTS) {
      const cpu = median(mainCpu.get(workers) ?? []);
      console.log(`main process CPU, ${workers} worker(s): ${cpu.toFixed(2)} s (median)`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
