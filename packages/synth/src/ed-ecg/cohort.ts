/**
 * The people of demo-ed-ecg (shaped like ed-bwh-ecg: heart attack in the emergency department):
 * patients with one or two ED visits each; at each visit a triage note, one or two ECGs, troponin
 * when the doctor ordered it, and what happened in the next 10 and 30 days. Some visits are an
 * acute coronary syndrome (ACS): those show ischaemic ST changes on the ECG (elevation in a STEMI,
 * depression with flat or inverted T waves otherwise) and a raised, rising troponin, so the outcome
 * `macetrop_pos_or_death_030` is learnable from the ECG and the labs, as the real one is.
 *
 * Delivery 1 carries a few mistakes the partner corrects in delivery 2 (`EdEcgCorrection`).
 */
import { type EcgModelParams } from '../ecg/ecgsyn.js';
import { makeContactName, makeFamilyName, makePerson, makePhone, type Person } from '../people.js';
import { Random, type Seed } from '../random.js';

/** Patients at scale 1. */
export const ED_ECG_PATIENTS_AT_SCALE_1 = 60;

/** The mean heart rates the ED's ECGs are drawn from, beats per minute. */
export const ED_ECG_HEART_RATE = { min: 50, max: 125 } as const;

/** The indicator columns of race and ethnicity, one of them 1 per patient. */
export const RACE_COLUMNS = ['black', 'hispanic', 'white', 'other'] as const;
export type Race = (typeof RACE_COLUMNS)[number];

/** Bands of adjusted gross income (the patient's ZIP code's median), one of them 1 per patient. */
export const INCOME_COLUMNS = [
  'agi_under_25k',
  'agi_25k_to_50k',
  'agi_50k_to_75k',
  'agi_75k_to_100k',
  'agi_100k_to_200k',
  'agi_200k_and_over',
] as const;
export type IncomeBand = (typeof INCOME_COLUMNS)[number];

/**
 * The troponin T assays: the conventional one (ng/mL, detection limit 0.01) until the hospital
 * switched to the high-sensitivity assay (ng/L) on 2017-07-01, as US hospitals did after its FDA
 * clearance. Above the 99th-percentile upper reference limit a result is positive.
 */
export const TROPONIN_ASSAYS = {
  cTnT: { unit: 'ng/mL', upperReferenceLimit: 0.03 },
  'hs-cTnT': { unit: 'ng/L', upperReferenceLimit: 14 },
} as const;
export type TroponinAssay = keyof typeof TROPONIN_ASSAYS;
export const HS_TROPONIN_FROM = Date.UTC(2017, 6, 1);

export interface TroponinDraw {
  at: Date;
  /** The true concentration, ng/L (what an hs assay would read). */
  ngPerL: number;
}

export interface EdEcgRecord {
  accession: string;
  acquiredAt: Date;
  params: EcgModelParams;
  /** Seeds the waveform's own generator, so one ECG can be made without the others. */
  waveformSeed: number;
  device: string;
}

/** What the visit was: an ST-elevation MI, another acute coronary syndrome, or neither. */
export type Syndrome = 'stemi' | 'nstemi' | null;

export interface EdEncounter {
  /** Epic's contact serial number: the visit. */
  csn: string;
  arrivalAt: Date;
  ageAtAdmit: number;
  chiefComplaint: string;
  syndrome: Syndrome;
  /** Zero, one or two draws, in time order. */
  troponin: TroponinDraw[];
  ecgs: EdEcgRecord[];
  /** A stress test or catheterization within 10 days. */
  tested: boolean;
  cath: boolean;
  stentOrCabg: boolean;
  deathWithin30Days: boolean;
}

export interface EdPatient {
  person: Person;
  race: Race;
  income: IncomeBand;
  encounters: EdEncounter[];
}

/** A cell delivery 1 got wrong and delivery 2 corrects: the table, the visit, the column. */
export interface EdEcgCorrection {
  table: 'labs' | 'ed_encounters';
  csn: string;
  column: string;
  /** The cell as delivery 1 wrote it. */
  delivered: string;
}

export interface EdCohort {
  patients: EdPatient[];
  corrections: EdEcgCorrection[];
}

const DAY = 86_400_000;
const MINUTE = 60_000;
const DEVICES = ['MAC5500', 'MAC 5500 HD', 'MAC VU360'] as const;

