/**
 * The people of demo-knee-xray (shaped like mrkr-emory-xray): patients with one to three knee
 * radiograph studies each, several views per study (standing AP or PA, lateral, sometimes a skyline
 * of the patella; one knee or both), made on the devices of a radiology department that differ as
 * real ones do (CR or DX, implicit or explicit VR, MONOCHROME1 or 2, their own private blocks).
 *
 * Each knee has a Kellgren-Lawrence grade (0-4) that the images carry (joint space narrowing,
 * osteophytes, sclerosis; radiograph.ts), drawn from a latent severity that age and BMI raise, and
 * progressing between studies. A total knee replacement within five years of the first study is
 * drawn from the worse knee's grade, so a model can learn it from the pixels.
 */
import { makeClinicianName, makePerson, type Person } from '../people.js';
import { Random, type Seed } from '../random.js';

export type Knee = 'L' | 'R';
export type KneeView = 'AP' | 'PA' | 'LATERAL' | 'SKYLINE';

/** A radiology device: how its files come out. */
export interface XrayDevice {
  manufacturer: string;
  model: string;
  modality: 'CR' | 'DX';
  /** The transfer syntax it writes. */
  transferSyntaxUid: string;
  /** Does it write MONOCHROME1 (bright is low), as many CR readers do? */
  isMonochrome1: boolean;
  /** The private creator it writes, and the group of its block. */
  privateCreator: { group: number; name: string };
  station: string;
}

export const KNEE_XRAY_DEVICES: readonly XrayDevice[] = [
  {
    manufacturer: 'FUJIFILM Corporation',
    model: 'FCR PROFECT CS',
    modality: 'CR',
    transferSyntaxUid: '1.2.840.10008.1.2',
    isMonochrome1: true,
    privateCreator: { group: 0x0009, name: 'FDMS 1.0' },
    station: 'CR-ORTHO-1',
  },
  {
    manufacturer: 'Carestream Health',
    model: 'DRX-Evolution',
    modality: 'DX',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    isMonochrome1: false,
    privateCreator: { group: 0x0029, name: 'CARESTREAM IMAGE INFORMATION' },
    station: 'DR-ROOM-3',
  },
  {
    manufacturer: 'GE Healthcare',
    model: 'Definium 8000',
    modality: 'DX',
    transferSyntaxUid: '1.2.840.10008.1.2',
    isMonochrome1: false,
    privateCreator: { group: 0x0009, name: 'GEMS_IDEN_01' },
    station: 'XR-ED-2',
  },
  {
    manufacturer: 'Agfa',
    model: 'CR 85-X',
    modality: 'CR',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    isMonochrome1: true,
    privateCreator: { group: 0x0019, name: 'AGFA' },
    station: 'CR-CLINIC-5',
  },
];

export interface KneeImage {
  knee: Knee;
  view: KneeView;
  /** Kellgren-Lawrence grade of the knee at this study (what the pixels show). */
  klGrade: number;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber: number;
  /** Seeds the image's own generator, so one image can be made without the others. */
  pixelSeed: number;
  /** Does the device burn text into the pixels (and say so in Burned In Annotation)? */
  hasBurnedInText: boolean;
}

export interface KneeStudy {
  accession: string;
  /** Wall-clock exam time (UTC fields used as local time). */
  examAt: Date;
  studyInstanceUid: string;
  device: XrayDevice;
  referringPhysician: string;
  images: KneeImage[];
}

export interface KneePatient {
  person: Person;
  /** kg/m², or null when the record has none. */
  bmi: number | null;
  /** Grades at the first study; null for a knee never imaged. */
  baselineKl: Record<Knee, number | null>;
  studies: KneeStudy[];
  /** Total knee replacement within five years of the first study: which knee and when. */
  replacement: { knee: Knee; at: Date } | null;
  followUpEnd: Date;
}

const DAY = 86_400_000;
export const KNEE_XRAY_INSTITUTION = 'Lantern Synthetic Orthopaedic Hospital';

/** Patients at scale 1 (about 115 radiographs); delivery 2 adds a quarter more. */
export const KNEE_XRAY_PATIENTS_AT_SCALE_1 = 16;

/** A UID under 2.25 (PS3.5 B.2): a 128-bit number from the seeded generator, in decimal. */
export function uuidUid(random: Random): string {
  let value = 0n;
  for (let i = 0; i < 4; i++) {
    value = (value << 32n) | BigInt(random.nextUint32());
  }
  return `2.25.${value.toString()}`;
}

/**
 * Draws `patients` people (default 16 times `scale`). Each patient draws from their own generator,
 * derived from `seed`, the dataset and their index (`Random.derive`), never from a stream shared in
 * turn: a patient is the same person in a larger cohort, and their native files can be made on any
 * thread in any order.
 */
