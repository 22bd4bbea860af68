import { z } from 'zod';
import { parseOrcid } from '../identity/orcid.js';
import { isCountryCode } from './countries.js';

/**
 * The catalog's model: a dataset as a researcher first reads it (after Nightingale Open Science's
 * documentation pages: the problem, overview, partners, construction, contents, what's next), its
 * documentation in Markdown, the tables a version holds, and the data dictionary that explains
 * them. Only shapes and their local rules live here; rules that compare things (versions, the
 * dictionary against the tables, names across datasets) have their own files.
 */

/** Lower-case words of letters and digits joined by single hyphens: `brca-psj-path`. */
const SLUG = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/u;

/** A dataset's slug: the name in URLs and in `/home/ngsci/datasets/<slug>/<version>/`. */
export const datasetSlugSchema = z
  .string()
  .min(3, 'a slug has at least 3 characters')
  .max(64, 'a slug has at most 64 characters')
  .regex(SLUG, 'use lower-case letters and digits in words joined by single hyphens');

/** The categories every catalog has; admins may add others (`categorySlugSchema`). */
export const FIXED_CATEGORIES = [
  'ecg-waveforms',
  'microscopy-images',
  'xray-images',
  'multiple-diagnostics',
] as const;

export type FixedCategory = (typeof FIXED_CATEGORIES)[number];

/** How the fixed categories are shown. */
export const FIXED_CATEGORY_TITLES: Readonly<Record<FixedCategory, string>> = {
  'ecg-waveforms': 'ECG waveforms',
  'microscopy-images': 'Microscopy images',
  'xray-images': 'X-ray images',
  'multiple-diagnostics': 'Multiple diagnostics',
};

/** A category: one of the fixed ones or one an admin added, always a slug. */
export const categorySlugSchema = z
  .string()
  .min(2, 'a category has at least 2 characters')
  .max(48, 'a category has at most 48 characters')
  .regex(SLUG, 'use lower-case letters and digits in words joined by single hyphens');

/** Is `category` one of the categories every catalog has? */
export function isFixedCategory(category: string): category is FixedCategory {
  return (FIXED_CATEGORIES as readonly string[]).includes(category);
}

/** One line of text: no control characters (tabs and line breaks included), trimmed. */
const line = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `at most ${max} characters`)
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    .regex(/^[^\u0000-\u001f\u007f]*$/u, 'must be one line without control characters');

/** Markdown text, bounded; rendering it safely (no raw HTML) is the renderer's job. */
export const MARKDOWN_MAX_LENGTH = 100_000;
const markdown = z
  .string()
  .max(MARKDOWN_MAX_LENGTH, `at most ${MARKDOWN_MAX_LENGTH} characters`)
  // eslint-disable-next-line no-control-regex -- line breaks and tabs are text; other controls are not
  .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/u, 'must not hold control characters');

/** A health system or institution that delivered the data. */
export const partnerSchema = z.object({
  name: line(200),
  /** ISO 3166-1 alpha-2, upper case (`TW`, `US`). */
  country: z
    .string()
    .refine(isCountryCode, 'use an ISO 3166-1 alpha-2 country code in capitals, such as US or TW'),
  description: z.string().trim().max(2000, 'at most 2000 characters'),
});
export type Partner = z.infer<typeof partnerSchema>;

/** An author of the dataset, with an ORCID iD when they have one (stored in canonical form). */
export const authorSchema = z.object({
  name: line(200),
  orcid: z
    .string()
    .refine((value) => parseOrcid(value) !== null, 'not a valid ORCID iD')
    // overwrite, not transform: the type stays a string, so the schema still has a JSON Schema.
    .overwrite((value) => parseOrcid(value) ?? value)
    .optional(),
});
export type Author = z.infer<typeof authorSchema>;

/** A DOI name (ISO 26324): the `10.` prefix, a registrant code, a slash and a suffix. */
const DOI = /^10\.\d{4,9}\/\S+$/u;

/** How to cite the dataset: the text people paste, and its DOI when one was minted. */
export const citationSchema = z.object({
  text: z.string().trim().min(1, 'must not be empty').max(2000, 'at most 2000 characters'),
  doi: z.string().regex(DOI, 'a DOI looks like 10.1234/abc-def').optional(),
});
export type Citation = z.infer<typeof citationSchema>;

/**
 * Who may work with the data: `open` to every admitted person who accepted the terms, or only
 * after a reviewer approves a project's request (`approval`).
 */
export const ACCESS_TIERS = ['open', 'approval'] as const;
export type AccessTier = (typeof ACCESS_TIERS)[number];

const TAG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/u;

