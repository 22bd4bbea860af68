/**
 * What `lantern inspect` says about an ECG file: which format it is (told by its first bytes, not
 * its name), its leads, sampling rate, duration and units, and the fields in it that identify a
 * person, masked. Arrays (.npy, .npz) carry no rate, units or lead names: what the description
 * takes from the caller's defaults instead is listed in `assumed`.
 */
import { open, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FormatError } from '../format-error.js';
import {
  defaultLeadNames,
  ECG_DEFAULT_LIMITS,
  type EcgArrayMeta,
  type EcgReadOptions,
  type EcgUnits,
  type IdentifyingField,
} from './ecg.js';
import { isMuseXml, readMuseXml } from './muse-xml.js';
import { isNpy, readNpyHeader } from './npy.js';
import { listNpz } from './npz.js';
import { isZip } from './zip.js';
import { isWfdbHeader, parseWfdbHeader } from './wfdb.js';

export type EcgFormat = 'ecg-npz' | 'ecg-npy' | 'ecg-muse-xml' | 'ecg-wfdb';

export interface EcgDescription {
  format: EcgFormat;
  leads: string[];
  samplingRate: number;
  /** Samples per lead, when known (a WFDB header may leave it to the signal file's length). */
  sampleCount: number | null;
  /** Seconds, when the sample count is known. */
  duration: number | null;
  units: EcgUnits;
  /** ECGs in the file: more than one for a stacked (count, leads, samples) array. */
  count: number;
  /** The array's shape and dtype (NumPy files), e.g. [12, 5500] and "<i2". */
  shape?: number[];
  dtype?: string;
  /** Which of samplingRate, units and leads the file did not say (the caller's defaults). */
  assumed: ('samplingRate' | 'units' | 'leads')[];
  /** Fields that identify a person (MUSE demographics, WFDB base date), values masked. */
  identifying: IdentifyingField[];
  /** MUSE: the waveform read ("Rhythm") and the leads derived from I and II. */
  waveformType?: string;
  derivedLeads?: string[];
  /** WFDB: each signal's file and storage format. */
  signalFiles?: { fileName: string; format: number }[];
}

export interface DescribeEcgOptions extends EcgReadOptions, EcgArrayMeta {
  /** The .npz array holding the ECG. Default "waveform", or the archive's only array. */
  arrayName?: string;
  /** WFDB: the sizes of the signal files, to count samples when the header does not. */
  signalFileSizes?: ReadonlyMap<string, number>;
}

/** Tells whether the first bytes of a file are an ECG format read here, and which. */
export function detectEcgFormat(head: Uint8Array): EcgFormat | null {
  if (isNpy(head)) {
    return 'ecg-npy';
  }
  if (isZip(head)) {
    return 'ecg-npz';
  }
  if (isMuseXml(head)) {
    return 'ecg-muse-xml';
  }
  if (isWfdbHeader(head)) {
    return 'ecg-wfdb';
  }
  return null;
}

/** Describes an ECG file held in memory; every problem is a `FormatError`. */
export function describeEcg(bytes: Uint8Array, options: DescribeEcgOptions): EcgDescription {
  const format = detectEcgFormat(bytes.subarray(0, 4096));
  switch (format) {
    case 'ecg-npy': {
      const header = readNpyHeader(bytes, options);
      if (header.dataOffset + header.dataBytes !== bytes.length) {
        throw new FormatError(
          header.dataOffset + header.dataBytes > bytes.length ? 'truncated' : 'invalid_npy',
          `the array needs ${header.dataBytes} bytes of data; the file has ${bytes.length - header.dataOffset}`,
          { file: options.name, offset: bytes.length },
        );
      }
      return describeArray('ecg-npy', header.shape, header.descr, options);
    }
    case 'ecg-npz': {
      const arrays = listNpz(bytes, options);
      const wanted = options.arrayName ?? 'waveform';
      const array =
        arrays.find((a) => a.name === wanted) ?? (arrays.length === 1 ? arrays[0] : undefined);
      if (array === undefined) {
        throw new FormatError(
          'invalid_ecg',
          `the archive has no array "${wanted}" (it has ${arrays.map((a) => a.name).join(', ') || 'none'})`,
          { file: options.name, offset: 0 },
        );
      }
      return describeArray('ecg-npz', array.shape, array.descr, options);
    }
    case 'ecg-muse-xml': {
      const muse = readMuseXml(bytes, options);
      return {
        format,
        leads: muse.ecg.leads,
        samplingRate: muse.ecg.samplingRate,
        sampleCount: muse.ecg.sampleCount,
        duration: muse.ecg.duration,
        units: muse.ecg.units,
        count: 1,
        assumed: [],
        identifying: muse.identifying,
        waveformType: muse.waveformType,
        derivedLeads: muse.derivedLeads,
      };
    }
    case 'ecg-wfdb': {
      const header = parseWfdbHeader(bytes, options);
      let sampleCount = header.sampleCount;
      if (sampleCount === null && header.signals.length > 0) {
        const first = header.signals[0];
        const size = first === undefined ? undefined : options.signalFileSizes?.get(first.fileName);
        if (first !== undefined && size !== undefined) {
          const inFile = header.signals.filter((s) => s.fileName === first.fileName).length;
          const stored =
            first.format === 16
              ? Math.floor((size - first.byteOffset) / 2)
              : Math.floor(((size - first.byteOffset) * 2) / 3);
          sampleCount = Math.max(0, Math.floor(stored / inFile));
        }
      }
      const units = header.signals[0]?.units ?? null;
      return {
        format,
        leads: header.signals.map((signal, i) => signal.description || `signal ${i + 1}`),
        samplingRate: header.samplingRate,
        sampleCount,
        duration: sampleCount === null ? null : sampleCount / header.samplingRate,
        units: units !== null && header.signals.every((s) => s.units === units) ? units : 'adu',
        count: 1,
        assumed: [],
        identifying: header.identifying,
        signalFiles: header.signals.map(({ fileName, format: signalFormat }) => ({
          fileName,
          format: signalFormat,
        })),
      };
    }
    case null:
      throw new FormatError(
        'invalid_ecg',
        'not an ECG format read here (.npy, .npz, MUSE XML, WFDB header)',
        {
          file: options.name,
          offset: 0,
        },
      );
    default:
      return format satisfies never;
  }
}

