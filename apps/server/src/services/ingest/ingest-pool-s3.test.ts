/**
 * The ingest pool with the S3 object store (issue 6): its worker process writes and hashes the
 * de-identified files, holding no store and no credential; this process stores them in a real S3
 * server (Ceph's radosgw, started here) signed with the worker's hash, straight to their keys, and
 * removes the worker's file from its scratch folder. A re-delivery stores nothing twice, and says so.
 */
import { createHash, randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '@lantern/formats';
import { useThrowawayCeph } from '../../testing/ceph.js';
import { S3ObjectStore } from '../../storage/s3-object-store.js';
import { IngestPool } from './ingest-pool.js';

// A real S3 server: Ceph's radosgw on a memstore OSD, started for this file and stopped at the end.
const ceph = useThrowawayCeph();

describe('the ingest pool with an S3 object store', () => {
  it('stores what its worker wrote and hashed, under that hash, and leaves no scratch file', async () => {
    const bucket = `lantern-test-${randomBytes(6).toString('hex')}`;
    const store = (keyPrefix: string) =>
      new S3ObjectStore({
        endpoint: ceph.endpoint,
        bucket,
        region: 'us-east-1',
        credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
        keyPrefix,
      });
    const published = store('');
    const quarantine = store('quarantine/');
    await published.init();
    const work = await mkdtemp(join(tmpdir(), 'lantern-ingest-s3-'));
    const scratch = join(work, 'scratch');
    const pool = new IngestPool({ workers: 1, stores: { published, quarantine }, scratch });
    try {
      // Canonical already, so its rewrite is the same bytes.
      const bytes = Buffer.from(writeNpy({ data: new Int16Array([1, -2, 3]), shape: [3] }));
      const path = join(work, 'lead.npy');
      await writeFile(path, bytes);
      const key = `sha256/${createHash('sha256').update(bytes).digest('hex')}`;
      const job = { kind: 'numpy', path, name: 'ecgs/e_1.npy', shiftDays: 0 } as const;
      const stored = { path: 'ecgs/e_1.npy', key, size: bytes.byteLength };
      expect(await pool.ingestFile(job)).toEqual({
        kind: 'stored',
        files: [{ ...stored, existed: false }],
      });
      expect(await pool.ingestFile(job)).toEqual({
        kind: 'stored',
        files: [{ ...stored, existed: true }],
      });
      expect(pool.workersStarted).toBe(1);
      const got = await published.get(key);
      expect(got === null ? null : (await buffer(got.body)).equals(bytes)).toBe(true);
      // Straight to its key: no staging upload or object on the way.
      const listed = await published.client.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect((listed.Contents ?? []).map((object) => object.Key)).toEqual([key]);
      // The worker's folder stays, for its next file, with no file in it.
      const left = await readdir(scratch, { recursive: true, withFileTypes: true });
      expect(left.filter((entry) => entry.isFile())).toEqual([]);
    } finally {
      await pool.close();
      await rm(work, { recursive: true, force: true });
      await published.close();
      await quarantine.close();
    }
  }, 120_000);
});
