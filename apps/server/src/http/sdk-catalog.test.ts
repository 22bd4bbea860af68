import { createLanternClient, type LanternClient } from '@lantern/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

let server: TestServer;
let curator: LanternClient;

beforeAll(async () => {
  server = await startTestServer();
  const user = await createSignedInUser(server, {
    email: 'curator@example.org',
    roles: ['curator'],
    password: 'seven quiet rivers under the hill',
  });
  const made = await request(server, 'POST', '/api/v1/auth/tokens', user, {
    name: 'catalog scripts',
    scope: ['catalog.curate'],
    expiresInDays: 1,
  });
  const { token } = (await made.json()) as { token: string };
  curator = createLanternClient({ baseUrl: server.url, token });
});

afterAll(async () => {
  await server.close();
});

describe(`the catalog through the SDK, with a curator's token, on ${TEST_DIALECT}`, () => {
  it('creates, fills and publishes a dataset that anyone then reads', async () => {
    await curator.createDataset({
      slug: 'demo-tb-smear',
      title: 'Tuberculosis on sputum smears: a dataset',
      problem: 'Which smears hold tuberculosis bacilli?',
      category: 'microscopy-images',
      partners: [{ name: 'Example Lab', country: 'ZA', description: '' }],
      authors: [],
      citation: { text: 'Example Lab. Smears (synthetic).' },
      accessTier: 'open',
      tags: [],
    });
    const draft = await curator.uploadDraftTable(
      'demo-tb-smear',
      'labels',
      'tb-labels.csv',
      'image_id,bacilli\ni1,true\ni2,false\n',
    );
    expect(draft.snapshot.tables[0]).toMatchObject({
      name: 'labels',
      rowCount: 2,
      columns: [
        { name: 'image_id', type: 'string' },
        { name: 'bacilli', type: 'boolean' },
      ],
    });
    await curator.setDraftTableKeys('demo-tb-smear', 'labels', {
      primaryKey: ['image_id'],
      foreignKeys: [],
    });
    await curator.setDraftDictionary('demo-tb-smear', {
      tables: [
        {
          name: 'labels',
          description: 'One row per image.',
          columns: [
            { name: 'image_id', description: 'The image.', type: 'string' },
            { name: 'bacilli', description: 'Bacilli seen.', type: 'boolean' },
          ],
        },
      ],
    });
    expect(await curator.previewPublication('demo-tb-smear')).toMatchObject({
      version: '1.0',
      publishable: true,
    });
    await curator.publishDraft('demo-tb-smear', { version: '1.0', notes: 'First.' });
    const anyone = createLanternClient({ baseUrl: server.url });
    expect((await anyone.listDatasets()).map((d) => d.slug)).toEqual(['demo-tb-smear']);
    expect((await anyone.getDatasetVersion('demo-tb-smear', '1.0')).notes).toBe('First.');
    expect((await fetch(anyone.schematicPath('demo-tb-smear', '1.0'))).status).toBe(200);
    await expect(anyone.openDatasetDraft('demo-tb-smear')).rejects.toMatchObject({
      status: 401,
    });
  });
});
