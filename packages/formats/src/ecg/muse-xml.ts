import { maskValue } from '../identifying.js';
/**
 * GE MUSE resting ECG XML ("RestingECG"): PatientDemographics and TestDemographics, then one
 * Waveform per kind (Median beats, the full Rhythm strip), each with a SampleBase (Hz, times
 * 10^SampleExponent) and one LeadData per stored lead: LeadID, LeadSampleCountTotal,
 * LeadAmplitudeUnitsPerBit, LeadAmplitudeUnits and WaveFormData, the samples as base64 of
 * little-endian 16-bit integers.
 *
 * MUSE stores the eight independent leads (I, II, V1–V6); III, aVR, aVL and aVF are derived here
 * from I and II as MUSE derives them for display. The Rhythm waveform is read (the Median beat when
 * there is no Rhythm). Samples are returned in the file's amplitude units (microvolts), as floats:
 * the stored integer times LeadAmplitudeUnitsPerBit. Identifying fields (the patient's ID, names,
 * date of birth, acquisition date and time, accession numbers, staff names) are listed with their
 * values masked, so that a curator sees what de-identification must remove without seeing it.
 */
import { FormatError } from '../format-error.js';
import {
  deriveLimbLeads,
  ECG_DEFAULT_LIMITS,
  makeEcg,
  STANDARD_12_LEADS,
  type Ecg,
  type EcgReadOptions,
  type EcgSamples,
  type EcgUnits,
  type IdentifyingField,
} from './ecg.js';
import {
  childOf,
  childText,
  escapeXml,
  parseXml,
  type XmlElement,
  type XmlOptions,
} from './xml.js';

export interface MuseEcg {
  ecg: Ecg;
  /** "Rhythm" or "Median". */
  waveformType: string;
  /** Leads computed from I and II rather than stored. */
  derivedLeads: string[];
  identifying: IdentifyingField[];
}

export type MuseReadOptions = EcgReadOptions & Omit<XmlOptions, 'name'>;

/** Field names that identify a person wherever they appear (MUSE schema names). */
const IDENTIFYING =
  /^(?:PatientID|DateofBirth|AcquisitionDate|AcquisitionTime|EditDate|EditTime|HISAccountNumber|HISOrderNumber|AccessionNumber|OrderNumber|AdmitDate|\w*LastName|\w*FirstName|\w*MiddleName)$/u;

/** Does a file look like MUSE XML (an XML document whose root is RestingECG)? */
export function isMuseXml(head: Uint8Array): boolean {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 2048));
  return /^(?:\uFEFF|\u00EF\u00BB\u00BF)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE\s+RestingECG[^>]*>\s*)?<RestingECG[\s>]/u.test(
    text,
  );
}

