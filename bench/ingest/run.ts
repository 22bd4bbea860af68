/**
 * Ingest benchmark (issue 6): DICOM de-identification throughput.
 *
 * One corpus of synthetic computed radiographs (CR, 512² to 2048², 16-bit, full identifying
 * headers: patient, physicians, institution, accession, dates, UIDs, a private block), written by
 * @lantern/formats' writer from a seeded generator, is de-identified by
 * - Lantern: the server's own path for a DICOM file of a delivery (`ingestDicomFile`: read whole,
 *   `deidentifyDicom` with the PS3.15 basic profile, modified dates, keyed UID remapping and the
 *   SHA-256 of every output byte once, then one gathered write into a local object store under
 *   that hash, temporary file and rename), through the server's IngestPool as
 *   LANTERN_INGEST_WORKERS=1 (the main thread) and =2 (two worker threads) run it; twice, with the store's
 *   fsync of each object before its rename (as the server runs) and without (as the peers write:
 *   neither flushes anything);
 * - GDCM's `gdcmanon` (its PS3.15 E.1.1 basic profile, which encrypts the replaced attributes for
 *   a certificate, here a self-signed one openssl makes), one process per worker over its share;
 * - dcmtk's `dcmodify` (erase every X attribute of the table, empty every Z one, erase private
 *   data, new study, series and instance UIDs; in place on a copy made before timing), one process
 *   per worker.
 * Each timed run starts after `sync`, so that none pays for the dirty pages of the one before.
 * Files/s and MB/s (input bytes), medians of `--rounds`; the ratios to gdcmanon are printed. Target
 * (from the issue): at least 1.0x gdcmanon with 2 workers, judged like for like (without fsync, as
 * gdcmanon writes), the flushed rate beside it. A measurement: it exits 0 whether or not the
 * target is met, non-zero only on errors.
 *
 *   node --conditions=lantern-source --import tsx bench/ingest/run.ts [--files 200] [--rounds 3]
 *     [--min-size 512] [--max-size 2048] [--seed 6] [--out bench/out/ingest.json]
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { BASIC_PROFILE } from '@lantern/deid';
import { dicomDataset, EXPLICIT_VR_LITTLE_ENDIAN, TAG, writeDicom } from '@lantern/formats';
import { Random } from '@lantern/synth';
import { IngestPool, type DicomJob } from '../../apps/server/src/services/ingest/ingest-pool.js';
import { LocalObjectStore } from '../../apps/server/src/storage/object-store.js';

const execFileAsync = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');

const TARGET_RATIO = 1.0;
const WORKER_COUNTS = [1, 2] as const;
/** The bench's own secrets: the corpus is synthetic, the key is not a deployment's. */
const BENCH_KEY = new TextEncoder().encode('lantern-bench-ingest');

interface Options {
  files: number;
  rounds: number;
  minSize: number;
  maxSize: number;
  seed: number;
  outFile: string;
}

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) {
    return fallback;
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`--${name} must be a positive integer, not ${JSON.stringify(text)}`);
  }
  return value;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      files: { type: 'string' },
      rounds: { type: 'string' },
      'min-size': { type: 'string' },
      'max-size': { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const minSize = positiveInteger('min-size', values['min-size'], 512);
  const maxSize = positiveInteger('max-size', values['max-size'], 2048);
  if (maxSize < minSize) {
    throw new Error('--max-size must be at least --min-size');
  }
  return {
    files: positiveInteger('files', values.files, 200),
    rounds: positiveInteger('rounds', values.rounds, 3),
    minSize,
    maxSize,
    seed: positiveInteger('seed', values.seed, 6),
    outFile: resolve(REPO_ROOT, values.out ?? 'bench/out/ingest.json'),
  };
}

