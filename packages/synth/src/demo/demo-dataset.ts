/**
 * What every demo dataset of the catalogue provides, so that `lantern demo generate` and the first
 * start of an empty data directory treat the four alike: the catalog entry and its documentation,
 * the words of its data dictionary, and a generator that writes each of its partner deliveries.
 *
 * A delivery is a full snapshot, as a partner sends it (issue 6): delivery 2 holds everything of
 * delivery 1 (the same people, identifiers and files, byte for byte) plus what changed, so that
 * ingesting 1 then 2 makes versions 1.0 and then 1.1 (more rows), 2.0 (new columns) or 1.0.1
 * (cells corrected, nothing added).
 */
import {
  FIXED_SECTIONS,
  type Dataset,
  type DictionaryColumn,
  type Documentation,
  type FixedSection,
} from '@lantern/core/catalog';
import { type SynthPool } from '../pool/synth-pool.js';
import { type Seed } from '../random.js';

export interface DemoGenerateOptions {
  /**
   * The folder of the delivery. It is written beside it first and renamed to it when complete,
   * replacing a folder already there; a delivery that fails leaves nothing behind.
   */
  out: string;
  /** Size: 1 is the demo (small: the four datasets' deliveries together well under 200 MB). Default 1. */
  scale?: number;
  /** Default 1. The same seed, scale and delivery write the same bytes. */
  seed?: Seed;
  /** Which delivery, 1 or 2 (see above). Default 1. */
  delivery?: number;
  /**
   * The folder of an earlier delivery of the same dataset written with the same seed and scale
   * (delivery 1 when writing 2): its native files are copied rather than made again, since a
   * delivery repeats the files of the one before byte for byte.
   */
  reuse?: string;
  /** Told after each file is written: the files and bytes of this delivery so far. */
  onProgress?: (progress: DeliveryProgress) => void;
  /**
   * Worker threads that make the native files (default 1: made in this thread). The bytes are the
   * same whatever the number.
   */
  workers?: number;
  /** A pool of worker threads to use (and leave open), as a catalogue shares one. */
  pool?: SynthPool;
}

/** How far a delivery has been written. */
export interface DeliveryProgress {
  files: number;
  bytes: number;
}

/** What a generator wrote. */
export interface DeliverySummary {
  dataset: string;
  delivery: number;
  patients: number;
  /** The studies (ECGs, biopsies, radiograph studies, encounters). */
  studies: number;
  /** The native files (ECGs, slides, DICOM images). */
  images: number;
  /** Files written, the manifest and tables included. */
  files: number;
  bytes: number;
}

/** How the data dictionary describes one column of the published (de-identified) table. */
export type DemoColumnWords = Pick<DictionaryColumn, 'description'> &
  Partial<Pick<DictionaryColumn, 'unit' | 'allowedValues' | 'deidentification'>>;

export interface DemoDataset {
  /** The catalog entry; `dataset.slug` is the `dataset:` of every delivery's manifest. */
  dataset: Dataset;
  /** Synthetic data is labelled so everywhere it is shown. */
  synthetic: true;
  /** The documentation every version carries (its sections in Markdown). */
  documentation: Documentation;
  /**
   * The dictionary's words, by table and column name as the tables are published: after ingest
   * renamed the patient column to `patient_ngsci_id` and the study column to `<table singular>_id`,
   * dropped the `drop:` columns and shifted the dates. Types and examples are inferred by ingest.
   */
  tables: Readonly<
    Record<string, { description: string; columns: Record<string, DemoColumnWords> }>
  >;
  /** The curator's notes for the version each delivery makes, in delivery order (two of them). */
  versionNotes: readonly string[];
  /** Writes one delivery. */
  generate(options: DemoGenerateOptions): Promise<DeliverySummary>;
}

/** What ingest does to the identifiers and dates of every demo delivery, as dictionaries say it. */
export const DEMO_DEIDENTIFICATION = {
  pseudonym: {
    method: 'pseudonym',
    note: 'keyed HMAC of the partner\u2019s medical record number',
  },
  dateShift: { method: 'date-shift', note: 'one random offset per patient' },
} as const;

/** The words of the columns every demo dataset's patients table has. */
export const DEMO_PATIENT_COLUMNS = {
  patient_ngsci_id: {
    description: 'The patient, the same in every table and every version.',
    deidentification: DEMO_DEIDENTIFICATION.pseudonym,
  },
  birth_date: {
    description: 'Date of birth, shifted with the patient\u2019s other dates.',
    deidentification: DEMO_DEIDENTIFICATION.dateShift,
  },
} as const satisfies Record<string, DemoColumnWords>;

/** A demo dataset's documentation: the six fixed sections, in their order. */
export function demoDocumentation(sections: Readonly<Record<FixedSection, string>>): Documentation {
  return FIXED_SECTIONS.map((kind) => ({ kind, markdown: sections[kind] }));
}
