import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlideFile, readCsv } from '@lantern/formats';
import { datasetSchema, documentationSchema } from '@lantern/core/catalog';
import { auc } from '../testing/ecg-measures.js';
import { BRCA_STAGES } from './cohort.js';
import { brcaPathDemo } from './dataset.js';
import { generateBrcaPathDelivery } from './delivery.js';

let root: string;
let first: string;
let second: string;
/** Small slides, so the tests run in seconds; the demo's are larger. */
const SMALL = { width: 512, height: 320 };

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of await listFiles(dir)) {
    out[file] = createHash('sha256')
      .update(await readFile(join(dir, file)))
      .digest('hex');
  }
  return out;
}

async function rowsOf(file: string): Promise<Record<string, string | null>[]> {
  const table = await readCsv(createReadStream(file), { name: file });
  const rows: Record<string, string | null>[] = [];
  try {
    for await (const row of table) {
      rows.push(Object.fromEntries(table.columns.map((name, i) => [name, row.values[i] ?? null])));
    }
  } finally {
    await table.close();
  }
  return rows;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lantern-brca-'));
  first = join(root, 'first');
  second = join(root, 'second');
  await generateBrcaPathDelivery({ out: first, seed: 7, patients: 4, slideSize: SMALL });
  await generateBrcaPathDelivery({
    out: second,
    seed: 7,
    patients: 4,
    slideSize: SMALL,
    delivery: 2,
  });
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the demo-brca-path delivery', () => {
  it('is written byte for byte the same from the same seed, and differently from another', async () => {
    const again = join(root, 'again');
    const other = join(root, 'other');
    const summary = await generateBrcaPathDelivery({
      out: again,
      seed: 7,
      patients: 4,
      slideSize: SMALL,
    });
    await generateBrcaPathDelivery({ out: other, seed: 8, patients: 4, slideSize: SMALL });
    expect(await digests(again)).toEqual(await digests(first));
    expect(await digests(other)).not.toEqual(await digests(first));
    expect(summary).toMatchObject({ dataset: 'demo-brca-path', delivery: 1, patients: 4 });
    expect(summary.images).toBeGreaterThanOrEqual(2 * summary.studies);
    expect(summary.images).toBeLessThanOrEqual(4 * summary.studies);
    expect(summary.files).toBe(summary.images + 4);
  }, 120_000);

  it('has the manifest of issue 6 naming patient, study, files, dates and dropped columns', async () => {
    const manifest = await readFile(join(first, 'delivery.yaml'), 'utf8');
    expect(manifest).toContain('dataset: demo-brca-path\n');
    expect(manifest).toContain('Synthetic');
    expect(manifest).toContain('study_id: biopsy_id');
    expect(manifest).toContain('files: slide_path');
    expect(manifest).toContain('drop: [patient_name, phone]');
  });

  it('has tables whose keys join: every slide to a biopsy, every biopsy to a patient, every path to a file', async () => {
    const patients = await rowsOf(join(first, 'tables/patients.csv'));
    const outcomes = await rowsOf(join(first, 'tables/outcomes.csv'));
    const slides = await rowsOf(join(first, 'tables/biopsy-slides.csv'));
    const mrns = new Set(patients.map((row) => row['mrn']));
    expect(mrns.size).toBe(4);
    const accessions = new Set(outcomes.map((row) => row['accession']));
    expect(accessions.size).toBe(outcomes.length);
    for (const row of outcomes) {
      expect(mrns.has(row['mrn'] ?? null)).toBe(true);
      expect(BRCA_STAGES).toContain(row['stage']);
      expect(row['case_year']).toBe(row['biopsy_dt']?.slice(0, 4));
      expect(row['death_dt'] === null || row['mortality'] === '1').toBe(true);
      expect(row['strict_metastatic_dx_dt'] === null || row['strict_metastatic_dx'] === '1').toBe(
        true,
      );
    }
    const files = new Set(
      (await listFiles(join(first, 'files'))).map((f) => f.split('\\').join('/')),
    );
    expect(files.size).toBe(slides.length);
    for (const row of slides) {
      expect(accessions.has(row['accession'] ?? null)).toBe(true);
      const biopsy = outcomes.find((o) => o['accession'] === row['accession']);
      expect(biopsy?.['mrn']).toBe(row['mrn']);
      expect(files.has(row['slide_path'] ?? '')).toBe(true);
      expect(row['stain']).toBe('H&E');
    }
  });

  it('writes slides every reader of @lantern/formats opens: levels, tiles, mpp, label and macro apart', async () => {
    const slides = await rowsOf(join(first, 'tables/biopsy-slides.csv'));
    for (const row of slides) {
      const { slide, close } = await openSlideFile(join(first, 'files', row['slide_path'] ?? ''));
      try {
        expect(slide.vendor).toBe('aperio');
        expect(slide.mpp).toEqual({ x: 0.5, y: 0.5, source: 'aperio' });
        expect(slide.levels.map((level) => [level.width, level.height])).toEqual([
          [512, 320],
          [256, 160],
        ]);
        expect(slide.associatedImages.map((image) => image.kind)).toEqual([
          'thumbnail',
          'label',
          'macro',
        ]);
        expect(slide.aperio?.fields.get('Filename')).toBe(row['slide_barcode']);
        const { rgb } = await slide.readTilePixels(0, 1, 0);
        expect(rgb.length).toBe(256 * 256 * 3);
      } finally {
        await close();
      }
    }
  });

  it('delivery 2 holds every file of delivery 1 unchanged, and outcomes gain tumour_size_mm', async () => {
    const one = await digests(first);
    const two = await digests(second);
    expect(Object.keys(two).sort()).toEqual(Object.keys(one).sort());
    for (const [file, digest] of Object.entries(one)) {
      if (file !== join('tables', 'outcomes.csv')) {
        expect([file, two[file]]).toEqual([file, digest]);
      }
    }
    const before = await rowsOf(join(first, 'tables/outcomes.csv'));
    const after = await rowsOf(join(second, 'tables/outcomes.csv'));
    expect(after.map(({ tumour_size_mm: _size, ...rest }) => rest)).toEqual(before);
    expect(after.some((row) => row['tumour_size_mm'] !== null)).toBe(true);
  });

  it('is described in the catalogue: entry, documentation, a dictionary word for every published column', async () => {
    expect(datasetSchema.parse(brcaPathDemo.dataset).category).toBe('microscopy-images');
    const sections = documentationSchema.parse(brcaPathDemo.documentation).map((s) => s.kind);
    expect(sections).toEqual([
      'problem',
      'overview',
      'partners',
      'construction',
      'contents',
      'whats-next',
    ]);
    expect(brcaPathDemo.versionNotes).toHaveLength(2);
    const published: Record<string, string[]> = {
      patients: ['patient_ngsci_id', 'birth_date', 'sex'],
      outcomes: [
        'patient_ngsci_id',
        'biopsy_id',
        ...Object.keys((await rowsOf(join(second, 'tables/outcomes.csv')))[0] ?? {}).filter(
          (name) => name !== 'mrn' && name !== 'accession',
        ),
      ],
      'biopsy-slides': [
        'patient_ngsci_id',
        'slide_id',
        'biopsy_id',
        'slide_path',
        'stain',
        'scanner',
        'scan_date',
      ],
    };
    for (const [table, columns] of Object.entries(published)) {
      expect(Object.keys(brcaPathDemo.tables[table]?.columns ?? {}).sort()).toEqual(
        [...columns].sort(),
      );
    }
  });
});

