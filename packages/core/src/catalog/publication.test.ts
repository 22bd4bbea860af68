import { describe, expect, it } from 'vitest';
import { column, outcomes, pathology, pathologyDictionary, patients } from './catalog.fixtures.js';
import type { Snapshot } from './dataset.js';
import { KeyIntegrityCheck } from './key-integrity.js';
import { lintNaming } from './naming-lint.js';
import { checkPublication } from './publication.js';

describe('the checks before publishing', () => {
  it('lets a clean draft through', () => {
    const result = checkPublication({
      slug: 'brca-psj-path',
      snapshot: pathology,
      dictionary: pathologyDictionary,
      naming: lintNaming([{ slug: 'brca-psj-path', tables: pathology.tables }]),
      keys: [],
    });
    expect(result).toEqual({ isPublishable: true, problems: [] });
  });

  it('lists every problem at once, blocking first, with this dataset’s naming findings only', () => {
    const draft: Snapshot = {
      tables: [
        { ...patients, columns: [...patients.columns, column('gender', 'string')] },
        {
          ...outcomes,
          columns: outcomes.columns.map((c) =>
            c.name === 'patient_ngsci_id' ? column('PatientID', 'string') : c,
          ),
          foreignKeys: [],
        },
      ],
    };
    const other = {
      slug: 'demo-ed-ecg',
      tables: [{ name: 'patients', columns: [column('mrn', 'string')] }],
    };
    const keys = new KeyIntegrityCheck(draft);
    keys.addRow('patient', { patient_ngsci_id: 'p1' });
    keys.addRow('patient', { patient_ngsci_id: 'p1' });
    const result = checkPublication({
      slug: 'brca-psj-path',
      snapshot: draft,
      dictionary: { tables: pathologyDictionary.tables.slice(0, 2) },
      naming: lintNaming([{ slug: 'brca-psj-path', tables: draft.tables }, other]),
      keys: keys.problems(),
    });
    expect(result.isPublishable).toBe(false);
    expect(result.problems.map((p) => [p.severity, p.source, p.code, p.column ?? ''])).toEqual([
      ['blocking', 'dictionary', 'column-undocumented', 'PatientID'],
      ['blocking', 'dictionary', 'column-missing', 'patient_ngsci_id'],
      ['blocking', 'dictionary', 'column-undocumented', 'gender'],
      ['blocking', 'keys', 'duplicate-primary-key', ''],
      ['blocking', 'naming', 'snake-case,patient-id', 'PatientID'],
      ['warning', 'naming', 'synonym', 'gender'],
    ]);
    expect(result.problems[4]?.message).toMatch(
      /^rename outcomes\.PatientID to patient_ngsci_id: /u,
    );
  });

  it('publishes despite warnings', () => {
    const draft: Snapshot = { tables: [{ ...patients, primaryKey: [] }] };
    const result = checkPublication({
      slug: 'x-demo',
      snapshot: draft,
      dictionary: { tables: pathologyDictionary.tables.slice(0, 1) },
      naming: [],
    });
    expect(result.isPublishable).toBe(true);
    expect(result.problems.map((p) => p.code)).toEqual(['no-primary-key']);
  });
});
