import { maskValue } from '../identifying.js';
/**
 * WFDB records (PhysioNet; the header(5) and signal(5) manual pages of the WFDB Software Package):
 * a text header (`.hea`) whose record line gives the record name, the number of signals, the
 * sampling frequency and the number of samples per signal, and one signal line per signal giving
 * its file, storage format, ADC gain, baseline, units, resolution, zero, initial value, checksum,
 * block size and description; then signal files in which the signals that share a file are
 * interleaved sample by sample.
 *
 * Formats 16 (16-bit two's complement, little endian) and 212 (two 12-bit samples packed in three
 * bytes: the low 8 bits of the first, then the high 4 bits of the second and of the first, then the
 * low 8 bits of the second) are read and written. Multi-segment records, several samples per frame
 * and skew are refused, not misread. The declared number of samples is checked against the limits
 * and against each file's length before anything is allocated, and each signal's checksum and
 * initial value against its samples. Physical values are (sample - baseline) / gain, in the header's
 * units.
 */
import { FormatError, type FormatErrorCode } from '../format-error.js';
import {
  ECG_DEFAULT_LIMITS,
  makeEcg,
  type Ecg,
  type EcgReadOptions,
  type EcgUnits,
  type IdentifyingField,
} from './ecg.js';

export type WfdbFormat = 16 | 212;

export interface WfdbSignal {
  fileName: string;
  format: WfdbFormat;
  /** Byte offset of the first sample in the signal file. */
  byteOffset: number;
  /** ADC units per physical unit. */
  gain: number;
  baseline: number;
  /** As written in the header ("mV"). */
  unitsText: string;
  units: EcgUnits | null;
  adcResolution: number;
  adcZero: number;
  initialValue: number | null;
  checksum: number | null;
  description: string;
}

export interface WfdbHeader {
  recordName: string;
  samplingRate: number;
  /** Samples per signal, or null when the header does not say (read from the file's length). */
  sampleCount: number | null;
  baseTime: string | null;
  baseDate: string | null;
  signals: WfdbSignal[];
  /** The header's comment lines, without "#". */
  comments: string[];
  /** The base date and time (they date the recording), masked. */
  identifying: IdentifyingField[];
}

export interface WfdbReadOptions extends EcgReadOptions {
  /** Return the stored integers (units 'adu') instead of physical values. Default false. */
  digital?: boolean;
}

const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/u;

/** Does a file look like a WFDB header (a record line: name, signal count, frequency …)? */
export function isWfdbHeader(head: Uint8Array): boolean {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 1024));
  const line = text.split(/\r?\n/u).find((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  return (
    line !== undefined &&
    /^[A-Za-z0-9_-]+(?:\/\d+)? +\d+(?: +\d+(?:\.\d+)?(?:\/[\d.]+(?:\(\d+\))?)?)?(?: +\d+)?/u.test(
      line,
    )
  );
}

/** Parses a WFDB header; every problem is a `FormatError`. */
export function parseWfdbHeader(bytes: Uint8Array, options: EcgReadOptions): WfdbHeader {
  const limits = { ...ECG_DEFAULT_LIMITS, ...options };
  const fail = (code: FormatErrorCode, detail: string, offset: number) =>
    new FormatError(code, detail, { file: options.name, offset });
  if (bytes.length > 1024 * 1024) {
    throw fail('limit_exceeded', 'a WFDB header of more than 1 MiB', 1024 * 1024);
  }
  const text = new TextDecoder('latin1').decode(bytes);
  const lines: { text: string; offset: number }[] = [];
  const comments: string[] = [];
  let offset = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/u, '');
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) {
      comments.push(trimmed.slice(1).trim());
    } else if (trimmed !== '') {
      lines.push({ text: trimmed, offset });
    }
    offset += raw.length + 1;
  }
  const [recordLine, ...signalLines] = lines;
  if (recordLine === undefined) {
    throw fail('invalid_wfdb', 'the header has no record line', 0);
  }
  const record = recordLine.text.split(/\s+/u);
  const [nameField = '', countField = '', rateField = '250', samplesField, baseTime, baseDate] =
    record;
  if (nameField.includes('/')) {
    throw fail('invalid_wfdb', 'multi-segment records are not read', recordLine.offset);
  }
  if (!/^\d{1,6}$/u.test(countField)) {
    throw fail(
      'invalid_wfdb',
      `the record line's signal count "${countField}" is not a number`,
      recordLine.offset,
    );
  }
  const signalCount = Number(countField);
  if (signalCount > limits.maxLeads) {
    throw fail(
      'limit_exceeded',
      `${signalCount} signals, more than the limit of ${limits.maxLeads}`,
      recordLine.offset,
    );
  }
  const samplingRate = Number(/^[^/(]*/u.exec(rateField)?.[0]);
  if (!(Number.isFinite(samplingRate) && samplingRate > 0)) {
    throw fail(
      'invalid_wfdb',
      `the sampling frequency "${rateField}" is not a positive number`,
      recordLine.offset,
    );
  }
  let sampleCount: number | null = null;
  if (samplesField !== undefined) {
    if (!/^\d{1,15}$/u.test(samplesField)) {
      throw fail(
        'invalid_wfdb',
        `the number of samples "${samplesField}" is not a number`,
        recordLine.offset,
      );
    }
    sampleCount = Number(samplesField) === 0 ? null : Number(samplesField);
    if (sampleCount !== null && sampleCount > limits.maxSamplesPerLead) {
      throw fail(
        'limit_exceeded',
        `${sampleCount} samples per signal, more than the limit of ${limits.maxSamplesPerLead}`,
        recordLine.offset,
      );
    }
  }
  if (signalLines.length !== signalCount) {
    throw fail(
      signalLines.length < signalCount ? 'truncated' : 'invalid_wfdb',
      `the record line declares ${signalCount} signals but ${signalLines.length} signal lines follow`,
      signalLines.length < signalCount ? bytes.length : (signalLines[signalCount]?.offset ?? 0),
    );
  }
  const signals = signalLines.map((line) => parseSignalLine(line.text, line.offset, fail));
  const identifying: IdentifyingField[] = [];
  if (baseTime !== undefined) {
    identifying.push({ field: 'record/baseTime', value: maskValue(baseTime) });
  }
  if (baseDate !== undefined) {
    identifying.push({ field: 'record/baseDate', value: maskValue(baseDate) });
  }
  return {
    recordName: nameField,
    samplingRate,
    sampleCount,
    baseTime: baseTime ?? null,
    baseDate: baseDate ?? null,
    signals,
    comments,
    identifying,
  };
}

