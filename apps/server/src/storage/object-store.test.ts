import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeObjectStoreContract } from './object-store.contract.js';
import { LocalObjectStore, WRITE_STEP_BYTES, writeHashedFileSync } from './object-store.js';

/** Every file under `root`, relative, sorted. */
async function filesIn(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

async function newLocalStore(): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(await mkdtemp(join(tmpdir(), 'lantern-objects-')));
  await store.init();
  return store;
}

describeObjectStoreContract('local object store', {
  create: newLocalStore,
  contents: (store) => filesIn(store.root),
  async bytesHandedOff(store) {
    const scratch = join(store.root, '.tmp');
    const sizes = await Promise.all(
      (await filesIn(scratch)).map(async (file) => (await stat(join(scratch, file))).size),
    );
    return sizes.reduce((a, b) => a + b, 0);
  },
  // Each chunk is written (and awaited) before the next is read.
  maxHeldBytes: 1024 * 1024,
  largeBytes: 5 * 1024 * 1024,
  destroy: (store) => rm(join(store.root, '..'), { recursive: true, force: true }),
});

describeObjectStoreContract('local object store without fsync (bench/ingest measures the flush)', {
  async create() {
    const store = new LocalObjectStore(
      await mkdtemp(join(tmpdir(), 'lantern-objects-')),
      'objects',
      { fsync: false },
    );
    await store.init();
    return store;
  },
  contents: (store) => filesIn(store.root),
  async bytesHandedOff(store) {
    const scratch = join(store.root, '.tmp');
    const sizes = await Promise.all(
      (await filesIn(scratch)).map(async (file) => (await stat(join(scratch, file))).size),
    );
    return sizes.reduce((a, b) => a + b, 0);
  },
  maxHeldBytes: 1024 * 1024,
  largeBytes: 5 * 1024 * 1024,
  destroy: (store) => rm(join(store.root, '..'), { recursive: true, force: true }),
});

describe('local object store', () => {
  it('keeps objects at sha256/<2 hex digits>/<hex>, and its temporary files in .tmp', async () => {
    const store = await newLocalStore();
    try {
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
      const putting = store.put(slow());
      await taken;
      expect(await filesIn(join(store.root, '.tmp'))).toHaveLength(1);
      release();
      const sha = createHash('sha256').update('first half, second half').digest('hex');
      expect(await putting).toEqual({ key: `sha256/${sha}`, sha256: sha, size: 23 });
      expect(await filesIn(store.root)).toEqual([`sha256/${sha.slice(0, 2)}/${sha}`]);
    } finally {
      await rm(join(store.root, '..'), { recursive: true, force: true });
    }
  });

  it('takes a made file by renaming it, owner-only, and copies one from another file system', async () => {
    const store = await newLocalStore();
    // tmpfs, another file system than the store's (checked below), so rename() gives EXDEV.
    const elsewhere = await mkdtemp('/dev/shm/lantern-made-');
    try {
      const made = join(store.root, '..', 'made');
      await writeFile(made, 'a slide, rewritten', { mode: 0o644 });
      const inode = (await stat(made)).ino;
      const sha = createHash('sha256').update('a slide, rewritten').digest('hex');
      const stored = await store.putFile({ path: made, size: 18, sha256: sha });
      const path = store.pathOf(stored.key);
      expect((await stat(path)).ino).toBe(inode);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      await expect(stat(made)).rejects.toThrow('ENOENT');

      const far = join(elsewhere, 'made');
      await writeFile(far, 'a slide from afar', { mode: 0o644 });
      expect((await stat(far)).dev).not.toBe((await stat(store.root)).dev);
      const farSha = createHash('sha256').update('a slide from afar').digest('hex');
      const copied = await store.putFile({ path: far, size: 17, sha256: farSha });
      expect(await readFile(store.pathOf(copied.key), 'utf8')).toBe('a slide from afar');
      expect((await stat(store.pathOf(copied.key))).mode & 0o777).toBe(0o600);
      expect(await filesIn(join(store.root, '.tmp'))).toEqual([]);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
      await rm(join(store.root, '..'), { recursive: true, force: true });
    }
  });

  it('takes a made file, not a link to one, and makes a key folder removed since', async () => {
    const store = await newLocalStore();
    try {
      const made = join(store.root, '..', 'made');
      await writeFile(made, 'hello world', { mode: 0o600 });
      const sha = createHash('sha256').update('hello world').digest('hex');
      const link = join(store.root, '..', 'link');
      await symlink(made, link);
      // The link is checked itself (lstat), not the file it points at: nothing is stored.
      await expect(store.putFile({ path: link, size: 11, sha256: sha })).rejects.toThrow(
        'not the 11 given',
      );
      expect(await filesIn(store.root)).toEqual([]);
      const first = await store.putFile({ path: made, size: 11, sha256: sha });
      // Its key's folder gone (removed by hand), the next object of that folder makes it again.
      await rm(join(store.root, 'sha256'), { recursive: true });
      await writeFile(made, 'hello world', { mode: 0o600 });
      expect(await store.putFile({ path: made, size: 11, sha256: sha })).toEqual(first);
      expect(await readFile(store.pathOf(first.key), 'utf8')).toBe('hello world');
      expect((await stat(store.pathOf(first.key))).mode & 0o777).toBe(0o600);
    } finally {
      await rm(join(store.root, '..'), { recursive: true, force: true });
    }
  });

  it('renews the time of an object put again, so a sweep takes a repeat for new', async () => {
    const store = await newLocalStore();
    try {
      const stored = await store.put(
        (async function* () {
          yield new TextEncoder().encode('delivered twice');
        })(),
      );
      const path = join(store.root, 'sha256', stored.sha256.slice(0, 2), stored.sha256);
      const old = new Date((await stat(path)).mtime.getTime() - 86_400_000);
      await utimes(path, old, old);
      const before = new Date();
      await store.put(
        (async function* () {
          yield new TextEncoder().encode('delivered twice');
        })(),
      );
      const listed = [];
      for await (const object of store.list()) {
        listed.push(object);
      }
      expect(listed).toHaveLength(1);
      expect(listed[0]?.storedAt.getTime()).toBeGreaterThan(before.getTime() - 1000);
    } finally {
      await rm(join(store.root, '..'), { recursive: true, force: true });
    }
  });

  it('sweeps the temporary file a killed put left, once it is older than the time given', async () => {
    const store = await newLocalStore();
    try {
      // What a process killed mid-put leaves: a part-written file in .tmp, never renamed.
      const leftover = join(store.root, '.tmp', 'killed-put');
      await writeFile(leftover, 'part of a table');
      const written = (await stat(leftover)).mtime;
      await utimes(leftover, written, new Date(written.getTime() - 3_600_000));
      expect(await store.sweepIncomplete(new Date(written.getTime() - 7_200_000))).toBe(0);
      expect(await filesIn(join(store.root, '.tmp'))).toEqual(['killed-put']);
      expect(await store.sweepIncomplete(new Date(written.getTime() - 1_800_000))).toBe(1);
      expect(await filesIn(join(store.root, '.tmp'))).toEqual([]);
    } finally {
      await rm(join(store.root, '..'), { recursive: true, force: true });
    }
  });
});

