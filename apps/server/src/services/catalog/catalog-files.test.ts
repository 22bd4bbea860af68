import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogRepository } from '../../repositories/catalog/catalog.repository.js';
import { startTestServer, type TestServer } from '../../testing/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.ctx.services.catalog.create('user:test', {
    slug: 'many-files',
    title: 'many files',
    problem: 'an ingest of more files than one statement takes',
    category: 'multiple-diagnostics',
    partners: [],
    authors: [],
    citation: { text: 'many files' },
    accessTier: 'approval',
    modalities: [],
    tags: [],
  });
});

afterAll(async () => {
  await server.close();
});

const key = (n: number) => `sha256/${n.toString(16).padStart(64, '0')}`;

describe('an ingest’s native files in the draft', () => {
  it('replaces the draft’s files with thousands, more than one statement’s rows, the last of a path kept', async () => {
    const { catalog } = server.ctx.services;
    const { draftId } = await catalog.draftIds('many-files');
    await catalog.replaceNativeFiles(
      'many-files',
      [],
      [{ path: 'files/old.dcm', objectKey: key(1), size: 1 }],
    );
    const files = Array.from({ length: 2_500 }, (_, i) => ({
      path: `files/${i}.dcm`,
      objectKey: key(i + 10),
      size: i,
    }));
    // A path given twice, within one statement's rows: the later one stays, as when each file
    // was put in turn.
    files.splice(10, 0, { path: 'files/7.dcm', objectKey: key(99_999), size: 42 });
    await catalog.replaceNativeFiles('many-files', [], files);
    const rows = await catalogRepository.files(server.ctx.database.db, draftId);
    expect(rows).toHaveLength(2_500);
    expect(rows.some((row) => row.path === 'files/old.dcm')).toBe(false);
    expect(rows.find((row) => row.path === 'files/7.dcm')).toMatchObject({
      object_key: key(99_999),
      size: 42,
    });
    expect(rows.find((row) => row.path === 'files/2499.dcm')).toMatchObject({
      object_key: key(2_509),
      size: 2_499,
    });
  });
});