describe('the slides carry the stage', () => {
  it('a simple tile measure (the share of dark purple pixels in the tissue) ranks advanced stages above early ones', async () => {
    const out = join(root, 'signal');
    await generateBrcaPathDelivery({
      out,
      seed: 3,
      patients: 16,
      slideSize: { width: 256, height: 256 },
    });
    const outcomes = await rowsOf(join(out, 'tables/outcomes.csv'));
    const slides = await rowsOf(join(out, 'tables/biopsy-slides.csv'));
    const stageOf = new Map(outcomes.map((row) => [row['accession'], row['stage'] ?? '0']));
    const scores: number[] = [];
    const labels: boolean[] = [];
    for (const row of slides) {
      const { slide, close } = await openSlideFile(join(out, 'files', row['slide_path'] ?? ''));
      try {
        const { rgb } = await slide.readTilePixels(0, 0, 0);
        let tissue = 0;
        let nuclei = 0;
        for (let i = 0; i < rgb.length; i += 3) {
          const [r = 0, g = 0, b = 0] = [rgb[i], rgb[i + 1], rgb[i + 2]];
          if (r + g + b < 690) {
            tissue += 1;
            if (r < 140 && b > r) {
              nuclei += 1;
            }
          }
        }
        scores.push(nuclei / Math.max(1, tissue));
        // Stage II and beyond (invasive, larger or spread) against 0 and I.
        const stage = stageOf.get(row['accession']) ?? '0';
        labels.push(stage.startsWith('II') || stage === 'IV');
      } finally {
        await close();
      }
    }
    expect(labels.some(Boolean) && labels.some((label) => !label)).toBe(true);
    expect(auc(scores, labels)).toBeGreaterThan(0.75);
  }, 120_000);
});
