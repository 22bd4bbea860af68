/**
 * A 12-lead ECG from a dynamical model: ECGSYN (McSharry, Clifford, Tarassenko and Smith, "A
 * dynamical model for generating synthetic electrocardiogram signals", IEEE Trans Biomed Eng 50(3),
 * 2003; https://physionet.org/content/ecgsyn/), extended to three dimensions as in Sayadi,
 * Shamsollahi and Clifford's vectorcardiogram model (Physiol Meas 2010).
 *
 * A point runs round a limit cycle (x, y) at the angular speed 2π/RR of the current beat; each wave
 * (P, Q, R, S, ST, T) is a Gaussian event at an angle θᵢ on the cycle that pushes the heart's
 * electrical dipole along its own direction uᵢ in space. The RR intervals come from a tachogram
 * with ECGSYN's bimodal spectrum: a Mayer-wave peak at 0.1 Hz (LF) and respiratory sinus
 * arrhythmia at the breathing rate (HF). The equations are integrated with fixed-step RK4 at 1 kHz
 * and kept every other step (500 Hz). The dipole is projected on the lead vectors of the frontal
 * plane (I, II) and of the chest (V1–V6); III, aVR, aVL and aVF are derived from I and II, so
 * Einthoven's and Goldberger's laws hold to the rounding of a microvolt. Baseline wander and noise
 * are added at the electrodes, so they obey the same laws.
 */
import { makeEcg, STANDARD_12_LEADS, type Ecg } from '@lantern/formats';
import { type Random } from '../random.js';

/** What makes one ECG: the patient's heart and the recording's conditions. */
export interface EcgModelParams {
  /** Mean heart rate, beats per minute. */
  heartRate: number;
  /** Standard deviation of the RR intervals (SDNN), seconds. */
  rrStd: number;
  /** Power ratio of the low-frequency (0.1 Hz) to the high-frequency (respiratory) RR variation. */
  lfHfRatio: number;
  /** Breathing rate, Hz (the HF peak of the tachogram and the baseline's respiratory swing). */
  respirationHz: number;
  /** Frontal QRS axis, degrees (0 = towards the left arm, 90 = towards the feet). */
  axisDegrees: number;
  /** Tilt of the QRS towards the back, degrees (rotates the R progression across V1–V6). */
  posteriorTiltDegrees: number;
  /** Repolarization delay: 1 is a normal QT, 1.2 a long one (the T wave's angle is scaled). */
  qtFactor: number;
  /** ST deviation as a fraction of the R wave; negative is ST depression where the R wave points. */
  stLevel: number;
  /** T-wave size relative to the usual. */
  tScale: number;
  /** The QRS dipole's peak, millivolts. */
  amplitudeMv: number;
  /** White noise at each electrode, microvolts (standard deviation). */
  noiseUv: number;
  /** Baseline wander at each electrode, microvolts (amplitude). */
  wanderUv: number;
  /** Seconds. Default 10. */
  durationSeconds?: number;
  /** Hz. Default 500. */
  samplingRate?: number;
}

type Vector = readonly [number, number, number];

/** ECGSYN's waves: angle (degrees at 60 bpm), amplitude and width (radians). ST is added here. */
const WAVES = {
  P: { theta: -70, a: 1.2, b: 0.25 },
  Q: { theta: -15, a: 5, b: 0.1 },
  R: { theta: 0, a: 30, b: 0.1 },
  S: { theta: 15, a: 7.5, b: 0.1 },
  ST: { theta: 45, a: 1, b: 0.25 },
  T: { theta: 100, a: 0.75, b: 0.4 },
} as const;

/**
 * Lead vectors in the heart's frame: x towards the patient's left, y towards the feet, z to the
 * front. Frontal leads at their hexaxial angles; chest leads round the horizontal plane from V1
 * (right of the sternum) to V6 (left mid-axillary), a little below the heart's centre.
 */
const LEAD_I: Vector = [1, 0, 0];
const LEAD_II: Vector = [Math.cos(Math.PI / 3), Math.sin(Math.PI / 3), 0];
const CHEST: readonly Vector[] = [115, 95, 75, 55, 30, 0].map((degrees, i): Vector => {
  const angle = (degrees * Math.PI) / 180;
  const gain = [1.1, 1.35, 1.4, 1.3, 1.15, 1][i] ?? 1;
  return [gain * Math.cos(angle), gain * 0.12, gain * Math.sin(angle)];
});

/**
 * Simulates one 12-lead ECG: int16 microvolts, leads in the standard order (I, II, III, aVR, aVL,
 * aVF, V1–V6). Everything random comes from `random`, so the same generator state gives the same
 * samples.
 */
