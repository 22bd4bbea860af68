import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { describeEcg, describeEcgFile } from './describe-ecg.js';
import { makeEcg, STANDARD_12_LEADS } from './ecg.js';
import { writeMuseXml } from './muse-xml.js';
import { writeNpy } from './npy.js';
import { writeWfdb } from './wfdb.js';

const fixture = (name: string) => new URL(`../../fixtures/ecg/${name}`, import.meta.url).pathname;
/** scipy's real ECG excerpt (python3-scipy, installed by scripts/debian-packages.sh test). */
const SCIPY_ECG = '/usr/lib/python3/dist-packages/scipy/misc/ecg.dat';

const ecg = makeEcg(
  {
    leads: [...STANDARD_12_LEADS],
    samplingRate: 500,
    units: 'uV',
    samples: STANDARD_12_LEADS.map(() =>
      Int16Array.from({ length: 5000 }, (_, t) => (t % 50) * 10),
    ),
  },
  'made',
);

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-ecg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('describeEcgFile', () => {
  it('describes a Nightingale-style .npz written by NumPy, saying what it assumed', async () => {
    expect(await describeEcgFile(fixture('waveform-savez-compressed.npz'))).toEqual({
      format: 'ecg-npz',
      leads: [...STANDARD_12_LEADS],
      samplingRate: 500,
      sampleCount: 5500,
      duration: 11,
      units: 'uV',
      count: 1,
      shape: [12, 5500],
      dtype: '<i2',
      assumed: ['samplingRate', 'units', 'leads'],
      identifying: [],
    });
  });

  it('describes a stacked .npy from its header, and scipy’s real ecg.dat as its only array', async () => {
    const stack = await describeEcgFile(fixture('stack-f4.npy'), { samplingRate: 100 });
    expect([stack.format, stack.count, stack.sampleCount, stack.duration, stack.assumed]).toEqual([
      'ecg-npy',
      3,
      100,
      1,
      ['units', 'leads'],
    ]);
    const real = await describeEcgFile(SCIPY_ECG, {
      samplingRate: 360,
      units: 'adu',
      leads: ['MLII'],
    });
    expect([real.format, real.shape, real.dtype, real.duration]).toEqual([
      'ecg-npz',
      [108_000],
      '<u2',
      300,
    ]);
  });

  it('describes MUSE XML with its identifying fields masked', async () => {
    const path = join(dir, 'muse.xml');
    await writeFile(
      path,
      writeMuseXml(ecg, { patient: { PatientID: 'MRN777123', PatientFirstName: 'Grace' } }),
    );
    const described = await describeEcgFile(path);
    expect(described).toMatchObject({
      format: 'ecg-muse-xml',
      leads: [...STANDARD_12_LEADS],
      samplingRate: 500,
      duration: 10,
      units: 'uV',
      waveformType: 'Rhythm',
      derivedLeads: ['III', 'aVR', 'aVL', 'aVF'],
      identifying: [
        { field: 'PatientDemographics/PatientID', value: 'M********' },
        { field: 'PatientDemographics/PatientFirstName', value: 'G****' },
      ],
    });
    expect(JSON.stringify(described)).not.toMatch(/MRN777123|Grace/u);
  });

  it('describes a WFDB header, measuring its signal file when the header has no sample count', async () => {
    const { header, files } = writeWfdb(ecg, {
      recordName: 'ecg',
      format: 212,
      gain: 1,
    });
    await writeFile(join(dir, 'ecg.hea'), header);
    for (const [name, bytes] of files) {
      await writeFile(join(dir, name), bytes);
    }
    const described = await describeEcgFile(join(dir, 'ecg.hea'));
    expect([
      described.format,
      described.leads,
      described.samplingRate,
      described.duration,
      described.units,
    ]).toEqual(['ecg-wfdb', [...STANDARD_12_LEADS], 500, 10, 'uV']);
    await writeFile(join(dir, 'short.hea'), header.replace('ecg 12 500 5000', 'ecg 12 500'));
    expect((await describeEcgFile(join(dir, 'short.hea'))).sampleCount).toBe(5000);
  });
});

describe('describeEcg refused', () => {
  const failureOf = (bytes: Uint8Array) => {
    try {
      describeEcg(bytes, { name: 'x' });
    } catch (error) {
      if (error instanceof FormatError) {
        return error.code;
      }
      throw error;
    }
    return 'none';
  };

  it('refuses what is no ECG format, a truncated .npy, and an .npz without a waveform', () => {
    expect(failureOf(new TextEncoder().encode('%PDF-1.7'))).toBe('invalid_ecg');
    const npy = writeNpy({ shape: [12, 100], data: new Int16Array(1200) });
    expect(failureOf(npy.subarray(0, npy.length - 1))).toBe('truncated');
    expect(failureOf(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0]))).toBe('invalid_zip');
  });
});
