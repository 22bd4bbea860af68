/**
 * What a SynthPool and its worker threads say to each other. Only structured-cloneable data
 * crosses: the patients (plain objects and Dates) and the plan's context, never functions; the
 * worker finds the code that makes a patient's files by module URL and export name.
 */
import { type WrittenFile } from '../demo/delivery-writer.js';

/** Where a worker finds a PatientFilesWriter: the module's URL and the export's name. */
export interface PatientFilesRef {
  module: string;
  name: string;
}

/** Parent to worker: make the native files of `patients` (cohort indexes `first`, `first + 1` …). */
export interface ChunkMessage {
  kind: 'chunk';
  task: number;
  files: PatientFilesRef;
  /** The folder the delivery is being written into. */
  out: string;
  reuse: string | undefined;
  context: unknown;
  first: number;
  patients: readonly unknown[];
}

/** Worker to parent: a file written, the chunk done, or a patient that failed. */
export type WorkerMessage =
  | ({ kind: 'file'; task: number } & WrittenFile)
  | { kind: 'done'; task: number }
  | { kind: 'failed'; task: number; patient: number; message: string; stack: string | undefined };
