import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { pathology, pathologyDictionary } from './catalog.fixtures.js';
import { isCountryCode } from './countries.js';
import {
  categorySlugSchema,
  dataDictionarySchema,
  datasetSchema,
  datasetSlugSchema,
  documentationSchema,
  isFixedCategory,
  orderSections,
  partnerSchema,
  sectionTitle,
  snapshotSchema,
  type Dataset,
} from './dataset.js';

const dataset: Dataset = {
  slug: 'brca-psj-path',
  title: 'Breast cancer metastasis: a dataset',
  problem: 'Which breast cancers will metastasize?',
  category: 'microscopy-images',
  partners: [{ name: 'Providence', country: 'US', description: 'A health system in the west.' }],
  authors: [{ name: 'Ada Lovelace', orcid: 'https://orcid.org/0000-0002-1825-0097' }],
  citation: { text: 'Lovelace A. brca-psj-path (v2.1).', doi: '10.48815/n5r0-ap29' },
  accessTier: 'open',
  modalities: ['slide-microscopy', 'clinical-records'],
  tags: ['pathology', 'breast-cancer'],
};

describe('dataset model', () => {
  it('accepts a dataset as Nightingale documents one, with the ORCID iD in canonical form', () => {
    const parsed = datasetSchema.parse(dataset);
    expect(parsed.authors[0]?.orcid).toBe('0000-0002-1825-0097');
    expect(parsed).toMatchObject({ slug: 'brca-psj-path', accessTier: 'open' });
  });

  it('keeps slugs to lower-case words joined by single hyphens', () => {
    for (const slug of ['brca-psj-path', 'demo-arrest-ecg', 'tb1', 'ed-bwh-ecg']) {
      expect(datasetSlugSchema.safeParse(slug).success, slug).toBe(true);
    }
    for (const slug of [
      '',
      'ab',
      'Brca-psj',
      'brca--psj',
      '-brca',
      'brca-',
      '1brca',
      'brca_psj',
      'brca psj',
      'a'.repeat(65),
      '../etc',
    ]) {
      expect(datasetSlugSchema.safeParse(slug).success, slug).toBe(false);
    }
  });

  it('has the four fixed categories and takes others an admin adds, as slugs', () => {
    expect(isFixedCategory('ecg-waveforms')).toBe(true);
    expect(isFixedCategory('xray-images')).toBe(true);
    expect(isFixedCategory('genomics')).toBe(false);
    expect(categorySlugSchema.safeParse('genomics').success).toBe(true);
    expect(categorySlugSchema.safeParse('Genomics!').success).toBe(false);
  });

  it('names partner countries by assigned ISO 3166-1 alpha-2 codes only', () => {
    expect(isCountryCode('TW')).toBe(true);
    expect(isCountryCode('GB')).toBe(true);
    expect(isCountryCode('UK')).toBe(false); // reserved, not assigned
    expect(isCountryCode('us')).toBe(false);
    const partner = { name: 'National Taiwan University Hospital', description: '' };
    expect(partnerSchema.safeParse({ ...partner, country: 'TW' }).success).toBe(true);
    expect(partnerSchema.safeParse({ ...partner, country: 'Taiwan' }).success).toBe(false);
  });

  it('has a JSON Schema both ways, as the OpenAPI document needs (no transforms)', () => {
    for (const schema of [
      datasetSchema,
      documentationSchema,
      snapshotSchema,
      dataDictionarySchema,
    ]) {
      expect(() => z.toJSONSchema(schema, { io: 'input' })).not.toThrow();
      expect(() => z.toJSONSchema(schema, { io: 'output' })).not.toThrow();
    }
  });

  it('refuses a wrong ORCID iD, a malformed DOI, repeated tags or modalities and multi-line titles', () => {
    const refuse = (changes: Partial<Record<keyof Dataset, unknown>>) =>
      datasetSchema.safeParse({ ...dataset, ...changes }).success;
    expect(refuse({ authors: [{ name: 'A', orcid: '0000-0002-1825-0098' }] })).toBe(false);
    expect(refuse({ citation: { text: 'x', doi: 'doi:10.1/x' } })).toBe(false);
    expect(refuse({ tags: ['ecg', 'ecg'] })).toBe(false);
    expect(refuse({ tags: ['ECG'] })).toBe(false);
    expect(refuse({ title: 'two\nlines' })).toBe(false);
    expect(refuse({ accessTier: 'public' })).toBe(false);
    expect(refuse({ modalities: ['xray', 'xray'] })).toBe(false);
    expect(refuse({ modalities: ['pet-scan'] })).toBe(false);
  });
});