function parseSignalLine(
  line: string,
  offset: number,
  fail: (code: FormatErrorCode, detail: string, offset: number) => FormatError,
): WfdbSignal {
  const fields = line.split(/\s+/u);
  const [
    fileName = '',
    formatField = '',
    gainField,
    resField,
    zeroField,
    initField,
    sumField,
    ,
    ...rest
  ] = fields;
  if (!FILE_NAME.test(fileName)) {
    throw fail(
      'invalid_wfdb',
      `the signal file name "${fileName}" is not a plain file name`,
      offset,
    );
  }
  const format = /^(\d+)(?:x(\d+))?(?::(-?\d+))?(?:\+(\d+))?$/u.exec(formatField);
  if (format === null) {
    throw fail('invalid_wfdb', `the signal format "${formatField}" is not well-formed`, offset);
  }
  const [, formatNumber = '', perFrame, skew, byteOffset] = format;
  if (formatNumber !== '16' && formatNumber !== '212') {
    throw fail(
      'invalid_wfdb',
      `signal format ${formatNumber} is not read (formats 16 and 212 are)`,
      offset,
    );
  }
  if ((perFrame !== undefined && perFrame !== '1') || (skew !== undefined && Number(skew) !== 0)) {
    throw fail('invalid_wfdb', 'several samples per frame and skew are not read', offset);
  }
  const gain = /^(-?[\d.]+(?:[eE][-+]?\d+)?)(?:\((-?\d+)\))?(?:\/(\S+))?$/u.exec(
    gainField ?? '200',
  );
  if (gain === null) {
    throw fail('invalid_wfdb', `the ADC gain "${gainField ?? ''}" is not well-formed`, offset);
  }
  const integer = (
    field: string | undefined,
    fallback: number | null,
    what: string,
  ): number | null => {
    if (field === undefined) {
      return fallback;
    }
    if (!/^-?\d{1,10}$/u.test(field)) {
      throw fail('invalid_wfdb', `the ${what} "${field}" is not an integer`, offset);
    }
    return Number(field);
  };
  const adcZero = integer(zeroField, 0, 'ADC zero') ?? 0;
  const gainValue = Number(gain[1]);
  const unitsText = gain[3] ?? 'mV';
  return {
    fileName,
    format: formatNumber === '16' ? 16 : 212,
    byteOffset: Number(byteOffset ?? '0'),
    gain: gainValue === 0 ? 200 : gainValue,
    baseline: gain[2] === undefined ? adcZero : Number(gain[2]),
    unitsText,
    units: unitsOf(unitsText),
    adcResolution: integer(resField, formatNumber === '16' ? 16 : 12, 'ADC resolution') ?? 0,
    adcZero,
    initialValue: integer(initField, null, 'initial value'),
    checksum: integer(sumField, null, 'checksum'),
    description: rest.join(' '),
  };
}