const CARDIAC_COMPLAINTS = [
  'Chest pain',
  'chest pain x 2 hrs, radiating to L arm',
  'CP, diaphoretic, nauseated',
  'Chest pressure since this AM',
  'SOB and chest tightness',
  'Epigastric pain, sweaty',
  'Jaw pain with exertion',
  'Palpitations, lightheaded',
  'Substernal CP 8/10',
] as const;
const RELATIONS = ['spouse', 'partner', 'friend', 'neighbour', 'carer'] as const;
const OTHER_COMPLAINTS = [
  'Abdominal pain',
  'Fall at home, hit head',
  'Dizziness',
  'Headache',
  'Low back pain',
  'Fever and cough',
  'Syncope',
  'Generalized weakness',
  'Laceration R hand',
  'Shortness of breath',
  'Nausea/vomiting',
  'Anxiety',
] as const;

/**
 * Draws the cohort: `patients` people (default 60 times `scale`). Each patient draws from their own
 * generator, derived from `seed`, the dataset and their index (`Random.derive`), never from a
 * stream shared in turn: a patient is the same person in a larger cohort, and their native files
 * can be made on any thread in any order.
 */
export function makeEdCohort(options: { seed: Seed; scale?: number; patients?: number }): EdCohort {
  const count =
    options.patients ?? Math.max(1, Math.round(ED_ECG_PATIENTS_AT_SCALE_1 * (options.scale ?? 1)));
  const taken = { mrns: new Set<string>(), csns: new Set<string>(), accessions: new Set<string>() };
  const patients: EdPatient[] = [];
  for (let i = 0; i < count; i++) {
    patients.push(makePatient(Random.derive(options.seed, 'demo-ed-ecg', 'patient', i), taken));
  }
  return {
    patients,
    corrections: makeCorrections(
      Random.derive(options.seed, 'demo-ed-ecg', 'corrections'),
      patients,
    ),
  };
}

/** Is the concentration positive on the assay in use at `at`? */
export function isTroponinPositive(draw: TroponinDraw): boolean {
  const assay = troponinAssayAt(draw.at);
  return reportTroponin(draw.ngPerL, assay) >= TROPONIN_ASSAYS[assay].upperReferenceLimit;
}

export function troponinAssayAt(at: Date): TroponinAssay {
  return at.getTime() >= HS_TROPONIN_FROM ? 'hs-cTnT' : 'cTnT';
}

/**
 * The value the laboratory reports: hs-cTnT in whole ng/L, at least its limit of blank (3);
 * conventional cTnT in ng/mL to two decimals, at least its detection limit (0.01).
 */
export function reportTroponin(ngPerL: number, assay: TroponinAssay): number {
  switch (assay) {
    case 'hs-cTnT':
      return Math.max(3, Math.round(ngPerL));
    case 'cTnT':
      return Math.max(0.01, Math.round(ngPerL / 10) / 100);
    default:
      return assay satisfies never;
  }
}

/** The outcome of ed-bwh-ecg: a major adverse cardiac event, a positive troponin, or death, within 30 days. */
export function maceTropPosOrDeath(encounter: EdEncounter): boolean {
  return (
    encounter.syndrome !== null ||
    encounter.stentOrCabg ||
    encounter.deathWithin30Days ||
    encounter.troponin.some(isTroponinPositive)
  );
}

function makePatient(
  random: Random,
  taken: { mrns: Set<string>; csns: Set<string>; accessions: Set<string> },
): EdPatient {
  const person = makePerson(random, { bornFrom: 1935, bornTo: 1990, takenMrns: taken.mrns });
  const race = pickWeighted(random, RACE_COLUMNS, [0.15, 0.15, 0.6, 0.1]);
  const income = pickWeighted(random, INCOME_COLUMNS, [0.14, 0.22, 0.2, 0.16, 0.2, 0.08]);
  const risk = random.normal();
  const heart = {
    heartRate: random.normal(82, 12),
    axisDegrees: clamp(random.normal(45, 25), -30, 100),
    posteriorTiltDegrees: clamp(random.normal(18, 8), 0, 40),
    amplitudeMv: clamp(random.normal(1.6, 0.35), 0.8, 2.8),
    lfHfRatio: random.uniform(0.5, 2.5),
  };
  const visits = random.chance(0.3) ? 2 : 1;
  let day = Date.UTC(2014, 0, 1) + random.integer(0, 2000) * DAY;
  const encounters: EdEncounter[] = [];
  for (let i = 0; i < visits; i++) {
    const arrivalAt = new Date(day + random.integer(0, 24 * 60 - 1) * MINUTE);
    encounters.push(makeEncounter(random, { person, risk, heart, arrivalAt, taken }));
    day += random.integer(30, 700) * DAY;
  }
  return { person, race, income, encounters };
}