describe('documentation', () => {
  it('has each fixed section at most once and free sections with distinct titles', () => {
    expect(
      documentationSchema.safeParse([
        { kind: 'problem', markdown: '# Metastasis' },
        { kind: 'free', title: 'Known problems', markdown: 'Stage is missing for 3%.' },
        { kind: 'free', title: 'Contest', markdown: '' },
      ]).success,
    ).toBe(true);
    const twice = documentationSchema.safeParse([
      { kind: 'overview', markdown: 'a' },
      { kind: 'overview', markdown: 'b' },
    ]);
    expect(twice.error?.issues.map((issue) => issue.message)).toEqual([
      'the section "Dataset overview" appears twice',
    ]);
    expect(
      documentationSchema.safeParse([
        { kind: 'free', title: 'Notes', markdown: '' },
        { kind: 'free', title: 'notes', markdown: '' },
      ]).success,
    ).toBe(false);
    expect(documentationSchema.safeParse([{ kind: 'history', markdown: '' }]).success).toBe(false);
  });

  it('keeps line breaks in Markdown and refuses other control characters', () => {
    expect(
      documentationSchema.safeParse([{ kind: 'contents', markdown: 'a\n\tb\r\n' }]).success,
    ).toBe(true);
    expect(
      documentationSchema.safeParse([{ kind: 'contents', markdown: 'a\u0000b' }]).success,
    ).toBe(false);
  });

  it('orders fixed sections as pages show them, free ones after in the order written', () => {
    const ordered = orderSections([
      { kind: 'free', title: 'Zeta', markdown: '' },
      { kind: 'whats-next', markdown: '' },
      { kind: 'free', title: 'Alpha', markdown: '' },
      { kind: 'problem', markdown: '' },
      { kind: 'partners', markdown: '' },
    ]);
    expect(ordered.map(sectionTitle)).toEqual([
      'The problem',
      'Our partners',
      "What's next",
      'Zeta',
      'Alpha',
    ]);
  });
});

describe('tables and dictionary', () => {
  it('accepts a version with its keys and a dictionary', () => {
    expect(snapshotSchema.parse(pathology)).toEqual(pathology);
    expect(dataDictionarySchema.parse(pathologyDictionary)).toEqual(pathologyDictionary);
  });

  it('refuses a table or column listed twice, files outside the version folder, negative counts', () => {
    const [first] = pathology.tables;
    if (first === undefined) {
      throw new Error('fixture');
    }
    expect(snapshotSchema.safeParse({ tables: [first, first] }).error?.issues[0]?.message).toBe(
      'the table patient appears twice',
    );
    const table = (changes: object) =>
      snapshotSchema.safeParse({ tables: [{ ...first, ...changes }] }).success;
    expect(table({ columns: [...first.columns, first.columns[0]] })).toBe(false);
    expect(table({ file: '../secrets.csv' })).toBe(false);
    expect(table({ file: '/etc/passwd' })).toBe(false);
    expect(table({ file: 'tables/patient.csv' })).toBe(true);
    expect(table({ rowCount: -1 })).toBe(false);
    expect(table({ rowCount: 1.5 })).toBe(false);
    expect(table({ columns: [] })).toBe(false);
    expect(table({ name: '<script>' })).toBe(false);
    expect(table({ columns: [{ name: 'x', type: 'float', nullable: false }] })).toBe(false);
  });

  it('takes column names as delivered (PatientID, Age) so the naming lint can flag them', () => {
    const [first] = pathology.tables;
    const columns = [
      { name: 'PatientID', type: 'string', nullable: false },
      { name: 'Age at admit', type: 'integer', nullable: true },
    ];
    expect(
      snapshotSchema.safeParse({ tables: [{ ...first, columns, primaryKey: [] }] }).success,
    ).toBe(true);
  });
});
