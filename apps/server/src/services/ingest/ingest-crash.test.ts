/**
 * Crash tests of ingest (issue 6, "never lose, never leak"): a child process ingesting a partner's
 * delivery into a data directory is killed with SIGKILL at several points (testing/ingest-then-die.ts
 * dies on cue: deterministic, no sleeps), one crash on top of the other; after each, the data
 * directory is opened as a server start would open it, and the invariants are checked: the run is
 * marked interrupted and its draft cannot be published; no published version changed; every
 * version file's object exists; no stored, quarantined, temporary or scratch byte holds a
 * source identifier; the sweeps leave no unreferenced object in the store or the quarantine. Re-running the delivery then ends `done` with the very draft an
 * uninterrupted run makes from the same starting point (a copy of the data directory).
 *
 * On PGlite in its own data directories, whatever the suite's dialect: a process killed mid-ingest
 * and the data directory it leaves are what is tested.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buffer } from 'node:stream/consumers';
import { AppError } from '@lantern/core';
import { readCsv } from '@lantern/formats';
import { demoDatasetSeed, generateKneeXrayDelivery, KNEE_XRAY_SLUG } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config.js';
import { createContext, type AppContext } from '../../context.js';
import { createLogger } from '../../logging.js';
import { INTERRUPTED } from '../../repositories/ingest/ingest.repository.js';
import { heldFileRepository } from '../../repositories/ingest/held-file.repository.js';
import { objectReferenceRepository } from '../../repositories/objects/object-reference.repository.js';
import { seedDemoCatalogue } from './demo-catalogue.js';
import { sweepFolders } from './file-ingest.js';
import { INGEST_SCRATCH_DIR } from './ingest-pool.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../../testing/ingest-then-die.ts', import.meta.url));
const SLUG = KNEE_XRAY_SLUG;

let work: string;
/** The data directory crashed into, and a copy of its starting point for the reference run. */
let dataDir: string;
let referenceDir: string;
/** The delivery ingested (a different cohort from the published versions': all new objects). */
let delivery: string;
/** Every MRN, name, phone number and accession number of the deliveries, published or crashed. */
let identifiers: string[];
let publishedBefore: string;
let referenceDraft: string;

async function openDataDir(dir: string): Promise<AppContext> {
  const config = parseConfig({
    LANTERN_DATA_DIR: dir,
    LANTERN_LOG_LEVEL: 'silent',
    LANTERN_DEMO: 'off',
    LANTERN_SWEEP_GRACE_MINUTES: '0',
  });
  return createContext(config, createLogger(config));
}

async function withDataDir<T>(dir: string, use: (ctx: AppContext) => Promise<T>): Promise<T> {
  const ctx = await openDataDir(dir);
  try {
    return await use(ctx);
  } finally {
    await ctx.close();
  }
}

async function column(path: string, name: string): Promise<string[]> {
  const table = await readCsv(createReadStream(path), { name: path });
  const index = table.columns.indexOf(name);
  const values: string[] = [];
  for await (const row of table) {
    const value = row.values[index];
    if (value !== null && value !== undefined && value !== '') {
      values.push(value);
    }
  }
  return values;
}

async function identifiersOf(dir: string): Promise<string[]> {
  return [
    ...(await column(join(dir, 'tables/patients.csv'), 'mrn')),
    ...(await column(join(dir, 'tables/patients.csv'), 'patient_name')),
    ...(await column(join(dir, 'tables/patients.csv'), 'phone')),
    ...(await column(join(dir, 'tables/xrays.csv'), 'accession')),
  ];
}

/** Every version's rows and files, as text to compare. */
async function versionState(ctx: AppContext, status: 'published' | 'draft'): Promise<string> {
  const db = ctx.database.db;
  const versions = await db
    .selectFrom('dataset_version')
    .select(['id', 'number', 'snapshot', 'dictionary', 'documentation', 'change_log'])
    .where('status', '=', status)
    .orderBy('number')
    .execute();
  const state: unknown[] = [];
  for (const version of versions) {
    const files = await db
      .selectFrom('dataset_version_file')
      .select(['path', 'object_key', 'size'])
      .where('version_id', '=', version.id)
      .orderBy('path')
      .execute();
    state.push({
      number: version.number,
      tables: [...version.snapshot.tables].sort((a, b) => a.name.localeCompare(b.name)),
      dictionary: version.dictionary,
      documentation: version.documentation,
      changeLog: version.change_log,
      files,
    });
  }
  return JSON.stringify(state, null, 1);
}

