import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, createLanternClient, type LanternClient } from '@lantern/sdk';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

const SLUG = 'demo-knee-xray';

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
  await generateKneeXrayDelivery({ out: work, scale: 0.25, seed: 5, delivery: 1 });
  await server.ctx.services.ingest.ingestDirectory(work, { actor: 'system:lantern' });
}, 120_000);

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe(`the PHI review through the SDK, with a curator's token, on ${TEST_DIALECT}`, () => {
  it('reads the findings masked and the held files, and decides each finding', async () => {
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

    const rest = dropped.findings.filter((f) => dropped.open.includes(f.id));
    const decided =
      rest.length === 0
        ? dropped
        : await curator.decidePhi(
            SLUG,
            rest.map((f) => ({
              action: 'confirm' as const,
              finding: f.id,
              note: 'Synthetic data: made up by the generator.',
            })),
          );
    expect(decided).toMatchObject({ blocked: false, open: [] });
    expect(decided.decisions).toHaveLength(1 + rest.length);
    const preview = await curator.previewPublication(SLUG);
    expect(preview.problems.filter((p) => p.source === 'phi' && p.severity === 'blocking')).toEqual(
      [],
    );
  });

  it('is refused to anyone without a curator session or token', async () => {
    const anyone = createLanternClient({ baseUrl: server.url });
    await expect(anyone.getPhiReview(SLUG)).rejects.toMatchObject({ status: 401 });
    await expect(
      anyone.decidePhi(SLUG, [{ action: 'drop', table: 'patients', column: 'sex' }]),
    ).rejects.toMatchObject({ status: 401 });
  });
});
