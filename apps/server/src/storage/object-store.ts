import { createHash, randomUUID } from 'node:crypto';
import { closeSync, constants, openSync, writevSync, type Stats } from 'node:fs';
import {
  access,
  chmod,
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

/** The result of a component's self-check, for `/api/v1/health`. */
export interface ComponentCheck {
  ok: boolean;
  /** What was checked, or why it is not ok and what to do. */
  detail: string;
}

/** An object as stored: its key (derived from its content), size and SHA-256. */
export interface StoredObject {
  /** `sha256/<64 hex digits>`: the same bytes always get the same key. */
  key: string;
  sha256: string;
  size: number;
}

/**
 * Bytes in memory, as chunks to write one after the other, with the SHA-256 their maker computed
 * over exactly these chunks in order (a de-identifier's result: every output byte hashed once,
 * where it was made), for writeHashedFileSync.
 */
export interface HashedChunks {
  readonly chunks: readonly Uint8Array[];
  /** The chunks' lengths summed. */
  readonly size: number;
  /** Hex, lower case. */
  readonly sha256: string;
}

/**
 * A complete file on local disk, with the SHA-256 this process computed over it (a slide's
 * rewrite, hashed by its de-identifier), to store without hashing or copying it again.
 */
export interface HashedFile {
  readonly path: string;
  /** The file's size, as its maker wrote it. */
  readonly size: number;
  /** Hex, lower case. */
  readonly sha256: string;
}

/** An object as listed: its key, size and when its bytes were last put. */
export interface ListedObject {
  key: string;
  size: number;
  /**
   * When the object was last stored: a put of bytes already held renews it, so an object a caller
   * has just put is never older than the put, whenever its bytes first arrived.
   */
  storedAt: Date;
}

/**
 * Where dataset files, results and uploaded documents live. Objects are content-addressed: a key
 * names the SHA-256 of the bytes, so a key never points at different bytes and writing the same
 * bytes twice stores them once. Keys, never paths, cross this interface: local files
 * (LocalObjectStore, below) and S3-compatible servers such as AWS S3 and Ceph RGW
 * (S3ObjectStore, s3-object-store.ts) implement it alike, and one contract test holds both to it.
 * Every method refuses a key that is not well-formed (see isObjectKey) before doing anything.
 */
export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** Where the objects are, for the start banner: a directory, or a bucket and its server. */
  readonly location: string;
  check(): Promise<ComponentCheck>;
  /**
   * Stores the bytes `body` yields, streaming, and returns their key. Visible under that key only
   * once complete: if `body` throws (a limit, a client gone), nothing is stored and the error is
   * rethrown.
   */
  put(body: AsyncIterable<Uint8Array>): Promise<StoredObject>;
  /**
   * Stores a file on local disk under the key of the SHA-256 its maker computed (HashedFile), as
   * `put` would, visible only once complete. Refuses (before storing anything) a hash that is not
   * 64 lower-case hex digits and a size the file does not have. The local store trusts the hash
   * (an ingest worker's, computed as it wrote the file) and takes the file itself: flushed and
   * renamed under its key (no copy, no hash), or copied unhashed from another file system. The S3
   * store sends it in one PutObject signed with that hash, which the server checks, refusing a
   * mismatch (hashed as sent, in parts, beyond one PutObject's 5 GiB). The file at `path` may be
   * gone afterwards, or not: the caller removes what is left.
   */
  putFile(file: HashedFile): Promise<StoredObject>;
  /** The object's bytes as a stream, and its size; null when no object has this key. */
  get(key: string): Promise<{ body: Readable; size: number } | null>;
  /** The object's size; null when no object has this key. */
  head(key: string): Promise<{ size: number } | null>;
  /** Removes the object; removing one that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Every complete object, in no particular order, paged from the storage as it goes (never all
   * held at once). What puts under way or interrupted hold (temporary files, staging uploads) is
   * not listed.
   */
  list(): AsyncIterable<ListedObject>;
  /**
   * Removes what puts begun before `before` left unfinished (a process killed mid-put): the local
   * store's temporary files, the S3 store's staging uploads. Returns how many it removed. Puts
   * begun since may still be under way, and are left alone.
   */
  sweepIncomplete(before: Date): Promise<number>;
  /** Lets go of connections; the store is not used after. */
  close(): Promise<void>;
}