/** Reads a MUSE XML ECG; every problem is a `FormatError`. */
export function readMuseXml(bytes: Uint8Array, options: MuseReadOptions): MuseEcg {
  const limits = { ...ECG_DEFAULT_LIMITS, ...options };
  const root = parseXml(bytes, options);
  const fail = (
    detail: string,
    element: XmlElement,
    code: 'invalid_ecg' | 'limit_exceeded' = 'invalid_ecg',
  ) => new FormatError(code, detail, { file: options.name, offset: element.offset });
  if (root.name !== 'RestingECG') {
    throw fail(`the root element is <${root.name}>, not <RestingECG>`, root);
  }
  const identifying: IdentifyingField[] = [];
  const collect = (element: XmlElement, path: string) => {
    for (const child of element.children) {
      const childPath = path === '' ? child.name : `${path}/${child.name}`;
      if (child.name === 'Waveform') {
        continue;
      }
      if (IDENTIFYING.test(child.name) && child.text.trim() !== '') {
        identifying.push({ field: childPath, value: maskValue(child.text.trim()) });
      }
      collect(child, childPath);
    }
  };
  collect(root, '');

  const waveforms = root.children.filter((child) => child.name === 'Waveform');
  const waveform =
    waveforms.find((w) => childText(w, 'WaveformType')?.toLowerCase() === 'rhythm') ?? waveforms[0];
  if (waveform === undefined) {
    throw fail('the file has no <Waveform>', root);
  }
  const base = Number(childText(waveform, 'SampleBase'));
  const exponent = Number(childText(waveform, 'SampleExponent') ?? '0');
  const samplingRate = base * 10 ** exponent;
  if (!(Number.isFinite(samplingRate) && samplingRate > 0 && Number.isInteger(exponent))) {
    throw fail('the waveform has no valid SampleBase and SampleExponent', waveform);
  }
  const stored = new Map<string, Float32Array>();
  let units: EcgUnits | undefined;
  const leadData = waveform.children.filter((child) => child.name === 'LeadData');
  if (leadData.length > limits.maxLeads) {
    throw fail(
      `${leadData.length} leads, more than the limit of ${limits.maxLeads}`,
      waveform,
      'limit_exceeded',
    );
  }
  for (const lead of leadData) {
    const id = childText(lead, 'LeadID');
    if (id === undefined || id === '' || stored.has(id)) {
      throw fail(id ? `the lead ${id} is stored twice` : 'a <LeadData> without a LeadID', lead);
    }
    const count = Number(childText(lead, 'LeadSampleCountTotal'));
    if (!(Number.isSafeInteger(count) && count >= 0)) {
      throw fail(`lead ${id} has no valid LeadSampleCountTotal`, lead);
    }
    if (count > limits.maxSamplesPerLead) {
      throw fail(
        `lead ${id} declares ${count} samples, more than the limit`,
        lead,
        'limit_exceeded',
      );
    }
    const sampleSize = Number(childText(lead, 'LeadSampleSize') ?? '2');
    if (sampleSize !== 2) {
      throw fail(`lead ${id} has ${sampleSize}-byte samples; MUSE writes 2`, lead);
    }
    const perBit = Number(childText(lead, 'LeadAmplitudeUnitsPerBit') ?? '1');
    if (!(Number.isFinite(perBit) && perBit > 0)) {
      throw fail(`lead ${id} has no valid LeadAmplitudeUnitsPerBit`, lead);
    }
    const leadUnits = parseUnits(childText(lead, 'LeadAmplitudeUnits') ?? 'MICROVOLTS');
    if (leadUnits === undefined || (units !== undefined && leadUnits !== units)) {
      throw fail(
        `lead ${id} has units ${childText(lead, 'LeadAmplitudeUnits') ?? ''} unlike the others`,
        lead,
      );
    }
    units = leadUnits;
    const data = childOf(lead, 'WaveFormData');
    if (data === undefined) {
      throw fail(`lead ${id} has no <WaveFormData>`, lead);
    }
    const base64 = data.text.replace(/[\s]+/gu, '');
    // Base64 is 4 characters per 3 bytes: the length says how many samples there are before decoding.
    if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/u.test(base64)) {
      throw fail(`the WaveFormData of lead ${id} is not base64`, data);
    }
    const decodedBytes =
      (base64.length / 4) * 3 - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0);
    if (decodedBytes < count * 2) {
      throw new FormatError(
        'truncated',
        `lead ${id} declares ${count} samples but its WaveFormData holds ${Math.floor(decodedBytes / 2)}`,
        { file: options.name, offset: data.offset },
      );
    }
    const raw = Buffer.from(base64, 'base64');
    const samples = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      samples[i] = raw.readInt16LE(i * 2) * perBit;
    }
    stored.set(id, samples);
  }
  const derivedLeads: string[] = [];
  const one = stored.get('I');
  const two = stored.get('II');
  if (one !== undefined && two !== undefined) {
    const derived = deriveLimbLeads(one, two);
    for (const name of ['III', 'aVR', 'aVL', 'aVF'] as const) {
      if (!stored.has(name)) {
        stored.set(name, derived[name]);
        derivedLeads.push(name);
      }
    }
  }
  // The standard leads in their usual order first, then any others in the file's order.
  const standard: string[] = STANDARD_12_LEADS.filter((name) => stored.has(name));
  const leads = [...standard, ...[...stored.keys()].filter((name) => !standard.includes(name))];
  const samples: EcgSamples[] = leads.map((name) => stored.get(name) ?? new Float32Array());
  if (leads.length === 0) {
    throw fail('the waveform has no <LeadData>', waveform);
  }
  if (samples.some((lead) => lead.length !== samples[0]?.length)) {
    throw fail('the leads have different numbers of samples', waveform);
  }
  return {
    ecg: makeEcg(
      { leads, samplingRate, units: units ?? 'uV', samples },
      options.name,
      waveform.offset,
    ),
    waveformType: childText(waveform, 'WaveformType') ?? '',
    derivedLeads,
    identifying,
  };
}

