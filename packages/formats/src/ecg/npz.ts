/**
 * ECGs as NumPy arrays: a per-ECG `.npz` (a ZIP of `.npy` files, as `numpy.savez` and
 * `numpy.savez_compressed` write them) whose array `waveform` has the shape (leads, samples), as
 * Nightingale ships ECGs, or an `.npy` holding one ECG (leads, samples) or a stack of them
 * (count, leads, samples). An array carries no sampling rate, units or lead names: the caller says
 * them (defaults: 500 Hz, microvolts, the standard 12 leads).
 */
import { FormatError } from '../format-error.js';
import {
  defaultLeadNames,
  ECG_DEFAULT_LIMITS,
  makeEcg,
  type Ecg,
  type EcgArrayMeta,
  type EcgReadOptions,
  type EcgSamples,
} from './ecg.js';
import { readNpy, readNpyHeader, writeNpy, type NpyArray, type NpyData } from './npy.js';
import { readZip, writeZip } from './zip.js';

/**
 * Reads every array of an `.npz`, by name (the entry name without ".npy"). A problem inside an
 * array names the file as "archive.npz:waveform.npy", with the offset inside that entry's
 * (inflated) bytes; a problem with the archive names the archive and the offset in it.
 */
export function readNpz(
  bytes: Uint8Array,
  options: EcgReadOptions & { only?: string },
): Map<string, NpyArray> {
  const limits = { ...ECG_DEFAULT_LIMITS, ...options };
  const archive = readZip(bytes, { name: options.name, maxEntryBytes: limits.maxArrayBytes });
  const arrays = new Map<string, NpyArray>();
  for (const entry of archive.entries) {
    const arrayName = entry.name.replace(/\.npy$/u, '');
    if (options.only !== undefined && arrayName !== options.only) {
      continue;
    }
    arrays.set(
      arrayName,
      readNpy(archive.read(entry), {
        name: `${options.name}:${entry.name}`,
        maxArrayBytes: limits.maxArrayBytes,
      }),
    );
  }
  return arrays;
}

/** The names and shapes of an `.npz`'s arrays, read from their headers only. */
export function listNpz(
  bytes: Uint8Array,
  options: EcgReadOptions,
): { name: string; shape: number[]; descr: string }[] {
  const limits = { ...ECG_DEFAULT_LIMITS, ...options };
  const archive = readZip(bytes, { name: options.name, maxEntryBytes: limits.maxArrayBytes });
  return archive.entries.map((entry) => {
    const header = readNpyHeader(archive.read(entry), {
      name: `${options.name}:${entry.name}`,
      maxArrayBytes: limits.maxArrayBytes,
    });
    return { name: entry.name.replace(/\.npy$/u, ''), shape: header.shape, descr: header.descr };
  });
}

/** Writes arrays as an `.npz` (stored, or deflated as `numpy.savez_compressed` does). */
export function writeNpz(
  arrays: Record<string, NpyArray>,
  options: { compress?: boolean } = {},
): Uint8Array {
  return writeZip(
    Object.entries(arrays).map(([name, array]) => ({ name: `${name}.npy`, data: writeNpy(array) })),
    options,
  );
}

export interface EcgNpzOptions extends EcgReadOptions, EcgArrayMeta {
  /** The array holding the ECG. Default "waveform". */
  arrayName?: string;
}

/** Reads the ECG of a per-ECG `.npz` (array `waveform`, shape (leads, samples)). */
export function readEcgNpz(bytes: Uint8Array, options: EcgNpzOptions): Ecg {
  const arrayName = options.arrayName ?? 'waveform';
  const array = readNpz(bytes, { ...options, only: arrayName }).get(arrayName);
  if (array === undefined) {
    throw new FormatError('invalid_ecg', `the archive has no array "${arrayName}"`, {
      file: options.name,
      offset: 0,
    });
  }
  return ecgFromArray(array, options);
}

export interface EcgNpyOptions extends EcgReadOptions, EcgArrayMeta {
  /** Which ECG of a stacked (count, leads, samples) array. Default 0. */
  index?: number;
}

/** Reads the ECG of an `.npy`: (leads, samples), (samples) for one lead, or one of a stack. */
export function readEcgNpy(bytes: Uint8Array, options: EcgNpyOptions): Ecg {
  const limits = { ...ECG_DEFAULT_LIMITS, ...options };
  return ecgFromArray(
    readNpy(bytes, { name: options.name, maxArrayBytes: limits.maxArrayBytes }),
    options,
  );
}

