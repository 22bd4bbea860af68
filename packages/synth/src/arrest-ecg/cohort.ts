/**
 * The people of demo-arrest-ecg (shaped like arrest-ntuh-ecg): patients with one to three resting
 * ECGs each, and whether they had a sudden cardiac arrest after the last one. The arrest is drawn
 * from features the waveforms carry, so a model can learn it: a long QT (late T wave), low heart-
 * rate variability (small SDNN) and ischaemic ST depression raise the risk, as do years of age.
 */
import { type EcgModelParams } from '../ecg/ecgsyn.js';
import { makeClinicianName, makePerson, type Person } from '../people.js';
import { Random, type Seed } from '../random.js';

/** The mean heart rates the cohort's ECGs are drawn from, beats per minute. */
export const ARREST_ECG_HEART_RATE = { min: 50, max: 110 } as const;

/** What raises a patient's risk, in standard deviations (ischaemia is yes or no). */
export interface ArrestRisk {
  /** Longer QT. */
  qt: number;
  /** Lower heart-rate variability. */
  lowHrv: number;
  ischaemia: boolean;
}

export interface ArrestEcgRecord {
  accession: string;
  /** Wall-clock acquisition time (UTC fields used as local time). */
  acquiredAt: Date;
  format: 'npz' | 'muse-xml';
  params: EcgModelParams;
  /** Seeds the waveform's own generator, so one ECG can be made without the others. */
  waveformSeed: number;
  device: string;
  location: string;
  orderingPhysician: string;
}

export interface ArrestPatient {
  person: Person;
  risk: ArrestRisk;
  ecgs: ArrestEcgRecord[];
  cardiacArrest: boolean;
  arrestAt: Date | null;
  followUpEnd: Date;
}

const DAY = 86_400_000;
const LOCATIONS = ['ED', 'CCU', 'Ward 7B', 'Cardiology clinic', 'Pre-op clinic'] as const;
const DEVICES = ['MAC5500', 'MAC2000', 'MAC 5500 HD'] as const;

/** Patients at scale 1. */
export const ARREST_ECG_PATIENTS_AT_SCALE_1 = 40;

/**
 * Draws the cohort: `patients` people (default 40 times `scale`). Each patient draws from their own
 * generator, derived from `seed`, the dataset and their index (`Random.derive`), never from a
 * stream shared in turn: a patient is the same person in a larger cohort, and their native files
 * can be made on any thread in any order.
 */
export function makeArrestCohort(options: {
  seed: Seed;
  scale?: number;
  patients?: number;
}): ArrestPatient[] {
  const count =
    options.patients ??
    Math.max(1, Math.round(ARREST_ECG_PATIENTS_AT_SCALE_1 * (options.scale ?? 1)));
  const takenMrns = new Set<string>();
  const takenAccessions = new Set<string>();
  const patients: ArrestPatient[] = [];
  for (let i = 0; i < count; i++) {
    patients.push(
      makePatient(
        Random.derive(options.seed, 'demo-arrest-ecg', 'patient', i),
        takenMrns,
        takenAccessions,
      ),
    );
  }
  return patients;
}

function makePatient(
  random: Random,
  takenMrns: Set<string>,
  takenAccessions: Set<string>,
): ArrestPatient {
  const person = makePerson(random, { bornFrom: 1930, bornTo: 1995, takenMrns });
  const risk: ArrestRisk = {
    qt: random.normal(),
    lowHrv: random.normal(),
    ischaemia: random.chance(0.2),
  };
  const heart = {
    heartRate: clamp(random.normal(74, 11), ARREST_ECG_HEART_RATE.min, ARREST_ECG_HEART_RATE.max),
    axisDegrees: clamp(random.normal(45, 25), -30, 100),
    posteriorTiltDegrees: clamp(random.normal(18, 8), 0, 40),
    amplitudeMv: clamp(random.normal(1.6, 0.35), 0.8, 2.8),
    lfHfRatio: random.uniform(0.5, 2.5),
  };

  const ecgCount = random.integer(1, 3);
  const firstDay = Date.UTC(2012, 0, 1) + random.integer(0, 3100) * DAY;
  const ecgs: ArrestEcgRecord[] = [];
  let day = firstDay;
  for (let i = 0; i < ecgCount; i++) {
    const acquiredAt = new Date(day + random.integer(7 * 3600, 22 * 3600) * 1000);
    let accession: string;
    do {
      accession = `ECG${String(acquiredAt.getUTCFullYear()).slice(2)}${String(random.integer(0, 9_999_999)).padStart(7, '0')}`;
    } while (takenAccessions.has(accession));
    takenAccessions.add(accession);
    const params: EcgModelParams = {
      heartRate: clamp(
        heart.heartRate + random.normal(0, 4),
        ARREST_ECG_HEART_RATE.min,
        ARREST_ECG_HEART_RATE.max,
      ),
      rrStd: clamp(0.045 * Math.exp(-0.5 * (risk.lowHrv + random.normal(0, 0.2))), 0.008, 0.12),
      lfHfRatio: heart.lfHfRatio,
      respirationHz: random.uniform(0.2, 0.33),
      axisDegrees: heart.axisDegrees + random.normal(0, 3),
      posteriorTiltDegrees: heart.posteriorTiltDegrees,
      qtFactor: clamp(1 + 0.09 * (risk.qt + random.normal(0, 0.2)), 0.85, 1.3),
      stLevel: risk.ischaemia ? -random.uniform(0.1, 0.2) : random.normal(0, 0.015),
      tScale: clamp(random.normal(risk.ischaemia ? 0.6 : 1, 0.15), 0.3, 1.5),
      amplitudeMv: heart.amplitudeMv * random.uniform(0.92, 1.08),
      noiseUv: random.uniform(4, 18),
      wanderUv: random.uniform(20, 120),
    };
    ecgs.push({
      accession,
      acquiredAt,
      format: random.chance(0.25) ? 'muse-xml' : 'npz',
      params,
      waveformSeed: random.nextUint32(),
      device: random.pick(DEVICES),
      location: random.pick(LOCATIONS),
      orderingPhysician: makeClinicianName(random),
    });
    day += random.integer(7, 400) * DAY;
  }

  const last = ecgs[ecgs.length - 1]?.acquiredAt.getTime() ?? firstDay;
  const age = (last - Date.parse(person.birthDate)) / (365.2425 * DAY);
  const logit =
    -2 + 1.1 * risk.qt + 1.1 * risk.lowHrv + 1.6 * (risk.ischaemia ? 1 : 0) + 0.03 * (age - 60);
  const cardiacArrest = random.chance(1 / (1 + Math.exp(-logit)));
  const arrestAt = cardiacArrest
    ? new Date(last + random.integer(3 * 24 * 3600, 360 * 24 * 3600) * 1000)
    : null;
  return {
    person,
    risk,
    ecgs,
    cardiacArrest,
    arrestAt,
    followUpEnd: new Date(Math.floor(last / DAY) * DAY + 365 * DAY),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