export interface MuseWriteOptions {
  /** PatientDemographics fields, in order (PatientID, PatientLastName, DateofBirth …). */
  patient?: Record<string, string>;
  /** TestDemographics fields, in order (AcquisitionDate, AcquisitionTime …). */
  test?: Record<string, string>;
  /** Microvolts per stored unit. Default 4.88, as MUSE writes. */
  unitsPerBit?: number;
  /** Store all leads, not only I, II and V1–V6 when the ECG has the standard 12. */
  storeAllLeads?: boolean;
}

/**
 * Writes an ECG (in microvolts or millivolts) as MUSE-style XML: ISO-8859-1 declared (every
 * character outside ASCII written as a character reference), the eight independent leads of a
 * standard 12-lead ECG, samples rounded to the nearest unit of `unitsPerBit`.
 */
export function writeMuseXml(ecg: Ecg, options: MuseWriteOptions = {}): Uint8Array {
  const unitsPerBit = options.unitsPerBit ?? 4.88;
  const scale = ecg.units === 'mV' ? 1000 : ecg.units === 'V' ? 1_000_000 : 1;
  if (ecg.units === 'adu') {
    throw new RangeError('an ECG in converter units has no amplitude to write');
  }
  const isStandard = STANDARD_12_LEADS.every((name) => ecg.leads.includes(name));
  const written = ecg.leads.filter(
    (name) =>
      options.storeAllLeads === true || !isStandard || !['III', 'aVR', 'aVL', 'aVF'].includes(name),
  );
  const field = (name: string, value: string) => `    <${name}>${escapeXml(value)}</${name}>`;
  const fields = (values: Record<string, string> | undefined) =>
    Object.entries(values ?? {}).map(([name, value]) => field(name, value));
  const exponent = Number.isInteger(ecg.samplingRate) ? 0 : -3;
  const base = Math.round(ecg.samplingRate * 10 ** -exponent);
  const lines = [
    '<?xml version="1.0" encoding="ISO-8859-1"?>',
    '<!DOCTYPE RestingECG SYSTEM "restecg.dtd">',
    '<RestingECG>',
    '  <MuseInfo><MuseVersion>lantern</MuseVersion></MuseInfo>',
    '  <PatientDemographics>',
    ...fields(options.patient),
    '  </PatientDemographics>',
    '  <TestDemographics>',
    ...fields({ DataType: 'RESTING', ...options.test }),
    '  </TestDemographics>',
    '  <Waveform>',
    '    <WaveformType>Rhythm</WaveformType>',
    '    <WaveformStartTime>0</WaveformStartTime>',
    `    <NumberofLeads>${written.length}</NumberofLeads>`,
    '    <SampleType>CONTINUOUS_SAMPLES</SampleType>',
    `    <SampleBase>${base}</SampleBase>`,
    `    <SampleExponent>${exponent}</SampleExponent>`,
  ];
  for (const name of written) {
    const samples = ecg.samples[ecg.leads.indexOf(name)] ?? new Float32Array();
    const raw = Buffer.alloc(samples.length * 2);
    for (let i = 0; i < samples.length; i++) {
      const value = Math.round(((samples[i] ?? 0) * scale) / unitsPerBit);
      raw.writeInt16LE(Math.max(-32768, Math.min(32767, value)), i * 2);
    }
    lines.push(
      '    <LeadData>',
      `      <LeadByteCountTotal>${raw.length}</LeadByteCountTotal>`,
      '      <LeadTimeOffset>0</LeadTimeOffset>',
      `      <LeadSampleCountTotal>${samples.length}</LeadSampleCountTotal>`,
      `      <LeadAmplitudeUnitsPerBit>${unitsPerBit}</LeadAmplitudeUnitsPerBit>`,
      '      <LeadAmplitudeUnits>MICROVOLTS</LeadAmplitudeUnits>',
      `      <LeadID>${escapeXml(name)}</LeadID>`,
      '      <LeadSampleSize>2</LeadSampleSize>',
      `      <WaveFormData>${raw.toString('base64')}</WaveFormData>`,
      '    </LeadData>',
    );
  }
  lines.push('  </Waveform>', '</RestingECG>', '');
  const text = lines
    .join('\n')
    .replace(/[^\t\n\r -~]/gu, (char) => `&#${char.codePointAt(0) ?? 63};`);
  return new TextEncoder().encode(text);
}

function parseUnits(text: string): EcgUnits | undefined {
  switch (text.toUpperCase()) {
    case 'MICROVOLTS':
    case 'UV':
      return 'uV';
    case 'MILLIVOLTS':
    case 'MV':
      return 'mV';
    default:
      return undefined;
  }
}
