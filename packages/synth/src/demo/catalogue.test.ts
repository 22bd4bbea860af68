import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  datasetSchema,
  documentationSchema,
  FIXED_CATEGORIES,
  FIXED_SECTIONS,
} from '@lantern/core/catalog';
import { columnsOf, digests, listFiles } from '../testing/delivery-files.js';
import {
  DEMO_CATALOGUE,
  DemoCatalogueError,
  demoDatasetSeed,
  generateDemoCatalogue,
  type DemoCatalogueProgress,
} from './catalogue.js';
import { type DeliverySummary } from './demo-dataset.js';

/**
 * How ingest publishes each table's columns (issue 6): the patient column becomes
 * patient_ngsci_id, the study column `<table singular>_id` (or the manifest's `study_id`), a
 * reference to another table's study its id, and the `drop:` columns go.
 */
const PUBLISHED: Record<
  string,
  Record<string, { renames: Record<string, string>; drop?: string[] }>
> = {
  'demo-arrest-ecg': {
    patients: { renames: { mrn: 'patient_ngsci_id' }, drop: ['patient_name', 'phone'] },
    ecgs: {
      renames: { mrn: 'patient_ngsci_id', accession: 'ecg_id' },
      drop: ['ordering_physician'],
    },
    outcomes: { renames: { mrn: 'patient_ngsci_id' } },
  },
  'demo-brca-path': {
    patients: { renames: { mrn: 'patient_ngsci_id' }, drop: ['patient_name', 'phone'] },
    outcomes: { renames: { mrn: 'patient_ngsci_id', accession: 'biopsy_id' } },
    'biopsy-slides': {
      renames: { mrn: 'patient_ngsci_id', slide_barcode: 'slide_id', accession: 'biopsy_id' },
      drop: ['scanned_by'],
    },
  },
  'demo-knee-xray': {
    patients: { renames: { mrn: 'patient_ngsci_id' }, drop: ['patient_name', 'phone'] },
    xrays: {
      renames: { mrn: 'patient_ngsci_id', accession: 'xray_id' },
      drop: ['referring_physician'],
    },
    outcomes: { renames: { mrn: 'patient_ngsci_id' } },
  },
  'demo-ed-ecg': {
    patients: { renames: { mrn: 'patient_ngsci_id' }, drop: ['patient_name', 'phone'] },
    ed_encounters: { renames: { mrn: 'patient_ngsci_id', csn: 'ed_enc_id' } },
    labs: { renames: { mrn: 'patient_ngsci_id', csn: 'ed_enc_id' } },
    ecgs: { renames: { mrn: 'patient_ngsci_id', csn: 'ed_enc_id', accession: 'ecg_id' } },
  },
};