/** Reads a WFDB record: its header and its signal files by the names the header gives. */
export function readWfdb(
  headerBytes: Uint8Array,
  signalFiles: ReadonlyMap<string, Uint8Array>,
  options: WfdbReadOptions,
): { ecg: Ecg; header: WfdbHeader } {
  const header = parseWfdbHeader(headerBytes, options);
  if (header.signals.length === 0) {
    throw new FormatError('invalid_ecg', 'the record has no signals', {
      file: options.name,
      offset: 0,
    });
  }
  const digital = new Map<number, Int16Array>();
  const files = [...new Set(header.signals.map((signal) => signal.fileName))];
  for (const fileName of files) {
    const members = header.signals.flatMap((signal, index) =>
      signal.fileName === fileName ? [index] : [],
    );
    const first = header.signals[members[0] ?? 0];
    const bytes = signalFiles.get(fileName);
    const fileFail = (code: FormatErrorCode, detail: string, offset: number) =>
      new FormatError(code, detail, { file: fileName, offset });
    if (bytes === undefined || first === undefined) {
      throw new FormatError('invalid_wfdb', `the signal file ${fileName} is missing`, {
        file: options.name,
        offset: 0,
      });
    }
    if (
      members.some(
        (index) =>
          header.signals[index]?.format !== first.format ||
          header.signals[index]?.byteOffset !== first.byteOffset,
      )
    ) {
      throw fileFail('invalid_wfdb', 'signals in one file have different formats or offsets', 0);
    }
    const available = Math.max(0, bytes.length - first.byteOffset);
    const storedSamples =
      first.format === 16 ? Math.floor(available / 2) : Math.floor((available * 2) / 3);
    const perSignal = Math.floor(storedSamples / members.length);
    const count = header.sampleCount ?? perSignal;
    const limit = { ...ECG_DEFAULT_LIMITS, ...options }.maxSamplesPerLead;
    if (count > limit) {
      throw fileFail(
        'limit_exceeded',
        `${count} samples per signal, more than the limit of ${limit}`,
        0,
      );
    }
    if (count > perSignal) {
      throw fileFail(
        'truncated',
        `the header declares ${count} samples per signal but the file holds ${perSignal}`,
        bytes.length,
      );
    }
    const arrays = members.map(() => new Int16Array(count));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const total = count * members.length;
    for (let k = 0; k < total; k++) {
      const array = arrays[k % members.length];
      if (array === undefined) {
        break;
      }
      array[Math.floor(k / members.length)] =
        first.format === 16
          ? view.getInt16(first.byteOffset + k * 2, true)
          : read212(bytes, first.byteOffset, k);
    }
    members.forEach((index, i) => {
      const array = arrays[i];
      if (array !== undefined) {
        digital.set(index, array);
      }
    });
  }
  header.signals.forEach((signal, index) => {
    const samples = digital.get(index) ?? new Int16Array();
    const fail = (detail: string) =>
      new FormatError(
        'invalid_wfdb',
        `signal ${index + 1} (${signal.description || signal.fileName}): ${detail}`,
        {
          file: options.name,
          offset: 0,
        },
      );
    if (signal.initialValue !== null && samples.length > 0 && samples[0] !== signal.initialValue) {
      throw fail(`the first sample is ${samples[0]}, the header says ${signal.initialValue}`);
    }
    // The checksum covers the whole signal; with no sample count in the header it cannot be trusted.
    if (signal.checksum !== null && header.sampleCount !== null) {
      const sum = checksum16(samples);
      if (sum !== toInt16(signal.checksum)) {
        throw fail(`the samples' checksum is ${sum}, the header says ${signal.checksum}`);
      }
    }
  });
  const leads = header.signals.map((signal, i) => signal.description || `signal ${i + 1}`);
  const units = header.signals[0]?.units ?? null;
  const isPhysical =
    options.digital !== true &&
    units !== null &&
    header.signals.every((signal) => signal.units === units);
  const samples = header.signals.map((signal, index) => {
    const stored = digital.get(index) ?? new Int16Array();
    return isPhysical
      ? Float32Array.from(stored, (value) => (value - signal.baseline) / signal.gain)
      : stored;
  });
  return {
    ecg: makeEcg(
      {
        leads,
        samplingRate: header.samplingRate,
        units: isPhysical && units !== null ? units : 'adu',
        samples,
      },
      options.name,
    ),
    header,
  };
}

