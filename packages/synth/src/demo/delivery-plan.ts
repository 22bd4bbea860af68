/**
 * A delivery in two parts, so that the part where the time goes can be spread over threads
 * without changing a byte. The plan is the cohort, the manifest and the tables: small, drawn in
 * cohort order by the caller. The native files (ECGs, radiographs, slides) are made patient by
 * patient, each from that patient and the plan's context alone, in this thread (`workers: 1`, the
 * default) or in a SynthPool's worker threads.
 *
 * `writeDelivery` writes into a temporary folder beside `out` (`.<name>.partial-…`) and renames it
 * to `out` once every file is written: a generator that fails, here or in a worker, leaves no
 * half-written delivery behind, and throws a DeliveryGenerationError naming the dataset, the
 * delivery and the patient.
 */
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SynthPool } from '../pool/synth-pool.js';
import { DeliveryGenerationError } from './delivery-generation-error.js';
import { DeliveryWriter } from './delivery-writer.js';
import { type DeliveryProgress, type DeliverySummary } from './demo-dataset.js';

/** What a plan needs of a patient: who they are, to name them when their files fail. */
export interface PlannedPatient {
  person: { mrn: string };
}

export interface DeliveryPlan<TPatient extends PlannedPatient, TContext> {
  dataset: string;
  delivery: number;
  /** The manifest and the tables, in the order they are written. */
  documents: readonly { path: string; data: string }[];
  /** Everyone in the delivery, in cohort order. */
  patients: readonly TPatient[];
  /** What every patient's files need besides the patient (structured-cloneable), e.g. a size. */
  context: TContext;
  /** The studies (ECGs, biopsies, radiograph studies, encounters). */
  studies: number;
  /** The native files the patients' files make. */
  images: number;
}

/**
 * How one patient's native files are made, through a DeliveryWriter. A worker thread finds it by
 * `module` (the `import.meta.url` of the module that exports it) and `name` (the export's name),
 * so only data crosses threads: the patient and the plan's context.
 */
export interface PatientFilesWriter<TPatient, TContext> {
  module: string;
  name: string;
  write(writer: DeliveryWriter, patient: TPatient, context: TContext): Promise<void>;
}

export interface WriteDeliveryOptions {
  /** The delivery's folder: written whole at the end, replacing a folder already there. */
  out: string;
  /** An earlier delivery's folder whose native files are copied rather than made again. */
  reuse?: string | undefined;
  onProgress?: ((progress: DeliveryProgress) => void) | undefined;
  /** Worker threads to make the native files with; 1 (the default) makes them in this thread. */
  workers?: number | undefined;
  /** A pool to use (and leave open) instead of one started for this delivery. */
  pool?: SynthPool | undefined;
}

/** Writes a planned delivery: its documents, then every patient's native files; its summary. */
export async function writeDelivery<TPatient extends PlannedPatient, TContext>(
  plan: DeliveryPlan<TPatient, TContext>,
  files: PatientFilesWriter<TPatient, TContext>,
  options: WriteDeliveryOptions,
): Promise<DeliverySummary> {
  const out = resolve(options.out);
  await mkdir(dirname(out), { recursive: true });
  const partial = await mkdtemp(join(dirname(out), `.${basename(out)}.partial-`));
  try {
    const writer = new DeliveryWriter(partial, {
      onProgress: options.onProgress,
      reuse: options.reuse,
    });
    for (const document of plan.documents) {
      await writer.write(document.path, document.data);
    }
    await writePatientFiles(plan, files, writer, options);
    await rm(out, { recursive: true, force: true });
    await rename(partial, out);
    return {
      dataset: plan.dataset,
      delivery: plan.delivery,
      patients: plan.patients.length,
      studies: plan.studies,
      images: plan.images,
      files: writer.files,
      bytes: writer.bytes,
    };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

async function writePatientFiles<TPatient extends PlannedPatient, TContext>(
  plan: DeliveryPlan<TPatient, TContext>,
  files: PatientFilesWriter<TPatient, TContext>,
  writer: DeliveryWriter,
  options: WriteDeliveryOptions,
): Promise<void> {
  const workers = options.workers ?? 1;
  if (options.pool === undefined && workers <= 1) {
    for (const [index, patient] of plan.patients.entries()) {
      try {
        await files.write(writer, patient, plan.context);
      } catch (cause) {
        throw new DeliveryGenerationError({
          dataset: plan.dataset,
          delivery: plan.delivery,
          patient: index,
          mrn: patient.person.mrn,
          cause,
        });
      }
    }
    return;
  }
  const pool = options.pool ?? new SynthPool({ workers });
  try {
    await pool.run({
      dataset: plan.dataset,
      delivery: plan.delivery,
      files: { module: files.module, name: files.name },
      out: writer.out,
      reuse: options.reuse,
      context: plan.context,
      patients: plan.patients,
      onFile: (file) => writer.recordWritten(file),
    });
  } finally {
    if (options.pool === undefined) {
      await pool.close();
    }
  }
}