// ---------------------------------------------------------------------------------------------
// The corpus

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** One synthetic radiograph with a full, identifying (made-up) header. Labelled synthetic. */
function radiograph(index: number, random: Random, options: Options): Uint8Array {
  const size = 2 * Math.floor(random.integer(options.minSize, options.maxSize) / 2);
  const pixels = new Uint8Array(size * size * 2);
  const view = new DataView(pixels.buffer);
  const centre = size / 2;
  const noise = random.integer(0, 255);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      // A bright disc (a bone's cross-section, at a glance) over a gradient, 12 bits.
      const r2 = (x - centre) ** 2 + (y - centre) ** 2;
      const value = (r2 < (size / 4) ** 2 ? 3000 : 800 + ((x + y) & 511)) + ((x * y + noise) & 63);
      view.setUint16((y * size + x) * 2, value, true);
    }
  }
  const patient = random.integer(1, 99_999);
  const study = `1.2.826.0.1.3680043.10.1234.${patient}.${index % 7}`;
  const date = `20${pad(random.integer(10, 24), 2)}${pad(random.integer(1, 12), 2)}${pad(random.integer(1, 28), 2)}`;
  const dataset = dicomDataset([
    { tag: TAG.SpecificCharacterSet, vr: 'CS', value: 'ISO_IR 100' },
    { tag: TAG.ImageType, vr: 'CS', value: ['ORIGINAL', 'PRIMARY'] },
    { tag: TAG.InstanceCreationDate, vr: 'DA', value: date },
    { tag: TAG.SOPClassUID, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.1' },
    { tag: TAG.SOPInstanceUID, vr: 'UI', value: `${study}.1.${index}` },
    { tag: TAG.StudyDate, vr: 'DA', value: date },
    { tag: TAG.SeriesDate, vr: 'DA', value: date },
    { tag: TAG.AcquisitionDate, vr: 'DA', value: date },
    { tag: TAG.ContentDate, vr: 'DA', value: date },
    { tag: TAG.StudyTime, vr: 'TM', value: '101500' },
    { tag: TAG.AccessionNumber, vr: 'SH', value: `ACC${pad(index, 7)}` },
    { tag: TAG.Modality, vr: 'CS', value: 'CR' },
    { tag: TAG.Manufacturer, vr: 'LO', value: 'SYNTHETIC MODALITY CO' },
    { tag: TAG.InstitutionName, vr: 'LO', value: 'Synthetic General Hospital' },
    { tag: TAG.InstitutionAddress, vr: 'ST', value: '1 Synthetic Way, Nowhere' },
    { tag: TAG.ReferringPhysicianName, vr: 'PN', value: 'Synthetic^Referrer' },
    { tag: TAG.StationName, vr: 'SH', value: 'SYNTHCR01' },
    { tag: TAG.StudyDescription, vr: 'LO', value: 'KNEE 2 VIEWS (synthetic)' },
    { tag: TAG.OperatorsName, vr: 'PN', value: 'Synthetic^Operator' },
    { tag: TAG.PatientName, vr: 'PN', value: `Synthetic^Patient${patient}` },
    { tag: TAG.PatientID, vr: 'LO', value: `SYN${pad(patient, 6)}` },
    { tag: TAG.PatientBirthDate, vr: 'DA', value: '19600101' },
    { tag: TAG.PatientSex, vr: 'CS', value: random.chance(0.5) ? 'F' : 'M' },
    { tag: TAG.PatientAddress, vr: 'LO', value: '2 Synthetic Street' },
    { tag: TAG.PatientComments, vr: 'LT', value: 'SYNTHETIC DATA: no real person' },
    { tag: TAG.BodyPartExamined, vr: 'CS', value: 'KNEE' },
    { tag: TAG.DeviceSerialNumber, vr: 'LO', value: 'SN-SYNTH-1' },
    { tag: TAG.ViewPosition, vr: 'CS', value: 'AP' },
    { tag: TAG.StudyInstanceUID, vr: 'UI', value: study },
    { tag: TAG.SeriesInstanceUID, vr: 'UI', value: `${study}.1` },
    { tag: TAG.StudyID, vr: 'SH', value: `S${index}` },
    { tag: TAG.SeriesNumber, vr: 'IS', value: 1 },
    { tag: TAG.InstanceNumber, vr: 'IS', value: index + 1 },
    { tag: 0x00090010, vr: 'LO', value: 'SYNTHETIC PRIVATE' },
    { tag: 0x00091001, vr: 'LO', value: `Synthetic^Patient${patient}` },
    { tag: TAG.SamplesPerPixel, vr: 'US', value: 1 },
    { tag: TAG.PhotometricInterpretation, vr: 'CS', value: 'MONOCHROME2' },
    { tag: TAG.Rows, vr: 'US', value: size },
    { tag: TAG.Columns, vr: 'US', value: size },
    { tag: TAG.PixelSpacing, vr: 'DS', value: [0.15, 0.15] },
    { tag: TAG.BitsAllocated, vr: 'US', value: 16 },
    { tag: TAG.BitsStored, vr: 'US', value: 12 },
    { tag: TAG.HighBit, vr: 'US', value: 11 },
    { tag: TAG.PixelRepresentation, vr: 'US', value: 0 },
    { tag: TAG.BurnedInAnnotation, vr: 'CS', value: 'NO' },
    { tag: TAG.PixelData, vr: 'OW', value: pixels },
  ]);
  return writeDicom({ dataset, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
}

async function writeCorpus(
  dir: string,
  options: Options,
): Promise<{ files: string[]; bytes: number }> {
  const random = new Random(options.seed);
  const files: string[] = [];
  let bytes = 0;
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < options.files; i += 1) {
    const data = radiograph(i, random, options);
    const file = join(dir, `cr-${pad(i, 5)}.dcm`);
    await writeFile(file, data);
    files.push(file);
    bytes += data.length;
  }
  return { files, bytes };
}

/** Splits files into `parts` shares, round robin. */
function shares<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => out[i % parts]?.push(item));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lantern, through the server's ingest pool

