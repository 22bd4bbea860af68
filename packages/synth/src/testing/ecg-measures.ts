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

/** The middle value (the mean of the two middle ones for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  if (sorted.length === 0) {
    return 0;
  }
  return sorted.length % 2 === 1
    ? (sorted[half] ?? 0)
    : ((sorted[half - 1] ?? 0) + (sorted[half] ?? 0)) / 2;
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

/**
 * The ST segment's deviation from the baseline in each lead, microvolts, the median over the
 * beats: the level 70–90 ms after each peak `detectRPeaks` found (its peak sits on the QRS's
 * steepest part, a little after the R wave's apex, so this is early in the ST segment, past the J
 * point) less the level 55–70 ms before it (the end of the PR segment). Ischaemia raises it in
 * some leads and lowers it in others; healthy hearts keep it near zero in all.
 */
export function stDeviations(ecg: Ecg, peaks: readonly number[]): number[] {
  const rate = ecg.samplingRate;
  const at = (ms: number) => Math.round((ms / 1000) * rate);
  const windowMean = (lead: ArrayLike<number>, from: number, to: number) => {
    let sum = 0;
    for (let i = from; i <= to; i++) {
      sum += lead[i] ?? 0;
    }
    return sum / (to - from + 1);
  };
  const beats = peaks.filter((peak) => peak - at(70) >= 0 && peak + at(90) < ecg.sampleCount);
  return ecg.samples.map((lead) =>
    median(
      beats.map(
        (peak) =>
          windowMean(lead, peak + at(70), peak + at(90)) -
          windowMean(lead, peak - at(70), peak - at(55)),
      ),
    ),
  );
}
