/**
 * The demo catalogue: every demo dataset Lantern ships, and one call that writes their partner
 * deliveries side by side (`<out>/<slug>/delivery-<n>/`), as `lantern demo generate` and the first
 * start of an empty data directory need them.
 */
import { join } from 'node:path';
import { arrestEcgDemo } from '../arrest-ecg/arrest-ecg.demo.js';
import { brcaPathDemo } from '../brca-path/dataset.js';
import { edEcgDemo } from '../ed-ecg/ed-ecg.demo.js';
import { kneeXrayDemo } from '../knee-xray/demo.js';
import { defaultWorkerCount, SynthPool } from '../pool/synth-pool.js';
import { type Seed } from '../random.js';
import { type DeliveryProgress, type DeliverySummary, type DemoDataset } from './demo-dataset.js';

/** The demo datasets, in the order the catalogue lists them. */
export const DEMO_CATALOGUE: readonly DemoDataset[] = [
  arrestEcgDemo,
  brcaPathDemo,
  kneeXrayDemo,
  edEcgDemo,
];

/** The deliveries every demo dataset has. */
export const DEMO_DELIVERIES = [1, 2] as const;

/** What `generateDemoCatalogue` is doing: starting a delivery, writing it, or done with it. */
export type DemoCatalogueProgress =
  | { kind: 'start'; dataset: string; delivery: number }
  | ({ kind: 'progress'; dataset: string; delivery: number } & DeliveryProgress)
  | { kind: 'done'; summary: DeliverySummary };

export interface DemoCatalogueOptions {
  /** The folder the deliveries go under, as `<out>/<slug>/delivery-<n>/`. */
  out: string;
  /** Default 1 (the demo: all of it well under 200 MB). */
  scale?: number;
  /**
   * Default 1. Each dataset's generator gets its own seed derived from this one and its slug,
   * so that datasets do not share random streams.
   */
  seed?: Seed;
  /** Slugs of the datasets to write (default all), each checked against the catalogue. */
  datasets?: readonly string[];
  /** Which deliveries (default 1 and 2). */
  deliveries?: readonly number[];
  onProgress?: (progress: DemoCatalogueProgress) => void;
  /**
   * Worker threads making the native files, shared by every delivery (default: one per core the
   * process may use; 1 makes them in this thread). The bytes are the same whatever the number.
   */
  workers?: number;
  /** The catalogue to write from (default DEMO_CATALOGUE). */
  catalogue?: readonly DemoDataset[];
}

/** A slug or a delivery number the catalogue does not have. */
export class DemoCatalogueError extends Error {
  readonly known: readonly string[];

  constructor(message: string, known: readonly string[]) {
    super(message);
    this.name = 'DemoCatalogueError';
    this.known = known;
  }
}

/** The seed a dataset's generator gets from the catalogue's seed. */
export function demoDatasetSeed(seed: Seed, slug: string): string {
  return `${String(seed)}/${slug}`;
}

/** The datasets named by `slugs` (all when absent), in catalogue order; unknown slugs refused. */
export function selectDemoDatasets(
  slugs: readonly string[] | undefined,
  catalogue: readonly DemoDataset[] = DEMO_CATALOGUE,
): DemoDataset[] {
  const known = catalogue.map((demo) => demo.dataset.slug);
  if (slugs === undefined || slugs.length === 0) {
    return [...catalogue];
  }
  const unknown = slugs.filter((slug) => !known.includes(slug));
  if (unknown.length > 0) {
    throw new DemoCatalogueError(
      `no demo dataset ${unknown.join(', ')}; the catalogue has ${known.join(', ')}`,
      known,
    );
  }
  return catalogue.filter((demo) => slugs.includes(demo.dataset.slug));
}

/**
 * Writes the chosen deliveries of the chosen datasets, one after another (each one's native files
 * spread over the workers); their summaries.
 */
export async function generateDemoCatalogue(
  options: DemoCatalogueOptions,
): Promise<DeliverySummary[]> {
  const datasets = selectDemoDatasets(options.datasets, options.catalogue);
  const deliveries = options.deliveries ?? DEMO_DELIVERIES;
  const wrong = deliveries.filter((n) => !(DEMO_DELIVERIES as readonly number[]).includes(n));
  if (wrong.length > 0) {
    throw new DemoCatalogueError(
      `no delivery ${wrong.join(', ')}; every demo dataset has deliveries ${DEMO_DELIVERIES.join(' and ')}`,
      DEMO_DELIVERIES.map(String),
    );
  }
  const seed = options.seed ?? 1;
  const workers = options.workers ?? defaultWorkerCount();
  const pool = workers > 1 ? new SynthPool({ workers }) : undefined;
  try {
    return await generateDeliveries(datasets, deliveries, options, seed, pool);
  } finally {
    await pool?.close();
  }
}

async function generateDeliveries(
  datasets: readonly DemoDataset[],
  deliveries: readonly number[],
  options: DemoCatalogueOptions,
  seed: Seed,
  pool: SynthPool | undefined,
): Promise<DeliverySummary[]> {
  const summaries: DeliverySummary[] = [];
  for (const demo of datasets) {
    const slug = demo.dataset.slug;
    // Each delivery repeats the files of the one before: those written in this call are copied.
    const written = new Map<number, string>();
    for (const delivery of deliveries) {
      options.onProgress?.({ kind: 'start', dataset: slug, delivery });
      const out = join(options.out, slug, `delivery-${delivery}`);
      const reuse = written.get(delivery - 1);
      const summary = await demo.generate({
        out,
        ...(reuse === undefined ? {} : { reuse }),
        scale: options.scale ?? 1,
        seed: demoDatasetSeed(seed, slug),
        delivery,
        ...(pool === undefined ? {} : { pool }),
        onProgress: (progress) =>
          options.onProgress?.({ kind: 'progress', dataset: slug, delivery, ...progress }),
      });
      written.set(delivery, out);
      options.onProgress?.({ kind: 'done', summary });
      summaries.push(summary);
    }
  }
  return summaries;
}
