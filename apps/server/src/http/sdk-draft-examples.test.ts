import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLanternClient, type LanternClient } from '@lantern/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

// The data dictionary's examples are read from the draft's tables once per content of them and
// kept in memory; the PHI withholding is applied to every answer after, so a finding confirmed
// releases its column's example at once, and a table rewritten is read again.
const SLUG = 'demo-clinic-visits';
const MANIFEST = `# Synthetic: written by the examples cache's test; no real person.
dataset: ${SLUG}
partner: Example Health System
tables:
  - name: visits
    file: tables/visits.csv
    patient: mrn
    dates: [visit_date]
`;
const VISITS = [
  'mrn,visit_date,note,contact',
  'MRN-0101,2020-01-02,Call back on (415) 555-0199 after the scan.,ada.lind@example.org',
  'MRN-0102,2020-02-03,No concerns today.,b.ortiz@example.net',
  '',
].join('\n');

let server: TestServer;
let curator: LanternClient;
let work: string;

beforeAll(async () => {
  server = await startTestServer();
  const user = await createSignedInUser(server, {
    email: 'curator@example.org',
    roles: ['curator'],
    password: 'eight lanterns on a long pier',
  });
  const made = await request(server, 'POST', '/api/v1/auth/tokens', user, {
    name: 'dictionary scripts',
    scope: ['catalog.curate'],
    expiresInDays: 1,
  });
  const { token } = (await made.json()) as { token: string };
  curator = createLanternClient({ baseUrl: server.url, token });
  work = await mkdtemp(join(tmpdir(), 'lantern-examples-'));
  await mkdir(join(work, 'tables'), { recursive: true });
  await writeFile(join(work, 'delivery.yaml'), MANIFEST);
  await writeFile(join(work, 'tables/visits.csv'), VISITS);
  await server.ctx.services.ingest.ingestDirectory(work, { actor: 'system:lantern' });
}, 120_000);

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe(`the draft's dictionary examples, cached, on ${TEST_DIALECT}`, () => {
  const examples = async () =>
    Object.fromEntries(
      (await curator.getDraftExamples(SLUG)).tables[0]?.columns.map((c) => [
        c.name,
        [c.example, c.withheld],
      ]) ?? [],
    );
  const reads = () => server.ctx.services.catalog.examplesCache.stats();

  it('reads the tables once, withholds open findings on every answer, and reads a rewritten table again', async () => {
    const start = reads();
    const first = await examples();
    expect(first['note']).toEqual([null, true]);
    expect(first['contact']).toEqual([null, true]);
    const date = first['visit_date']?.[0];
    expect(date).toMatch(/^\d{4}-\d{2}-\d{2}$/u);
    expect(reads()).toMatchObject({ misses: start.misses + 1, hits: start.hits });

    // Loaded again: the same answer, from memory.
    expect(await examples()).toEqual(first);
    expect(reads()).toMatchObject({ misses: start.misses + 1, hits: start.hits + 1 });

    // A finding confirmed: its column's example shows at once, with no table read again.
    const review = await curator.getPhiReview(SLUG);
    const noteFindings = review.findings.filter((f) => f.column === 'note').map((f) => f.id);
    expect(noteFindings.length).toBeGreaterThan(0);
    await curator.decidePhi(
      SLUG,
      noteFindings.map((finding) => ({
        action: 'confirm' as const,
        finding,
        note: 'A fictional 555 number of the test.',
      })),
    );
    const confirmed = await examples();
    expect(confirmed['note']).toEqual(['Call back on (415) 555-0199 after the scan.', false]);
    expect(confirmed['contact']).toEqual([null, true]);
    expect(reads()).toMatchObject({ misses: start.misses + 1, hits: start.hits + 2 });

    // The table rewritten (a curator's upload of new rows): read again, the new first values.
    await curator.uploadDraftTable(
      SLUG,
      'visits',
      'tables/visits.csv',
      [
        'patient_ngsci_id,visit_date,note,contact',
        'pt_fictional_1,2021-05-06,Seen again.,',
        '',
      ].join('\n'),
    );
    const rewritten = await examples();
    expect(rewritten['visit_date']).toEqual(['2021-05-06', false]);
    expect(rewritten['note']).toEqual(['Seen again.', false]);
    expect(reads()).toMatchObject({ misses: start.misses + 2, hits: start.hits + 2 });

    // A column dropped rewrites the table too: gone from the examples.
    await curator.decidePhi(SLUG, [
      { action: 'drop', table: 'visits', column: 'contact', note: 'Contacts are never published.' },
    ]);
    const dropped = await examples();
    expect(Object.keys(dropped)).toEqual(['patient_ngsci_id', 'visit_date', 'note']);
    expect(reads()).toMatchObject({ misses: start.misses + 3, hits: start.hits + 2 });
  });
});