/** The configured object store cannot be opened at start; `message` says why and what to do. */
export class ObjectStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObjectStoreError';
  }
}

const KEY = /^sha256\/([0-9a-f]{64})$/u;

/** Is `key` a well-formed object key? */
export function isObjectKey(key: string): boolean {
  return KEY.test(key);
}

/** The 64 hex digits of a well-formed key; anything else is refused, so no key escapes the store. */
export function objectKeyHex(key: string): string {
  const hex = KEY.exec(key)?.[1];
  if (hex === undefined) {
    throw new Error(`not an object key: ${JSON.stringify(key)}`);
  }
  return hex;
}

const SHA256_HEX = /^[0-9a-f]{64}$/u;

/** Throws when `sha256` is not 64 lower-case hex digits. */
function checkSha256(sha256: string): void {
  if (!SHA256_HEX.test(sha256)) {
    throw new Error(`not a SHA-256 in hex: ${JSON.stringify(sha256)}`);
  }
}

/**
 * Checks what a writeHashedFileSync caller vouches for as far as it can be checked without hashing:
 * the form of the hash and the size. Throws before anything is written.
 */
function checkHashedChunks(object: HashedChunks): void {
  checkSha256(object.sha256);
  const size = object.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  if (size !== object.size) {
    throw new Error(`the chunks hold ${size} bytes, not the ${object.size} given`);
  }
}

/**
 * Checks what a putFile caller vouches for about its file: the form of the hash, and the file's
 * size (a regular file's, not a link's or a folder's). Throws before anything is stored.
 */
function checkHashedFile(file: HashedFile, stats: Stats): void {
  checkSha256(file.sha256);
  if (!stats.isFile() || stats.size !== file.size) {
    throw new Error(`the file holds ${stats.size} bytes, not the ${file.size} given`);
  }
}

/**
 * Opens the file a putFile caller vouches for, once checked (checkHashedFile, on the handle's own
 * stats): throws, the file closed, before anything is stored.
 */
