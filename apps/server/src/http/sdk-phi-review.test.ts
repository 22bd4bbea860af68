import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, createLanternClient, type LanternClient } from '@lantern/sdk';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

const SLUG = 'demo-knee-xray';
/** A delivery whose free text and contact column the scan flags: made up here, no real person. */
const NOTES = 'demo-clinic-notes';
const NOTES_MANIFEST = `# Synthetic: written by the SDK's test; no real person.
dataset: ${NOTES}
partner: Example Health System
tables:
  - name: visits
    file: tables/visits.csv
    patient: mrn
    dates: [visit_date]
`;
const NOTES_VISITS = [
  'mrn,visit_date,note,contact',
  'MRN-0001,2020-01-02,Seen with her daughter; call back on (415) 555-0142 after the scan.,helen.marsh@example.org',
  'MRN-0002,2020-02-03,Knee pain improving. Follow up with Dr. Alan Whitfield in 6 weeks.,j.okafor@example.net',
  'MRN-0003,2020-03-04,No concerns today.,r.silva@example.com',
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
    password: 'seven quiet rivers under the hill',
  });
  const made = await request(server, 'POST', '/api/v1/auth/tokens', user, {
    name: 'phi review scripts',
    scope: ['catalog.curate'],
    expiresInDays: 1,
  });
  const { token } = (await made.json()) as { token: string };
  curator = createLanternClient({ baseUrl: server.url, token });
  // A draft made by an ingest: the synthetic knee delivery, with its dates of birth and burned-in
  // radiographs.
  work = await mkdtemp(join(tmpdir(), 'lantern-sdk-phi-'));
  const knee = join(work, 'knee');
  await generateKneeXrayDelivery({ out: knee, scale: 0.25, seed: 5, delivery: 1 });
  await server.ctx.services.ingest.ingestDirectory(knee, { actor: 'system:lantern' });
  const notes = join(work, 'notes');
  await mkdir(join(notes, 'tables'), { recursive: true });
  await writeFile(join(notes, 'delivery.yaml'), NOTES_MANIFEST);
  await writeFile(join(notes, 'tables/visits.csv'), NOTES_VISITS);
  await server.ctx.services.ingest.ingestDirectory(notes, { actor: 'system:lantern' });
}, 120_000);

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe(`the PHI review through the SDK, with a curator's token, on ${TEST_DIALECT}`, () => {
  it('reads the findings masked and the held files, and drops a column, dictionary words and all', async () => {
    const review = await curator.getPhiReview(SLUG);
    expect(review.ingest).toMatch(/^ing_/);
    expect(review.blocked).toBe(true);
    expect(review.open.sort()).toEqual(review.findings.map((f) => f.id).sort());
    const birth = review.findings.find((f) => f.column === 'birth_date');
    expect(birth).toMatchObject({ table: 'patients', kind: 'birth-date' });
    for (const example of birth?.examples ?? []) {
      expect(birth?.rows).toContain(example.row);
      // Masked: no full date of birth in the answer.
      expect(example.masked).not.toMatch(/^\d{4}-\d{2}-\d{2}$/u);
    }
    expect(review.held.length).toBeGreaterThan(0);
    expect(review.held.map((h) => h.reason)).toContainEqual(
      expect.stringMatching(/Burned In Annotation/u),
    );

    // A note that says nothing is refused in the server's words, and nothing is recorded.
    const refused = await curator
      .decidePhi(SLUG, [{ action: 'confirm', finding: birth?.id ?? '', note: '   ' }])
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((await curator.getPhiReview(SLUG)).decisions).toEqual([]);

    // Words written for the column before it is dropped leave the dictionary with it.
    const before = await curator.getDatasetVersion(SLUG, 'draft');
    const patients = before.snapshot.tables.find((t) => t.name === 'patients');
    await curator.setDraftDictionary(SLUG, {
      tables: [
        {
          name: 'patients',
          description: 'One row per patient.',
          columns: (patients?.columns ?? []).map((c) => ({
            name: c.name,
            type: c.type,
            description: `The ${c.name} column.`,
          })),
        },
      ],
    });
    const dropped = await curator.decidePhi(SLUG, [
      { action: 'drop', table: 'patients', column: 'birth_date' },
    ]);
    expect(dropped.decisions).toEqual([
      {
        action: 'drop',
        table: 'patients',
        column: 'birth_date',
        by: 'curator@example.org',
        at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/u) as unknown,
      },
    ]);
    expect(dropped.open).not.toContain(birth?.id);
    const draft = await curator.getDatasetVersion(SLUG, 'draft');
    expect(
      draft.snapshot.tables.find((t) => t.name === 'patients')?.columns.map((c) => c.name),
    ).not.toContain('birth_date');
    const words = draft.dictionary.tables.find((t) => t.name === 'patients');
    expect(words?.description).toBe('One row per patient.');
    expect(words?.columns.map((c) => c.name)).toEqual(
      (patients?.columns ?? []).map((c) => c.name).filter((c) => c !== 'birth_date'),
    );

    expect(dropped).toMatchObject({ blocked: false, open: [] });
    // The held radiographs still block publication, until each is decided (here: excluded).
    const blocking = async () =>
      (await curator.previewPublication(SLUG)).problems.filter(
        (p) => p.source === 'phi' && p.severity === 'blocking',
      );
    const held = await curator.getHeldFiles(SLUG);
    expect(held.open).toBe(review.held.length);
    expect((await blocking()).map((p) => p.code)).toEqual(
      held.files.map(() => 'held-file-undecided'),
    );
    const excluded = await curator.decideHeldFiles(
      SLUG,
      held.files.map((file) => ({ file: file.id, action: 'exclude' as const })),
    );
    expect(excluded).toMatchObject({ open: 0, blocked: false });
    expect(curator.heldFilePreviewPath(SLUG, held.files[0]?.id ?? '')).toBe(
      `${server.url}/api/v1/datasets/${SLUG}/draft/held/${held.files[0]?.id ?? ''}/preview`,
    );
    expect(await blocking()).toEqual([]);
  });

  it('confirms free-text findings as not PHI with a note, and drops a contact column', async () => {
    const review = await curator.getPhiReview(NOTES);
    expect(review.findings.map((f) => [f.id, f.cells, f.freeText]).sort()).toEqual([
      ['visits.contact:email', 3, false],
      ['visits.note:name', 1, true],
      ['visits.note:phone', 1, true],
    ]);
    // Masked, with the row each example is from: no address, name or number in the answer.
    const text = JSON.stringify(review);
    for (const planted of ['helen.marsh', 'Whitfield', '555-0142', 'example.org']) {
      expect(text).not.toContain(planted);
    }
    expect(review.findings.find((f) => f.id === 'visits.note:phone')?.examples).toEqual([
      { row: 1, masked: expect.not.stringContaining('555') as unknown },
    ]);
    expect(review.held).toEqual([]);
    // The dictionary's examples: first values as published (pseudonyms, shifted dates), none in
    // the columns whose findings are open.
    const examples = async () =>
      Object.fromEntries(
        (await curator.getDraftExamples(NOTES)).tables[0]?.columns.map((c) => [
          c.name,
          [c.example, c.withheld],
        ]) ?? [],
      );
    const before = await examples();
    expect(before['note']).toEqual([null, true]);
    expect(before['contact']).toEqual([null, true]);
    expect(before['visit_date']?.[0]).toMatch(/^\d{4}-\d{2}-\d{2}$/u);
    expect(String(before['patient_ngsci_id']?.[0])).not.toContain('MRN');
    expect(JSON.stringify(before)).not.toContain('example.org');

    const confirmed = await curator.decidePhi(NOTES, [
      { action: 'confirm', finding: 'visits.note:name', note: 'A made-up clinician of the test.' },
      { action: 'confirm', finding: 'visits.note:phone', note: 'A 555 number: fictional.' },
    ]);
    expect(confirmed).toMatchObject({ blocked: true, open: ['visits.contact:email'] });
    expect(confirmed.decisions.map((d) => [d.action, d.note, d.by])).toEqual([
      ['confirm', 'A made-up clinician of the test.', 'curator@example.org'],
      ['confirm', 'A 555 number: fictional.', 'curator@example.org'],
    ]);
    const decided = await curator.decidePhi(NOTES, [
      { action: 'drop', table: 'visits', column: 'contact', note: 'Contacts are never published.' },
    ]);
    expect(decided).toMatchObject({ blocked: false, open: [] });
    expect(decided.decisions).toHaveLength(3);
    const after = await examples();
    expect(after['note']).toEqual([
      'Seen with her daughter; call back on (415) 555-0142 after the scan.',
      false,
    ]);
    expect(Object.keys(after)).toEqual(['patient_ngsci_id', 'visit_date', 'note']);
    // Decisions are kept: a fresh read says the same.
    expect(await curator.getPhiReview(NOTES)).toEqual(decided);
    const draft = await curator.getDatasetVersion(NOTES, 'draft');
    expect(draft.snapshot.tables[0]?.columns.map((c) => c.name)).toEqual([
      'patient_ngsci_id',
      'visit_date',
      'note',
    ]);
    const preview = await curator.previewPublication(NOTES);
    expect(preview.problems.filter((p) => p.source === 'phi' && p.severity === 'blocking')).toEqual(
      [],
    );
  });

  it('is refused to anyone without a curator session or token', async () => {
    const anyone = createLanternClient({ baseUrl: server.url });
    await expect(anyone.getPhiReview(SLUG)).rejects.toMatchObject({ status: 401 });
    await expect(anyone.getDraftExamples(SLUG)).rejects.toMatchObject({ status: 401 });
    await expect(
      anyone.decidePhi(SLUG, [{ action: 'drop', table: 'patients', column: 'sex' }]),
    ).rejects.toMatchObject({ status: 401 });
  });
});