export interface WfdbWriteOptions {
  recordName: string;
  format: WfdbFormat;
  /** ADC units per physical unit. Default 200 (the WFDB default). */
  gain?: number;
  /** The stored value of 0 physical units. Default 0. */
  baseline?: number;
  /** The physical units, when the ECG's samples are stored integers ('adu'). Default "mV". */
  units?: string;
  /** Comment lines after the signal lines. */
  comments?: string[];
}

/**
 * Writes an ECG as a WFDB record: a header and one signal file (`<record>.dat`) with the leads
 * interleaved. Physical samples are stored as round(value * gain) + baseline; samples in 'adu' are
 * stored as they are. A value outside the format's range is a RangeError.
 */
export function writeWfdb(
  ecg: Ecg,
  options: WfdbWriteOptions,
): { header: string; files: Map<string, Uint8Array> } {
  if (!FILE_NAME.test(options.recordName)) {
    throw new RangeError(`the record name "${options.recordName}" is not a plain name`);
  }
  const gain = options.gain ?? 200;
  const baseline = options.baseline ?? 0;
  const [low, high] = options.format === 16 ? [-32768, 32767] : [-2048, 2047];
  const stored = ecg.samples.map((lead) =>
    Int16Array.from(lead, (value) => {
      const digital = ecg.units === 'adu' ? value : Math.round(value * gain) + baseline;
      if (!(digital >= low && digital <= high)) {
        throw new RangeError(`the sample ${digital} does not fit format ${options.format}`);
      }
      return digital;
    }),
  );
  const total = ecg.sampleCount * stored.length;
  const bytes = new Uint8Array(options.format === 16 ? total * 2 : Math.ceil((total * 3) / 2));
  const view = new DataView(bytes.buffer);
  for (let k = 0; k < total; k++) {
    const value = stored[k % stored.length]?.[Math.floor(k / stored.length)] ?? 0;
    if (options.format === 16) {
      view.setInt16(k * 2, value, true);
    } else {
      write212(bytes, k, value);
    }
  }
  const fileName = `${options.recordName}.dat`;
  const units = ecg.units === 'adu' ? (options.units ?? 'mV') : ecg.units;
  const lines = [`${options.recordName} ${stored.length} ${ecg.samplingRate} ${ecg.sampleCount}`];
  stored.forEach((lead, i) => {
    lines.push(
      [
        fileName,
        options.format,
        `${gain}(${baseline})/${units}`,
        options.format === 16 ? 16 : 12,
        0,
        lead[0] ?? 0,
        checksum16(lead),
        0,
        ecg.leads[i] ?? '',
      ].join(' '),
    );
  });
  for (const comment of options.comments ?? []) {
    lines.push(`# ${comment}`);
  }
  return { header: `${lines.join('\n')}\n`, files: new Map([[fileName, bytes]]) };
}

/** Sample `k` of a format-212 byte stream (two 12-bit samples in three bytes), sign-extended. */
function read212(bytes: Uint8Array, offset: number, k: number): number {
  const at = offset + Math.floor(k / 2) * 3;
  const middle = bytes[at + 1] ?? 0;
  const value =
    k % 2 === 0
      ? (bytes[at] ?? 0) | ((middle & 0x0f) << 8)
      : (bytes[at + 2] ?? 0) | ((middle & 0xf0) << 4);
  return value >= 0x800 ? value - 0x1000 : value;
}

function write212(bytes: Uint8Array, k: number, value: number): void {
  const at = Math.floor(k / 2) * 3;
  const twelve = value & 0xfff;
  if (k % 2 === 0) {
    bytes[at] = twelve & 0xff;
    bytes[at + 1] = ((bytes[at + 1] ?? 0) & 0xf0) | (twelve >> 8);
  } else {
    bytes[at + 2] = twelve & 0xff;
    bytes[at + 1] = ((bytes[at + 1] ?? 0) & 0x0f) | ((twelve >> 8) << 4);
  }
}

/** The WFDB checksum: the sum of a signal's samples, as a 16-bit two's complement number. */
function checksum16(samples: Int16Array): number {
  let sum = 0;
  for (const value of samples) {
    sum = (sum + value) & 0xffff;
  }
  return toInt16(sum);
}

function toInt16(value: number): number {
  const low = value & 0xffff;
  return low >= 0x8000 ? low - 0x10000 : low;
}

function unitsOf(text: string): EcgUnits | null {
  switch (text) {
    case 'mV':
      return 'mV';
    case 'uV':
    case 'µV':
      return 'uV';
    case 'V':
      return 'V';
    default:
      return null;
  }
}
