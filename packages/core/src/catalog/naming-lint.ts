import type { TableSnapshot } from './dataset.js';
import { compareText } from './snapshot-diff.js';

/**
 * Names across datasets (DESIGN.md, "Names"): people are `patient_ngsci_id` in every dataset,
 * studies `<study>_id` (`ecg_id`, `biopsy_id`, `xray_id`), columns snake_case, and one concept has
 * one name, so that code written for one dataset runs on the next. The lint reads every column of
 * every dataset and flags what fights that, each finding with the name to use and why. `error`
 * findings refuse publication; `warning` findings are shown to the curator.
 */
export type NamingRule =
  | 'snake-case'
  | 'patient-id'
  | 'source-identifier'
  | 'study-id'
  | 'synonym'
  | 'date-suffix'
  | 'inconsistent'
  | 'type-inconsistent';

export type NamingSeverity = 'error' | 'warning';

export interface NamingFinding {
  dataset: string;
  table: string;
  column: string;
  /** The name to use instead (`<study>_id` when the study cannot be guessed). */
  preferred: string;
  rules: NamingRule[];
  severity: NamingSeverity;
  why: string;
}

/** One dataset's tables, as the lint reads them. */
export interface LintedDataset {
  slug: string;
  tables: readonly Pick<TableSnapshot, 'name' | 'columns'>[];
}

interface Synonym {
  /** snake_case names that mean `preferred`. */
  names: readonly string[];
  preferred: string;
  rule: NamingRule;
  severity: NamingSeverity;
  why: string;
}

/**
 * The same concept under other names (matched after conversion to snake_case). Small on purpose:
 * each line is a confusion seen in real deliveries.
 */
export const SYNONYMS: readonly Synonym[] = [
  {
    names: ['patient_id', 'patientid', 'ngsci_id', 'pt_id', 'subject_id', 'person_id', 'pid'],
    preferred: 'patient_ngsci_id',
    rule: 'patient-id',
    severity: 'error',
    why: 'people are patient_ngsci_id in every dataset, so that code joins across datasets unchanged',
  },
  {
    names: ['mrn', 'medical_record_number', 'patient_mrn', 'mrn_id', 'nhs_number', 'ssn'],
    preferred: 'patient_ngsci_id',
    rule: 'source-identifier',
    severity: 'error',
    why: 'a source identifier never enters a dataset: replace it with the pseudonymous patient_ngsci_id',
  },
  {
    names: ['accession', 'accession_number', 'accession_no', 'acc_num'],
    preferred: '<study>_id',
    rule: 'source-identifier',
    severity: 'error',
    why: "an accession number is the source's identifier: replace it with a pseudonymous <study>_id",
  },
  {
    names: ['gender', 'patient_sex', 'pt_sex', 'sex_cd', 'gender_cd'],
    preferred: 'sex',
    rule: 'synonym',
    severity: 'warning',
    why: 'the catalog records sex as sex (as patient.csv does); if the source truly records gender identity, say so in the description',
  },
  {
    names: ['age_years', 'age_yrs', 'age_in_years', 'patient_age', 'pt_age'],
    preferred: 'age',
    rule: 'synonym',
    severity: 'warning',
    why: 'ages in years are age, or age_at_<event> when the event matters (age_at_admit)',
  },
  {
    names: ['dob', 'date_of_birth', 'birth_date', 'birthdate', 'birthday'],
    preferred: 'birth_dt',
    rule: 'synonym',
    severity: 'warning',
    why: 'dates end in _dt (biopsy_dt, death_dt); a birth date is identifying, so it is shifted like every date, or better given as an age',
  },
  {
    names: ['dod', 'date_of_death', 'death_date', 'deathdate'],
    preferred: 'death_dt',
    rule: 'synonym',
    severity: 'warning',
    why: 'dates end in _dt, as death_dt does in the pathology outcomes',
  },
];

/**
 * Concepts that may be named in several acceptable ways, of which a catalog should use one: when
 * datasets mix them, the less used names are flagged towards the most used one.
 */
const FAMILIES: readonly { concept: string; pattern: RegExp; preferred: string; why: string }[] = [
  {
    concept: 'age',
    pattern: /^age(?:_at_[a-z0-9_]+)?$/u,
    preferred: 'age',
    why: 'if they mean ages at different events, name the event in each: age_at_<event>',
  },
];

/** The study id each modality's datasets use, guessed from the slug's last word. */
const STUDY_IDS: Readonly<Record<string, string>> = {
  ecg: 'ecg_id',
  path: 'biopsy_id',
  xray: 'xray_id',
  smear: 'image_id',
};

const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/u;