/** The draft as the last finished ingest left it: tables, files, dictionary, PHI findings, held. */
async function draftState(ctx: AppContext): Promise<string> {
  const review = await ctx.services.ingest.phiReview(SLUG);
  return `${await versionState(ctx, 'draft')}\n${JSON.stringify({
    findings: review.findings,
    held: review.held,
  })}`;
}

/** Runs the ingest in a child process that kills itself with SIGKILL on `cue`. */
async function ingestAndDie(cue: string): Promise<{ signal: string | null; out: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=lantern-source', '--import', 'tsx', CHILD, dataDir, delivery],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, LANTERN_TEST_DIE_AT: cue },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const signal = await new Promise<string | null>((resolve) =>
    child.once('exit', (_code, exitSignal) => resolve(exitSignal)),
  );
  return { signal, out };
}

/** What a source identifier shows up in: stored objects and temporary files. */
async function leaks(ctx: AppContext): Promise<string[]> {
  const found: string[] = [];
  const check = (where: string, bytes: Buffer) => {
    const text = bytes.toString('latin1');
    for (const identifier of identifiers) {
      if (text.includes(identifier)) {
        found.push(`${identifier} in ${where}`);
      }
    }
  };
  for (const store of [ctx.objectStore, ctx.quarantineStore]) {
    for await (const object of store.list()) {
      const got = await store.get(object.key);
      if (got === null) {
        throw new Error(`${object.key} was listed but cannot be read`);
      }
      check(`${store.location} ${object.key}`, await buffer(got.body));
    }
  }
  // The stores' temporary files, and what the workers wrote to the ingest scratch area.
  for (const folder of ['objects/.tmp', 'quarantine/.tmp', INGEST_SCRATCH_DIR]) {
    const scratch = join(dataDir, folder);
    const entries = await readdir(scratch, { recursive: true, withFileTypes: true }).catch(
      () => [],
    );
    for (const entry of entries.filter((e) => e.isFile())) {
      const path = join(entry.parentPath, entry.name);
      check(`${folder}/${relative(scratch, path)}`, await readFile(path));
    }
  }
  return found;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-ingest-crash-'));
  dataDir = join(work, 'data');
  referenceDir = join(work, 'reference');
  delivery = join(work, 'delivery');
  await mkdir(dataDir);
  await generateKneeXrayDelivery({ out: delivery, scale: 0.25, seed: 77, delivery: 2 });
  // The published versions' deliveries, as the demo catalogue generates them (2 holds all of 1).
  const published = join(work, 'published-delivery');
  await generateKneeXrayDelivery({
    out: published,
    scale: 0.25,
    seed: demoDatasetSeed(1, SLUG),
    delivery: 2,
  });
  identifiers = [...(await identifiersOf(delivery)), ...(await identifiersOf(published))];
  expect(identifiers.length).toBeGreaterThan(40);
  await withDataDir(dataDir, async (ctx) => {
    const versions = await seedDemoCatalogue(ctx.services, { scale: 0.25, datasets: [SLUG] });
    expect(versions).toEqual([`${SLUG} 1.0`, `${SLUG} 1.1`]);
    publishedBefore = await versionState(ctx, 'published');
  });
  await cp(dataDir, referenceDir, { recursive: true });
  referenceDraft = await withDataDir(referenceDir, async (ctx) => {
    const report = await ctx.services.ingest.ingestDirectory(delivery, { actor: 'system:lantern' });
    expect(report.counts.stored).toBeGreaterThan(0);
    return draftState(ctx);
  });
}, 300_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('ingest killed with SIGKILL mid-way (PGlite data directory)', () => {
  // One crash on top of the other. n counts puts: the three tables' CSVs, then each stored file;
  // `held` cues count the quarantine's puts (images held for burned-in text) apart.
  const crashes = [
    { cue: 'put:5:after', what: 'after two DICOM files are stored, before any row refers to them' },
    { cue: 'put:2:mid', what: "mid-table: the second table's CSV half-written" },
    { cue: 'put:9:after', what: 'after six DICOM files are stored again' },
    { cue: 'held:1:after', what: 'right after an image held for burned-in text is quarantined' },
    { cue: 'held:1:mid', what: 'mid-way through quarantining a held image' },
    { cue: 'phase:scanning', what: 'with every row of the draft written, the run not yet done' },
  ];
  for (const { cue, what } of crashes) {
    it(`${what} (${cue}): previous state kept, nothing dangling, nothing identifying`, async () => {
      const { signal, out } = await ingestAndDie(cue);
      expect(signal, out).toBe('SIGKILL');
      await withDataDir(dataDir, async (ctx) => {
        const db = ctx.database.db;
        // The start marked the run interrupted.
        const runs = await db
          .selectFrom('ingest_run')
          .select(['status', 'error'])
          .orderBy('started_at', 'desc')
          .execute();
        expect(runs.filter((run) => run.status === 'running')).toEqual([]);
        expect(runs[0]).toEqual({ status: 'failed', error: INTERRUPTED });
        // Its draft cannot be published until the delivery is ingested again.
        const preview = await ctx.services.catalog.preview(SLUG);
        expect(preview.problems).toContainEqual(
          expect.objectContaining({ code: 'ingest-unfinished', severity: 'blocking' }),
        );
        const refused = await ctx.services.catalog
          .publish('system:lantern', SLUG, { notes: 'crashed' })
          .then(
            () => null,
            (error: unknown) => error,
          );
        expect(refused).toBeInstanceOf(AppError);
        expect(refused).toMatchObject({ code: 'conflict' });
        // No published version changed.
        expect(await versionState(ctx, 'published')).toBe(publishedBefore);
        // Every version file's object is there.
        const files = await db.selectFrom('dataset_version_file').select('object_key').execute();
        expect(files.length).toBeGreaterThan(0);
        for (const file of files) {
          expect(await ctx.objectStore.head(file.object_key), file.object_key).not.toBeNull();
        }
        // Nothing stored or half-written holds a source identifier.
        expect(await leaks(ctx)).toEqual([]);
        // The sweep removes what the crash left, and only that.
        const swept = await ctx.services.objectSweep.sweep();
        expect(swept.skipped).toBeNull();
        if (cue.startsWith('put:') && cue.endsWith(':after')) {
          expect(swept.deleted).toBeGreaterThan(0);
        }
        if (cue.startsWith('put:') && cue.endsWith(':mid')) {
          expect(swept.unfinished).toBeGreaterThan(0);
        }
        const referenced = await objectReferenceRepository.keys(db);
        const unreferenced: string[] = [];
        for await (const object of ctx.objectStore.list()) {
          if (!referenced.has(object.key)) {
            unreferenced.push(object.key);
          }
        }
        expect(unreferenced).toEqual([]);
        expect(await readdir(join(dataDir, 'objects', '.tmp'))).toEqual([]);
        // The quarantine too: a held image quarantined by the crashed run is no draft's to review.
        const quarantined = await ctx.services.quarantineSweep.sweep();
        if (cue.startsWith('held:') && cue.endsWith(':after')) {
          expect(quarantined.deleted).toBeGreaterThan(0);
        }
        const scratch = join(dataDir, INGEST_SCRATCH_DIR);
        if (cue.startsWith('held:') && cue.endsWith(':mid')) {
          // Killed before the quarantine took the held image: the worker's de-identified file
          // is where it wrote it, in the scratch area, until the janitor's sweep.
          const left = await readdir(scratch, { recursive: true, withFileTypes: true });
          expect(left.filter((entry) => entry.isFile()).length).toBeGreaterThan(0);
        }
        await sweepFolders(scratch, new Date(Date.now() + 60_000));
        expect(await readdir(scratch).catch(() => [])).toEqual([]);
        const held = await heldFileRepository.quarantineKeys(db);
        for await (const object of ctx.quarantineStore.list()) {
          expect(held.has(object.key), object.key).toBe(true);
        }
        expect(await readdir(join(dataDir, 'quarantine', '.tmp'))).toEqual([]);
        for (const file of files) {
          expect(await ctx.objectStore.head(file.object_key), file.object_key).not.toBeNull();
        }
        expect(await versionState(ctx, 'published')).toBe(publishedBefore);
      });
    }, 120_000);
  }

  it('re-running the delivery ends done, with the draft an uninterrupted run makes', async () => {
    await withDataDir(dataDir, async (ctx) => {
      const report = await ctx.services.ingest.ingestDirectory(delivery, {
        actor: 'system:lantern',
      });
      const run = await ctx.database.db
        .selectFrom('ingest_run')
        .select('status')
        .where('id', '=', report.id)
        .executeTakeFirstOrThrow();
      expect(run.status).toBe('done');
      expect(await draftState(ctx)).toBe(referenceDraft);
      expect(await versionState(ctx, 'published')).toBe(publishedBefore);
      const preview = await ctx.services.catalog.preview(SLUG);
      expect(preview.problems.map((p) => p.code)).not.toContain('ingest-unfinished');
      const swept = await ctx.services.objectSweep.sweep();
      expect(swept.skipped).toBeNull();
      const referenced = await objectReferenceRepository.keys(ctx.database.db);
      for await (const object of ctx.objectStore.list()) {
        expect(referenced.has(object.key), object.key).toBe(true);
      }
      expect(await leaks(ctx)).toEqual([]);
    });
  }, 120_000);
});
