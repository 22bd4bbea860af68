import { mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuditBody } from '@lantern/core/audit';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../../testing/test-server.js';
import { LocalObjectStore } from '../../storage/object-store.js';
import type { ObjectSweepReport } from './object-sweep.service.js';

let server: TestServer;
let work: string;

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}

/** Makes a local object look stored `ms` ago (S3 keeps its own times; these tests use files). */
async function age(key: string, ms: number): Promise<void> {
  const store = server.ctx.objectStore;
  if (!(store instanceof LocalObjectStore)) {
    throw new Error('the test server stores objects in local files');
  }
  const hex = key.slice('sha256/'.length);
  const path = join(store.root, 'sha256', hex.slice(0, 2), hex);
  const then = new Date((await stat(path)).mtime.getTime() - ms);
  await utimes(path, then, then);
}

beforeAll(async () => {
  server = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'lantern-sweep-'));
});

afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe(`the unreferenced-object sweep on ${TEST_DIALECT}`, () => {
  it('deletes an object no row refers to once older than the grace period, audited as counts', async () => {
    const fresh = await server.ctx.objectStore.put(bytes('stored, then the process died'));
    const kept = await server.ctx.services.objectSweep.sweep();
    expect(kept).toMatchObject({ skipped: null, deleted: 0 });
    expect(kept.recent).toBeGreaterThan(0);
    expect(await server.ctx.objectStore.head(fresh.key)).not.toBeNull();

    // The default grace is an hour.
    await age(fresh.key, 61 * 60_000);
    const swept = await server.ctx.services.objectSweep.sweep();
    expect(swept).toMatchObject({ skipped: null, deleted: 1, deletedBytes: fresh.size });
    expect(await server.ctx.objectStore.head(fresh.key)).toBeNull();

    await server.flushAudit();
    const events = await server.ctx.services.audit.list({ limit: 10, action: 'objects.sweep' });
    expect(events).toHaveLength(1);
    const body = parseAuditBody(events[0]?.body ?? '');
    expect(body.details).toEqual({
      objects: swept.objects,
      referenced: swept.referenced,
      recent: swept.recent,
      deleted: 1,
      deletedBytes: fresh.size,
      unfinished: 0,
    });
    expect(JSON.stringify(body)).not.toContain(fresh.sha256);
  });

  it('deletes nothing while an ingest is running, and keeps what a finished one refers to', async () => {
    const delivery = join(work, 'knee');
    await generateKneeXrayDelivery({ out: delivery, scale: 0.25, seed: 11, delivery: 1 });
    const during: Promise<ObjectSweepReport>[] = [];
    const report = await server.ctx.services.ingest.ingestDirectory(delivery, {
      actor: 'system:lantern',
      onProgress: (progress) => {
        // Its files are stored one by one before any row refers to them.
        if (progress.phase === 'files' && progress.done === 2) {
          during.push(server.ctx.services.objectSweep.sweep());
        }
      },
    });
    expect(report.counts.stored).toBeGreaterThan(2);
    expect(during).toHaveLength(1);
    expect(await during[0]).toMatchObject({ skipped: 'ingest-running', deleted: 0 });
    // Every object of the draft, aged past the grace period, is kept: rows refer to them.
    const files = await server.ctx.database.db
      .selectFrom('dataset_version_file')
      .select('object_key')
      .execute();
    for (const file of files) {
      await age(file.object_key, 2 * 60 * 60_000);
    }
    const after = await server.ctx.services.objectSweep.sweep();
    expect(after).toMatchObject({ skipped: null, deleted: 0 });
    expect(after.referenced).toBe(new Set(files.map((f) => f.object_key)).size);
    for (const file of files) {
      expect(await server.ctx.objectStore.head(file.object_key)).not.toBeNull();
    }
  }, 120_000);
});
