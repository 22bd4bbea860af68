import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { readDicom } from './parse.js';
import { channelValues, readWaveforms } from './waveform.js';

/** A 12-lead ECG from a Mortara eli 250, shipped by Debian's python3-pydicom. */
const ECG = '/usr/lib/python3/dist-packages/pydicom/data/test_files/waveform_ecg.dcm';
const LEADS = [
  'Lead I (Einthoven)',
  'Lead II',
  'Lead III',
  'Lead aVR',
  'Lead aVL',
  'Lead aVF',
  'Lead V1',
  'Lead V2',
  'Lead V3',
  'Lead V4',
  'Lead V5',
  'Lead V6',
];

describe('12-lead ECG waveform (waveform_ecg.dcm), compared with pydicom.waveform_array', () => {
  const groups = readWaveforms(readDicom(readFileSync(ECG), { name: 'waveform_ecg.dcm' }));

  it('reads both multiplex groups: 10 s rhythm and the median beat, at 1000 Hz', () => {
    expect(
      groups.map((g) => [
        g.label,
        g.channels.length,
        g.samplesPerChannel,
        g.samplingFrequency,
        g.sampleInterpretation,
      ]),
    ).toEqual([
      ['RHYTHM', 12, 10000, 1000, 'SS'],
      ['MEDIAN BEAT', 12, 1200, 1000, 'SS'],
    ]);
  });

  it('labels the channels from their source codes and scales them in microvolts', () => {
    const rhythm = groups[0];
    expect(rhythm?.channels.map((c) => c.label)).toEqual(LEADS);
    expect(
      rhythm?.channels.every(
        (c) => c.sensitivity === 1.25 && c.units === 'uV' && c.correctionFactor === 1,
      ),
    ).toBe(true);
  });

  it('de-multiplexes the samples as pydicom does', () => {
    const channels = groups[0]?.channels ?? [];
    // pydicom: raw[:3, :4] = [[80, 90, 10, -85], [65, 85, 20, -75], [50, 80, 30, -65]]
    expect(channels.slice(0, 4).map((c) => Array.from(c.samples.subarray(0, 3)))).toEqual([
      [80, 65, 50],
      [90, 85, 80],
      [10, 20, 30],
      [-85, -75, -65],
    ]);
    expect(channels[0]?.samples).toBeInstanceOf(Int16Array);
    let sum = 0;
    for (const channel of channels) {
      for (const sample of channel.samples) {
        sum += sample;
      }
    }
    expect(sum).toBe(3269648);
    expect(
      Array.from(
        channelValues(
          channels[1] ?? {
            sensitivity: null,
            correctionFactor: 1,
            baseline: 0,
            label: '',
            sourceCode: null,
            units: null,
            samples: new Int16Array(0),
          },
        ).subarray(0, 3),
      ),
    ).toEqual([112.5, 106.25, 100]);
  });

  it('refuses Waveform Data shorter than its channels x samples', () => {
    const bytes = Buffer.from(readFileSync(ECG));
    // Number of Waveform Samples (003A,0010) UL 10000 -> 4,000,000 in the first group.
    const at = bytes.indexOf(Buffer.from([0x3a, 0x00, 0x10, 0x00, 0x55, 0x4c, 0x04, 0x00]));
    bytes.writeUInt32LE(4_000_000, at + 8);
    let error: unknown = null;
    try {
      readWaveforms(readDicom(bytes, { name: 'ecg' }));
    } catch (caught) {
      error = caught;
    }
    expect(error instanceof FormatError ? error.code : error).toBe('invalid_dicom');
  });
});