export function simulateEcg(params: EcgModelParams, random: Random): Ecg {
  const rate = params.samplingRate ?? 500;
  const duration = params.durationSeconds ?? 10;
  const count = Math.round(rate * duration);
  const dipole = simulateDipole(params, random, count, rate);

  // Electrodes: right arm, left arm, left leg, V1–V6 (each against its own reference).
  const wander = Array.from({ length: 9 }, () => makeWander(params, random));
  const noise = (electrode: number, t: number) =>
    (wander[electrode]?.(t) ?? 0) + random.normal(0, params.noiseUv);

  const samples = STANDARD_12_LEADS.map(() => new Int16Array(count));
  const at = (lead: number) => samples[lead] ?? new Int16Array(count);
  for (let n = 0; n < count; n++) {
    const t = n / rate;
    const d: Vector = [dipole[0][n] ?? 0, dipole[1][n] ?? 0, dipole[2][n] ?? 0];
    const ra = noise(0, t);
    const la = noise(1, t);
    const ll = noise(2, t);
    const one = dot(LEAD_I, d) + la - ra;
    const two = dot(LEAD_II, d) + ll - ra;
    at(0)[n] = toInt16(one);
    at(1)[n] = toInt16(two);
    at(2)[n] = toInt16(two - one);
    at(3)[n] = toInt16(-(one + two) / 2);
    at(4)[n] = toInt16(one - two / 2);
    at(5)[n] = toInt16(two - one / 2);
    const central = (ra + la + ll) / 3;
    CHEST.forEach((lead, i) => {
      at(6 + i)[n] = toInt16(dot(lead, d) + noise(3 + i, t) - central);
    });
  }
  return makeEcg(
    { leads: [...STANDARD_12_LEADS], samplingRate: rate, units: 'uV', samples },
    'synthetic',
  );
}

/** The heart's dipole (x, y, z), microvolts, `count` samples at `rate` Hz. */
function simulateDipole(
  params: EcgModelParams,
  random: Random,
  count: number,
  rate: number,
): [Float64Array, Float64Array, Float64Array] {
  const directions = waveDirections(params);
  // ECGSYN's rate adaptation: waves near the QRS narrow and move in with the square root of the
  // rate, P and T with its fourth root.
  const hrFactor = Math.sqrt(params.heartRate / 60);
  const hrFactor2 = Math.sqrt(hrFactor);
  const events = (Object.keys(WAVES) as (keyof typeof WAVES)[]).map((name) => {
    const wave = WAVES[name];
    const near = name === 'Q' || name === 'R' || name === 'S';
    let theta = (wave.theta * Math.PI) / 180;
    theta *= near ? hrFactor : hrFactor2;
    if (name === 'T' || name === 'ST') {
      theta *= params.qtFactor;
    }
    const a =
      name === 'T'
        ? wave.a * params.tScale
        : name === 'ST'
          ? wave.a * Math.abs(params.stLevel) * 4.8
          : wave.a;
    const sign = name === 'ST' && params.stLevel < 0 ? -1 : 1;
    const u = directions[name];
    return { theta, a, b: wave.b * hrFactor, u: [sign * u[0], sign * u[1], sign * u[2]] as Vector };
  });

  const rr = makeTachogram(params, random);
  const internalRate = rate * 2;
  const dt = 1 / internalRate;
  const warmup = Math.round(3 * internalRate);
  const steps = warmup + count * 2;
  // The RR interval of each internal step, beat by beat (held for the whole beat, as ECGSYN does).
  const omegas = new Float64Array(steps);
  for (let step = 0; step < steps;) {
    const interval = Math.max(0.3, rr(step * dt));
    const end = Math.min(steps, step + Math.round(interval * internalRate));
    omegas.fill((2 * Math.PI) / interval, step, end);
    step = end;
  }

  const derivative = (state: Float64Array, omega: number, out: Float64Array) => {
    const x = state[0] ?? 0;
    const y = state[1] ?? 0;
    const alpha = 1 - Math.sqrt(x * x + y * y);
    out[0] = alpha * x - omega * y;
    out[1] = alpha * y + omega * x;
    const theta = Math.atan2(y, x);
    let dx = 0;
    let dy = 0;
    let dz = 0;
    for (const event of events) {
      let delta = (theta - event.theta) % (2 * Math.PI);
      if (delta < -Math.PI) {
        delta += 2 * Math.PI;
      } else if (delta >= Math.PI) {
        delta -= 2 * Math.PI;
      }
      const push = event.a * delta * Math.exp(-(delta * delta) / (2 * event.b * event.b));
      dx += push * event.u[0];
      dy += push * event.u[1];
      dz += push * event.u[2];
    }
    out[2] = -dx - (state[2] ?? 0);
    out[3] = -dy - (state[3] ?? 0);
    out[4] = -dz - (state[4] ?? 0);
  };

  const start = random.uniform(-Math.PI, Math.PI);
  const state = Float64Array.of(Math.cos(start), Math.sin(start), 0, 0, 0);
  const k1 = new Float64Array(5);
  const k2 = new Float64Array(5);
  const k3 = new Float64Array(5);
  const k4 = new Float64Array(5);
  const probe = new Float64Array(5);
  const out: [Float64Array, Float64Array, Float64Array] = [
    new Float64Array(count),
    new Float64Array(count),
    new Float64Array(count),
  ];
  for (let step = 0; step < steps; step++) {
    const omega = omegas[step] ?? 2 * Math.PI;
    derivative(state, omega, k1);
    for (let i = 0; i < 5; i++) {
      probe[i] = (state[i] ?? 0) + ((k1[i] ?? 0) * dt) / 2;
    }
    derivative(probe, omega, k2);
    for (let i = 0; i < 5; i++) {
      probe[i] = (state[i] ?? 0) + ((k2[i] ?? 0) * dt) / 2;
    }
    derivative(probe, omega, k3);
    for (let i = 0; i < 5; i++) {
      probe[i] = (state[i] ?? 0) + (k3[i] ?? 0) * dt;
    }
    derivative(probe, omega, k4);
    for (let i = 0; i < 5; i++) {
      state[i] =
        (state[i] ?? 0) +
        (dt / 6) * ((k1[i] ?? 0) + 2 * (k2[i] ?? 0) + 2 * (k3[i] ?? 0) + (k4[i] ?? 0));
    }
    const kept = step - warmup;
    if (kept >= 0 && kept % 2 === 0) {
      out[0][kept / 2] = state[2] ?? 0;
      out[1][kept / 2] = state[3] ?? 0;
      out[2][kept / 2] = state[4] ?? 0;
    }
  }

  // Scale so that the largest dipole of the record is the patient's QRS amplitude.
  let peak = 0;
  for (let n = 0; n < count; n++) {
    peak = Math.max(peak, Math.hypot(out[0][n] ?? 0, out[1][n] ?? 0, out[2][n] ?? 0));
  }
  const scale = peak > 0 ? (params.amplitudeMv * 1000) / peak : 0;
  for (const axis of out) {
    for (let n = 0; n < count; n++) {
      axis[n] = (axis[n] ?? 0) * scale;
    }
  }
  return out;
}