/** The ECG in an array of shape (samples), (leads, samples) or (count, leads, samples). */
export function ecgFromArray(array: NpyArray, options: EcgNpyOptions): Ecg {
  const limits = { ...ECG_DEFAULT_LIMITS, ...options };
  const fail = (detail: string) =>
    new FormatError('invalid_ecg', detail, { file: options.name, offset: 0 });
  const { shape } = array;
  const [leadCount, sampleCount, stack] =
    shape.length === 1
      ? [1, shape[0] ?? 0, 1]
      : shape.length === 2
        ? [shape[0] ?? 0, shape[1] ?? 0, 1]
        : shape.length === 3
          ? [shape[1] ?? 0, shape[2] ?? 0, shape[0] ?? 0]
          : [0, 0, 0];
  if (shape.length === 0 || shape.length > 3) {
    throw fail(`an array of shape (${shape.join(', ')}) is not (leads, samples)`);
  }
  const index = options.index ?? 0;
  if (!(Number.isInteger(index) && index >= 0 && index < stack)) {
    throw fail(`there is no ECG ${index} in a stack of ${stack}`);
  }
  if (leadCount < 1 || leadCount > limits.maxLeads) {
    throw new FormatError(
      leadCount < 1 ? 'invalid_ecg' : 'limit_exceeded',
      `${leadCount} leads (the limit is ${limits.maxLeads})`,
      { file: options.name, offset: 0 },
    );
  }
  if (sampleCount > limits.maxSamplesPerLead) {
    throw new FormatError(
      'limit_exceeded',
      `${sampleCount} samples per lead, more than the limit of ${limits.maxSamplesPerLead}`,
      { file: options.name, offset: 0 },
    );
  }
  const leads = options.leads ?? defaultLeadNames(leadCount);
  if (leads.length !== leadCount) {
    throw fail(`${leads.length} lead names for ${leadCount} leads`);
  }
  const first = index * leadCount * sampleCount;
  const samples = Array.from({ length: leadCount }, (_, lead) =>
    asSamples(
      array.data.subarray(first + lead * sampleCount, first + (lead + 1) * sampleCount),
      fail,
    ),
  );
  return makeEcg(
    { leads, samplingRate: options.samplingRate ?? 500, units: options.units ?? 'uV', samples },
    options.name,
  );
}

/** An ECG as the 2-D array (leads, samples) of its first lead's type. */
export function ecgToArray(ecg: Ecg): NpyArray {
  const first = ecg.samples[0];
  if (first === undefined) {
    throw new RangeError('an ECG without leads');
  }
  const length = ecg.samples.length * ecg.sampleCount;
  const data =
    first instanceof Int16Array
      ? new Int16Array(length)
      : first instanceof Int32Array
        ? new Int32Array(length)
        : first instanceof Float32Array
          ? new Float32Array(length)
          : new Float64Array(length);
  ecg.samples.forEach((lead, i) => {
    data.set(lead, i * ecg.sampleCount);
  });
  return { shape: [ecg.samples.length, ecg.sampleCount], data };
}

/** Writes an ECG as Nightingale's per-ECG `.npz`: one array `waveform` (leads, samples). */
export function writeEcgNpz(ecg: Ecg, options: { compress?: boolean } = {}): Uint8Array {
  return writeNpz({ waveform: ecgToArray(ecg) }, options);
}

/**
 * Lead samples as one of the model's arrays: small integers widen to 32 bits, unsigned 32-bit and
 * 64-bit integers to float64, which holds them exactly up to 2^53 (a sample past it would be
 * rounded: refused, the ECG not read).
 */
function asSamples(data: NpyData, fail: (detail: string) => FormatError): EcgSamples {
  if (
    data instanceof Int16Array ||
    data instanceof Int32Array ||
    data instanceof Float32Array ||
    data instanceof Float64Array
  ) {
    return data;
  }
  if (data instanceof Uint32Array) {
    return Float64Array.from(data);
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const out = new Float64Array(data.length);
    data.forEach((value: bigint, i: number) => {
      const sample = Number(value);
      if (!Number.isSafeInteger(sample)) {
        throw fail('a sample of the 64-bit integer array is past 2^53, which a float64 rounds');
      }
      out[i] = sample;
    });
    return out;
  }
  return Int32Array.from(data);
}