export async function openHashedFile(file: HashedFile): Promise<FileHandle> {
  const handle = await open(file.path, 'r');
  try {
    checkHashedFile(file, await handle.stat());
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Writes chunks their maker hashed to a new file at `path`, its owner's alone, for putFile: the
 * file and the hash of every byte in it, hashed once, where the bytes were made. Refuses, before
 * writing anything, a malformed hash and a size the chunks do not add up to. Blocking, for an
 * ingest worker process only (dicom-ingest.ts' readWholeFileSync says why), never for the
 * server's main thread.
 */
export function writeHashedFileSync(path: string, object: HashedChunks): HashedFile {
  checkHashedChunks(object);
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeChunksSync(fd, object.chunks);
  } finally {
    closeSync(fd);
  }
  return { path, size: object.size, sha256: object.sha256 };
}

/**
 * The most bytes one write call hands the kernel. A larger write lets the page cache take its
 * pages in folios of up to the write's size, and from 2 MiB up these come from the blocks of free
 * memory a virtual machine's balloon has handed back to its host (free page reporting), which the
 * host must map and zero again as the copy first touches them: on the 2-vCPU Firecracker machines
 * measured, writing a radiograph in one call cost its copy 3 to 6 times the CPU, in every 2 MiB
 * write and in about half of the whole-file ones; in steps of 64 KiB to 1 MiB, never
 * (bench/ingest/README.md, session 12).
 */
export const WRITE_STEP_BYTES = 256 * 1024;

/**
 * Writes `chunks` one after the other at the file's position, in gathered writes of at most
 * WRITE_STEP_BYTES each (a short write resumes where it stopped): no copy joins them.
 */
function writeChunksSync(fd: number, chunks: readonly Uint8Array[]): void {
  let index = 0;
  let offset = 0;
  const step: Uint8Array[] = [];
  while (index < chunks.length) {
    step.length = 0;
    let room = WRITE_STEP_BYTES;
    for (let at = index, from = offset; at < chunks.length && room > 0; at += 1, from = 0) {
      const chunk = chunks[at] as Uint8Array;
      const length = Math.min(chunk.byteLength - from, room);
      if (length > 0) {
        step.push(chunk.subarray(from, from + length));
        room -= length;
      }
    }
    if (step.length === 0) {
      return; // only empty chunks were left
    }
    let written = writevSync(fd, step);
    // On past what was written: whole chunks, then into the one it stopped in.
    while (index < chunks.length) {
      const left = (chunks[index] as Uint8Array).byteLength - offset;
      if (written < left) {
        offset += written;
        break;
      }
      written -= left;
      index += 1;
      offset = 0;
    }
  }
}

export interface LocalObjectStoreOptions {
  /**
   * Whether each object is flushed to the disk (fsync) before it is renamed under its key, so
   * that a crash never leaves a short object under a key: true, the default and what the server
   * always uses. False only to measure what the flush costs (bench/ingest, beside tools that
   * flush nothing); such a store is not crash-safe.
   */
  readonly fsync?: boolean;
}

/**
 * Objects as files under `<dataDir>/objects`, at `sha256/<first two hex digits>/<hex>`. Another
 * `folder` of the data directory makes a separate store under the same keys: ingest's quarantine
 * (`quarantine/`), where held files wait for a curator's review apart from every published object.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local';
  readonly root: string;
  private readonly scratch: string;
  /** Whether each object is flushed to the disk before its rename (LocalObjectStoreOptions). */
  readonly fsync: boolean;

  get location(): string {
    return this.root;
  }

  constructor(dataDir: string, folder = 'objects', options: LocalObjectStoreOptions = {}) {
    this.root = join(dataDir, folder);
    // Temporary files live inside the store, on its file system, so rename() is atomic (POSIX).
    this.scratch = join(this.root, '.tmp');
    this.fsync = options.fsync ?? true;
  }

  async init(): Promise<void> {
    await mkdir(this.scratch, { recursive: true });
  }

  async check(): Promise<ComponentCheck> {
    try {
      await access(this.root, constants.R_OK | constants.W_OK);
      const probe = join(this.root, `.health-${process.pid}`);
      await writeFile(probe, 'ok');
      await rm(probe);
      return { ok: true, detail: 'local files in the data directory' };
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
      return {
        ok: false,
        detail: `cannot write to objects/ in the data directory (${code}); check its permissions and free space`,
      };
    }
  }

  async put(body: AsyncIterable<Uint8Array>): Promise<StoredObject> {
    const temp = join(this.scratch, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const file = await open(temp, 'wx', 0o600);
    try {
      // Written as it arrives (each write awaited, so a fast client waits for the disk).
      for await (const chunk of body) {
        hash.update(chunk);
        size += chunk.byteLength;
        for (let offset = 0; offset < chunk.byteLength;) {
          offset += (await file.write(chunk, offset)).bytesWritten;
        }
      }
      return await this.commit(file, temp, hash.digest('hex'), size);
    } catch (error) {
      await file.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * Takes the file where it is, with as few system calls as it can (an ingest stores every file of
   * a delivery this way, and each call is a trip through the thread pool): checked by lstat (no
   * open for it), made owner-only only when it is not yet, flushed when this store flushes (the
   * one open), renamed under its key.
   */
  async putFile(file: HashedFile): Promise<StoredObject> {
    const stats = await lstat(file.path);
    checkHashedFile(file, stats);
    // Owner-only, as every object the store writes itself (the maker's mode may be wider).
    if ((stats.mode & 0o777) !== 0o600) {
      await chmod(file.path, 0o600);
    }
    try {
      // Renamed as it is when it lies on the store's file system: no copy, no hash.
      return this.fsync
        ? await this.commit(await open(file.path, 'r'), file.path, file.sha256, file.size)
        : await this.place(file.path, file.sha256, file.size);
    } catch (error) {
      if (!hasCode(error, 'EXDEV')) {
        throw error;
      }
    }
    // On another file system: copied (by the kernel, unhashed) to a temporary file, then as put.
    const temp = join(this.scratch, randomUUID());
    try {
      await copyFile(file.path, temp, constants.COPYFILE_EXCL);
      return await this.commit(await open(temp, 'r'), temp, file.sha256, file.size);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** The temporary file written: flushed, closed (whatever happens) and renamed under its key. */
  private async commit(
    file: FileHandle,
    temp: string,
    sha256: string,
    size: number,
  ): Promise<StoredObject> {
    try {
      if (this.fsync) {
        // On disk before it is visible under its key, so a crash never leaves a short object.
        await file.sync();
      }
    } finally {
      await file.close();
    }
    return this.place(temp, sha256, size);
  }

  /**
   * A complete file renamed under its key. The key's folder (one of 256) is made when the rename
   * finds it missing, not asked for before every object.
   */
  private async place(temp: string, sha256: string, size: number): Promise<StoredObject> {
    const key = `sha256/${sha256}`;
    const path = this.pathOf(key);
    // Over a copy already there, too: the same bytes, and a renewed time for list()'s storedAt.
    try {
      await rename(temp, path);
    } catch (error) {
      if (!isMissing(error)) {
        throw error;
      }
      await mkdir(dirname(path), { recursive: true });
      await rename(temp, path);
    }
    return { key, sha256, size };
  }

  async get(key: string): Promise<{ body: Readable; size: number } | null> {
    try {
      const file = await open(this.pathOf(key), 'r');
      try {
        const { size } = await file.stat();
        return { body: file.createReadStream(), size };
      } catch (error) {
        await file.close();
        throw error;
      }
    } catch (error) {
      if (isMissing(error)) {
        return null;
      }
      throw error;
    }
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      return { size: (await stat(this.pathOf(key))).size };
    } catch (error) {
      if (isMissing(error)) {
        return null;
      }
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async *list(): AsyncGenerator<ListedObject> {
    const top = join(this.root, 'sha256');
    for (const prefix of await entriesOf(top)) {
      if (!/^[0-9a-f]{2}$/u.test(prefix)) {
        continue;
      }
      for (const hex of await entriesOf(join(top, prefix))) {
        const key = `sha256/${hex}`;
        if (!isObjectKey(key) || !hex.startsWith(prefix)) {
          continue;
        }
        try {
          const stats = await stat(join(top, prefix, hex));
          if (stats.isFile()) {
            yield { key, size: stats.size, storedAt: stats.mtime };
          }
        } catch (error) {
          // Deleted while listing.
          if (!isMissing(error)) {
            throw error;
          }
        }
      }
    }
  }

  async sweepIncomplete(before: Date): Promise<number> {
    let removed = 0;
    for (const name of await entriesOf(this.scratch)) {
      const path = join(this.scratch, name);
      try {
        // A put writes its temporary file as bytes arrive, so its time is the last byte's.
        if ((await stat(path)).mtime < before) {
          await rm(path, { force: true });
          removed += 1;
        }
      } catch (error) {
        if (!isMissing(error)) {
          throw error;
        }
      }
    }
    return removed;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * The file of `key`; a key that is not well-formed is refused, so no path escapes the root.
   * Public for hard links to stored objects (compute/dataset-view.ts); never written through.
   */
  pathOf(key: string): string {
    const hex = objectKeyHex(key);
    return join(this.root, 'sha256', hex.slice(0, 2), hex);
  }
}

/** The names in a directory; none when it does not exist (yet). */
async function entriesOf(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isMissing(error)) {
      return [];
    }
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  return hasCode(error, 'ENOENT');
}

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
