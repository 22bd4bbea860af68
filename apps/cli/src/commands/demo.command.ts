import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  DEMO_CATALOGUE,
  DEMO_DELIVERIES,
  DemoCatalogueError,
  defaultWorkerCount,
  DeliveryGenerationError,
  generateDemoCatalogue,
  parseWorkerCount,
  selectDemoDatasets,
  type DemoCatalogueProgress,
  type DeliverySummary,
  type Seed,
} from '@lantern/synth';
import { CliError } from '../cli-error.js';
import { describeBytes, printTable } from './describe.js';

export interface DemoGenerateFlags {
  out: string;
  scale?: string;
  seed?: string;
  dataset?: string[];
  delivery?: string;
  workers?: string;
  force?: boolean;
  json?: boolean;
}

/**
 * `lantern demo generate`: writes the demo catalogue's partner deliveries (synthetic: no real
 * person) under `--out`, as `<slug>/delivery-<n>/`, ready for `lantern ingest`. Options are checked
 * before anything is written; progress goes to stderr on a terminal, the summary to stdout. The
 * images are made by `--workers` threads (default one per core), the bytes the same whatever the
 * number; a delivery that fails leaves no folder behind, and the error names the patient.
 */
export async function generateDemo(flags: DemoGenerateFlags): Promise<number> {
  const scale = parseScale(flags.scale);
  const seed = parseSeed(flags.seed);
  const deliveries = flags.delivery === undefined ? undefined : [parseDelivery(flags.delivery)];
  const datasets = flags.dataset === undefined ? undefined : parseDatasets(flags.dataset);
  const workers = parseWorkers(flags.workers);
  const out = resolve(flags.out);
  await checkOut(out, flags.force === true);

  const progress = process.stderr.isTTY && flags.json !== true ? showProgress : undefined;
  let summaries: DeliverySummary[];
  try {
    summaries = await generateDemoCatalogue({
      out,
      scale,
      seed,
      workers,
      ...(datasets === undefined ? {} : { datasets }),
      ...(deliveries === undefined ? {} : { deliveries }),
      ...(progress === undefined ? {} : { onProgress: progress }),
    });
  } catch (error) {
    if (error instanceof DemoCatalogueError) {
      throw new CliError(2, error.message);
    }
    if (error instanceof DeliveryGenerationError) {
      throw new CliError(1, error.message);
    }
    throw error;
  }

  if (flags.json === true) {
    console.log(JSON.stringify({ out, scale, seed, deliveries: summaries }, null, 2));
    return 0;
  }
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  const total = summaries.reduce(
    (sum, s) => ({ files: sum.files + s.files, bytes: sum.bytes + s.bytes }),
    { files: 0, bytes: 0 },
  );
  console.log(`Synthetic demo deliveries (no real person) in ${out}:`);
  printTable([
    ['DATASET', 'DELIVERY', 'PATIENTS', 'STUDIES', 'IMAGES', 'FILES', 'MB'],
    ...summaries.map((s) => [
      s.dataset,
      String(s.delivery),
      String(s.patients),
      String(s.studies),
      String(s.images),
      String(s.files),
      mb(s.bytes),
    ]),
    ['total', '', '', '', '', String(total.files), mb(total.bytes)],
  ]);
  return 0;
}

/** The worker threads `--workers` defaults to, for help texts. */
export function demoWorkers(): number {
  return defaultWorkerCount();
}

/** The demo datasets' slugs, for help texts. */
export function demoSlugs(): string[] {
  return DEMO_CATALOGUE.map((demo) => demo.dataset.slug);
}

function parseScale(text: string | undefined): number {
  if (text === undefined) {
    return 1;
  }
  const scale = Number(text);
  if (text.trim() === '' || !Number.isFinite(scale) || scale <= 0) {
    throw new CliError(
      2,
      `--scale must be a positive number (1 is the demo, 0.5 half of it), not "${text}"`,
    );
  }
  return scale;
}

/** A whole number is the seed itself; anything else is hashed to one. */
function parseSeed(text: string | undefined): Seed {
  if (text === undefined) {
    return 1;
  }
  if (text === '') {
    throw new CliError(2, '--seed must not be empty');
  }
  return /^\d{1,9}$/u.test(text) ? Number(text) : text;
}

function parseWorkers(text: string | undefined): number {
  if (text === undefined) {
    return defaultWorkerCount();
  }
  const workers = parseWorkerCount(text);
  if (workers === null) {
    throw new CliError(
      2,
      `--workers must be a whole number from 1 to 256 (1 makes the images in one thread), not "${text}"`,
    );
  }
  return workers;
}

function parseDelivery(text: string): number {
  const delivery = DEMO_DELIVERIES.find((n) => String(n) === text);
  if (delivery === undefined) {
    throw new CliError(
      2,
      `--delivery must be ${DEMO_DELIVERIES.join(' or ')} (every demo dataset has two), not "${text}"`,
    );
  }
  return delivery;
}

/** Slugs, space or comma separated, each known. */
function parseDatasets(values: readonly string[]): string[] {
  const slugs = values.flatMap((value) => value.split(',')).filter((slug) => slug !== '');
  try {
    selectDemoDatasets(slugs);
  } catch (error) {
    if (error instanceof DemoCatalogueError) {
      throw new CliError(2, error.message);
    }
    throw error;
  }
  return slugs;
}

/** `out` must be missing or an empty folder, unless `force` (then same-named files are replaced). */
async function checkOut(out: string, force: boolean): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(out)).isDirectory()) {
      throw new CliError(2, `${out} is not a folder`);
    }
    entries = await readdir(out);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      return;
    }
    throw error;
  }
  if (entries.length > 0 && !force) {
    throw new CliError(
      2,
      `${out} is not empty: choose an empty or new folder, or add --force to write into it (files of the same names are replaced)`,
    );
  }
}

/** One line on stderr, rewritten in place: the dataset, its delivery, files and bytes so far. */
function showProgress(event: DemoCatalogueProgress): void {
  switch (event.kind) {
    case 'start':
      process.stderr.write(`\r\x1b[K${event.dataset} delivery ${event.delivery}: starting`);
      return;
    case 'progress':
      process.stderr.write(
        `\r\x1b[K${event.dataset} delivery ${event.delivery}: ${event.files} files, ${describeBytes(event.bytes)}`,
      );
      return;
    case 'done':
      process.stderr.write(
        `\r\x1b[K${event.summary.dataset} delivery ${event.summary.delivery}: ${event.summary.files} files, ${describeBytes(event.summary.bytes)}, done\n`,
      );
      return;
    default:
      event satisfies never;
  }
}
