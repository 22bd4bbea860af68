import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isObjectKey, LocalObjectStore } from './object-store.js';

let dataDir = '';
let store: LocalObjectStore;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-objects-'));
  store = new LocalObjectStore(dataDir);
  await store.init();
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function* chunksOf(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    yield typeof part === 'string' ? new TextEncoder().encode(part) : part;
  }
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Every file under the store's root, relative, sorted. */
async function filesIn(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

describe('local object store', () => {
  it('keys objects by the SHA-256 of their bytes, streamed in chunks', async () => {
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const stored = await store.put(chunksOf('%PDF-', big, 'end'));
    const whole = Buffer.concat([Buffer.from('%PDF-'), big, Buffer.from('end')]);
    expect(stored).toEqual({
      key: `sha256/${sha256(whole)}`,
      sha256: sha256(whole),
      size: whole.byteLength,
    });
    expect(isObjectKey(stored.key)).toBe(true);
    const got = await store.get(stored.key);
    expect(got?.size).toBe(whole.byteLength);
    expect((await buffer(got?.body ?? chunksOf())).equals(whole)).toBe(true);
    expect(await store.head(stored.key)).toEqual({ size: whole.byteLength });
  });

  it('stores the same bytes once, however they arrive', async () => {
    const a = await store.put(chunksOf('hello ', 'world'));
    const b = await store.put(chunksOf('hel', 'lo wor', 'ld'));
    expect(b.key).toBe(a.key);
    expect(await filesIn(store.root)).toEqual([`sha256/${a.sha256.slice(0, 2)}/${a.sha256}`]);
    const c = await store.put(chunksOf('hello world!'));
    expect(c.key).not.toBe(a.key);
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
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('first half, ');
      firstTaken();
      await gate;
      yield new TextEncoder().encode('second half');
    }
    const key = `sha256/${sha256('first half, second half')}`;
    const putting = store.put(slow());
    await taken;
    expect(await store.head(key)).toBeNull();
    expect(await filesIn(join(store.root, '.tmp'))).toHaveLength(1);
    release();
    expect((await putting).key).toBe(key);
    expect(await store.head(key)).toEqual({ size: 23 });
    expect(await filesIn(join(store.root, '.tmp'))).toEqual([]);
  });

  it('stores nothing when the stream fails midway, and leaves no temporary file', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('some bytes');
      throw new Error('client went away');
    }
    await expect(store.put(failing())).rejects.toThrow('client went away');
    expect(await filesIn(store.root)).toEqual([]);
  });

  it('answers null for a missing key, deletes idempotently, and refuses malformed keys', async () => {
    const missing = `sha256/${sha256('never stored')}`;
    expect(await store.get(missing)).toBeNull();
    expect(await store.head(missing)).toBeNull();
    const stored = await store.put(chunksOf('to be deleted'));
    await store.delete(stored.key);
    await store.delete(stored.key);
    expect(await store.get(stored.key)).toBeNull();
    for (const bad of ['../../etc/passwd', 'sha256/../../x', `sha256/${'A'.repeat(64)}`, '']) {
      expect(isObjectKey(bad)).toBe(false);
      await expect(store.get(bad)).rejects.toThrow('not an object key');
    }
  });
});