function makeEncounter(
  random: Random,
  context: {
    person: Person;
    risk: number;
    heart: Pick<
      EcgModelParams,
      'heartRate' | 'axisDegrees' | 'posteriorTiltDegrees' | 'amplitudeMv' | 'lfHfRatio'
    >;
    arrivalAt: Date;
    taken: { csns: Set<string>; accessions: Set<string> };
  },
): EdEncounter {
  const { person, risk, heart, arrivalAt, taken } = context;
  const age = ageAt(person.birthDate, arrivalAt);
  const logit = -2.1 + 0.04 * (age - 60) + 0.8 * risk + (person.sex === 'M' ? 0.4 : 0);
  const syndrome: Syndrome = random.chance(1 / (1 + Math.exp(-logit)))
    ? random.chance(0.35)
      ? 'stemi'
      : 'nstemi'
    : null;
  const cardiac = random.chance(syndrome === null ? 0.3 : 0.85);
  const chiefComplaint = makeComplaint(random, cardiac);

  let csn: string;
  do {
    csn = `3${String(random.integer(0, 999_999_999)).padStart(9, '0')}`;
  } while (taken.csns.has(csn));
  taken.csns.add(csn);

  const ecgs: EdEcgRecord[] = [];
  let acquiredAt = new Date(arrivalAt.getTime() + random.integer(3, 40) * MINUTE);
  const ecgCount = random.chance(syndrome === null ? 0.2 : 0.6) ? 2 : 1;
  for (let i = 0; i < ecgCount; i++) {
    ecgs.push(makeEcgRecord(random, { heart, syndrome, acquiredAt, taken }));
    acquiredAt = new Date(acquiredAt.getTime() + random.integer(15, 120) * MINUTE);
  }

  const troponin: TroponinDraw[] = [];
  if (random.chance(syndrome !== null || cardiac ? 0.9 : 0.3)) {
    const first = new Date(arrivalAt.getTime() + random.integer(20, 75) * MINUTE);
    const chronic = random.chance(0.08);
    const level =
      syndrome !== null
        ? random.chance(0.15)
          ? random.uniform(8, 20)
          : Math.exp(random.normal(Math.log(70), 0.9))
        : chronic
          ? random.uniform(15, 60)
          : Math.exp(random.normal(Math.log(6), 0.5));
    troponin.push({ at: first, ngPerL: level });
    if (random.chance(syndrome !== null ? 0.85 : 0.55)) {
      const rise = syndrome !== null ? random.uniform(1.4, 3.5) : random.uniform(0.85, 1.15);
      troponin.push({
        at: new Date(first.getTime() + random.integer(120, 240) * MINUTE),
        ngPerL: level * rise,
      });
    }
  }

  const tested = random.chance(syndrome !== null ? 0.85 : cardiac ? 0.2 : 0.03);
  const cath = tested && random.chance(syndrome !== null ? 0.8 : 0.2);
  const stentOrCabg = cath && random.chance(syndrome !== null ? 0.75 : 0.05);
  const deathWithin30Days = random.chance(
    (syndrome !== null ? 0.06 : 0.005) + Math.max(0, age - 75) * 0.002,
  );
  return {
    csn,
    arrivalAt,
    ageAtAdmit: age,
    chiefComplaint,
    syndrome,
    troponin,
    ecgs,
    tested,
    cath,
    stentOrCabg,
    deathWithin30Days,
  };
}

/**
 * One ECG of the visit. An ACS shows on it: ST elevation with tall T waves in a STEMI, ST
 * depression with flat or inverted T waves otherwise; the heart beats a little faster.
 */
function makeEcgRecord(
  random: Random,
  context: {
    heart: Pick<
      EcgModelParams,
      'heartRate' | 'axisDegrees' | 'posteriorTiltDegrees' | 'amplitudeMv' | 'lfHfRatio'
    >;
    syndrome: Syndrome;
    acquiredAt: Date;
    taken: { accessions: Set<string> };
  },
): EdEcgRecord {
  const { heart, syndrome, acquiredAt, taken } = context;
  let accession: string;
  do {
    accession = `ED${String(acquiredAt.getUTCFullYear()).slice(2)}${String(random.integer(0, 9_999_999)).padStart(7, '0')}`;
  } while (taken.accessions.has(accession));
  taken.accessions.add(accession);
  const stLevel =
    syndrome === 'stemi'
      ? random.uniform(0.2, 0.4)
      : syndrome === 'nstemi'
        ? -random.uniform(0.12, 0.25)
        : random.normal(0, 0.015);
  const tScale =
    syndrome === 'stemi'
      ? random.uniform(1.1, 1.6)
      : syndrome === 'nstemi'
        ? random.uniform(-0.5, 0.5)
        : clamp(random.normal(1, 0.15), 0.4, 1.5);
  const params: EcgModelParams = {
    heartRate: clamp(
      heart.heartRate + (syndrome === null ? 0 : 6) + random.normal(0, 4),
      ED_ECG_HEART_RATE.min,
      ED_ECG_HEART_RATE.max,
    ),
    rrStd: clamp(0.035 * Math.exp(random.normal(0, 0.3)), 0.008, 0.1),
    lfHfRatio: heart.lfHfRatio,
    respirationHz: random.uniform(0.22, 0.4),
    axisDegrees: heart.axisDegrees + random.normal(0, 3),
    posteriorTiltDegrees: heart.posteriorTiltDegrees,
    qtFactor: clamp(random.normal(1, 0.05), 0.85, 1.2),
    stLevel,
    tScale,
    amplitudeMv: heart.amplitudeMv * random.uniform(0.92, 1.08),
    noiseUv: random.uniform(5, 25),
    wanderUv: random.uniform(30, 160),
  };
  return {
    accession,
    acquiredAt,
    params,
    waveformSeed: random.nextUint32(),
    device: random.pick(DEVICES),
  };
}