let out: string;
let summaries: DeliverySummary[];
const events: DemoCatalogueProgress[] = [];

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'lantern-demo-catalogue-'));
  summaries = await generateDemoCatalogue({
    out,
    scale: 0.25,
    seed: 3,
    onProgress: (event) => events.push(event),
  });
  // Four datasets, two deliveries each: slides and radiographs take a while on a busy machine.
}, 300_000);

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('the demo catalogue', () => {
  it('writes <slug>/delivery-<n>/ for every dataset and delivery, and tells how far it got', async () => {
    expect(summaries.map((s) => [s.dataset, s.delivery])).toEqual(
      DEMO_CATALOGUE.flatMap((demo) => [
        [demo.dataset.slug, 1],
        [demo.dataset.slug, 2],
      ]),
    );
    for (const summary of summaries) {
      const dir = join(out, summary.dataset, `delivery-${summary.delivery}`);
      const files = await listFiles(dir);
      expect(files).toContain('delivery.yaml');
      expect(files).toHaveLength(summary.files);
      expect(await readFile(join(dir, 'delivery.yaml'), 'utf8')).toContain(
        `dataset: ${summary.dataset}\n`,
      );
    }
    const done = events.filter((event) => event.kind === 'done').map((event) => event.summary);
    expect(done).toEqual(summaries);
    const last = events.filter((event) => event.kind === 'progress').at(-1);
    expect(last).toMatchObject({
      files: summaries.at(-1)?.files,
      bytes: summaries.at(-1)?.bytes,
    });
    expect(events[0]).toEqual({ kind: 'start', dataset: 'demo-arrest-ecg', delivery: 1 });
  });

  it('refuses a slug or a delivery it does not have, naming the ones it has', async () => {
    const unknown = generateDemoCatalogue({ out, datasets: ['demo-arrest-ecg', 'demo-nope'] });
    await expect(unknown).rejects.toThrow(DemoCatalogueError);
    await expect(unknown).rejects.toThrow(
      /demo-nope.*demo-arrest-ecg, demo-brca-path, demo-knee-xray, demo-ed-ecg/u,
    );
    await expect(generateDemoCatalogue({ out, deliveries: [3] })).rejects.toThrow(/no delivery 3/u);
  });

  it('describes every dataset for the catalog: entry, six sections saying it is synthetic, notes per delivery', () => {
    for (const demo of DEMO_CATALOGUE) {
      expect(datasetSchema.safeParse(demo.dataset).success).toBe(true);
      expect(documentationSchema.safeParse(demo.documentation).success).toBe(true);
      expect(FIXED_CATEGORIES).toContain(demo.dataset.category);
      expect(demo.dataset.accessTier).toBe('open');
      expect(demo.dataset.tags).toContain('synthetic');
      expect(demo.dataset.partners.every((partner) => partner.country.length === 2)).toBe(true);
      expect(demo.documentation.map((section) => section.kind)).toEqual([...FIXED_SECTIONS]);
      const problem = demo.documentation.find((section) => section.kind === 'problem');
      expect(problem?.markdown).toMatch(/\*\*This dataset is synthetic/u);
      expect(demo.versionNotes).toHaveLength(2);
    }
    // One dataset per category (DATASETS.md).
    const categories = DEMO_CATALOGUE.map((demo) => demo.dataset.category);
    expect(new Set(categories).size).toBe(categories.length);
    expect(categories).toEqual(expect.arrayContaining(['ecg-waveforms', 'multiple-diagnostics']));
  });

  it('has dictionary words for exactly the columns ingest publishes from each table', async () => {
    for (const [slug, rules] of Object.entries(PUBLISHED)) {
      const demo = DEMO_CATALOGUE.find((candidate) => candidate.dataset.slug === slug);
      expect(demo, slug).toBeDefined();
      expect(Object.keys(demo?.tables ?? {}).sort()).toEqual(Object.keys(rules).sort());
      for (const [name, rule] of Object.entries(rules)) {
        const delivered = await columnsOf(join(out, slug, 'delivery-2', 'tables', `${name}.csv`));
        const published = delivered
          .filter((column) => !(rule.drop ?? []).includes(column))
          .map((column) => rule.renames[column] ?? column);
        expect(Object.keys(demo?.tables[name]?.columns ?? {}).sort(), `${slug} ${name}`).toEqual(
          published.sort(),
        );
      }
    }
  });

  it('copies the files delivery 2 repeats from delivery 1: the same bytes as delivery 2 written on its own', async () => {
    for (const demo of DEMO_CATALOGUE) {
      const slug = demo.dataset.slug;
      const alone = await mkdtemp(join(tmpdir(), `lantern-demo-${slug}-`));
      try {
        await demo.generate({
          out: alone,
          scale: 0.25,
          seed: demoDatasetSeed(3, slug),
          delivery: 2,
        });
        expect(await digests(join(out, slug, 'delivery-2')), slug).toEqual(await digests(alone));
      } finally {
        await rm(alone, { recursive: true, force: true });
      }
    }
  }, 300_000);
});
