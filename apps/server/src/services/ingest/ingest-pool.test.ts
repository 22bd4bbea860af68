/**
 * The ingest's worker processes (ingest-pool.ts): a delivery ingested with its files taken two at
 * a time in two worker processes makes the very draft, objects, counts and progress that one taken
 * by one worker process makes, for DICOM radiographs and for a delivery mixing every native format
 * (DICOM, slides, MUSE XML, NumPy, WFDB); a hostile file of each kind fails with the typed error
 * file-ingest.ts throws in this thread, unchanged across the process boundary, and the pool goes on; and a worker process that dies
 * mid-run fails the run with an IngestWorkerError naming the published file, leaving a draft that
 * an ingest run again completes. Real worker processes, real stores, PGlite data directories
 * sharing one deployment key (so that pseudonyms, and so bytes, agree).
 */
import { execFile, spawn } from 'node:child_process';
import { constants, readFileSync } from 'node:fs';
import {
  cp,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DicomDeidError, MuseDeidError, SlideDeidError } from '@lantern/deid';
import { FormatError, formatCsvRow, readEcgNpz, writeNpy, writeWfdb } from '@lantern/formats';
import {
  generateArrestEcgDelivery,
  generateBrcaPathDelivery,
  generateKneeXrayDelivery,
  KNEE_XRAY_SLUG,
} from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../config.js';
import { createContext, type AppContext } from '../../context.js';
import { DeploymentKey } from '../../crypto/deployment-key.js';
import { createLogger } from '../../logging.js';
import { CatalogService } from '../catalog/catalog.service.js';
import { ReadBuffer } from './dicom-ingest.js';
import { HeldFilesService } from './held-files.service.js';
import {
  IngestSystemError,
  storeWritten,
  sweepFolders,
  writeNativeFile,
  type FileJob,
} from './file-ingest.js';
import { INGEST_SCRATCH_DIR, IngestPool, IngestWorkerError } from './ingest-pool.js';
import { IngestService, type IngestProgress, type IngestReport } from './ingest.service.js';

const SLUG = KNEE_XRAY_SLUG;
const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const ORPHAN = fileURLToPath(new URL('../../testing/ingest-pool-orphan.ts', import.meta.url));

let work: string;
let delivery: string;
let keyFile: string;
/** What one ingest with one worker process made, to compare the others with. */
let oneWorker: string;

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

/** The files (not folders) in a scratch area, at any depth. */
async function scratchFiles(scratch: string): Promise<string[]> {
  const entries = await readdir(scratch, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => entry.name);
}