/**
 * The triage note: a few words, as a nurse types them. About one in eight names a person or a
 * telephone number — the relative at the bedside, the referring doctor — as real notes do, so the
 * PHI scan of ingest has something to find.
 */
function makeComplaint(random: Random, cardiac: boolean): string {
  const complaint = random.pick(cardiac ? CARDIAC_COMPLAINTS : OTHER_COMPLAINTS);
  if (!random.chance(0.125)) {
    return complaint;
  }
  switch (random.integer(0, 3)) {
    case 0:
      return `${complaint}; ${random.pick(RELATIONS)} ${makeContactName(random)} at bedside`;
    case 1:
      return `${complaint}, sent in by Dr. ${makeFamilyName(random)}`;
    case 2:
      return `${complaint}. ${makeContactName(random)} (${random.pick(RELATIONS)}) asks for a call back ${makePhone(random)}`;
    default:
      return `${complaint}, PCP ${makePhone(random)}`;
  }
}

/**
 * The mistakes of delivery 1: three troponin results keyed with a slipped decimal point (ten times
 * the value), and one death the state's death index reported after the first export, which makes
 * a visit's outcome 1. The cohort holds the truth (what delivery 2 says); the corrections say
 * what delivery 1 wrote instead.
 */
function makeCorrections(random: Random, patients: EdPatient[]): EdEcgCorrection[] {
  const encounters = patients.flatMap((patient) => patient.encounters);
  const corrections: EdEcgCorrection[] = [];
  const drawn = encounters.filter((encounter) => encounter.troponin.length > 0);
  for (const encounter of pickDistinct(random, drawn, 3)) {
    const index = random.integer(0, encounter.troponin.length - 1);
    const draw = encounter.troponin[index];
    if (draw === undefined) {
      continue;
    }
    const assay = troponinAssayAt(draw.at);
    const slipped = reportTroponin(draw.ngPerL, assay) * 10;
    corrections.push({
      table: 'labs',
      csn: encounter.csn,
      column: `troponin_${index + 1}_value`,
      delivered: formatTroponin(slipped, assay),
    });
  }
  const survivors = encounters.filter((encounter) => !maceTropPosOrDeath(encounter));
  for (const encounter of pickDistinct(random, survivors, 1)) {
    encounter.deathWithin30Days = true;
    corrections.push({
      table: 'ed_encounters',
      csn: encounter.csn,
      column: 'macetrop_pos_or_death_030',
      delivered: '0',
    });
  }
  return corrections;
}

/** A reported troponin as the laboratory prints it. */
export function formatTroponin(value: number, assay: TroponinAssay): string {
  return assay === 'hs-cTnT' ? String(Math.round(value)) : value.toFixed(2);
}

function pickDistinct<T>(random: Random, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const picked: T[] = [];
  while (picked.length < count && pool.length > 0) {
    const [item] = pool.splice(random.integer(0, pool.length - 1), 1);
    if (item !== undefined) {
      picked.push(item);
    }
  }
  return picked;
}

function pickWeighted<T>(random: Random, items: readonly T[], weights: readonly number[]): T {
  let u = random.next() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < items.length; i++) {
    u -= weights[i] ?? 0;
    const item = items[i];
    if (u < 0 && item !== undefined) {
      return item;
    }
  }
  return random.pick(items);
}

/** Whole years of age at `at`. */
function ageAt(birthDate: string, at: Date): number {
  const birth = new Date(`${birthDate}T00:00:00Z`);
  let age = at.getUTCFullYear() - birth.getUTCFullYear();
  if (
    at.getUTCMonth() < birth.getUTCMonth() ||
    (at.getUTCMonth() === birth.getUTCMonth() && at.getUTCDate() < birth.getUTCDate())
  ) {
    age -= 1;
  }
  return age;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