describe('writeHashedFileSync', () => {
  it('writes chunks hashed by their maker to a new file, owner-only, for putFile to take', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lantern-made-'));
    try {
      const whole = Buffer.from('de-identified bytes, in three chunks');
      const chunks = [whole.subarray(0, 5), whole.subarray(5, 5), whole.subarray(5)];
      const sha256 = createHash('sha256').update(whole).digest('hex');
      const path = join(dir, 'made');
      expect(writeHashedFileSync(path, { chunks, size: whole.byteLength, sha256 })).toEqual({
        path,
        size: whole.byteLength,
        sha256,
      });
      expect((await readFile(path)).equals(whole)).toBe(true);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      // Never over a file already there; nothing written for a hash or size that cannot be right.
      expect(() => writeHashedFileSync(path, { chunks, size: whole.byteLength, sha256 })).toThrow(
        /EEXIST/u,
      );
      const other = join(dir, 'other');
      expect(() =>
        writeHashedFileSync(other, {
          chunks,
          size: whole.byteLength,
          sha256: sha256.toUpperCase(),
        }),
      ).toThrow('not a SHA-256');
      expect(() => writeHashedFileSync(other, { chunks, size: 1, sha256 })).toThrow(
        `the chunks hold ${whole.byteLength} bytes, not the 1 given`,
      );
      expect(await readdir(dir)).toEqual(['made']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes chunks larger and smaller than one write step, across the steps, byte for byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lantern-made-'));
    try {
      const lengths = [
        3,
        2 * WRITE_STEP_BYTES + 7,
        0,
        WRITE_STEP_BYTES - 3,
        1,
        WRITE_STEP_BYTES,
        5,
      ];
      const chunks = lengths.map((length, index) =>
        Uint8Array.from({ length }, (_, at) => (at * 31 + index * 7) % 251),
      );
      const whole = Buffer.concat(chunks);
      const sha256 = createHash('sha256').update(whole).digest('hex');
      const path = join(dir, 'stepped');
      writeHashedFileSync(path, { chunks, size: whole.byteLength, sha256 });
      expect((await readFile(path)).equals(whole)).toBe(true);
      // Chunks of nothing at all make an empty file.
      const empty = join(dir, 'empty');
      const none = createHash('sha256').digest('hex');
      writeHashedFileSync(empty, { chunks: [new Uint8Array(0)], size: 0, sha256: none });
      expect((await stat(empty)).size).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
