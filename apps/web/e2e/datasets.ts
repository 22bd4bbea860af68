import type { BrowserContext } from 'playwright-core';
import { CSRF, expectOk } from './people.js';

/**
 * Small synthetic datasets published through the API by a curator, as the server's own tests make
 * them (apps/server/src/testing/datasets.ts): one documented, keyed table of ECG ids, version 1.0,
 * open to admitted researchers or by approval.
 */
const DICTIONARY = {
  tables: [
    {
      name: 'ecgs',
      description: 'One row per ECG.',
      columns: [
        { name: 'ecg_id', description: 'The ECG.', type: 'string' },
        { name: 'patient_ngsci_id', description: 'Pseudonymous person id.', type: 'string' },
      ],
    },
  ],
};

/** Publishes `slug` 1.0 with `rows` synthetic rows, from the curator's signed-in context. */
export async function publishTinyDataset(
  curator: BrowserContext,
  baseUrl: string,
  slug: string,
  accessTier: 'open' | 'approval',
  rows = 2,
): Promise<void> {
  const api = curator.request;
  await expectOk(
    api.post(`${baseUrl}/api/v1/datasets`, {
      headers: CSRF,
      data: {
        slug,
        title: `${slug} (synthetic)`,
        problem: 'Which synthetic ECGs come before an arrest?',
        category: 'ecg-waveforms',
        partners: [{ name: 'Example Health System', country: 'US', description: '' }],
        authors: [{ name: 'Ada Lovelace' }],
        citation: { text: `Lovelace A. ${slug} (synthetic). Lantern, 2026.` },
        accessTier,
        modalities: ['ecg'],
        tags: ['synthetic'],
      },
    }),
  );
  const draft = `${baseUrl}/api/v1/datasets/${slug}/draft`;
  const csv = `ecg_id,patient_ngsci_id\n${Array.from({ length: rows }, (_, i) => `e${i},p${i}`).join('\n')}\n`;
  await expectOk(
    api.put(`${draft}/tables/ecgs?file=${encodeURIComponent('tables/ecgs.csv')}`, {
      headers: { ...CSRF, 'content-type': 'text/csv' },
      data: csv,
    }),
  );
  await expectOk(
    api.put(`${draft}/tables/ecgs/keys`, {
      headers: CSRF,
      data: { primaryKey: ['ecg_id'], foreignKeys: [] },
    }),
  );
  await expectOk(api.put(`${draft}/dictionary`, { headers: CSRF, data: DICTIONARY }));
  await expectOk(
    api.put(`${draft}/documentation`, {
      headers: CSRF,
      data: {
        sections: [
          { kind: 'problem', markdown: 'Synthetic ECGs for tests.' },
          { kind: 'overview', markdown: 'One table.' },
        ],
      },
    }),
  );
  await expectOk(
    api.post(`${draft}/publish`, { headers: CSRF, data: { notes: `${rows} synthetic ECGs.` } }),
  );
}