/**
 * A pool as the server makes one (LANTERN_INGEST_WORKERS = `workers`), storing into local stores
 * in `dataDir` that flush each object before its rename (as the server's do) or not.
 */
async function startPool(workers: number, dataDir: string, fsync: boolean): Promise<IngestPool> {
  const stores = {
    published: new LocalObjectStore(dataDir, 'objects', { fsync }),
    quarantine: new LocalObjectStore(dataDir, 'quarantine', { fsync }),
  };
  await stores.published.init();
  await stores.quarantine.init();
  return new IngestPool({ workers, stores });
}

function benchJob(file: string): DicomJob {
  return {
    path: file,
    name: file.slice(file.lastIndexOf('/') + 1),
    shiftDays: -123,
    uidKey: BENCH_KEY,
    pseudonym: { patientId: 'BENCH-P', patientName: 'BENCH^P' },
  };
}

/** Removes what the pool stored, keeping the stores' folders. */
async function emptyStores(dataDir: string): Promise<void> {
  await rm(join(dataDir, 'objects', 'sha256'), { recursive: true, force: true });
  await rm(join(dataDir, 'quarantine', 'sha256'), { recursive: true, force: true });
}

/** Every file given to the pool at once (it takes them one per thread at a time), timed. */
async function timeLantern(pool: IngestPool, files: string[], dataDir: string): Promise<number> {
  await settle();
  const start = performance.now();
  const outcomes = await Promise.all(files.map((file) => pool.ingestDicom(benchJob(file))));
  const seconds = (performance.now() - start) / 1000;
  const held = outcomes.filter((outcome) => outcome.kind === 'held').length;
  if (held > 0) {
    throw new Error(`${held} radiographs held: the corpus says no burned-in text`);
  }
  await emptyStores(dataDir);
  return seconds;
}

/** Writes every dirty page back, so that a timed run does not pay for the one before it. */
async function settle(): Promise<void> {
  await execFileAsync('sync');
}

// ---------------------------------------------------------------------------------------------
// Peers

async function makeCertificate(dir: string): Promise<{ key: string; cert: string }> {
  const key = join(dir, 'bench.key');
  const cert = join(dir, 'bench.pem');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=lantern-bench',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { key, cert };
}

