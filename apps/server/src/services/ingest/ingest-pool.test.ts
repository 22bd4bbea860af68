/**
 * The ingest's worker threads (ingest-pool.ts): a delivery ingested with DICOM files taken two at
 * a time in worker threads makes the very draft, objects, counts and progress that one taken in
 * the main thread makes; a file's typed error crosses the thread unchanged; and a worker thread
 * that dies mid-run fails the run with an IngestWorkerError naming the published file, leaving a
 * draft that an ingest run again completes. Real worker threads, real stores, PGlite data
 * directories sharing one deployment key (so that pseudonyms, and so bytes, agree).
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '@lantern/formats';
import { generateKneeXrayDelivery, KNEE_XRAY_SLUG } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config.js';
import { createContext, type AppContext } from '../../context.js';
import { DeploymentKey } from '../../crypto/deployment-key.js';
import { createLogger } from '../../logging.js';
import { CatalogService } from '../catalog/catalog.service.js';
import { IngestPool, IngestWorkerError } from './ingest-pool.js';
import { IngestService, type IngestProgress, type IngestReport } from './ingest.service.js';

const SLUG = KNEE_XRAY_SLUG;

let work: string;
let delivery: string;
let keyFile: string;
/** What one ingest in the main thread made, to compare the others with. */
let inThread: string;

async function withDataDir<T>(name: string, use: (ctx: AppContext) => Promise<T>): Promise<T> {
  const dataDir = join(work, name);
  await mkdir(dataDir, { recursive: true });
  const config = parseConfig({
    LANTERN_DATA_DIR: dataDir,
    LANTERN_LOG_LEVEL: 'silent',
    LANTERN_DEMO: 'off',
    LANTERN_SECRET_KEY_FILE: keyFile,
  });
  const ctx = await createContext(config, createLogger(config));
  try {
    return await use(ctx);
  } finally {
    await ctx.close();
  }
}

/** An ingest service of `ctx` whose DICOM files go through `pool`. */
async function ingestService(ctx: AppContext, pool: IngestPool): Promise<IngestService> {
  const key = await DeploymentKey.load(keyFile);
  return new IngestService(
    ctx.database.db,
    ctx.services.audit,
    new CatalogService(ctx.database.db, ctx.services.audit, ctx.objectStore),
    { published: ctx.objectStore, quarantine: ctx.quarantineStore },
    key.pseudonymKey(),
    pool,
  );
}

function stores(ctx: AppContext) {
  return { published: ctx.objectStore, quarantine: ctx.quarantineStore };
}

/** The draft's rows and files, the run's report, both stores' keys: as text to compare. */
async function ingestState(
  ctx: AppContext,
  report: IngestReport,
  progress: IngestProgress[],
): Promise<string> {
  const db = ctx.database.db;
  const version = await db
    .selectFrom('dataset_version')
    .select(['id', 'number', 'snapshot', 'dictionary', 'documentation', 'change_log'])
    .where('status', '=', 'draft')
    .executeTakeFirstOrThrow();
  const files = await db
    .selectFrom('dataset_version_file')
    .select(['path', 'object_key', 'size'])
    .where('version_id', '=', version.id)
    .orderBy('path')
    .execute();
  const held = await db
    .selectFrom('ingest_held_file')
    .select(['path', 'table_name', 'column_name', 'format', 'reason', 'quarantine_key', 'size'])
    .where('ingest_id', '=', report.id)
    .orderBy('path')
    .execute();
  const keys = async (store: AppContext['objectStore']) => {
    const listed: string[] = [];
    for await (const object of store.list()) {
      listed.push(`${object.key} ${object.size}`);
    }
    return listed.sort();
  };
  return JSON.stringify(
    {
      number: version.number,
      snapshot: version.snapshot,
      dictionary: version.dictionary,
      documentation: version.documentation,
      changeLog: version.change_log,
      files,
      held,
      counts: report.counts,
      reportHeld: report.held,
      problems: report.problems,
      phi: report.phi,
      progress,
      objects: await keys(ctx.objectStore),
      quarantine: await keys(ctx.quarantineStore),
    },
    null,
    1,
  );
}