/** `PatientID` -> `patient_id`, `ECGId` -> `ecg_id`, `age at admit` -> `age_at_admit`. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/gu, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/gu, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/gu, '_')
    .replace(/^_+|_+$/gu, '');
}

interface Step {
  rule: NamingRule;
  severity: NamingSeverity;
  why: string;
}

/** The name a column should have, and each rule that moved it there. */
function suggest(slug: string, column: string): { preferred: string; steps: Step[] } {
  const steps: Step[] = [];
  let name = column;
  if (!SNAKE.test(name)) {
    const snake = toSnakeCase(name);
    name = snake === '' ? column : snake;
    steps.push({
      rule: 'snake-case',
      severity: 'error',
      why: 'column names are snake_case: lower-case words joined by underscores',
    });
  }
  const synonym = SYNONYMS.find((entry) => entry.names.includes(name));
  const studyId = STUDY_IDS[slug.split('-').pop() ?? ''] ?? '<study>_id';
  if (synonym !== undefined) {
    name = synonym.preferred === '<study>_id' ? studyId : synonym.preferred;
    steps.push({ rule: synonym.rule, severity: synonym.severity, why: synonym.why });
  } else if (name === 'id' || name === 'study_id' || name === 'studyid') {
    name = studyId;
    steps.push({
      rule: 'study-id',
      severity: 'warning',
      why: 'name the study an id identifies: <study>_id (ecg_id, biopsy_id, xray_id)',
    });
  } else if (/_identifier$/u.test(name)) {
    name = name.replace(/_identifier$/u, '_id');
    steps.push({
      rule: 'study-id',
      severity: 'warning',
      why: 'identifiers end in _id (ecg_id, slide_id)',
    });
  } else if (/_date$/u.test(name)) {
    name = name.replace(/_date$/u, '_dt');
    steps.push({
      rule: 'date-suffix',
      severity: 'warning',
      why: 'dates end in _dt (biopsy_dt, death_dt), as in the real datasets',
    });
  } else if (/_(?:ts|timestamp)$/u.test(name)) {
    name = name.replace(/_(?:ts|timestamp)$/u, '_datetime');
    steps.push({
      rule: 'date-suffix',
      severity: 'warning',
      why: 'moments in time end in _datetime (acquired_datetime)',
    });
  }
  return { preferred: name, steps };
}

interface Use {
  dataset: string;
  table: string;
  column: string;
  type: string;
  preferred: string;
}

const compareFindings = (a: NamingFinding, b: NamingFinding) =>
  compareText(a.dataset, b.dataset) ||
  compareText(a.table, b.table) ||
  compareText(a.column, b.column);

/** The name used by the most datasets; ties go to `fallback` if it is among them, then A-Z. */
function mostUsed(names: ReadonlyMap<string, ReadonlySet<string>>, fallback: string): string {
  return (
    [...names.entries()].sort(
      ([a, aSets], [b, bSets]) =>
        bSets.size - aSets.size ||
        Number(b === fallback) - Number(a === fallback) ||
        compareText(a, b),
    )[0]?.[0] ?? fallback
  );
}

/**
 * Every column, in every dataset, whose name fights the catalog's conventions: not snake_case, a
 * patient id other than patient_ngsci_id, a source identifier (MRN, accession number), a generic
 * or misspelt study id, a synonym of a concept that has a name (sex, age, birth and death dates),
 * a date suffix other than _dt; and, across datasets, one concept under several acceptable names
 * (age vs age_at_admit) or one name under several types. One finding per column, sorted by
 * dataset, table and column.
 */
export function lintNaming(datasets: readonly LintedDataset[]): NamingFinding[] {
  const findings = new Map<string, NamingFinding>();
  const uses: Use[] = [];
  const add = (use: Use, preferred: string, step: Step) => {
    const id = JSON.stringify([use.dataset, use.table, use.column]);
    const found = findings.get(id);
    if (found === undefined) {
      findings.set(id, {
        dataset: use.dataset,
        table: use.table,
        column: use.column,
        preferred,
        rules: [step.rule],
        severity: step.severity,
        why: step.why,
      });
    } else {
      found.preferred = preferred;
      found.rules.push(step.rule);
      found.why = `${found.why}; ${step.why}`;
      found.severity = found.severity === 'error' ? 'error' : step.severity;
    }
  };
  for (const dataset of datasets) {
    for (const table of dataset.tables) {
      for (const column of table.columns) {
        const { preferred, steps } = suggest(dataset.slug, column.name);
        const use = {
          dataset: dataset.slug,
          table: table.name,
          column: column.name,
          type: column.type,
          preferred,
        };
        uses.push(use);
        for (const step of steps) {
          add(use, preferred, step);
        }
      }
    }
  }
  for (const family of FAMILIES) {
    const members = uses.filter((use) => family.pattern.test(use.preferred));
    const names = new Map<string, Set<string>>();
    for (const use of members) {
      names.set(use.preferred, (names.get(use.preferred) ?? new Set()).add(use.dataset));
    }
    if (names.size < 2) {
      continue;
    }
    const chosen = mostUsed(names, family.preferred);
    const where = [...names.entries()]
      .sort(([a], [b]) => compareText(a, b))
      .map(([name, slugs]) => `${name} in ${[...slugs].sort(compareText).join(', ')}`)
      .join('; ');
    for (const use of members.filter((member) => member.preferred !== chosen)) {
      add(use, chosen, {
        rule: 'inconsistent',
        severity: 'warning',
        why: `the catalog names ${family.concept} in several ways (${where}); ${family.why}`,
      });
    }
  }
  const types = new Map<string, Map<string, Set<string>>>();
  for (const use of uses) {
    const byType = types.get(use.preferred) ?? new Map<string, Set<string>>();
    byType.set(use.type, (byType.get(use.type) ?? new Set()).add(use.dataset));
    types.set(use.preferred, byType);
  }
  for (const [name, byType] of types) {
    if (byType.size < 2) {
      continue;
    }
    const usual = mostUsed(byType, '');
    for (const use of uses.filter((u) => u.preferred === name && u.type !== usual)) {
      add(use, use.preferred, {
        rule: 'type-inconsistent',
        severity: 'warning',
        why: `${name} is ${usual} in ${[...(byType.get(usual) ?? [])].sort(compareText).join(', ')} but ${use.type} here; one name, one type`,
      });
    }
  }
  return [...findings.values()].sort(compareFindings);
}
