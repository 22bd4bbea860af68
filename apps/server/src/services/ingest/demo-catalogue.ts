/**
 * The demo catalogue (issue 5): on the first start of an empty catalog, each demo dataset of
 * @lantern/synth is generated as its partner would deliver it, ingested through the same pipeline
 * as any delivery (pseudonyms, date shifts, DICOM de-identification, the PHI scan), documented
 * with its words, and published — twice, so that version histories and change logs have something
 * to show. Everything is marked synthetic.
 *
 * The demo's PHI review is decided the way a careful curator would: a flagged column that holds
 * one identifier per cell (a date of birth) is dropped; free text whose names and numbers the
 * generator made up is confirmed, with that said in the note. Radiographs held back for burned-in
 * text are excluded: the text names the (made-up) patient and accession number, which a careful
 * curator would never release.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataDictionary } from '@lantern/core/catalog';
import type { PhiDecision } from '@lantern/deid';
import { DEMO_CATALOGUE, demoDatasetSeed, SynthPool, type DemoDataset } from '@lantern/synth';
import type { CatalogService, VersionView } from '../catalog/catalog.service.js';
import type { HeldFilesService } from './held-files.service.js';
import type { IngestService } from './ingest.service.js';

const ACTOR = 'system:lantern';

export interface DemoSeedOptions {
  scale: number;
  seed?: number;
  /** Slugs to seed (default every demo dataset). */
  datasets?: readonly string[];
  /**
   * Worker threads making the demo's images, shared by every delivery (default 1: made in this
   * thread). The bytes are the same whatever the number.
   */
  workers?: number;
  /** Told of each version as it is published (or fails). */
  onProgress?: (event: {
    dataset: string;
    delivery: number;
    version?: string;
    error?: string;
  }) => void;
  /** Checked between deliveries: a server shutting down stops seeding there. */
  stopping?: () => boolean;
}

/** Seeds the demo catalogue; returns the versions published. */
export async function seedDemoCatalogue(
  services: { catalog: CatalogService; ingest: IngestService; heldFiles: HeldFilesService },
  options: DemoSeedOptions,
): Promise<string[]> {
  const workers = options.workers ?? 1;
  const pool = workers > 1 ? new SynthPool({ workers }) : undefined;
  try {
    return await seedDemos(services, options, pool);
  } finally {
    await pool?.close();
  }
}

async function seedDemos(
  services: { catalog: CatalogService; ingest: IngestService; heldFiles: HeldFilesService },
  options: DemoSeedOptions,
  pool: SynthPool | undefined,
): Promise<string[]> {
  const published: string[] = [];
  const demos = DEMO_CATALOGUE.filter(
    (demo) => options.datasets === undefined || options.datasets.includes(demo.dataset.slug),
  );
  for (const demo of demos) {
    // Each delivery's folder stays until the next is written: it repeats its files, copied.
    let previous: string | undefined;
    const made: string[] = [];
    try {
      for (const [index, notes] of demo.versionNotes.entries()) {
        if (options.stopping?.() === true) {
          return published;
        }
        const delivery = index + 1;
        const slug = demo.dataset.slug;
        try {
          const dir = await mkdtemp(join(tmpdir(), `lantern-demo-${slug}-`));
          made.push(dir);
          await demo.generate({
            out: dir,
            scale: options.scale,
            seed: demoDatasetSeed(options.seed ?? 1, slug),
            delivery,
            ...(previous === undefined ? {} : { reuse: previous }),
            ...(pool === undefined ? {} : { pool }),
          });
          if (previous !== undefined) {
            await rm(previous, { recursive: true, force: true });
          }
          previous = dir;
          const version = await seedDelivery(services, demo, dir, notes);
          published.push(`${slug} ${version}`);
          options.onProgress?.({ dataset: slug, delivery, version });
        } catch (error) {
          options.onProgress?.({
            dataset: slug,
            delivery,
            error: error instanceof Error ? error.message : String(error),
          });
          break;
        }
      }
    } finally {
      for (const dir of made) {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  return published;
}

/** Ingests a generated delivery, decides its PHI review as a careful curator would, publishes. */
async function seedDelivery(
  {
    catalog,
    ingest,
    heldFiles,
  }: { catalog: CatalogService; ingest: IngestService; heldFiles: HeldFilesService },
  demo: DemoDataset,
  dir: string,
  notes: string,
): Promise<string> {
  const slug = demo.dataset.slug;
  const report = await ingest.ingestDirectory(dir, {
    actor: ACTOR,
    dataset: demo.dataset,
    synthetic: true,
  });
  // Findings the ingest decided already, carrying the review before, are left as they are.
  const open = new Set((await ingest.phiReview(slug)).open);
  const decisions = report.phi.findings
    .filter((finding) => open.has(finding.id))
    .map((finding): PhiDecision =>
      finding.freeText
        ? {
            action: 'confirm',
            finding: finding.id,
            note: 'Synthetic demo data: the generator made up these names and numbers; no real person.',
          }
        : { action: 'drop', table: finding.table, column: finding.column },
    );
  // One drop per column is enough.
  const unique = decisions.filter(
    (decision, i) =>
      decision.action === 'confirm' ||
      decisions.findIndex(
        (other) =>
          other.action === 'drop' &&
          other.table === decision.table &&
          other.column === decision.column,
      ) === i,
  );
  if (unique.length > 0) {
    await ingest.decidePhi(slug, unique);
  }
  const held = (await heldFiles.review(slug)).files.filter((file) => file.decision === null);
  if (held.length > 0) {
    await heldFiles.decide(
      slug,
      held.map((file) => ({
        file: file.id,
        action: 'exclude' as const,
        note: 'Synthetic demo data: the burned-in text names the made-up patient and accession number; excluded.',
      })),
    );
  }
  await catalog.setDocumentation(slug, demo.documentation);
  const draft = await catalog.version(slug, 'draft', true);
  await catalog.setDictionary(slug, dictionaryOf(demo, draft));
  const version = await catalog.publish(ACTOR, slug, { notes });
  return version.version ?? 'draft';
}

/** The demo's words for every column the draft's tables have, with their types. */
export function dictionaryOf(demo: DemoDataset, draft: VersionView): DataDictionary {
  return {
    tables: draft.snapshot.tables.map((table) => {
      const words = demo.tables[table.name];
      return {
        name: table.name,
        description: words?.description ?? '',
        columns: table.columns.map((column) => ({
          name: column.name,
          type: column.type,
          description: words?.columns[column.name]?.description ?? `The ${column.name} column.`,
          ...(words?.columns[column.name] ?? {}),
        })),
      };
    }),
  };
}
