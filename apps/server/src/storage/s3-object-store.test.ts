import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { certificateFilePath } from '@lantern/sdk';
import { describe, expect, it } from 'vitest';
import { applyThroughApi } from '../testing/applicants.js';
import { request } from '../testing/http.js';
import { useThrowawayCeph } from '../testing/ceph.js';
import { startTestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';
import { describeObjectStoreContract } from './object-store.contract.js';
import { ObjectStoreError } from './object-store.js';
import { S3ObjectStore, type S3StoreOptions } from './s3-object-store.js';

// A real S3 server: Ceph's radosgw on a memstore OSD, started for this file and stopped at the end.
const ceph = useThrowawayCeph();

const MIB = 1024 * 1024;
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PUT_THEN_HANG = fileURLToPath(new URL('../testing/s3-put-then-hang.ts', import.meta.url));
/** Bytes each store has sent in its PutObject and UploadPart requests, once the server took them. */
const handedOff = new WeakMap<S3ObjectStore, number>();

const newBucket = () => `lantern-test-${randomBytes(6).toString('hex')}`;

/** A store on a fresh bucket, with the smallest parts S3 allows, so that tens of MB take parts. */
async function newS3Store(options: Partial<S3StoreOptions> = {}): Promise<S3ObjectStore> {
  const store = new S3ObjectStore({
    endpoint: ceph.endpoint,
    bucket: newBucket(),
    region: 'us-east-1',
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
    partBytes: 5 * MIB,
    singleCopyMaxBytes: 12 * MIB,
    copyPartBytes: 5 * MIB,
    ...options,
  });
  handedOff.set(store, 0);
  store.client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const body = (args.input as { Body?: unknown }).Body;
      if (body instanceof Uint8Array) {
        handedOff.set(store, (handedOff.get(store) ?? 0) + body.byteLength);
      }
      return result;
    },
    { step: 'initialize', name: 'countBytesHandedOff' },
  );
  await store.init();
  return store;
}

/** Every object and unfinished multipart upload in the store's bucket. */
async function bucketContents(store: S3ObjectStore): Promise<string[]> {
  const objects = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket }));
  const uploads = await store.client.send(
    new ListMultipartUploadsCommand({ Bucket: store.bucket }),
  );
  return [
    ...(objects.Contents ?? []).map((o) => o.Key ?? ''),
    ...(uploads.Uploads ?? []).map((u) => `upload:${u.Key ?? ''}`),
  ].sort();
}

async function emptyAndDelete(store: S3ObjectStore): Promise<void> {
  await store.sweepStaging(new Date(Date.now() + 3_600_000));
  for (const key of await bucketContents(store)) {
    await store.client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: key }));
  }
  await store.client.send(new DeleteBucketCommand({ Bucket: store.bucket }));
  await store.close();
}

describeObjectStoreContract('S3 object store on Ceph radosgw', {
  create: () => newS3Store(),
  contents: bucketContents,
  bytesHandedOff: (store) => Promise.resolve(handedOff.get(store) ?? 0),
  // One part in memory, and the chunk being read into it.
  maxHeldBytes: 6 * MIB,
  largeBytes: 5 * MIB,
  destroy: emptyAndDelete,
});

