/**
 * Made-up people with the identifiers a real delivery carries (medical record numbers, names,
 * dates of birth, telephone numbers), so that de-identification has real work to do. Names are
 * drawn from common given and family names; telephone numbers use the 555-01xx range reserved for
 * fiction; no generated person is real.
 */
import { type Random } from './random.js';

const GIVEN_FEMALE = [
  'Mary',
  'Mei-Ling',
  'Aisha',
  'Elena',
  'Grace',
  'Hana',
  'Maria',
  'Olivia',
  'Priya',
  'Rosa',
  'Siew Lan',
  'Yu-Ting',
] as const;
const GIVEN_MALE = [
  'Chen',
  'David',
  'Hiroshi',
  'James',
  'José',
  'Kwame',
  'Liam',
  'Mohammed',
  'Raj',
  'Tomás',
  'Wei',
  'Zhi-Hao',
] as const;
const FAMILY = [
  'Chang',
  'Chen',
  'García',
  'Huang',
  'Johnson',
  'Kim',
  "O'Brien",
  'Lin',
  'Nguyen',
  'Okafor',
  'Patel',
  'Smith',
  'Tsai',
  'Wang',
  'Williams',
  'Wu',
] as const;

export type Sex = 'F' | 'M';

export interface Person {
  /** Medical record number: 8 digits, leading zeros kept (a string, never a number). */
  mrn: string;
  givenName: string;
  familyName: string;
  sex: Sex;
  /** YYYY-MM-DD. */
  birthDate: string;
  phone: string;
}

/** A person born between `bornFrom` and `bornTo` (years, included), with a unique MRN. */
export function makePerson(
  random: Random,
  options: { bornFrom: number; bornTo: number; takenMrns: Set<string> },
): Person {
  let mrn: string;
  do {
    mrn = String(random.integer(0, 99_999_999)).padStart(8, '0');
  } while (options.takenMrns.has(mrn));
  options.takenMrns.add(mrn);
  const sex: Sex = random.chance(0.45) ? 'F' : 'M';
  const birth = new Date(
    Date.UTC(options.bornFrom, 0, 1) +
      random.integer(0, Math.round((options.bornTo - options.bornFrom + 1) * 365.2425 - 1)) *
        86_400_000,
  );
  return {
    mrn,
    givenName: random.pick(sex === 'F' ? GIVEN_FEMALE : GIVEN_MALE),
    familyName: random.pick(FAMILY),
    sex,
    birthDate: isoDate(birth),
    phone: makePhone(random),
  };
}

/** A telephone number in the 555-01xx range reserved for fiction: `(617) 555-0142`. */
export function makePhone(random: Random): string {
  return `(${random.integer(201, 989)}) 555-01${String(random.integer(0, 99)).padStart(2, '0')}`;
}

/** A relative's or a contact's name as a triage note writes it: `Rosa Nguyen`. */
export function makeContactName(random: Random): string {
  return `${random.pick(random.chance(0.5) ? GIVEN_FEMALE : GIVEN_MALE)} ${random.pick(FAMILY)}`;
}

/** A family name alone (`Dr. Okafor`). */
export function makeFamilyName(random: Random): string {
  return random.pick(FAMILY);
}

/** A clinician's name, as an order or a report carries it. */
export function makeClinicianName(random: Random): string {
  return `${random.pick(FAMILY)}, ${random.pick(random.chance(0.5) ? GIVEN_FEMALE : GIVEN_MALE)} MD`;
}

/** YYYY-MM-DD of a UTC date. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** YYYY-MM-DD HH:MM:SS of a UTC date (a wall-clock time, no zone, as hospital systems export). */
export function isoDatetime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}
