/**
 * The ingest benchmarks' corpus (bench/ingest/run.ts, stages.ts, utilization.ts): synthetic computed radiographs
 * (CR, `minSize`² to `maxSize`² pixels, 16-bit) with full identifying (made-up, labelled synthetic)
 * headers and a private block, written by @lantern/formats' writer from a seeded generator, so
 * that every run of either benchmark de-identifies the same bytes; the options that choose it,
 * and the job each of its files is to the ingest pool; and what the three share beside it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { dicomDataset, EXPLICIT_VR_LITTLE_ENDIAN, TAG, writeDicom } from '@lantern/formats';
import { Random } from '@lantern/synth';
import type { FileJob, IngestStores } from '../../apps/server/src/services/ingest/file-ingest.js';
import { LocalObjectStore } from '../../apps/server/src/storage/object-store.js';

/** The bench's own secrets: the corpus is synthetic, the key is not a deployment's. */
export const BENCH_KEY = new TextEncoder().encode('lantern-bench-ingest');

export interface CorpusOptions {
  files: number;
  minSize: number;
  maxSize: number;
  seed: number;
}

/** The corpus's command-line options, for parseArgs. */
export const CORPUS_ARGS = {
  files: { type: 'string' },
  'min-size': { type: 'string' },
  'max-size': { type: 'string' },
  seed: { type: 'string' },
} as const;

export function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) {
    return fallback;
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`--${name} must be a positive integer, not ${JSON.stringify(text)}`);
  }
  return value;
}

/** The corpus's options from parseArgs' values of CORPUS_ARGS: 200 files, 512² to 2048², seed 6. */
export function corpusOptions(values: {
  files?: string | undefined;
  'min-size'?: string | undefined;
  'max-size'?: string | undefined;
  seed?: string | undefined;
}): CorpusOptions {
  const minSize = positiveInteger('min-size', values['min-size'], 512);
  const maxSize = positiveInteger('max-size', values['max-size'], 2048);
  if (maxSize < minSize) {
    throw new Error('--max-size must be at least --min-size');
  }
  return {
    files: positiveInteger('files', values.files, 200),
    minSize,
    maxSize,
    seed: positiveInteger('seed', values.seed, 6),
  };
}

/** One radiograph of the corpus as the ingest gives it to its pool. */
export function benchJob(file: string): FileJob & { kind: 'dicom' } {
  return {
    kind: 'dicom',
    path: file,
    name: file.slice(file.lastIndexOf('/') + 1),
    shiftDays: -123,
    uidKey: BENCH_KEY,
    pseudonym: { patientId: 'BENCH-P', patientName: 'BENCH^P' },
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** One synthetic radiograph with a full, identifying (made-up) header. Labelled synthetic. */
function radiograph(index: number, random: Random, options: CorpusOptions): Uint8Array {
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

export async function writeCorpus(
  dir: string,
  options: CorpusOptions,
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

/** The load average, for the numbers printed beside it (other sessions share the cores). */
export function loadAverage(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

/**
 * The server's local stores in `dataDir`, ready, flushing each object before its rename (as the
 * server's do) or not (as the peers write).
 */
export async function localStores(dataDir: string, fsync: boolean): Promise<IngestStores> {
  const published = new LocalObjectStore(dataDir, 'objects', { fsync });
  const quarantine = new LocalObjectStore(dataDir, 'quarantine', { fsync });
  await published.init();
  await quarantine.init();
  return { published, quarantine };
}

/** Runs a benchmark's main, printing its error and failing the process if it throws. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
