/**
 * The one ECG model every reader returns, whatever the file: named leads, one typed array of
 * samples per lead (all the same length), the sampling rate and the units the samples are in.
 */
import { FormatError } from '../format-error.js';

/** The units of an ECG's samples; 'adu' is raw converter units (no gain known). */
export type EcgUnits = 'uV' | 'mV' | 'V' | 'adu';

/** One lead's samples. Integer arrays hold the file's own values; floats hold scaled values. */
export type EcgSamples = Int16Array | Int32Array | Float32Array | Float64Array;

export interface Ecg {
  /** Lead names in order: I, II, III, aVR, aVL, aVF, V1 … V6 for a standard 12-lead ECG. */
  leads: string[];
  /** Samples per second per lead (Hz). */
  samplingRate: number;
  units: EcgUnits;
  /** One array per lead, in the order of `leads`, each `sampleCount` long. */
  samples: EcgSamples[];
  /** Samples per lead. */
  sampleCount: number;
  /** Seconds: `sampleCount / samplingRate`. */
  duration: number;
}

/** The 12 leads of a standard ECG, in the order GE MUSE, Nightingale's arrays and WFDB use. */
export const STANDARD_12_LEADS = [
  'I',
  'II',
  'III',
  'aVR',
  'aVL',
  'aVF',
  'V1',
  'V2',
  'V3',
  'V4',
  'V5',
  'V6',
] as const;

/** A field of the file that identifies a person, its value masked. */
export interface IdentifyingField {
  /** Where it is: "PatientDemographics/PatientID". */
  field: string;
  /** The value masked (`maskValue`). */
  value: string;
}

/** Limits every ECG reader applies before it allocates. */
export interface EcgLimits {
  /** The most leads (signals) in one ECG. Default 64. */
  maxLeads?: number;
  /** The most samples per lead. Default 10,000,000 (over 5 hours at 500 Hz). */
  maxSamplesPerLead?: number;
  /** The most bytes one array or entry may decode to. Default 256 MiB. */
  maxArrayBytes?: number;
}

export const ECG_DEFAULT_LIMITS = {
  maxLeads: 64,
  maxSamplesPerLead: 10_000_000,
  maxArrayBytes: 256 * 1024 * 1024,
} as const satisfies Required<EcgLimits>;

/** What every ECG reader is told: the file's name (for errors only) and its limits. */
export interface EcgReadOptions extends EcgLimits {
  /** The file's name, for error messages. */
  name: string;
}

/** What a file cannot say by itself (a bare array has no rate or lead names). */
export interface EcgArrayMeta {
  /** Default 500 Hz (Nightingale's ECGs). */
  samplingRate?: number;
  /** Default 'uV' (Nightingale's ECGs are in microvolts). */
  units?: EcgUnits;
  /** Default the standard 12 when there are 12 leads, otherwise "1", "2", … */
  leads?: string[];
}

/** Default lead names for `count` leads. */
export function defaultLeadNames(count: number): string[] {
  return count === STANDARD_12_LEADS.length
    ? [...STANDARD_12_LEADS]
    : Array.from({ length: count }, (_, i) => String(i + 1));
}

/** Builds an ECG and checks that it is consistent (same-length leads, a positive rate). */
export function makeEcg(
  fields: Omit<Ecg, 'sampleCount' | 'duration'>,
  file: string,
  offset = 0,
): Ecg {
  const fail = (detail: string) => new FormatError('invalid_ecg', detail, { file, offset });
  if (!(Number.isFinite(fields.samplingRate) && fields.samplingRate > 0)) {
    throw fail(`the sampling rate ${fields.samplingRate} is not a positive number`);
  }
  if (fields.leads.length !== fields.samples.length) {
    throw fail(`${fields.leads.length} lead names for ${fields.samples.length} leads`);
  }
  if (fields.samples.length === 0) {
    throw fail('the ECG has no leads');
  }
  const sampleCount = fields.samples[0]?.length ?? 0;
  if (fields.samples.some((lead) => lead.length !== sampleCount)) {
    throw fail('the leads have different numbers of samples');
  }
  return { ...fields, sampleCount, duration: sampleCount / fields.samplingRate };
}

/**
 * Leads III, aVR, aVL and aVF from I and II (Einthoven's law and Goldberger's augmented leads), as
 * GE MUSE derives them when it stores only I, II and V1–V6.
 */
export function deriveLimbLeads(
  leadI: ArrayLike<number>,
  leadII: ArrayLike<number>,
): { III: Float32Array; aVR: Float32Array; aVL: Float32Array; aVF: Float32Array } {
  const n = leadI.length;
  const III = new Float32Array(n);
  const aVR = new Float32Array(n);
  const aVL = new Float32Array(n);
  const aVF = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const one = leadI[i] ?? 0;
    const two = leadII[i] ?? 0;
    III[i] = two - one;
    aVR[i] = -(one + two) / 2;
    aVL[i] = one - two / 2;
    aVF[i] = two - one / 2;
  }
  return { III, aVR, aVL, aVF };
}