/**
 * What kinds of data a dataset holds, for the catalog's modality filter: its native images and
 * signals, and the clinical tables beside them. The DICOM modality codes (PS3.3 C.7.3.1.1.1) say
 * what each one covers.
 */
export const MODALITIES = [
  'ecg',
  'xray',
  'ct',
  'mri',
  'ultrasound',
  'slide-microscopy',
  'microscopy',
  'clinical-records',
  'laboratory',
] as const;
export type Modality = (typeof MODALITIES)[number];

/** How modalities are shown, with the DICOM codes they cover. */
export const MODALITY_TITLES: Readonly<Record<Modality, string>> = {
  ecg: 'ECG waveforms (ECG)',
  xray: 'X-ray radiographs (CR, DX)',
  ct: 'Computed tomography (CT)',
  mri: 'Magnetic resonance (MR)',
  ultrasound: 'Ultrasound (US)',
  'slide-microscopy': 'Whole-slide microscopy (SM)',
  microscopy: 'Microscopy images',
  'clinical-records': 'Clinical records (encounters, outcomes)',
  laboratory: 'Laboratory results',
};

export const modalitySchema = z.enum(MODALITIES);

/** A dataset as the catalog describes it (its documentation and versions are apart). */
export const datasetSchema = z.object({
  slug: datasetSlugSchema,
  title: line(200),
  /** The medical problem, one line: "Which breast cancers will metastasize?". */
  problem: line(300),
  category: categorySlugSchema,
  partners: z.array(partnerSchema).max(20),
  authors: z.array(authorSchema).max(100),
  citation: citationSchema,
  accessTier: z.enum(ACCESS_TIERS),
  /** What the dataset holds (the modality filter); empty until a curator says. */
  modalities: z
    .array(modalitySchema)
    .max(MODALITIES.length)
    .refine((modalities) => new Set(modalities).size === modalities.length, 'each modality once')
    .default([]),
  tags: z
    .array(z.string().min(1).max(40).regex(TAG, 'tags are lower-case words joined by hyphens'))
    .max(20)
    .refine((tags) => new Set(tags).size === tags.length, 'each tag once'),
});
export type Dataset = z.infer<typeof datasetSchema>;

/** The sections every dataset's documentation may have, in the order pages show them. */
export const FIXED_SECTIONS = [
  'problem',
  'overview',
  'partners',
  'construction',
  'contents',
  'whats-next',
] as const;
export type FixedSection = (typeof FIXED_SECTIONS)[number];

/** The headings of the fixed sections, as Nightingale's pages have them. */
export const FIXED_SECTION_TITLES: Readonly<Record<FixedSection, string>> = {
  problem: 'The problem',
  overview: 'Dataset overview',
  partners: 'Our partners',
  construction: 'Dataset construction',
  contents: 'Contents',
  'whats-next': "What's next",
};

/** One section of documentation: a fixed one, or a free one with its own title. */
export const documentationSectionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.enum(FIXED_SECTIONS), markdown }),
  z.object({ kind: z.literal('free'), title: line(120), markdown }),
]);
export type DocumentationSection = z.infer<typeof documentationSectionSchema>;

/** A version's documentation: each fixed section at most once, free sections after them. */
export const documentationSchema = z
  .array(documentationSectionSchema)
  .max(40)
  .superRefine((sections, context) => {
    const seen = new Set<string>();
    sections.forEach((section, index) => {
      const key = section.kind === 'free' ? `free:${section.title.toLowerCase()}` : section.kind;
      if (seen.has(key)) {
        context.addIssue({
          code: 'custom',
          path: [index],
          message:
            section.kind === 'free'
              ? `two free sections are titled "${section.title}"`
              : `the section "${FIXED_SECTION_TITLES[section.kind]}" appears twice`,
        });
      }
      seen.add(key);
    });
  });
export type Documentation = z.infer<typeof documentationSchema>;

/** The heading a section is shown under. */
export function sectionTitle(section: DocumentationSection): string {
  return section.kind === 'free' ? section.title : FIXED_SECTION_TITLES[section.kind];
}

/**
 * The sections in the order pages show them: the fixed ones in `FIXED_SECTIONS` order, then the
 * free ones in the order the curator wrote them.
 */
export function orderSections(sections: readonly DocumentationSection[]): DocumentationSection[] {
  const rank = (section: DocumentationSection) =>
    section.kind === 'free' ? FIXED_SECTIONS.length : FIXED_SECTIONS.indexOf(section.kind);
  // Array.prototype.sort is stable (ES2019), so free sections keep their order.
  return [...sections].sort((a, b) => rank(a) - rank(b));
}

/** The types a column of a table may have, as ingestion observes them. */
export const COLUMN_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'datetime'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];
export const columnTypeSchema = z.enum(COLUMN_TYPES);

