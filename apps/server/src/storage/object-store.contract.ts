import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isObjectKey,
  type ListedObject,
  type ObjectStore,
  type StoredObject,
} from './object-store.js';

/**
 * The behaviour every ObjectStore owes its callers, as one suite that each store's test file runs
 * against a real store of its kind (local files; S3 on a Ceph radosgw it starts), so that the two
 * cannot drift apart.
 */
export interface StoreHarness<S extends ObjectStore> {
  /** A new, empty store. */
  create(): Promise<S>;
  /**
   * Everything the store holds in its backing storage, completed or not: objects, temporary
   * files, staging objects, unfinished multipart uploads. Names are the harness's own.
   */
  contents(store: S): Promise<string[]>;
  /** How many bytes of the put under way the store has handed to its storage so far. */
  bytesHandedOff(store: S): Promise<number>;
  /** The most bytes a put may hold in memory before handing them off (its buffer, one chunk). */
  maxHeldBytes: number;
  /** The size above which a put takes the store's other path (S3: multipart), if it has one. */
  largeBytes: number;
  destroy(store: S): Promise<void>;
}

const MIB = 1024 * 1024;
const encode = (text: string) => new TextEncoder().encode(text);
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

async function* chunksOf(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    yield typeof part === 'string' ? encode(part) : part;
  }
}

/** `n` bytes of a fixed pattern that starts at `seed`, so that different seeds differ. */
function patterned(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 7 + seed) % 251);
}

/** `bytes` split into chunks of at most `size`. */
function* split(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) {
    yield bytes.subarray(offset, offset + size);
  }
}

async function listAll(store: ObjectStore): Promise<ListedObject[]> {
  const listed: ListedObject[] = [];
  for await (const object of store.list()) {
    listed.push(object);
  }
  return listed.sort((a, b) => a.key.localeCompare(b.key));
}

/** Checks that `stored` holds `whole` under its SHA-256's key, the key put gives the same bytes. */
async function expectStoredAs(
  store: ObjectStore,
  stored: StoredObject,
  whole: Uint8Array,
): Promise<void> {
  const hash = sha256(whole);
  expect(stored).toEqual({ key: `sha256/${hash}`, sha256: hash, size: whole.byteLength });
  const got = await store.get(stored.key);
  expect((await buffer(got?.body ?? chunksOf())).equals(whole)).toBe(true);
  expect((await store.put(chunksOf(whole))).key).toBe(stored.key);
}