describe('S3 object store on Ceph radosgw', () => {
  it('creates its bucket when missing, opens an existing one, and reports it healthy', async () => {
    const store = await newS3Store();
    try {
      await store.client.send(new HeadBucketCommand({ Bucket: store.bucket }));
      const again = new S3ObjectStore({
        endpoint: ceph.endpoint,
        bucket: store.bucket,
        region: 'us-east-1',
        credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
      });
      await again.init();
      expect(await again.check()).toEqual({
        ok: true,
        detail: `S3 bucket ${store.bucket} at ${ceph.endpoint}`,
      });
      await again.close();
    } finally {
      await emptyAndDelete(store);
    }
  });

  it("has the server check a made file against its maker's hash, and refuse one that does not match", async () => {
    const store = await newS3Store();
    const folder = await mkdtemp(join(tmpdir(), 'lantern-made-'));
    try {
      const path = join(folder, 'made');
      await writeFile(path, 'a slide, rewritten');
      const claimed = createHash('sha256').update('another slide').digest('hex');
      const actual = createHash('sha256').update('a slide, rewritten').digest('hex');
      // Signed with the claimed hash: radosgw hashes what it receives and refuses the request.
      await expect(store.putFile({ path, size: 18, sha256: claimed })).rejects.toThrow(
        `the file's bytes do not have the SHA-256 ${claimed} given`,
      );
      expect(await store.head(`sha256/${claimed}`)).toBeNull();
      expect(await store.head(`sha256/${actual}`)).toBeNull();
      // Straight to its key in one PutObject: no staging upload, nothing left to sweep.
      const stored = await store.putFile({ path, size: 18, sha256: actual });
      expect(stored).toEqual({ key: `sha256/${actual}`, sha256: actual, size: 18 });
      expect(await store.sweepStaging(new Date(Date.now() + 60_000))).toBe(0);
    } finally {
      await rm(folder, { recursive: true, force: true });
      await emptyAndDelete(store);
    }
  });

  it('reports bad credentials as unhealthy without revealing them', async () => {
    const wrong = new S3ObjectStore({
      endpoint: ceph.endpoint,
      bucket: newBucket(),
      region: 'us-east-1',
      credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: 'not-the-secret-0123456789' },
    });
    await expect(wrong.init()).rejects.toThrow();
    const check = await wrong.check();
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/cannot reach the S3 bucket .* \(Forbidden, HTTP 403\)/);
    expect(check.detail).not.toContain('not-the-secret');
    expect(check.detail).not.toContain(ceph.accessKeyId);
    await wrong.close();
  });

  it('sweeps what a crashed put left in staging, and only what is old enough', async () => {
    const store = await newS3Store();
    try {
      // What a process killed mid-put leaves: an unfinished upload with a part, a staging object.
      const started = await store.client.send(
        new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: 'staging/crashed-upload' }),
      );
      await store.client.send(
        new UploadPartCommand({
          Bucket: store.bucket,
          Key: 'staging/crashed-upload',
          UploadId: started.UploadId,
          PartNumber: 1,
          Body: new Uint8Array(1024),
        }),
      );
      await store.client.send(
        new PutObjectCommand({ Bucket: store.bucket, Key: 'staging/crashed-copy', Body: 'x' }),
      );
      const kept = await store.put(
        (async function* () {
          yield new TextEncoder().encode('a real object');
        })(),
      );
      const leftovers = ['staging/crashed-copy', 'upload:staging/crashed-upload'];
      // Begun after the cut-off: possibly another server's upload in progress, so kept.
      await store.sweepStaging(new Date(0));
      expect(await bucketContents(store)).toEqual([...leftovers, kept.key].sort());
      await store.sweepStaging(new Date(Date.now() + 3_600_000));
      expect(await bucketContents(store)).toEqual([kept.key]);
    } finally {
      await emptyAndDelete(store);
    }
  });

  it('keeps a quarantine (keyPrefix) apart in the same bucket: its own objects, list and staging', async () => {
    const store = await newS3Store();
    const quarantine = new S3ObjectStore({
      endpoint: ceph.endpoint,
      bucket: store.bucket,
      region: 'us-east-1',
      credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
      partBytes: 5 * MIB,
      keyPrefix: 'quarantine/',
    });
    try {
      await quarantine.init();
      const bytesOf = (text: string) =>
        (async function* () {
          yield new TextEncoder().encode(text);
        })();
      const held = await quarantine.put(bytesOf('held for burned-in text'));
      const published = await store.put(bytesOf('published'));
      // A large held file goes through the quarantine's own staging and lands under its prefix.
      const large = new Uint8Array(6 * MIB).map((_, i) => i % 253);
      const bigHeld = await quarantine.put(
        (async function* () {
          yield large;
        })(),
      );
      expect(held.key).toMatch(/^sha256\/[0-9a-f]{64}$/u);
      expect(await bucketContents(store)).toEqual(
        [published.key, `quarantine/${held.key}`, `quarantine/${bigHeld.key}`].sort(),
      );
      const listed = async (s: S3ObjectStore) => {
        const keys: string[] = [];
        for await (const object of s.list()) {
          keys.push(object.key);
        }
        return keys.sort();
      };
      expect(await listed(store)).toEqual([published.key]);
      expect(await listed(quarantine)).toEqual([held.key, bigHeld.key].sort());
      expect(await store.head(held.key)).toBeNull();
      expect(await quarantine.head(published.key)).toBeNull();
      const got = await quarantine.get(bigHeld.key);
      expect(got?.size).toBe(large.byteLength);
      got?.body.destroy();
      expect(await quarantine.check()).toEqual({
        ok: true,
        detail: `S3 bucket ${store.bucket} (quarantine/) at ${ceph.endpoint}`,
      });
      // Each sweeps its own staging only.
      await store.client.send(
        new PutObjectCommand({
          Bucket: store.bucket,
          Key: 'quarantine/staging/crashed',
          Body: 'x',
        }),
      );
      await store.sweepStaging(new Date(Date.now() + 3_600_000));
      expect(await bucketContents(store)).toContain('quarantine/staging/crashed');
      await quarantine.sweepStaging(new Date(Date.now() + 3_600_000));
      expect(await bucketContents(store)).not.toContain('quarantine/staging/crashed');
      await quarantine.delete(held.key);
      expect(await listed(quarantine)).toEqual([bigHeld.key]);
      expect(await store.head(published.key)).not.toBeNull();
    } finally {
      await quarantine.close();
      await emptyAndDelete(store);
    }
  });

  it('is what a server configured with LANTERN_S3_* stores certificates and tables in', async () => {
    const bucket = newBucket();
    const dir = await mkdtemp(join(tmpdir(), 'lantern-s3-secret-'));
    const secretFile = join(dir, 's3-secret');
    await writeFile(secretFile, `${ceph.secretAccessKey}\n`, { mode: 0o600 });
    const { LANTERN_S3_SECRET_ACCESS_KEY: _secret, ...env } = ceph.serverEnv(bucket);
    const server = await startTestServer({ ...env, LANTERN_S3_SECRET_ACCESS_KEY_FILE: secretFile });
    try {
      const health = (await (await fetch(`${server.url}/api/v1/health`)).json()) as {
        checks: { objectStore: unknown };
      };
      expect(health.checks.objectStore).toEqual({
        ok: true,
        kind: 's3',
        detail: `S3 bucket ${bucket} at ${ceph.endpoint}`,
      });
      const reviewer = await createSignedInUser(server, {
        email: 'rev@example.org',
        roles: ['reviewer'],
        password: 'granite steps toward the northern sea',
      });
      const ada = await applyThroughApi(server, 'ada@uni.example');
      const pdf = Buffer.from(
        '%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n',
      );
      const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
      const uploaded = await fetch(
        `${server.url}/api/v1/admission/me/certificate-file?expiresOn=${inAYear}&name=cert.pdf`,
        {
          method: 'PUT',
          headers: { cookie: ada.cookie, 'x-lantern-csrf': '1', 'content-type': 'application/pdf' },
          body: pdf,
        },
      );
      expect(uploaded.status).toBe(200);
      const store = server.ctx.objectStore as S3ObjectStore;
      expect(store.kind).toBe('s3');
      const listed = await bucketContents(store);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatch(/^sha256\/[0-9a-f]{64}$/);
      const viewed = await fetch(`${server.url}${certificateFilePath(ada.id)}`, {
        headers: { cookie: reviewer.cookie },
      });
      expect(viewed.status).toBe(200);
      expect(Buffer.from(await viewed.arrayBuffer()).equals(pdf)).toBe(true);
      // A curator's table: streamed into the bucket, then read back from it for its columns.
      const curator = await createSignedInUser(server, {
        email: 'curator@example.org',
        roles: ['curator'],
        password: 'seven quiet rivers under the hill',
      });
      const made = await request(server, 'POST', '/api/v1/datasets', curator, {
        slug: 'demo-s3-table',
        title: 'A table kept in S3',
        problem: 'Does the catalog read its tables from S3?',
        category: 'xray-images',
        partners: [{ name: 'Example Health System', country: 'US', description: 'Synthetic.' }],
        authors: [{ name: 'Ada Lovelace' }],
        citation: { text: 'Lovelace A. A table kept in S3 (synthetic). Lantern, 2026.' },
        accessTier: 'open',
        modalities: ['clinical-records'],
        tags: ['synthetic'],
      });
      expect(made.status).toBe(201);
      const csv = 'patient_ngsci_id,sex,age_at_exam\np1,F,61\np2,M,70\np3,F,55\n';
      const table = await fetch(
        `${server.url}/api/v1/datasets/demo-s3-table/draft/tables/patients?file=tables%2Fpatients.csv`,
        {
          method: 'PUT',
          headers: { cookie: curator.cookie, 'x-lantern-csrf': '1', 'content-type': 'text/csv' },
          body: csv,
        },
      );
      expect(table.status).toBe(200);
      const draft = (await table.json()) as {
        snapshot: { tables: { name: string; rowCount: number; columns: { name: string }[] }[] };
      };
      expect(draft.snapshot.tables).toMatchObject([
        { name: 'patients', rowCount: 3, columns: [{ name: 'patient_ngsci_id' }, {}, {}] },
      ]);
      const all = await bucketContents(store);
      expect(all).toHaveLength(2);
      expect(all).toContain(`sha256/${createHash('sha256').update(csv).digest('hex')}`);
      for (const key of all) {
        await store.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      }
      await store.client.send(new DeleteBucketCommand({ Bucket: bucket }));
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops a server whose S3 store cannot be opened, saying why without the secret', async () => {
    const opening = async (env: Record<string, string>): Promise<unknown> => {
      try {
        const server = await startTestServer(env);
        await server.close();
      } catch (error) {
        return error;
      }
      return null;
    };
    const bucket = newBucket();
    const wrongSecret = 'wrong-secret-0123456789abcdef';
    const refused = await opening({
      ...ceph.serverEnv(bucket),
      LANTERN_S3_SECRET_ACCESS_KEY: wrongSecret,
    });
    expect(refused).toBeInstanceOf(ObjectStoreError);
    expect((refused as Error).message).toBe(
      `cannot open the S3 bucket ${bucket} at ${ceph.endpoint} (Forbidden, HTTP 403); check that the server is up and LANTERN_S3_* (keys, region, bucket)`,
    );
    const { LANTERN_S3_SECRET_ACCESS_KEY: _secret, ...env } = ceph.serverEnv(bucket);
    const unreadable = await opening({
      ...env,
      LANTERN_S3_SECRET_ACCESS_KEY_FILE: '/nonexistent/s3-secret',
    });
    expect(unreadable).toBeInstanceOf(ObjectStoreError);
    expect((unreadable as Error).message).toBe(
      'cannot read LANTERN_S3_SECRET_ACCESS_KEY_FILE /nonexistent/s3-secret (ENOENT)',
    );
  });

  it('leaves no object when the process putting is killed mid-upload, only staging to sweep', async () => {
    const store = await newS3Store();
    try {
      const child = spawn(
        process.execPath,
        ['--conditions=lantern-source', '--import', 'tsx', PUT_THEN_HANG],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, ...ceph.serverEnv(store.bucket) },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
      );
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('part sent')) {
            resolve();
          }
        });
        void exited.then(() => reject(new Error(`the putting process exited early: ${out}`)));
      });
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const left = await bucketContents(store);
      expect(left).toHaveLength(1);
      expect(left[0]).toMatch(/^upload:staging\//);
      // Too recent for a start's sweep (it may be another server's upload in progress) ...
      await store.init();
      expect(await bucketContents(store)).toEqual(left);
      // ... and gone once old enough.
      await store.sweepStaging(new Date(Date.now() + 3_600_000));
      expect(await bucketContents(store)).toEqual([]);
    } finally {
      await emptyAndDelete(store);
    }
  });
});