/**
 * Table and column names as delivered: a letter or underscore first, then letters, digits and
 * `_.-` or spaces; the naming lint (naming-lint.ts) asks for snake_case, but a delivery that does
 * not follow it must still be described before it can be fixed.
 */
const NAME = /^[A-Za-z_][A-Za-z0-9_. -]*$/u;
const nameSchema = (what: string) =>
  z
    .string()
    .min(1, `a ${what} name must not be empty`)
    .max(128, `a ${what} name has at most 128 characters`)
    .regex(NAME, `a ${what} name starts with a letter and holds letters, digits, _ . - or spaces`);
export const tableNameSchema = nameSchema('table');
export const columnNameSchema = nameSchema('column');

/** A column as observed in a table's file. */
export const columnSchema = z.object({
  name: columnNameSchema,
  type: columnTypeSchema,
  nullable: z.boolean(),
});
export type Column = z.infer<typeof columnSchema>;

/** `columns` of this table refer to `references.columns` of `references.table`. */
export const foreignKeySchema = z.object({
  columns: z.array(columnNameSchema).min(1),
  references: z.object({ table: tableNameSchema, columns: z.array(columnNameSchema).min(1) }),
});
export type ForeignKey = z.infer<typeof foreignKeySchema>;

/** Names listed twice in `names`, each once, in order of first repetition. */
function repeated(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      twice.add(name);
    }
    seen.add(name);
  }
  return [...twice];
}

/**
 * One table of a version: its file (relative to the version's folder), how many rows it has, its
 * columns, and its keys. Whether the keys name columns and tables that exist is checked with the
 * dictionary (`checkDictionary`), so that every problem is reported at once.
 */
export const tableSnapshotSchema = z
  .object({
    name: tableNameSchema,
    file: z
      .string()
      .min(1)
      .max(1024)
      .refine(
        (file) => !file.startsWith('/') && !file.split('/').includes('..'),
        'a file is a path inside the version folder, without .. or a leading /',
      ),
    rowCount: z.number().int().min(0),
    columns: z.array(columnSchema).min(1, 'a table has at least one column'),
    primaryKey: z.array(columnNameSchema),
    foreignKeys: z.array(foreignKeySchema),
  })
  .superRefine((table, context) => {
    for (const name of repeated(table.columns.map((column) => column.name))) {
      context.addIssue({
        code: 'custom',
        path: ['columns'],
        message: `the column ${name} appears twice`,
      });
    }
  });
export type TableSnapshot = z.infer<typeof tableSnapshotSchema>;

/** The tables of one version, as ingestion found them. */
export const snapshotSchema = z
  .object({ tables: z.array(tableSnapshotSchema).max(500) })
  .superRefine((snapshot, context) => {
    for (const name of repeated(snapshot.tables.map((table) => table.name))) {
      context.addIssue({
        code: 'custom',
        path: ['tables'],
        message: `the table ${name} appears twice`,
      });
    }
  });
export type Snapshot = z.infer<typeof snapshotSchema>;

/**
 * How a column was de-identified: left as is (`none`: not identifying), replaced by a pseudonym
 * (`patient_ngsci_id`), dates shifted by a per-patient offset, generalised (ages over 89 grouped,
 * ZIP codes cut), or `other` (say how in `note`).
 */
export const DEIDENTIFICATION_METHODS = [
  'none',
  'pseudonym',
  'date-shift',
  'generalised',
  'other',
] as const;
export type DeidentificationMethod = (typeof DEIDENTIFICATION_METHODS)[number];

/** What the data dictionary says of one column. */
export const dictionaryColumnSchema = z.object({
  name: columnNameSchema,
  description: z.string().trim().min(1, 'describe the column').max(2000),
  type: columnTypeSchema,
  example: z.string().max(200).optional(),
  unit: z.string().trim().min(1).max(40).optional(),
  allowedValues: z.array(z.string().max(200)).min(1).max(200).optional(),
  deidentification: z
    .object({ method: z.enum(DEIDENTIFICATION_METHODS), note: z.string().max(1000).optional() })
    .optional(),
});
export type DictionaryColumn = z.infer<typeof dictionaryColumnSchema>;

/** What the data dictionary says of one table. */
export const dictionaryTableSchema = z.object({
  name: tableNameSchema,
  description: z.string().trim().max(2000),
  columns: z.array(dictionaryColumnSchema),
});
export type DictionaryTable = z.infer<typeof dictionaryTableSchema>;

/** A version's data dictionary, written by curators and checked against its tables. */
export const dataDictionarySchema = z.object({ tables: z.array(dictionaryTableSchema).max(500) });
export type DataDictionary = z.infer<typeof dataDictionarySchema>;