export function makeKneeCohort(options: {
  seed: Seed;
  scale?: number;
  patients?: number;
}): KneePatient[] {
  const count =
    options.patients ??
    Math.max(1, Math.round(KNEE_XRAY_PATIENTS_AT_SCALE_1 * (options.scale ?? 1)));
  const taken = { mrns: new Set<string>(), accessions: new Set<string>() };
  const patients: KneePatient[] = [];
  for (let i = 0; i < count; i++) {
    patients.push(makePatient(Random.derive(options.seed, 'demo-knee-xray', 'patient', i), taken));
  }
  return patients;
}

function makePatient(
  random: Random,
  taken: { mrns: Set<string>; accessions: Set<string> },
): KneePatient {
  const person = makePerson(random, { bornFrom: 1935, bornTo: 1975, takenMrns: taken.mrns });
  const bmiValue = clamp(random.normal(29, 5), 18, 48);
  const bmi = random.chance(0.1) ? null : Math.round(bmiValue * 10) / 10;
  const firstDay = Date.UTC(2010, 0, 1) + random.integer(0, 2900) * DAY;
  const age = (firstDay - Date.parse(person.birthDate)) / (365.2425 * DAY);
  // The latent severity: older and heavier knees are worse; one knee a little worse than the other.
  const severity = random.normal(0.6, 1.1) + 0.05 * (age - 60) + 0.08 * (bmiValue - 29);
  const knees: Record<Knee, number> = {
    L: severity + random.normal(0, 0.5),
    R: severity + random.normal(0, 0.5),
  };
  const studyCount = random.integer(1, 3);
  const studies: KneeStudy[] = [];
  const baselineKl: Record<Knee, number | null> = { L: null, R: null };
  let day = firstDay;
  for (let s = 0; s < studyCount; s++) {
    const examAt = new Date(day + random.integer(7 * 3600, 19 * 3600) * 1000);
    const sides: Knee[] = random.chance(0.5) ? ['R', 'L'] : [random.chance(0.5) ? 'R' : 'L'];
    const device = random.pick(KNEE_XRAY_DEVICES);
    const study: KneeStudy = {
      accession: accessionOf(random, examAt, taken.accessions),
      examAt,
      studyInstanceUid: uuidUid(random),
      device,
      referringPhysician: makeClinicianName(random),
      images: [],
    };
    let seriesNumber = 1;
    for (const knee of sides) {
      const klGrade = gradeOf(knees[knee]);
      baselineKl[knee] ??= klGrade;
      const views: KneeView[] = [random.chance(0.7) ? 'AP' : 'PA', 'LATERAL'];
      if (random.chance(0.4)) {
        views.push('SKYLINE');
      }
      for (const view of views) {
        study.images.push({
          knee,
          view,
          klGrade,
          sopInstanceUid: uuidUid(random),
          seriesInstanceUid: uuidUid(random),
          seriesNumber: seriesNumber++,
          pixelSeed: random.nextUint32(),
          hasBurnedInText: random.chance(0.15),
        });
      }
    }
    studies.push(study);
    // Osteoarthritis progresses between studies.
    const years = random.integer(120, 700) / 365.2425;
    knees.L += Math.max(0, random.normal(0.15, 0.1)) * years;
    knees.R += Math.max(0, random.normal(0.15, 0.1)) * years;
    day += Math.round(years * 365.2425) * DAY;
  }
  // Some grades were never read: the outcomes table leaves them empty, as real exports do.
  for (const knee of ['L', 'R'] as const) {
    if (baselineKl[knee] !== null && random.chance(0.05)) {
      baselineKl[knee] = null;
    }
  }
  const worst = Math.max(gradeOf(knees.L), gradeOf(knees.R));
  const logit = -5.2 + 1.45 * worst + 0.02 * (age - 60);
  const followUpEnd = new Date(firstDay + Math.round(5 * 365.2425) * DAY);
  const replaced = random.chance(1 / (1 + Math.exp(-logit)));
  const lastExam = studies[studies.length - 1]?.examAt.getTime() ?? firstDay;
  const replacement = replaced
    ? {
        knee: knees.L >= knees.R ? ('L' as const) : ('R' as const),
        at: new Date(
          Math.floor(lastExam / DAY) * DAY +
            random.integer(30, Math.max(31, Math.floor((followUpEnd.getTime() - lastExam) / DAY))) *
              DAY,
        ),
      }
    : null;
  return {
    person,
    bmi,
    baselineKl,
    studies,
    replacement:
      replacement !== null && replacement.at.getTime() <= followUpEnd.getTime()
        ? replacement
        : null,
    followUpEnd,
  };
}

/** A radiology accession number: "XR", the year's two digits, seven digits; unique. */
function accessionOf(random: Random, examAt: Date, taken: Set<string>): string {
  let accession: string;
  do {
    accession = `XR${String(examAt.getUTCFullYear()).slice(2)}${String(random.integer(0, 9_999_999)).padStart(7, '0')}`;
  } while (taken.has(accession));
  taken.add(accession);
  return accession;
}

/** Kellgren-Lawrence grade of a latent severity. */
function gradeOf(severity: number): number {
  return clamp(Math.round(severity), 0, 4);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
