import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { detectRPeaks, mean, rrIntervals } from '../testing/ecg-measures.js';
import { simulateEcg, type EcgModelParams } from './ecgsyn.js';
import { renderEcgSvg } from './render-svg.js';

const normal: EcgModelParams = {
  heartRate: 72,
  rrStd: 0.04,
  lfHfRatio: 1,
  respirationHz: 0.25,
  axisDegrees: 50,
  posteriorTiltDegrees: 18,
  qtFactor: 1,
  stLevel: 0,
  tScale: 1,
  amplitudeMv: 1.6,
  noiseUv: 10,
  wanderUv: 60,
};

const lead = (ecg: ReturnType<typeof simulateEcg>, name: string) => {
  const samples = ecg.samples[ecg.leads.indexOf(name)];
  if (samples === undefined) {
    throw new Error(`no lead ${name}`);
  }
  return samples;
};

describe('the ECG model', () => {
  it('makes 10 s of 12 leads at 500 Hz, int16 microvolts, the same for the same seed', () => {
    const ecg = simulateEcg(normal, new Random(3));
    expect(ecg.leads).toEqual([
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
    ]);
    expect(ecg).toMatchObject({ samplingRate: 500, units: 'uV', sampleCount: 5000, duration: 10 });
    expect(ecg.samples.every((samples) => samples instanceof Int16Array)).toBe(true);
    expect(simulateEcg(normal, new Random(3)).samples).toEqual(ecg.samples);
    expect(simulateEcg(normal, new Random(4)).samples).not.toEqual(ecg.samples);
  });

  it("keeps Einthoven's and Goldberger's laws within rounding", () => {
    for (const seed of [1, 2, 3]) {
      const ecg = simulateEcg({ ...normal, axisDegrees: -20 + 40 * seed }, new Random(seed));
      const [one, two, three, aVR, aVL, aVF] = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF'].map((name) =>
        lead(ecg, name),
      );
      for (let n = 0; n < ecg.sampleCount; n++) {
        const i = one?.[n] ?? NaN;
        const ii = two?.[n] ?? NaN;
        expect(Math.abs((three?.[n] ?? NaN) - (ii - i))).toBeLessThanOrEqual(1);
        expect(Math.abs((aVR?.[n] ?? NaN) + (i + ii) / 2)).toBeLessThanOrEqual(1.5);
        expect(Math.abs((aVL?.[n] ?? NaN) - (i - ii / 2))).toBeLessThanOrEqual(1.5);
        expect(Math.abs((aVF?.[n] ?? NaN) - (ii - i / 2))).toBeLessThanOrEqual(1.5);
      }
    }
  });

  it('beats at the configured rate, with QRS complexes of plausible size and polarity', () => {
    for (const heartRate of [50, 75, 110]) {
      const ecg = simulateEcg({ ...normal, heartRate }, new Random(heartRate));
      const peaks = detectRPeaks(ecg);
      const rate = 60 / mean(rrIntervals(peaks, ecg.samplingRate));
      expect(Math.abs(rate - heartRate) / heartRate).toBeLessThan(0.08);
      // A normal axis: the R wave is upright in II and inverted in aVR; V1 is mostly negative.
      // The detector marks the end of its 60 ms window: the R wave is in the 60 ms before.
      const extreme = (name: string, pick: (...values: number[]) => number) =>
        peaks.map((peak) => pick(...lead(ecg, name).slice(Math.max(0, peak - 30), peak + 1)));
      expect(mean(extreme('II', Math.max))).toBeGreaterThan(500);
      expect(mean(extreme('aVR', Math.min))).toBeLessThan(-300);
      expect(Math.min(...lead(ecg, 'V1'))).toBeLessThan(-300);
    }
  });

  it('draws a 12-lead ECG that looks like one (test-results/synth-ecg.svg)', () => {
    const ecg = simulateEcg(normal, new Random(1));
    const svg = renderEcgSvg(ecg, { title: 'synthetic 12-lead ECG, 72 bpm, 25 mm/s, 10 mm/mV' });
    expect(svg).toContain('<polyline');
    expect(svg.match(/<polyline/gu)).toHaveLength(12);
    mkdirSync('test-results', { recursive: true });
    writeFileSync(join('test-results', 'synth-ecg.svg'), svg);
  });
});