/**
 * Where each wave points. The R wave along the patient's axis, leftwards, down and back; the septal
 * Q to the right and front; the late S up, right and back; P and T roughly with the R wave (a
 * normal T is concordant); ST along the R wave (so a negative level depresses ST where R is tall).
 */
function waveDirections(params: EcgModelParams): Record<keyof typeof WAVES, Vector> {
  const axis = (params.axisDegrees * Math.PI) / 180;
  const tilt = (params.posteriorTiltDegrees * Math.PI) / 180;
  const frontal = (angle: number, back: number): Vector =>
    normalize([
      Math.cos(angle) * Math.cos(back),
      Math.sin(angle) * Math.cos(back),
      -Math.sin(back),
    ]);
  const r = frontal(axis, tilt);
  return {
    P: normalize([0.5, 0.82, 0.15]),
    Q: normalize([-0.7, 0.2, 0.65]),
    R: r,
    S: normalize([-0.55, -0.35, -0.75]),
    ST: r,
    T: normalize([Math.cos(axis - 0.25), Math.sin(axis - 0.25), 0.55]),
  };
}

/**
 * RR intervals as a function of time: ECGSYN's spectrum (two Gaussians of width 0.01 Hz at 0.1 Hz
 * and at the breathing rate, their powers in the LF/HF ratio) drawn with random phases, scaled to
 * the patient's mean RR and SDNN.
 */
function makeTachogram(params: EcgModelParams, random: Random): (t: number) => number {
  const window = 256;
  const c = 0.01;
  const spectrum = (f: number) =>
    (params.lfHfRatio * Math.exp(-((f - 0.1) ** 2) / (2 * c * c)) +
      Math.exp(-((f - params.respirationHz) ** 2) / (2 * c * c))) /
    Math.sqrt(2 * Math.PI * c * c);
  const components: { f: number; amplitude: number; phase: number }[] = [];
  let variance = 0;
  for (let k = 1; k <= window / 2; k++) {
    const f = k / window;
    const amplitude = Math.sqrt(spectrum(f));
    if (amplitude > 1e-6) {
      components.push({ f, amplitude, phase: random.uniform(0, 2 * Math.PI) });
      variance += (amplitude * amplitude) / 2;
    }
  }
  const mean = 60 / params.heartRate;
  const scale = variance > 0 ? params.rrStd / Math.sqrt(variance) : 0;
  return (t) => {
    let sum = 0;
    for (const component of components) {
      sum += component.amplitude * Math.cos(2 * Math.PI * component.f * t + component.phase);
    }
    return mean + scale * sum;
  };
}

/** One electrode's baseline: a respiratory swing and a slower drift. */
function makeWander(params: EcgModelParams, random: Random): (t: number) => number {
  const breath = params.wanderUv * random.uniform(0.2, 0.6);
  const drift = params.wanderUv * random.uniform(0.3, 1);
  const driftHz = random.uniform(0.03, 0.15);
  const phase1 = random.uniform(0, 2 * Math.PI);
  const phase2 = random.uniform(0, 2 * Math.PI);
  return (t) =>
    breath * Math.sin(2 * Math.PI * params.respirationHz * t + phase1) +
    drift * Math.sin(2 * Math.PI * driftHz * t + phase2);
}

function dot(a: Vector, b: Vector): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

function normalize(v: Vector): Vector {
  const length = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / length, v[1] / length, v[2] / length];
}

function toInt16(value: number): number {
  return Math.max(-32768, Math.min(32767, Math.round(value)));
}