/** An ingest service of `ctx` whose DICOM files go through `pool`. */
async function ingestService(ctx: AppContext, pool: IngestPool): Promise<IngestService> {
  const key = await DeploymentKey.load(keyFile);
  const catalog = new CatalogService(ctx.database.db, ctx.services.audit, ctx.objectStore);
  return new IngestService(
    ctx.database.db,
    ctx.services.audit,
    catalog,
    key.pseudonymKey(),
    pool,
    new HeldFilesService(ctx.database.db, ctx.services.audit, catalog, stores(ctx)),
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

/** Ingests a delivery (the knee radiographs') into a new data directory through a pool of `workers`. */
async function ingestWith(name: string, workers: number, from = delivery): Promise<string> {
  return withDataDir(name, async (ctx) => {
    const pool = new IngestPool({ workers, stores: stores(ctx) });
    try {
      const ingest = await ingestService(ctx, pool);
      const progress: IngestProgress[] = [];
      const report = await ingest.ingestDirectory(from, {
        actor: 'system:lantern',
        onProgress: (p) => progress.push(p),
      });
      expect(pool.workersStarted).toBe(workers);
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
  oneWorker = await ingestWith('one-worker', 1);
}, 300_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the ingest worker pool', () => {
  it('makes byte for byte the same draft, objects, counts and progress with 2 workers as with 1', async () => {
    const state = JSON.parse(oneWorker) as { files: unknown[]; held: unknown[]; counts: unknown };
    // Enough to interleave: many DICOM files stored, some held in the quarantine.
    expect(state.files.length).toBeGreaterThan(20);
    expect(state.held.length).toBeGreaterThan(0);
    // Each phase's last report is its whole: no bar is left at N-1 of N.
    const { progress } = JSON.parse(oneWorker) as { progress: IngestProgress[] };
    for (const phase of ['tables', 'files'] as const) {
      const last = progress.filter((p) => p.phase === phase).at(-1);
      expect(last?.total).toBeGreaterThan(0);
      expect(last?.done).toBe(last?.total);
    }
    expect(await ingestWith('two-workers', 2)).toBe(oneWorker);
  }, 300_000);

  it('rejects a file that is not DICOM with the same FormatError in a worker as file-ingest.ts throws here', async () => {
    await withDataDir('not-dicom', async (ctx) => {
      const path = join(work, 'not-dicom.dcm');
      await writeFile(path, Buffer.alloc(200, 0x41));
      const job: FileJob = {
        kind: 'dicom',
        path,
        name: 'files/x.dcm',
        shiftDays: -10,
        uidKey: new Uint8Array(32).fill(1),
        pseudonym: { patientId: 'P', patientName: 'P' },
      };
      const failed = (outcome: Promise<unknown>) =>
        outcome.then(
          () => null,
          (error: unknown) => error,
        );
      const here = await failed(
        writeNativeFile(job, join(work, 'not-dicom-scratch'), new ReadBuffer()),
      );
      const pool = new IngestPool({ workers: 2, stores: stores(ctx) });
      const there = await failed(pool.ingestFile(job)).finally(() => pool.close());
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

  it('names the exit of a worker that dies as files are sent to it, never the failed send', async () => {
    await withDataDir('dies-while-sent', async (ctx) => {
      // Each worker exits when given its second file, as soon as its first is answered: the pool
      // sends the next file on that answer, as the worker goes, and the send can fail (EPIPE)
      // before the exit is seen. The files are not DICOM, so each answer is a FormatError.
      const pool = new IngestPool({ workers: 1, stores: stores(ctx), exitAtFile: 2 });
      const path = join(work, 'dies-while-sent.dcm');
      await writeFile(path, Buffer.alloc(200, 0x41));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, index) =>
          pool.ingestFile({
            kind: 'dicom',
            path,
            name: `files/${index}.dcm`,
            shiftDays: 0,
            uidKey: new Uint8Array(32).fill(1),
            pseudonym: { patientId: 'P', patientName: 'P' },
          }),
        ),
      ).finally(() => pool.close());
      const causes = outcomes.map((outcome, index) => {
        expect(outcome.status).toBe('rejected');
        const reason = (outcome as PromiseRejectedResult).reason as Error;
        if (reason instanceof FormatError) {
          return 'not dicom';
        }
        expect(reason).toBeInstanceOf(IngestWorkerError);
        expect(reason.message).toBe(
          `the ingest worker process taking files/${index}.dcm exited with code 7; the ingest can be run again`,
        );
        return 'exited';
      });
      expect(causes).toContain('not dicom');
      expect(causes).toContain('exited');
    });
  });

  it('fails the run when a worker process dies, and the ingest run again completes its draft', async () => {
    const state = await withDataDir('worker-dies', async (ctx) => {
      // Each worker process exits (code 7) when given its third file: the run has several more.
      const dying = new IngestPool({ workers: 2, stores: stores(ctx), exitAtFile: 3 });
      try {
        const ingest = await ingestService(ctx, dying);
        const failed = ingest.ingestDirectory(delivery, { actor: 'system:lantern' });
        await expect(failed).rejects.toThrow(IngestWorkerError);
        await expect(failed).rejects.toThrow(
          /^the ingest worker process taking xrays\/\S+\.dcm exited with code 7; the ingest can be run again$/u,
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
          error: expect.stringMatching(/^the ingest worker process taking xrays\//u) as unknown,
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
    const expected = JSON.parse(oneWorker) as Record<string, unknown>;
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

  it('keeps the folder of a worker alive out of the scratch sweep, and sweeps a dead one', async () => {
    await withDataDir('sweep-live', async (ctx) => {
      const scratch = join(work, 'sweep-live', INGEST_SCRATCH_DIR);
      const long = new Date(Date.now() - 3_600_000);
      // What a worker killed mid-file left: its folder, and a file in it, an hour old.
      const dead = join(scratch, 'worker-dead');
      await mkdir(dead, { recursive: true });
      await writeFile(join(dead, '7'), 'de-identified bytes');
      await utimes(join(dead, '7'), long, long);
      await utimes(dead, long, long);
      const path = join(work, 'sweep-live.npy');
      await writeFile(path, writeNpy({ data: new Int16Array([1, -2, 3]), shape: [3] }));
      const job = (index: number): FileJob => ({
        kind: 'numpy',
        path,
        name: `ecgs/${index}.npy`,
        shiftDays: 0,
      });
      const pool = new IngestPool({ workers: 1, stores: stores(ctx) });
      try {
        expect(await pool.ingestFile(job(1))).toMatchObject({ kind: 'stored' });
        const [live] = (await readdir(scratch)).filter((name) => name !== 'worker-dead');
        // Idle since long ago, as far as its times tell: alive all the same.
        await utimes(join(scratch, live ?? ''), long, long);
        expect(await pool.sweepScratch(new Date())).toBe(1);
        expect(await readdir(scratch)).toEqual([live]);
        // Its folder is there for its next file, which it writes and the store takes.
        expect(await pool.ingestFile(job(2))).toMatchObject({ kind: 'stored' });
        expect(await readdir(join(scratch, live ?? ''))).toEqual([]);
      } finally {
        await pool.close();
      }
      // Ended with the pool: its folder goes with the next sweep.
      expect(await pool.sweepScratch(new Date(Date.now() + 60_000))).toBe(1);
      expect(await readdir(scratch)).toEqual([]);
    });
  });

  it('ends its worker processes when the server dies with them mid-file (DICOM and slide), and nothing more is stored', async () => {
    const dataDir = join(work, 'orphans');
    await mkdir(dataDir, { recursive: true });
    const xrays = (await readdir(join(delivery, 'files'), { recursive: true }))
      .filter((name) => name.endsWith('.dcm'))
      .slice(0, 2)
      .map((name) => join(delivery, 'files', name));
    const fifos = [join(work, 'never-written-1.dcm'), join(work, 'never-written-2.dcm')];
    await promisify(execFile)('mkfifo', fifos);
    const server = spawn(
      process.execPath,
      ['--conditions=lantern-source', '--import', 'tsx', ORPHAN, dataDir, ...xrays, ...fifos],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pids = await new Promise<number[]>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = /^workers (\d+) (\d+)$/mu.exec(out);
        if (line !== null) {
          resolve([Number(line[1]), Number(line[2])]);
        }
      });
      server.once('exit', (code) => reject(new Error(`the stand-in exited (${code}): ${out}`)));
    });
    expect(pids.every(isRunning)).toBe(true);
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
    // Their IPC channel closed with their parent: both end, held in their read or not.
    await vi.waitFor(() => expect(pids.filter(isRunning)).toEqual([]), {
      timeout: 60_000,
      interval: 50,
    });
    // No one is left reading the pipes (so no worker can store what would come through them) …
    for (const fifo of fifos) {
      await expect(open(fifo, constants.O_WRONLY | constants.O_NONBLOCK)).rejects.toMatchObject({
        code: 'ENXIO',
      });
    }
    // … and the stores hold the two files taken before (stored, or held for review), whole, and
    // no temporary file.
    const objects: string[] = [];
    for (const store of ['objects', 'quarantine']) {
      expect(await readdir(join(dataDir, store, '.tmp'))).toEqual([]);
      const names = await readdir(join(dataDir, store), { recursive: true });
      objects.push(
        ...names.filter((name) => name.startsWith('sha256/') && name.split('/').length === 3),
      );
    }
    expect(objects).toHaveLength(2);
    // The slide's folder in the scratch area, if its worker made it before it ended, holds no
    // byte, and goes with the janitor's sweep.
    const scratch = join(dataDir, INGEST_SCRATCH_DIR);
    const left = await readdir(scratch, { recursive: true, withFileTypes: true }).catch(() => []);
    expect(left.filter((entry) => entry.isFile())).toEqual([]);
    await sweepFolders(scratch, new Date(Date.now() + 60_000));
    expect(await readdir(scratch).catch(() => [])).toEqual([]);
  }, 120_000);
});

/** Whether the process runs (a zombie, ended but not yet reaped by init, does not). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * A delivery of every native format the ingest reads, from the synthetic generators: knee
 * radiographs (DICOM, some held for burned-in text), breast biopsy slides (tiled TIFF with label
 * and macro), arrest ECGs (NumPy `.npz` and GE MUSE XML), WFDB records written here (header and
 * signal files, one that cannot be read), and a file no de-identifier reads. One table names them
 * all, a few patients sharing them.
 */
async function writeMixedDelivery(out: string): Promise<void> {
  const sources = join(work, 'mixed-sources');
  await generateKneeXrayDelivery({ out: join(sources, 'xray'), scale: 0.1, seed: 31 });
  await generateBrcaPathDelivery({
    out: join(sources, 'slides'),
    seed: 31,
    patients: 2,
    slideSize: { width: 512, height: 320 },
  });
  await generateArrestEcgDelivery({ out: join(sources, 'ecg'), scale: 0.1, seed: 31 });
  const files: string[] = [];
  for (const kind of ['xray', 'slides', 'ecg']) {
    await cp(join(sources, kind, 'files'), join(out, 'files', kind), { recursive: true });
    const names = await readdir(join(out, 'files', kind), { recursive: true, withFileTypes: true });
    files.push(
      ...names
        .filter((entry) => entry.isFile())
        .map((entry) => relative(join(out, 'files'), join(entry.parentPath, entry.name))),
    );
  }
  // WFDB records of the first ECGs' samples, their headers with a hospital's comments.
  await mkdir(join(out, 'files', 'wfdb'), { recursive: true });
  const npzs = files.filter((file) => file.endsWith('.npz')).slice(0, 3);
  for (const [index, npz] of npzs.entries()) {
    const ecg = readEcgNpz(new Uint8Array(await readFile(join(out, 'files', npz))), { name: npz });
    const record = writeWfdb(ecg, {
      recordName: `rec${index}`,
      format: 16,
      gain: 1,
      units: 'uV',
      comments: [`Patient: Jane Quinlan MRN 445566${index}`, 'Age: 69'],
    });
    await writeFile(join(out, 'files', 'wfdb', `rec${index}.hea`), record.header);
    for (const [name, bytes] of record.files) {
      await writeFile(join(out, 'files', 'wfdb', name), bytes);
    }
    files.push(`wfdb/rec${index}.hea`);
  }
  // A record whose signal file is cut short: held back, nothing of it stored.
  await writeFile(
    join(out, 'files', 'wfdb', 'short.hea'),
    'short 1 500 5000\nshort.dat 16 200 16 0\n',
  );
  await writeFile(join(out, 'files', 'wfdb', 'short.dat'), new Uint8Array(100));
  files.push('wfdb/short.hea');
  // A PNG: no de-identifier reads it.
  await writeFile(join(out, 'files', 'photo.png'), Buffer.from('89504e470d0a1a0a0000000d', 'hex'));
  files.push('photo.png');
  await mkdir(join(out, 'tables'), { recursive: true });
  const rows = files
    .sort()
    .map((file, i) =>
      formatCsvRow([
        `${7100 + (i % 5)}`,
        `ACC-${i}`,
        `2021-06-${String((i % 28) + 1).padStart(2, '0')}`,
        file,
      ]),
    );
  await writeFile(
    join(out, 'tables', 'studies.csv'),
    [formatCsvRow(['mrn', 'accession', 'acquired', 'path']), ...rows].join(''),
  );
  await writeFile(
    join(out, 'delivery.yaml'),
    `dataset: mixed-formats-test
partner: Example Health System
tables:
  - name: studies
    file: tables/studies.csv
    patient: mrn
    study: accession
    files: path
    dates: [acquired]
`,
  );
}

describe('the ingest worker pool with every native format', () => {
  let mixed: string;

  beforeAll(async () => {
    mixed = join(work, 'mixed');
    await writeMixedDelivery(mixed);
  }, 300_000);

  it('stores a delivery of DICOM, slides, MUSE, NumPy and WFDB with 2 workers as with 1', async () => {
    const one = await ingestWith('mixed-one', 1, mixed);
    const state = JSON.parse(one) as {
      files: { path: string }[];
      held: { path: string; format: string }[];
    };
    // Every kind stored (WFDB with its signal files), and held: DICOM for review, the rest unread.
    for (const ending of ['.dcm', '.svs', '.npz', '.xml', '.hea', '.dat']) {
      expect(state.files.some((f) => f.path.endsWith(ending))).toBe(true);
    }
    expect(new Set(state.held.map((h) => h.format))).toEqual(new Set(['dicom', 'unreadable']));
    expect(state.held.filter((h) => h.format === 'unreadable').map((h) => h.path)).toHaveLength(2);
    expect(await ingestWith('mixed-two', 2, mixed)).toBe(one);
    // No file is left in the scratch area (each worker's folder stays, for its next file).
    for (const name of ['mixed-one', 'mixed-two']) {
      expect(await scratchFiles(join(work, name, INGEST_SCRATCH_DIR))).toEqual([]);
    }
  }, 300_000);

  it('fails a hostile file of each kind with its typed error inside a worker, and the pool goes on', async () => {
    const hostile = join(work, 'hostile');
    await mkdir(hostile, { recursive: true });
    const write = async (name: string, bytes: Uint8Array | string) => {
      await writeFile(join(hostile, name), bytes);
      return join(hostile, name);
    };
    const slide = await firstFile(join(mixed, 'files', 'slides'), '.svs');
    const xray = await firstFile(join(mixed, 'files', 'xray'), '.dcm');
    const base = { shiftDays: -30 };
    const dicom = {
      kind: 'dicom' as const,
      uidKey: new Uint8Array(32).fill(5),
      pseudonym: { patientId: 'P1', patientName: 'P1' },
    };
    // A DICOM preamble whose first element claims more bytes than the file has.
    const truncatedDicom = Buffer.concat([
      Buffer.alloc(128),
      Buffer.from('DICM'),
      Buffer.from([0x02, 0x00, 0x10, 0x00, 0x55, 0x49, 0xff, 0x7f]),
    ]);
    const cases: { job: FileJob; error: new (...args: never[]) => Error; code: string }[] = [
      {
        job: { ...dicom, ...base, path: await write('cut.dcm', truncatedDicom), name: 'x/cut.dcm' },
        error: FormatError,
        code: 'invalid_dicom',
      },
      {
        job: { ...dicom, path: xray, name: 'x/half-day.dcm', shiftDays: 0.5 },
        error: DicomDeidError,
        code: 'invalid_option',
      },
      {
        // A TIFF whose first directory is beyond its end.
        job: {
          kind: 'slide',
          ...base,
          path: await write('cut.svs', Buffer.from('49492a00ffff0000', 'hex')),
          name: 'x/cut.svs',
        },
        error: FormatError,
        code: 'truncated',
      },
      {
        job: { kind: 'slide', path: slide, name: 'x/half-day.svs', shiftDays: 0.5 },
        error: SlideDeidError,
        code: 'invalid_option',
      },
      {
        job: {
          kind: 'muse',
          ...base,
          pseudonym: { patientId: 'P1' },
          path: await write('cut.xml', '<?xml version="1.0"?><RestingECG><PatientDemographics>'),
          name: 'x/cut.xml',
        },
        error: FormatError,
        code: 'invalid_xml',
      },
      {
        job: {
          kind: 'muse',
          ...base,
          pseudonym: { patientId: 'P1' },
          path: await write('page.xml', '<?xml version="1.0"?><html><body/></html>'),
          name: 'x/page.xml',
        },
        error: MuseDeidError,
        code: 'not_muse',
      },
      {
        // Removed between the sniff and the worker's read: the error names the published file.
        job: { kind: 'numpy', ...base, path: join(hostile, 'gone.npz'), name: 'x/gone.npz' },
        error: IngestSystemError,
        code: 'ENOENT',
      },
    ];
    await withDataDir('hostile', async (ctx) => {
      const scratch = join(work, 'hostile', INGEST_SCRATCH_DIR);
      const pool = new IngestPool({ workers: 2, stores: stores(ctx) });
      try {
        const failed = (outcome: Promise<unknown>) =>
          outcome.then(
            () => null,
            (e: unknown) => e,
          );
        // All at once: both workers take some.
        const errors = await Promise.all(cases.map(({ job }) => failed(pool.ingestFile(job))));
        expect(pool.workersStarted).toBe(2);
        for (const [i, { job, error, code }] of cases.entries()) {
          const here = errors[i];
          expect(here, job.name).toBeInstanceOf(error);
          expect(here).toMatchObject({ code });
          // The same error as file-ingest.ts throws in this thread.
          const there = await failed(writeNativeFile(job, scratch, new ReadBuffer()));
          expect(there).toBeInstanceOf(error);
          expect(there).toMatchObject({
            code,
            message: here instanceof Error ? here.message : null,
          });
        }
        // A WFDB header that cannot be read is held back, as in the delivery, by the worker.
        const wfdb: FileJob = {
          kind: 'wfdb',
          ...base,
          path: await write('odd.hea', 'odd 1 500 10\n../../etc/passwd 16 200 16 0\n'),
          name: 'x/odd.hea',
        };
        const held = await pool.ingestFile(wfdb);
        expect(held).toMatchObject({ kind: 'held', format: 'unreadable', quarantined: null });
        expect(
          await storeWritten(await writeNativeFile(wfdb, scratch, new ReadBuffer()), stores(ctx)),
        ).toEqual(held);
        // Nothing stored, no temporary file left (the scratch area its owner's alone) …
        const listed: string[] = [];
        for await (const object of ctx.objectStore.list()) {
          listed.push(object.key);
        }
        expect(listed).toEqual([]);
        expect(await scratchFiles(scratch)).toEqual([]);
        for (const folder of ['', ...(await readdir(scratch))]) {
          expect((await stat(join(scratch, folder))).mode & 0o077).toBe(0);
        }
        expect(await readdir(join(work, 'hostile', 'objects', '.tmp'))).toEqual([]);
        // … and the same two workers take the next file.
        const pids = pool.workerPids;
        expect(pids).toHaveLength(2);
        await expect(
          pool.ingestFile({ ...dicom, ...base, path: xray, name: 'x/ok.dcm' }),
        ).resolves.toMatchObject({ kind: 'stored' });
        expect(pool.workersStarted).toBe(2);
        expect(pool.workerPids).toEqual(pids);
      } finally {
        await pool.close();
      }
    });
  }, 120_000);
});

/** The first file under `dir` whose name ends with `ending`. */
async function firstFile(dir: string, ending: string): Promise<string> {
  const name = (await readdir(dir, { recursive: true })).find((n) => n.endsWith(ending));
  if (name === undefined) {
    throw new Error(`no ${ending} file under ${dir}`);
  }
  return join(dir, name);
}