/** Ingests the delivery into a new data directory through a pool of `workers`. */
async function ingestWith(name: string, workers: number): Promise<string> {
  return withDataDir(name, async (ctx) => {
    const pool = new IngestPool({ workers, stores: stores(ctx) });
    try {
      expect(pool.isThreaded).toBe(workers > 1);
      const ingest = await ingestService(ctx, pool);
      const progress: IngestProgress[] = [];
      const report = await ingest.ingestDirectory(delivery, {
        actor: 'system:lantern',
        onProgress: (p) => progress.push(p),
      });
      expect(pool.threadsStarted).toBe(workers > 1 ? workers : 0);
      return await ingestState(ctx, report, progress);
    } finally {
      await pool.close();
    }
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-ingest-pool-'));
  delivery = join(work, 'delivery');
  keyFile = join(work, 'secret.key');
  await generateKneeXrayDelivery({ out: delivery, scale: 0.25, seed: 77, delivery: 2 });
  inThread = await ingestWith('in-thread', 1);
}, 300_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the ingest worker pool', () => {
  it('makes byte for byte the same draft, objects, counts and progress with 2 workers as with 1', async () => {
    const state = JSON.parse(inThread) as { files: unknown[]; held: unknown[]; counts: unknown };
    // Enough to interleave: many DICOM files stored, some held in the quarantine.
    expect(state.files.length).toBeGreaterThan(20);
    expect(state.held.length).toBeGreaterThan(0);
    expect(await ingestWith('two-workers', 2)).toBe(inThread);
  }, 300_000);

  it('rejects a file that is not DICOM with the same FormatError in a worker as in this thread', async () => {
    await withDataDir('not-dicom', async (ctx) => {
      const path = join(work, 'not-dicom.dcm');
      await writeFile(path, Buffer.alloc(200, 0x41));
      const job = {
        path,
        name: 'files/x.dcm',
        shiftDays: -10,
        uidKey: new Uint8Array(32).fill(1),
        pseudonym: { patientId: 'P', patientName: 'P' },
      };
      const errors: unknown[] = [];
      for (const workers of [1, 2]) {
        const pool = new IngestPool({ workers, stores: stores(ctx) });
        try {
          errors.push(
            await pool.ingestDicom(job).then(
              () => null,
              (error: unknown) => error,
            ),
          );
        } finally {
          await pool.close();
        }
      }
      const [here, there] = errors;
      expect(here).toBeInstanceOf(FormatError);
      expect(there).toBeInstanceOf(FormatError);
      expect(there).toMatchObject({
        message: (here as FormatError).message,
        code: (here as FormatError).code,
        file: 'files/x.dcm',
        offset: (here as FormatError).offset,
      });
      const listed: string[] = [];
      for await (const object of ctx.objectStore.list()) {
        listed.push(object.key);
      }
      expect(listed).toEqual([]);
    });
  });

  it('fails the run when a worker thread dies, and the ingest run again completes its draft', async () => {
    const state = await withDataDir('worker-dies', async (ctx) => {
      // Each worker thread exits (code 7) when given its third file: the run has several more.
      const dying = new IngestPool({ workers: 2, stores: stores(ctx), exitAtFile: 3 });
      try {
        const ingest = await ingestService(ctx, dying);
        const failed = ingest.ingestDirectory(delivery, { actor: 'system:lantern' });
        await expect(failed).rejects.toThrow(IngestWorkerError);
        await expect(failed).rejects.toThrow(
          /^the ingest worker thread taking xrays\/\S+\.dcm exited with code 7; the ingest can be run again$/u,
        );
      } finally {
        await dying.close();
      }
      const runs = await ctx.database.db
        .selectFrom('ingest_run')
        .select(['status', 'error'])
        .execute();
      expect(runs).toEqual([
        {
          status: 'failed',
          error: expect.stringMatching(/^the ingest worker thread taking xrays\//u) as unknown,
        },
      ]);
      // A draft that cannot be published as it is, until the delivery is ingested again.
      const preview = await ctx.services.catalog.preview(SLUG);
      expect(preview.problems).toContainEqual(
        expect.objectContaining({ code: 'ingest-unfinished', severity: 'blocking' }),
      );
      // Nothing half-written: the workers were waited for before the run was failed.
      expect(await readdir(join(work, 'worker-dies', 'objects', '.tmp'))).toEqual([]);

      const pool = new IngestPool({ workers: 2, stores: stores(ctx) });
      try {
        const ingest = await ingestService(ctx, pool);
        const progress: IngestProgress[] = [];
        const report = await ingest.ingestDirectory(delivery, {
          actor: 'system:lantern',
          onProgress: (p) => progress.push(p),
        });
        const after = await ctx.services.catalog.preview(SLUG);
        expect(after.problems.map((p) => p.code)).not.toContain('ingest-unfinished');
        return await ingestState(ctx, report, progress);
      } finally {
        await pool.close();
      }
    });
    // The objects the failed run stored are those of the same files: stored once, counted as
    // repeats now. Everything else is what an uninterrupted run makes.
    const expected = JSON.parse(inThread) as Record<string, unknown>;
    const got = JSON.parse(state) as Record<string, unknown>;
    const { counts: expectedCounts, ...expectedRest } = expected;
    const { counts: gotCounts, ...gotRest } = got;
    expect(gotRest).toEqual(expectedRest);
    expect(gotCounts).toMatchObject({
      files: (expectedCounts as { files: number }).files,
      bytes: (expectedCounts as { bytes: number }).bytes,
      held: (expectedCounts as { held: number }).held,
    });
    expect((gotCounts as { deduplicated: number }).deduplicated).toBeGreaterThan(
      (expectedCounts as { deduplicated: number }).deduplicated,
    );
  }, 300_000);
});