/** gdcmanon's basic profile, one process per share (each a directory of links to the corpus). */
async function timeGdcmanon(
  files: string[],
  workers: number,
  certificate: { key: string; cert: string },
  work: string,
): Promise<number> {
  const dirs = await Promise.all(
    shares(files, workers).map(async (share, i) => {
      const input = join(work, `gdcm-in-${i}`);
      const output = join(work, `gdcm-out-${i}`);
      await mkdir(input, { recursive: true });
      await mkdir(output, { recursive: true });
      await Promise.all(
        share.map((file) => copyFile(file, join(input, file.slice(file.lastIndexOf('/') + 1)))),
      );
      return { input, output };
    }),
  );
  await settle();
  const start = performance.now();
  await Promise.all(
    dirs.map(({ input, output }) =>
      execFileAsync(
        'gdcmanon',
        [
          '-e',
          '-c',
          certificate.cert,
          '-k',
          certificate.key,
          '--continue',
          '-i',
          input,
          '-o',
          output,
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      ),
    ),
  );
  return (performance.now() - start) / 1000;
}

/** The tags dcmodify erases (X) and empties (Z), from the same PS3.15 table. */
function dcmodifyArguments(): string[] {
  const tag = (value: number) => {
    const hex = value.toString(16).toUpperCase().padStart(8, '0');
    return `(${hex.slice(0, 4)},${hex.slice(4)})`;
  };
  const args = ['-nb', '-imt', '-ep', '-gst', '-gse', '-gin'];
  for (const row of BASIC_PROFILE) {
    if (row.tag >>> 16 === 0x0002 || row.tag >>> 16 === 0x0000) {
      continue;
    }
    if (row.basic === 'X' && row.modifiedDates === null) {
      args.push('-ea', tag(row.tag));
    } else if (
      (row.basic === 'Z' || row.basic === 'X/Z') &&
      row.modifiedDates === null &&
      !row.isSequence
    ) {
      args.push('-ma', `${tag(row.tag)}=`);
    }
  }
  return args;
}

async function timeDcmodify(files: string[], workers: number, work: string): Promise<number> {
  const dir = join(work, 'dcmodify');
  await mkdir(dir, { recursive: true });
  const copies = await Promise.all(
    files.map(async (file) => {
      const copy = join(dir, file.slice(file.lastIndexOf('/') + 1));
      await copyFile(file, copy);
      return copy;
    }),
  );
  const args = dcmodifyArguments();
  await settle();
  const start = performance.now();
  await Promise.all(
    shares(copies, workers).map((share) =>
      execFileAsync('dcmodify', [...args, ...share], { maxBuffer: 64 * 1024 * 1024 }),
    ),
  );
  return (performance.now() - start) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Report

interface Rate {
  filesPerSec: number;
  mbPerSec: number;
}

interface Row {
  workers: number;
  /** The server's path as it runs: each object flushed to the disk before its rename. */
  lantern: Rate;
  /** The same path with the store's fsync left out, as the peers write. */
  lanternNoFsync: Rate;
  gdcmanon: Rate;
  dcmodify: Rate;
  ratioToGdcmanon: number;
  ratioNoFsyncToGdcmanon: number;
  ratioToDcmodify: number;
  ratioNoFsyncToDcmodify: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function rate(files: number, bytes: number, seconds: number): Rate {
  return { filesPerSec: files / seconds, mbPerSec: bytes / 1e6 / seconds };
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function versionOf(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args);
    return `${stdout}${stderr}`.split('\n')[0]?.trim() ?? command;
  } catch (error) {
    const output = error instanceof Error && 'stdout' in error ? String(error.stdout) : '';
    return output.split('\n')[0]?.trim() || command;
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const work = await mkdtemp(join(tmpdir(), 'lantern-bench-ingest-'));
  try {
    log(`writing ${options.files} synthetic radiographs (seed ${options.seed}) …`);
    const corpus = await writeCorpus(join(work, 'corpus'), options);
    log(`corpus: ${options.files} files, ${(corpus.bytes / 1e6).toFixed(1)} MB`);
    const certificate = await makeCertificate(work);
    const rows: Row[] = [];
    for (const workers of WORKER_COUNTS) {
      const pools = new Map<boolean, { pool: IngestPool; dataDir: string }>();
      const seconds = {
        lantern: [] as number[],
        lanternNoFsync: [] as number[],
        gdcmanon: [] as number[],
        dcmodify: [] as number[],
      };
      try {
        for (const fsync of [true, false]) {
          const dataDir = join(work, `out-${workers}-${fsync ? 'fsync' : 'nofsync'}`);
          const pool = await startPool(workers, dataDir, fsync);
          pools.set(fsync, { pool, dataDir });
          // Untimed: the threads start (their code loaded through tsx) on their first files.
          await Promise.all(
            corpus.files.slice(0, 2 * workers).map((file) => pool.ingestDicom(benchJob(file))),
          );
          await emptyStores(dataDir);
        }
        for (let round = 0; round < options.rounds; round += 1) {
          for (const fsync of [true, false]) {
            const entry = pools.get(fsync);
            if (entry === undefined) {
              throw new Error('no pool');
            }
            const time = await timeLantern(entry.pool, corpus.files, entry.dataDir);
            (fsync ? seconds.lantern : seconds.lanternNoFsync).push(time);
          }
          const peerDir = join(work, `peer-${workers}-${round}`);
          seconds.gdcmanon.push(await timeGdcmanon(corpus.files, workers, certificate, peerDir));
          seconds.dcmodify.push(await timeDcmodify(corpus.files, workers, peerDir));
          await rm(peerDir, { recursive: true, force: true });
          log(
            `${workers} worker(s), round ${round + 1}: lantern ${seconds.lantern.at(-1)?.toFixed(2)} s ` +
              `(no fsync ${seconds.lanternNoFsync.at(-1)?.toFixed(2)} s), ` +
              `gdcmanon ${seconds.gdcmanon.at(-1)?.toFixed(2)} s, dcmodify ${seconds.dcmodify.at(-1)?.toFixed(2)} s`,
          );
        }
      } finally {
        for (const { pool, dataDir } of pools.values()) {
          await pool.close();
          await rm(dataDir, { recursive: true, force: true });
        }
      }
      const lantern = rate(options.files, corpus.bytes, median(seconds.lantern));
      const lanternNoFsync = rate(options.files, corpus.bytes, median(seconds.lanternNoFsync));
      const gdcmanon = rate(options.files, corpus.bytes, median(seconds.gdcmanon));
      const dcmodify = rate(options.files, corpus.bytes, median(seconds.dcmodify));
      rows.push({
        workers,
        lantern,
        lanternNoFsync,
        gdcmanon,
        dcmodify,
        ratioToGdcmanon: lantern.filesPerSec / gdcmanon.filesPerSec,
        ratioNoFsyncToGdcmanon: lanternNoFsync.filesPerSec / gdcmanon.filesPerSec,
        ratioToDcmodify: lantern.filesPerSec / dcmodify.filesPerSec,
        ratioNoFsyncToDcmodify: lanternNoFsync.filesPerSec / dcmodify.filesPerSec,
      });
    }
    const report = {
      corpus: {
        files: options.files,
        bytes: corpus.bytes,
        seed: options.seed,
        sizes: [options.minSize, options.maxSize],
      },
      peers: {
        gdcmanon: await versionOf('gdcmanon', ['--version']),
        dcmodify: await versionOf('dcmodify', ['--version']),
      },
      rounds: options.rounds,
      rows,
      target: {
        vsGdcmanonWith2Workers: TARGET_RATIO,
        /** Like for like: neither flushes to the disk. */
        met: (rows.at(-1)?.ratioNoFsyncToGdcmanon ?? 0) >= TARGET_RATIO,
        /** With every object flushed, as the server stores it. */
        metWithFsync: (rows.at(-1)?.ratioToGdcmanon ?? 0) >= TARGET_RATIO,
      },
    };
    await mkdir(dirname(options.outFile), { recursive: true });
    await writeFile(options.outFile, `${JSON.stringify(report, null, 2)}\n`);
    const line = (name: string, r: Rate) =>
      `  ${name.padEnd(18)} ${r.filesPerSec.toFixed(1).padStart(8)} files/s ${r.mbPerSec.toFixed(1).padStart(8)} MB/s`;
    for (const row of rows) {
      process.stdout.write(`DICOM de-identification, ${row.workers} worker(s):\n`);
      process.stdout.write(
        `${line('lantern (fsync)', row.lantern)}\n${line('lantern (no fsync)', row.lanternNoFsync)}\n` +
          `${line('gdcmanon', row.gdcmanon)}\n${line('dcmodify', row.dcmodify)}\n`,
      );
      process.stdout.write(
        `  ratio to gdcmanon ${row.ratioNoFsyncToGdcmanon.toFixed(2)}x without fsync, ` +
          `${row.ratioToGdcmanon.toFixed(2)}x with; to dcmodify ${row.ratioNoFsyncToDcmodify.toFixed(2)}x ` +
          `without, ${row.ratioToDcmodify.toFixed(2)}x with\n`,
      );
    }
    process.stdout.write(
      `target: at least ${TARGET_RATIO.toFixed(1)}x gdcmanon with 2 workers, like for like (no fsync): ` +
        `${report.target.met ? 'met' : 'NOT met'}; with every object flushed: ` +
        `${report.target.metWithFsync ? 'met' : 'NOT met'}\n`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
