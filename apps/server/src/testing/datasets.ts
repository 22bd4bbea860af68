import { request, type As } from './http.js';
import type { TestServer } from './test-server.js';

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

async function ok(res: Promise<Response>, what: string): Promise<void> {
  const answer = await res;
  if (answer.status >= 300) {
    throw new Error(`${what} failed with ${answer.status}: ${await answer.text()}`);
  }
}

/** Uploads `rows` ECG rows into the draft's one table, documents and keys it, and publishes it. */
async function fillAndPublish(server: TestServer, curator: As, slug: string, rows: number) {
  const csv = `ecg_id,patient_ngsci_id\n${Array.from({ length: rows }, (_, i) => `e${i},p${i}`).join('\n')}\n`;
  await ok(
    fetch(
      `${server.url}/api/v1/datasets/${slug}/draft/tables/ecgs?file=${encodeURIComponent('tables/ecgs.csv')}`,
      {
        method: 'PUT',
        headers: {
          cookie: curator.cookie ?? '',
          'x-lantern-csrf': '1',
          'content-type': 'text/csv',
        },
        body: csv,
      },
    ),
    `upload to ${slug}`,
  );
  const base = `/api/v1/datasets/${slug}/draft`;
  await ok(
    request(server, 'PUT', `${base}/tables/ecgs/keys`, curator, {
      primaryKey: ['ecg_id'],
      foreignKeys: [],
    }),
    'keys',
  );
  await ok(request(server, 'PUT', `${base}/dictionary`, curator, DICTIONARY), 'dictionary');
  await ok(
    request(server, 'PUT', `${base}/documentation`, curator, {
      sections: [
        { kind: 'problem', markdown: 'Synthetic ECGs for tests.' },
        { kind: 'overview', markdown: 'One table.' },
      ],
    }),
    'documentation',
  );
  await ok(
    request(server, 'POST', `${base}/publish`, curator, { notes: `${rows} synthetic ECGs.` }),
    `publication of ${slug}`,
  );
}

/**
 * A small synthetic dataset published through the API as 1.0 by `curator` (a curator's session):
 * one documented, keyed table of `rows` ECG ids. Its tier is `open` or `approval`; its one
 * partner `partner`.
 */
export async function publishTinyDataset(
  server: TestServer,
  curator: As,
  slug: string,
  accessTier: 'open' | 'approval',
  rows = 2,
  partner = 'Example Health System',
): Promise<void> {
  await ok(
    request(server, 'POST', '/api/v1/datasets', curator, {
      slug,
      title: `${slug} (synthetic)`,
      problem: 'Which synthetic ECGs come before an arrest?',
      category: 'ecg-waveforms',
      partners: [{ name: partner, country: 'US', description: '' }],
      authors: [{ name: 'Ada Lovelace' }],
      citation: { text: `Lovelace A. ${slug} (synthetic). Lantern, 2026.` },
      accessTier,
      modalities: ['ecg'],
      tags: ['synthetic'],
    }),
    `creation of ${slug}`,
  );
  await fillAndPublish(server, curator, slug, rows);
}

/** Publishes the next version of `slug` with `rows` rows (more rows than before: a minor version). */
export async function publishNextVersion(
  server: TestServer,
  curator: As,
  slug: string,
  rows: number,
): Promise<void> {
  await ok(request(server, 'POST', `/api/v1/datasets/${slug}/draft`, curator), `draft of ${slug}`);
  await fillAndPublish(server, curator, slug, rows);
}