/**
 * Describes the ECG file at `path` (for WFDB, its `.hea` header; the signal files beside it are
 * measured, never read). The file's size is checked against `maxArrayBytes` before it is read.
 */
export async function describeEcgFile(
  path: string,
  options: Partial<DescribeEcgOptions> = {},
): Promise<EcgDescription> {
  const name = options.name ?? basename(path);
  const limits = { ...ECG_DEFAULT_LIMITS, ...options };
  const { size } = await stat(path);
  // An .npz may hold its array deflated: the file itself is bounded by the same limit.
  if (size > limits.maxArrayBytes + 64 * 1024 * 1024) {
    throw new FormatError('limit_exceeded', `the file is ${size} bytes, past the reader's limit`, {
      file: name,
      offset: 0,
    });
  }
  const handle = await open(path, 'r');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(bytes, done, size - done, done);
      if (bytesRead === 0) {
        break;
      }
      done += bytesRead;
    }
    bytes = bytes.subarray(0, done);
  } finally {
    await handle.close();
  }
  const named = { ...options, name };
  if (detectEcgFormat(bytes.subarray(0, 4096)) === 'ecg-wfdb') {
    const header = parseWfdbHeader(bytes, named);
    const sizes = new Map<string, number>();
    for (const signal of header.signals) {
      const signalSize = await stat(join(dirname(path), signal.fileName)).then(
        (s) => s.size,
        () => undefined,
      );
      if (signalSize !== undefined) {
        sizes.set(signal.fileName, signalSize);
      }
    }
    return describeEcg(bytes, { ...named, signalFileSizes: sizes });
  }
  return describeEcg(bytes, named);
}

function describeArray(
  format: 'ecg-npy' | 'ecg-npz',
  shape: number[],
  descr: string,
  options: DescribeEcgOptions,
): EcgDescription {
  const [count, leadCount, sampleCount] =
    shape.length === 1
      ? [1, 1, shape[0] ?? 0]
      : shape.length === 2
        ? [1, shape[0] ?? 0, shape[1] ?? 0]
        : shape.length === 3
          ? [shape[0] ?? 0, shape[1] ?? 0, shape[2] ?? 0]
          : [0, 0, 0];
  if (shape.length === 0 || shape.length > 3 || leadCount < 1) {
    throw new FormatError(
      'invalid_ecg',
      `an array of shape (${shape.join(', ')}) is not (leads, samples)`,
      {
        file: options.name,
        offset: 0,
      },
    );
  }
  const samplingRate = options.samplingRate ?? 500;
  const assumed: EcgDescription['assumed'] = [];
  if (options.samplingRate === undefined) {
    assumed.push('samplingRate');
  }
  if (options.units === undefined) {
    assumed.push('units');
  }
  if (options.leads === undefined) {
    assumed.push('leads');
  }
  return {
    format,
    leads: options.leads ?? defaultLeadNames(leadCount),
    samplingRate,
    sampleCount,
    duration: sampleCount / samplingRate,
    units: options.units ?? 'uV',
    count,
    shape,
    dtype: descr,
    assumed,
    identifying: [],
  };
}
