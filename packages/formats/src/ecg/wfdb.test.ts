import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { makeEcg, STANDARD_12_LEADS } from './ecg.js';
import { readEcgNpz } from './npz.js';
import { isWfdbHeader, parseWfdbHeader, readWfdb, writeWfdb } from './wfdb.js';

/** scipy's real ECG excerpt (python3-scipy, installed by scripts/debian-packages.sh test). */
const SCIPY_ECG = '/usr/lib/python3/dist-packages/scipy/misc/ecg.dat';

const encode = (text: string) => new TextEncoder().encode(text);

function failureOf(read: () => unknown): FormatError {
  try {
    read();
  } catch (error) {
    if (error instanceof FormatError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a FormatError, got none');
}

/** The header of MIT-BIH Arrhythmia Database record 100, as PhysioNet distributes it. */
const MITDB_100 = `100 2 360 650000
100.dat 212 200 11 1024 995 -22131 0 MLII
100.dat 212 200 11 1024 1011 20052 0 V5
# 69 M 1085 1629 x1
# Aldomet, Inderal
`;

describe('WFDB headers', () => {
  it('parses a PhysioNet header: the baseline defaults to the ADC zero, units to mV', () => {
    expect(isWfdbHeader(encode(MITDB_100))).toBe(true);
    const header = parseWfdbHeader(encode(MITDB_100), { name: '100.hea' });
    expect([header.recordName, header.samplingRate, header.sampleCount]).toEqual([
      '100',
      360,
      650000,
    ]);
    expect(header.comments).toEqual(['69 M 1085 1629 x1', 'Aldomet, Inderal']);
    expect(
      header.signals.map((s) => [
        s.fileName,
        s.format,
        s.gain,
        s.baseline,
        s.units,
        s.adcResolution,
      ]),
    ).toEqual([
      ['100.dat', 212, 200, 1024, 'mV', 11],
      ['100.dat', 212, 200, 1024, 'mV', 11],
    ]);
    expect(header.signals.map((s) => [s.initialValue, s.checksum, s.description])).toEqual([
      [995, -22131, 'MLII'],
      [1011, 20052, 'V5'],
    ]);
    expect(header.identifying).toEqual([]);
  });

  it('lists the base time and date as identifying, masked', () => {
    const header = parseWfdbHeader(
      encode('r 1 500 10 12:30:00 25/12/2019\nr.dat 16 1000/uV 16 0 0 0 0 I\n'),
      {
        name: 'r.hea',
      },
    );
    expect(header.identifying).toEqual([
      { field: 'record/baseTime', value: '1*******' },
      { field: 'record/baseDate', value: '2*********' },
    ]);
    expect(header.signals[0]?.units).toBe('uV');
  });
});

describe('WFDB round trips', () => {
  it('writes the header and format 212 bytes computed by hand', () => {
    const ecg = makeEcg(
      {
        leads: ['I', 'II'],
        samplingRate: 360,
        units: 'adu',
        samples: [Int16Array.from([1, -2, 2047]), Int16Array.from([100, 0, -2048])],
      },
      'hand',
    );
    const { header, files } = writeWfdb(ecg, { recordName: 'rec', format: 212 });
    // Checksums: 1 - 2 + 2047 = 2046 and 100 + 0 - 2048 = -1948.
    expect(header).toBe(
      'rec 2 360 3\nrec.dat 212 200(0)/mV 12 0 1 2046 0 I\nrec.dat 212 200(0)/mV 12 0 100 -1948 0 II\n',
    );
    // Interleaved 1, 100 | -2, 0 | 2047, -2048: each pair is low byte of the first, high nibbles
    // (second's, first's), low byte of the second.
    expect([...(files.get('rec.dat') ?? [])]).toEqual([
      0x01, 0x00, 0x64, 0xfe, 0x0f, 0x00, 0xff, 0x87, 0x00,
    ]);
    const back = readWfdb(encode(header), files, { name: 'rec.hea', digital: true });
    expect(back.ecg).toEqual(ecg);
    const physical = readWfdb(encode(header), files, { name: 'rec.hea' }).ecg;
    expect(physical.units).toBe('mV');
    expect([...(physical.samples[1] ?? [])]).toEqual([0.5, 0, -10.24].map(Math.fround));
  });

  for (const format of [16, 212] as const) {
    it(`writes a 12-lead ECG in format ${format} that it reads back`, () => {
      const ecg = makeEcg(
        {
          leads: [...STANDARD_12_LEADS],
          samplingRate: 500,
          units: 'mV',
          samples: STANDARD_12_LEADS.map((_, lead) =>
            Float32Array.from(
              { length: 5001 },
              (_, t) => Math.round(400 * Math.sin((t + 30 * lead) / 25)) / 200 || 0,
            ),
          ),
        },
        'made',
      );
      const { header, files } = writeWfdb(ecg, {
        recordName: 'ecg-1',
        format,
        comments: ['synthetic'],
      });
      expect(files.get('ecg-1.dat')?.length).toBe(
        format === 16 ? 12 * 5001 * 2 : Math.ceil((12 * 5001 * 3) / 2),
      );
      const back = readWfdb(encode(header), files, { name: 'ecg-1.hea' });
      expect(back.header.comments).toEqual(['synthetic']);
      expect(back.ecg).toEqual(ecg);
    });
  }

  it('carries scipy’s real ECG (MIT-BIH record 208, lead MLII) through format 212', async () => {
    const bytes = new Uint8Array(await readFile(SCIPY_ECG));
    const real = readEcgNpz(bytes, {
      name: 'ecg.dat',
      arrayName: 'ecg',
      samplingRate: 360,
      units: 'adu',
      leads: ['MLII'],
    });
    const adu = makeEcg(
      { ...real, samples: real.samples.map((lead) => Int16Array.from(lead)) },
      'ecg.dat',
    );
    const { header, files } = writeWfdb(adu, {
      recordName: '208',
      format: 212,
      baseline: 1024,
      gain: 200,
    });
    expect(header.split('\n')[0]).toBe('208 1 360 108000');
    const back = readWfdb(encode(header), files, { name: '208.hea' });
    expect([back.ecg.duration, back.ecg.units, back.ecg.leads]).toEqual([300, 'mV', ['MLII']]);
    // scipy.misc.electrocardiogram() is (x - 1024) / 200: its first values are -0.245, -0.215, -0.185.
    expect([...(back.ecg.samples[0]?.subarray(0, 3) ?? [])]).toEqual(
      [-0.245, -0.215, -0.185].map(Math.fround),
    );
    expect(
      readWfdb(encode(header), files, { name: '208.hea', digital: true }).ecg.samples[0],
    ).toEqual(adu.samples[0]);
  });

  it('reads a record whose header gives no sample count from the file length', () => {
    const files = new Map([['x.dat', Uint8Array.from([1, 0, 2, 0, 3, 0, 4, 0])]]);
    const ecg = readWfdb(encode('x 2 100\nx.dat 16 1 16 0\nx.dat 16 1 16 0\n'), files, {
      name: 'x.hea',
    }).ecg;
    expect(ecg.samples.map((lead) => [...lead])).toEqual([
      [1, 3],
      [2, 4],
    ]);
  });
});

describe('WFDB refused', () => {
  const ecg = makeEcg(
    {
      leads: ['I', 'II'],
      samplingRate: 100,
      units: 'adu',
      samples: [new Int16Array(50).fill(3), new Int16Array(50).fill(-1)],
    },
    'x',
  );
  const { header, files } = writeWfdb(ecg, { recordName: 'r', format: 16 });
  const data = files.get('r.dat') ?? new Uint8Array();
  const name = 'r.hea';
  const cases: [string, string, Map<string, Uint8Array>, string][] = [
    ['a truncated signal file', header, new Map([['r.dat', data.subarray(0, 150)]]), 'truncated'],
    ['a missing signal file', header, new Map<string, Uint8Array>(), 'invalid_wfdb'],
    ['a checksum that disagrees', header.replace(' 150 0 I', ' 151 0 I'), files, 'invalid_wfdb'],
    [
      'an initial value that disagrees',
      header.replace(' 0 3 150 ', ' 0 4 150 '),
      files,
      'invalid_wfdb',
    ],
    [
      'a huge sample count',
      header.replace('r 2 100 50', 'r 2 100 999999999999999'),
      files,
      'limit_exceeded',
    ],
    ['too many signals', header.replace('r 2 100 50', 'r 100000 100 50'), files, 'limit_exceeded'],
    ['missing signal lines', header.split('\n').slice(0, 2).join('\n'), files, 'truncated'],
    ['a multi-segment record', 'r/3 2 100 50\n', files, 'invalid_wfdb'],
    ['format 80', header.replaceAll('r.dat 16', 'r.dat 80'), files, 'invalid_wfdb'],
    [
      'several samples per frame',
      header.replaceAll('r.dat 16', 'r.dat 16x2'),
      files,
      'invalid_wfdb',
    ],
    [
      'a path as the signal file',
      header.replaceAll('r.dat', '../../etc/passwd'),
      files,
      'invalid_wfdb',
    ],
    ['a bad sampling frequency', header.replace('r 2 100 50', 'r 2 -5 50'), files, 'invalid_wfdb'],
    ['an empty header', '', files, 'invalid_wfdb'],
  ];
  for (const [what, text, signalFiles, code] of cases) {
    it(`refuses ${what} (${code})`, () => {
      const error = failureOf(() => readWfdb(encode(text), signalFiles, { name }));
      expect(error.code).toBe(code);
    });
  }

  it('names the signal file and its end when it is truncated', () => {
    const error = failureOf(() =>
      readWfdb(encode(header), new Map([['r.dat', data.subarray(0, 151)]]), { name }),
    );
    expect([error.file, error.offset]).toEqual(['r.dat', 151]);
  });

  it('refuses to write a value format 212 cannot hold', () => {
    const big = makeEcg(
      { leads: ['I'], samplingRate: 1, units: 'adu', samples: [Int16Array.from([2048])] },
      'x',
    );
    expect(() => writeWfdb(big, { recordName: 'b', format: 212 })).toThrow(RangeError);
  });
});