/** Runs `use` with a new folder for files a maker wrote, removed after. */
async function inFolder(use: (folder: string) => Promise<void>): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'lantern-made-'));
  try {
    await use(folder);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

export function describeObjectStoreContract<S extends ObjectStore>(
  name: string,
  harness: StoreHarness<S>,
): void {
  describe(`${name}: the object store contract`, () => {
    let store: S;

    beforeEach(async () => {
      store = await harness.create();
    });

    afterEach(async () => {
      await harness.destroy(store);
    });

    it('keys objects by the SHA-256 of their bytes, streamed in chunks, and reads them back', async () => {
      for (const size of [0, 3 * MIB + 5, harness.largeBytes + MIB + 3]) {
        const whole = patterned(size, size % 97);
        const stored = await store.put(chunksOf(...split(whole, 256 * 1024)));
        expect(stored).toEqual({ key: `sha256/${sha256(whole)}`, sha256: sha256(whole), size });
        expect(isObjectKey(stored.key)).toBe(true);
        const got = await store.get(stored.key);
        expect(got?.size).toBe(size);
        expect((await buffer(got?.body ?? chunksOf())).equals(whole)).toBe(true);
        expect(await store.head(stored.key)).toEqual({ size });
      }
    });

    it('stores the same bytes once, however they arrive', async () => {
      const a = await store.put(chunksOf('hello ', 'world'));
      const b = await store.put(chunksOf('hel', 'lo wor', 'ld'));
      expect(b.key).toBe(a.key);
      const large = patterned(harness.largeBytes + 1, 1);
      const c = await store.put(chunksOf(...split(large, MIB)));
      const d = await store.put(chunksOf(...split(large, 3 * MIB)));
      expect(d.key).toBe(c.key);
      const contents = await harness.contents(store);
      expect(contents).toHaveLength(2);
      expect(contents.filter((entry) => entry.includes(a.sha256))).toHaveLength(1);
      expect(contents.filter((entry) => entry.includes(c.sha256))).toHaveLength(1);
      const e = await store.put(chunksOf('hello world!'));
      expect(e.key).not.toBe(a.key);
    });

    it('stores a file hashed by its maker under the key put gives the same bytes', async () => {
      await inFolder(async (folder) => {
        for (const whole of [patterned(harness.largeBytes + MIB + 3, 13), new Uint8Array(0)]) {
          const path = join(folder, 'made');
          await writeFile(path, whole);
          const file = { path, size: whole.byteLength, sha256: sha256(whole) };
          await expectStoredAs(store, await store.putFile(file), whole);
        }
      });
      expect(await harness.contents(store)).toHaveLength(2);
    });

    it('refuses a made file whose hash is malformed or size is not its own', async () => {
      await inFolder(async (folder) => {
        const path = join(folder, 'made');
        await writeFile(path, 'hello world');
        const putMade = (size: number, hash: string) => store.putFile({ path, size, sha256: hash });
        await expect(putMade(11, sha256('hello world').toUpperCase())).rejects.toThrow(
          'not a SHA-256',
        );
        await expect(putMade(12, sha256('hello world'))).rejects.toThrow(
          '11 bytes, not the 12 given',
        );
        // A folder is no file to store, whatever size is given.
        await expect(store.putFile({ path: folder, size: 0, sha256: sha256('') })).rejects.toThrow(
          'not the 0 given',
        );
      });
      expect(await harness.contents(store)).toEqual([]);
    });

    it('makes an object visible only once it is complete', async () => {
      let release: () => void = () => undefined;
      let firstTaken: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const taken = new Promise<void>((resolve) => {
        firstTaken = resolve;
      });
      // The first half is past the store's buffer, so it has begun writing before the gate.
      const first = patterned(harness.largeBytes + MIB, 3);
      const second = encode('second half');
      async function* slow(): AsyncGenerator<Uint8Array> {
        yield* split(first, MIB);
        firstTaken();
        await gate;
        yield second;
      }
      const whole = Buffer.concat([first, second]);
      const key = `sha256/${sha256(whole)}`;
      const putting = store.put(slow());
      await taken;
      expect(await store.head(key)).toBeNull();
      expect(await store.get(key)).toBeNull();
      expect(await harness.bytesHandedOff(store)).toBeGreaterThan(0);
      release();
      expect((await putting).key).toBe(key);
      expect(await store.head(key)).toEqual({ size: whole.byteLength });
      expect(await harness.contents(store)).toHaveLength(1);
    });

    it('stores nothing when the stream fails midway, and leaves nothing behind', async () => {
      let handedOff = 0;
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield* split(patterned(harness.largeBytes + 2 * MIB, 5), MIB);
        handedOff = await harness.bytesHandedOff(store);
        throw new Error('client went away');
      }
      await expect(store.put(failing())).rejects.toThrow('client went away');
      // It had begun writing before the failure, and undid it.
      expect(handedOff).toBeGreaterThan(0);
      expect(await harness.contents(store)).toEqual([]);
    });

    it('answers null for a missing key, deletes idempotently, and refuses malformed keys', async () => {
      const missing = `sha256/${sha256('never stored')}`;
      expect(await store.get(missing)).toBeNull();
      expect(await store.head(missing)).toBeNull();
      const stored = await store.put(chunksOf('to be deleted'));
      await store.delete(stored.key);
      await store.delete(stored.key);
      expect(await store.get(stored.key)).toBeNull();
      expect(await store.head(stored.key)).toBeNull();
      const hostile = [
        '../../etc/passwd',
        'sha256/../../x',
        `sha256/${'A'.repeat(64)}`,
        `sha256/${'a'.repeat(63)}`,
        `staging/${'a'.repeat(64)}`,
        `sha256/${'a'.repeat(64)}/../x`,
        `/sha256/${'a'.repeat(64)}`,
        '',
      ];
      for (const bad of hostile) {
        expect(isObjectKey(bad)).toBe(false);
        await expect(store.get(bad)).rejects.toThrow('not an object key');
        await expect(store.head(bad)).rejects.toThrow('not an object key');
        await expect(store.delete(bad)).rejects.toThrow('not an object key');
      }
    });

    it('lists every complete object with its size and time, and no put under way', async () => {
      const before = new Date();
      const small = await store.put(chunksOf('listed'));
      const big = await store.put(chunksOf(...split(patterned(harness.largeBytes + MIB, 7), MIB)));
      let release: () => void = () => undefined;
      let firstTaken: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const taken = new Promise<void>((resolve) => {
        firstTaken = resolve;
      });
      async function* slow(): AsyncGenerator<Uint8Array> {
        yield* split(patterned(harness.largeBytes + MIB, 9), MIB);
        firstTaken();
        await gate;
        yield encode('the end');
      }
      const putting = store.put(slow());
      await taken;
      const listed = await listAll(store);
      const after = new Date();
      expect(listed.map(({ key, size }) => ({ key, size }))).toEqual(
        [small, big]
          .map(({ key, size }) => ({ key, size }))
          .sort((a, b) => a.key.localeCompare(b.key)),
      );
      for (const object of listed) {
        // S3 keeps whole seconds; file systems stamp with a clock a tick behind.
        expect(object.storedAt.getTime()).toBeGreaterThanOrEqual(
          Math.floor(before.getTime() / 1000) * 1000 - 1000,
        );
        expect(object.storedAt.getTime()).toBeLessThanOrEqual(after.getTime() + 1000);
      }
      // A put under way is not what a crash left: a sweep of what began before it leaves it be.
      expect(await store.sweepIncomplete(before)).toBe(0);
      release();
      const third = await putting;
      await store.delete(small.key);
      expect((await listAll(store)).map((o) => o.key)).toEqual([big.key, third.key].sort());
    });

    it('sweeps only what unfinished puts left, never a complete object', async () => {
      const stored = await store.put(chunksOf('complete'));
      expect(await store.sweepIncomplete(new Date(Date.now() + 60_000))).toBe(0);
      expect(await store.head(stored.key)).toEqual({ size: 8 });
      expect((await listAll(store)).map((o) => o.key)).toEqual([stored.key]);
      expect(await harness.contents(store)).toHaveLength(1);
    });

    it('streams a large object in and out without holding it in memory', async () => {
      const chunk = MIB;
      const chunks = 40;
      const expected = createHash('sha256');
      let produced = 0;
      let mostHeld = 0;
      async function* large(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < chunks; i += 1) {
          // Whatever the store has not handed off yet, it holds.
          mostHeld = Math.max(mostHeld, produced - (await harness.bytesHandedOff(store)));
          const bytes = patterned(chunk, i);
          expected.update(bytes);
          produced += bytes.byteLength;
          yield bytes;
        }
      }
      const stored = await store.put(large());
      const sha = expected.digest('hex');
      expect(stored).toEqual({ key: `sha256/${sha}`, sha256: sha, size: chunks * chunk });
      expect(mostHeld).toBeLessThanOrEqual(harness.maxHeldBytes);
      const got = await store.get(stored.key);
      expect(got?.size).toBe(chunks * chunk);
      const read = createHash('sha256');
      let largestRead = 0;
      for await (const part of got?.body ?? chunksOf()) {
        const bytes = part as Uint8Array;
        largestRead = Math.max(largestRead, bytes.byteLength);
        read.update(bytes);
      }
      expect(read.digest('hex')).toBe(sha);
      // Read as a stream of small pieces, not one buffer.
      expect(largestRead).toBeLessThanOrEqual(harness.maxHeldBytes);
    });
  });
}
