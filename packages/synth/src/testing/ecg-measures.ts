/**
 * Simple measurements of an ECG for the tests, independent of how the generator works: R peaks
 * found on the slope energy of all leads (a Pan–Tompkins-like detector without its adaptive
 * thresholds), heart rate and SDNN from them.
 */
import { type Ecg } from '@lantern/formats';

/** Sample indexes of the R peaks. */
export function detectRPeaks(ecg: Ecg): number[] {
  const rate = ecg.samplingRate;
  const n = ecg.sampleCount;
  const energy = new Float64Array(n);
  // The change over 10 ms: steep in a QRS complex, small in P and T waves and in white noise.
  const lag = Math.max(1, Math.round(0.01 * rate));
  for (const lead of ecg.samples) {
    for (let i = lag; i < n; i++) {
      const slope = (lead[i] ?? 0) - (lead[i - lag] ?? 0);
      energy[i] = (energy[i] ?? 0) + slope * slope;
    }
  }
  // Integrate over 60 ms: one hump per QRS complex.
  const window = Math.round(0.06 * rate);
  const smooth = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += (energy[i] ?? 0) - (energy[i - window] ?? 0);
    smooth[i] = sum;
  }
  const sorted = Float64Array.from(smooth).sort();
  const threshold = 0.3 * (sorted[Math.floor(0.99 * n)] ?? 0);
  const refractory = Math.round(0.25 * rate);
  const peaks: number[] = [];
  for (let i = 1; i < n - 1; i++) {
    const value = smooth[i] ?? 0;
    if (value < threshold || value < (smooth[i - 1] ?? 0) || value < (smooth[i + 1] ?? 0)) {
      continue;
    }
    const last = peaks[peaks.length - 1];
    if (last !== undefined && i - last < refractory) {
      if (value > (smooth[last] ?? 0)) {
        peaks[peaks.length - 1] = i;
      }
      continue;
    }
    peaks.push(i);
  }
  return peaks;
}

/** RR intervals in seconds between consecutive peaks. */
export function rrIntervals(peaks: readonly number[], rate: number): number[] {
  return peaks.slice(1).map((peak, i) => (peak - (peaks[i] ?? 0)) / rate);
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function standardDeviation(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
}

/** Area under the ROC curve of `score` for `label` (the chance a case outscores a control). */
export function auc(score: readonly number[], label: readonly boolean[]): number {
  let wins = 0;
  let pairs = 0;
  score.forEach((a, i) => {
    if (label[i] !== true) {
      return;
    }
    score.forEach((b, j) => {
      if (label[j] === true) {
        return;
      }
      pairs += 1;
      wins += a > b ? 1 : a === b ? 0.5 : 0;
    });
  });
  return wins / pairs;
}
