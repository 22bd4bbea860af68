import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoCatalogue, type DemoCatalogueProgress } from '../demo/catalogue.js';
import { DeliveryGenerationError } from '../demo/delivery-generation-error.js';
import { writeDelivery } from '../demo/delivery-plan.js';
import { type DeliverySummary } from '../demo/demo-dataset.js';
import { digests } from '../testing/delivery-files.js';
import { faultyFiles, planFaultyDelivery } from '../testing/faulty-delivery.js';
import { parseWorkerCount, SynthPool, workerThreadExecArgv } from './synth-pool.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lantern-synth-pool-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function catalogue(workers: number) {
  const out = join(root, `catalogue-${workers}`);
  const events: DemoCatalogueProgress[] = [];
  const summaries = await generateDemoCatalogue({
    out,
    scale: 0.25,
    seed: 7,
    workers,
    onProgress: (event) => events.push(event),
  });
  return { out, events, summaries };
}

/** The last progress event of each delivery, as `dataset/delivery`. */
function lastProgress(events: readonly DemoCatalogueProgress[]): Record<string, unknown> {
  const last: Record<string, unknown> = {};
  for (const event of events) {
    if (event.kind === 'progress') {
      last[`${event.dataset}/${event.delivery}`] = { files: event.files, bytes: event.bytes };
    }
  }
  return last;
}

function totals(summaries: readonly DeliverySummary[]): Record<string, unknown> {
  return Object.fromEntries(
    summaries.map((s) => [`${s.dataset}/${s.delivery}`, { files: s.files, bytes: s.bytes }]),
  );
}

describe('the synth pool', () => {
  it('writes the whole demo catalogue byte for byte the same with 1 and with 3 workers, telling progress', async () => {
    const alone = await catalogue(1);
    const pooled = await catalogue(3);
    const before = await digests(alone.out);
    // All four datasets, both deliveries: every native file, table and manifest.
    expect(Object.keys(before).filter((file) => file.includes('/files/')).length).toBeGreaterThan(
      100,
    );
    expect(await digests(pooled.out)).toEqual(before);
    expect(pooled.summaries).toEqual(alone.summaries);
    // Progress counts every file, however the workers were scheduled, to the summary's totals.
    expect(lastProgress(pooled.events)).toEqual(totals(pooled.summaries));
    expect(pooled.events.filter((event) => event.kind === 'progress').length).toBe(
      pooled.summaries.reduce((sum, s) => sum + s.files, 0),
    );
    // Nothing but the deliveries: no temporary folder left beside them.
    for (const dataset of await readdir(pooled.out)) {
      expect(await readdir(join(pooled.out, dataset))).toEqual(['delivery-1', 'delivery-2']);
    }
  }, 600_000);

  it('names the dataset and the patient when a worker fails, and leaves no half-written delivery', async () => {
    const parent = join(root, 'throws');
    const out = join(parent, 'delivery-1');
    const plan = planFaultyDelivery(40, { 23: 'throws' });
    const failed = writeDelivery(plan, faultyFiles, { out, workers: 3 });
    await expect(failed).rejects.toThrow(DeliveryGenerationError);
    await expect(failed).rejects.toMatchObject({
      dataset: 'demo-faulty',
      delivery: 1,
      patient: 23,
      mrn: '10000023',
      message:
        'demo-faulty delivery 1: the native files of patient 23 (MRN 10000023) failed: no waveform can be drawn for 10000023',
    });
    expect(await readdir(parent)).toEqual([]);
  });

  it('names the patients of a worker thread that died, and keeps the delivery that was there', async () => {
    const parent = join(root, 'exits');
    const out = join(parent, 'delivery-1');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'delivery.yaml'), 'the delivery written before\n');
    const pool = new SynthPool({ workers: 2 });
    try {
      const failed = writeDelivery(planFaultyDelivery(8, { 5: 'exits' }), faultyFiles, {
        out,
        pool,
      });
      await expect(failed).rejects.toThrow(
        /^demo-faulty delivery 1: the native files of patient 5 \(MRN 10000005\) failed: the worker thread exited with code 7$/u,
      );
      expect(await readdir(parent)).toEqual(['delivery-1']);
      expect(await readFile(join(out, 'delivery.yaml'), 'utf8')).toBe(
        'the delivery written before\n',
      );
      // The pool starts a new worker for the next delivery, which then replaces the old one whole.
      const summary = await writeDelivery(planFaultyDelivery(8, {}), faultyFiles, { out, pool });
      expect(summary).toMatchObject({ patients: 8, files: 9, bytes: 21 + 8 * 64 });
      expect((await readdir(join(out, 'files'))).length).toBe(8);
      expect(await readFile(join(out, 'delivery.yaml'), 'utf8')).toBe('dataset: demo-faulty\n');
    } finally {
      await pool.close();
    }
  });

  it('fails the same way in this thread (workers: 1)', async () => {
    const parent = join(root, 'in-thread');
    const failed = writeDelivery(planFaultyDelivery(6, { 2: 'throws' }), faultyFiles, {
      out: join(parent, 'delivery-1'),
    });
    await expect(failed).rejects.toMatchObject({
      name: 'DeliveryGenerationError',
      patient: 2,
      message: expect.stringContaining('patient 2 (MRN 10000002) failed') as unknown,
    });
    expect(await readdir(parent)).toEqual([]);
  });

  it('takes a worker count from 1 to 256', () => {
    expect(['1', '2', '256'].map(parseWorkerCount)).toEqual([1, 2, 256]);
    expect(['0', '257', '-1', '1.5', 'two', ''].map(parseWorkerCount)).toEqual(Array(6).fill(null));
    expect(() => new SynthPool({ workers: 0 })).toThrow(RangeError);
  });
});

describe('workerThreadExecArgv', () => {
  it('keeps the options a worker thread can take, and drops a string program and its input type', () => {
    expect(
      workerThreadExecArgv([
        '--input-type=module',
        '-e',
        'import("x")',
        '--conditions=lantern-source',
        '--max-old-space-size=512',
        '--eval=1',
        '--print',
        '2',
        '--enable-source-maps',
      ]),
    ).toEqual(['--conditions=lantern-source', '--max-old-space-size=512', '--enable-source-maps']);
    expect(workerThreadExecArgv([])).toEqual([]);
  });
});
