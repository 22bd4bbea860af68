/**
 * The people of demo-brca-path (shaped like brca-psj-path: which breast cancers will metastasize):
 * patients with one or two breast biopsies, each cut into two to four H&E slides. One hidden
 * severity per biopsy sets the stage (0, IA … IV) and, through the drawing (tissue.ts), the
 * slides' nuclear density, size and atypia, so that the stage and the metastasis it makes likely
 * can be learnt from the slides. Metastasis and death follow from severity over years of follow-up.
 */
import { makePerson, type Person } from '../people.js';
import { Random, type Seed } from '../random.js';

/** AJCC stages as brca-psj-path's `stage` column writes them. */
export const BRCA_STAGES = ['0', 'IA', 'IB', 'IIA', 'IIB', 'IIIA', 'IIIB', 'IIIC', 'IV'] as const;
export type BrcaStage = (typeof BRCA_STAGES)[number];

/** The severities where each stage after 0 begins. */
const STAGE_FROM = [0.12, 0.26, 0.36, 0.47, 0.57, 0.66, 0.74, 0.82] as const;

export function stageOfSeverity(severity: number): BrcaStage {
  let stage = 0;
  while (stage < STAGE_FROM.length && severity >= (STAGE_FROM[stage] ?? 1)) {
    stage += 1;
  }
  return BRCA_STAGES[stage] ?? 'IV';
}

export interface BrcaSlideRecord {
  /** The slide's barcode as the lab prints it: accession, block and level ("S19-04211-A2"). */
  barcode: string;
  /** Seeds the slide's drawing. */
  seed: number;
  severity: number;
  penMark: boolean;
  scanner: string;
  scanScopeId: string;
  scannedAt: Date;
  /** The histotechnologist who scanned it (a name: dropped on ingest). */
  scannedBy: string;
}

export interface BrcaBiopsy {
  accession: string;
  biopsyAt: Date;
  severity: number;
  stage: BrcaStage;
  /** Delivery 2's new column. */
  tumourSizeMm: number | null;
  slides: BrcaSlideRecord[];
}

export interface BrcaPatient {
  person: Person;
  biopsies: BrcaBiopsy[];
  metastatic: boolean;
  /** Missing for some metastatic patients, as registries lose dates. */
  metastaticAt: Date | null;
  died: boolean;
  diedAt: Date | null;
}

const DAY = 86_400_000;
const SCANNERS = [
  ['Aperio AT2', 'SS7412'],
  ['Aperio GT 450', 'GT1021'],
] as const;
const TECHNOLOGISTS = ['Nguyen, Hana', 'Okafor, Grace', 'Smith, Liam', 'Tsai, Mei-Ling'] as const;

/** Patients at scale 1. */
export const BRCA_PATH_PATIENTS_AT_SCALE_1 = 8;

/**
 * Draws the cohort: `patients` people (default 8 times `scale`). Each patient draws from their own
 * generator, derived from `seed`, the dataset and their index (`Random.derive`), never from a
 * stream shared in turn: a patient is the same person in a larger cohort, and their native files
 * can be made on any thread in any order.
 */
export function makeBrcaCohort(options: {
  seed: Seed;
  scale?: number;
  patients?: number;
}): BrcaPatient[] {
  const count =
    options.patients ??
    Math.max(1, Math.round(BRCA_PATH_PATIENTS_AT_SCALE_1 * (options.scale ?? 1)));
  const takenMrns = new Set<string>();
  const takenAccessions = new Set<string>();
  const patients: BrcaPatient[] = [];
  for (let i = 0; i < count; i += 1) {
    patients.push(
      makePatient(
        Random.derive(options.seed, 'demo-brca-path', 'patient', i),
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
): BrcaPatient {
  let person = makePerson(random, { bornFrom: 1935, bornTo: 1985, takenMrns });
  // Breast cancer in men is rare (about 1 in 100 cases); the cohort keeps that proportion.
  if (person.sex === 'M' && !random.chance(0.02)) {
    person = { ...person, sex: 'F', givenName: random.pick(FEMALE_NAMES) };
  }
  const base = random.next() ** 0.9;
  const biopsies: BrcaBiopsy[] = [];
  let day = Date.UTC(2009, 0, 1) + random.integer(0, 3650) * DAY;
  const count = random.chance(0.35) ? 2 : 1;
  for (let b = 0; b < count; b += 1) {
    const biopsyAt = new Date(day + random.integer(8 * 3600, 17 * 3600) * 1000);
    const severity = clamp(base + (b === 0 ? 0 : random.normal(0.05, 0.05)), 0, 1);
    let accession: string;
    do {
      accession = `S${String(biopsyAt.getUTCFullYear()).slice(2)}-${String(random.integer(1, 99_999)).padStart(5, '0')}`;
    } while (takenAccessions.has(accession));
    takenAccessions.add(accession);
    const slideCount = random.integer(2, 4);
    const slides: BrcaSlideRecord[] = [];
    for (let s = 0; s < slideCount; s += 1) {
      const [scanner, scanScopeId] = random.pick(SCANNERS);
      slides.push({
        barcode: `${accession}-${String.fromCharCode(65 + Math.floor(s / 2))}${(s % 2) + 1}`,
        seed: random.nextUint32(),
        severity: clamp(severity + random.normal(0, 0.03), 0, 1),
        penMark: random.chance(0.2),
        scanner,
        scanScopeId,
        scannedAt: new Date(
          biopsyAt.getTime() + random.integer(2, 9) * DAY + random.integer(0, 36_000) * 1000,
        ),
        scannedBy: random.pick(TECHNOLOGISTS),
      });
    }
    const tumourSize = 4 + 70 * severity + random.normal(0, 6);
    biopsies.push({
      accession,
      biopsyAt,
      severity,
      stage: stageOfSeverity(severity),
      tumourSizeMm: random.chance(0.08) ? null : Math.round(clamp(tumourSize, 1, 120)),
      slides,
    });
    day += random.integer(30, 400) * DAY;
  }
  const worst = Math.max(...biopsies.map((biopsy) => biopsy.severity));
  const first = biopsies[0]?.biopsyAt.getTime() ?? day;
  const metastatic = worst >= 0.82 || random.chance(logistic(-3.4 + 5.5 * worst));
  const metastaticAt =
    metastatic && random.chance(0.9)
      ? new Date(first + (worst >= 0.82 ? random.integer(0, 30) : random.integer(90, 2000)) * DAY)
      : null;
  const died = random.chance(logistic(-4 + 3 * worst + (metastatic ? 1.8 : 0)));
  const diedAt =
    died && random.chance(0.95) ? new Date(first + random.integer(200, 3000) * DAY) : null;
  return { person, biopsies, metastatic, metastaticAt, died, diedAt };
}

const FEMALE_NAMES = ['Mary', 'Aisha', 'Elena', 'Grace', 'Priya', 'Rosa', 'Hana'] as const;

function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
