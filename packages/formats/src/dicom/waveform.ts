/**
 * Waveforms (PS3.3 C.10.9, the waveform module; the 12-lead ECG IOD of A.34.3): each multiplex
 * group of the Waveform Sequence holds its channels' samples interleaved (sample 1 of every
 * channel, then sample 2, …) in Waveform Data, with the channel definitions that label and scale
 * them. Samples come out per channel as typed arrays of the stored width, with the sensitivity that
 * turns them into physical units: value = sample x sensitivity x correction factor + baseline.
 */
import { FormatError } from '../format-error.js';
import { TAG } from './dictionary.js';
import type { DicomDataset, DicomFile } from './parse.js';

export type WaveformSamples =
  Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

export interface WaveformChannel {
  /** Channel Label if the file gives one, else the Channel Source's code meaning ("Lead II"). */
  label: string;
  /** The Channel Source code (SCPECG or MDC), e.g. "5.6.3-9-2". */
  sourceCode: string | null;
  /** Physical units per sample step (Channel Sensitivity), or null when not given. */
  sensitivity: number | null;
  /** The units of the sensitivity (UCUM code, e.g. "uV"). */
  units: string | null;
  correctionFactor: number;
  baseline: number;
  samples: WaveformSamples;
}

export interface WaveformGroup {
  /** Multiplex Group Label ("RHYTHM", "MEDIAN BEAT"). */
  label: string | null;
  samplingFrequency: number;
  samplesPerChannel: number;
  sampleInterpretation: string;
  channels: WaveformChannel[];
}

/** The largest multiplex group read: 2^27 samples (all channels). */
const MAX_SAMPLES = 2 ** 27;

const SAMPLE_TYPES: Record<string, { bytes: number; signed: boolean }> = {
  SB: { bytes: 1, signed: true },
  UB: { bytes: 1, signed: false },
  SS: { bytes: 2, signed: true },
  US: { bytes: 2, signed: false },
  SL: { bytes: 4, signed: true },
  UL: { bytes: 4, signed: false },
};

/** The multiplex groups of a waveform file; [] when it has no Waveform Sequence. */
export function readWaveforms(file: DicomFile): WaveformGroup[] {
  return file.dataset
    .items(TAG.WaveformSequence)
    .map((group, index) => readGroup(file, group, index));
}

function readGroup(file: DicomFile, group: DicomDataset, index: number): WaveformGroup {
  const data = group.get(TAG.WaveformData);
  const offset = data?.offset ?? file.dataset.get(TAG.WaveformSequence)?.offset ?? 0;
  const fail = (
    code: 'missing_element' | 'invalid_dicom' | 'unsupported_pixel_data',
    detail: string,
  ) => new FormatError(code, `waveform group ${index + 1}: ${detail}`, { file: file.name, offset });
  const channelCount = group.number(TAG.NumberOfWaveformChannels);
  const samplesPerChannel = group.number(TAG.NumberOfWaveformSamples);
  const samplingFrequency = group.number(TAG.SamplingFrequency);
  const interpretation = group.string(TAG.WaveformSampleInterpretation) ?? '';
  const bitsAllocated = group.number(TAG.WaveformBitsAllocated);
  if (
    data === undefined ||
    channelCount === null ||
    samplesPerChannel === null ||
    samplingFrequency === null
  ) {
    throw fail(
      'missing_element',
      'Waveform Data, Number of Waveform Channels, Number of Waveform Samples or Sampling Frequency is missing',
    );
  }
  const type = SAMPLE_TYPES[interpretation];
  if (type === undefined || (bitsAllocated !== null && bitsAllocated !== type.bytes * 8)) {
    throw fail(
      'unsupported_pixel_data',
      `samples of interpretation ${interpretation || '(none)'} in ${bitsAllocated ?? '?'} bits are not read`,
    );
  }
  const total = channelCount * samplesPerChannel;
  if (total > MAX_SAMPLES || !(samplingFrequency > 0)) {
    throw fail(
      'invalid_dicom',
      `${channelCount} x ${samplesPerChannel} samples at ${samplingFrequency} Hz is not a waveform`,
    );
  }
  if (total * type.bytes > data.bytes.length) {
    throw fail(
      'invalid_dicom',
      `Waveform Data has ${data.bytes.length} bytes, too few for ${total} samples`,
    );
  }
  const definitions = group.items(TAG.ChannelDefinitionSequence);
  const view = new DataView(data.bytes.buffer, data.bytes.byteOffset, data.bytes.byteLength);
  const le = group.isLittleEndian;
  const channels: WaveformChannel[] = [];
  for (let c = 0; c < channelCount; c += 1) {
    const definition = definitions[c];
    const source = definition?.items(TAG.ChannelSourceSequence)[0];
    const samples = allocate(type, samplesPerChannel);
    for (let i = 0; i < samplesPerChannel; i += 1) {
      const at = (i * channelCount + c) * type.bytes;
      samples[i] = readSample(view, at, type, le);
    }
    channels.push({
      label:
        definition?.string(TAG.ChannelLabel) ??
        source?.string(TAG.CodeMeaning) ??
        `channel ${c + 1}`,
      sourceCode: source?.string(TAG.CodeValue) ?? null,
      sensitivity: definition?.number(TAG.ChannelSensitivity) ?? null,
      units:
        definition?.items(TAG.ChannelSensitivityUnitsSequence)[0]?.string(TAG.CodeValue) ?? null,
      correctionFactor: definition?.number(TAG.ChannelSensitivityCorrectionFactor) ?? 1,
      baseline: definition?.number(TAG.ChannelBaseline) ?? 0,
      samples,
    });
  }
  return {
    label: group.string(TAG.MultiplexGroupLabel),
    samplingFrequency,
    samplesPerChannel,
    sampleInterpretation: interpretation,
    channels,
  };
}

function allocate(type: { bytes: number; signed: boolean }, length: number): WaveformSamples {
  switch (type.bytes) {
    case 1:
      return type.signed ? new Int8Array(length) : new Uint8Array(length);
    case 2:
      return type.signed ? new Int16Array(length) : new Uint16Array(length);
    default:
      return type.signed ? new Int32Array(length) : new Uint32Array(length);
  }
}

function readSample(
  view: DataView,
  at: number,
  type: { bytes: number; signed: boolean },
  le: boolean,
): number {
  switch (type.bytes) {
    case 1:
      return type.signed ? view.getInt8(at) : view.getUint8(at);
    case 2:
      return type.signed ? view.getInt16(at, le) : view.getUint16(at, le);
    default:
      return type.signed ? view.getInt32(at, le) : view.getUint32(at, le);
  }
}

/** A channel's samples in physical units (sample x sensitivity x correction + baseline). */
export function channelValues(channel: WaveformChannel): Float64Array {
  const scale = (channel.sensitivity ?? 1) * channel.correctionFactor;
  return Float64Array.from(channel.samples, (sample) => sample * scale + channel.baseline);
}
