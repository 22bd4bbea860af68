import { HashWorker, type Hashed, type HashService } from './hash-worker.js';

/**
 * The SHA-256 of each file the ingest page sends (issue 6), worked out on the way as
 * `lantern ingest --server` does (apps/cli upload-digests.ts): a chunk's bytes are read once, into
 * the request that carries them, so a file's last chunk carries the SHA-256 of the whole file,
 * which the server checks against its own hash of the bytes it received (a mismatch is a 409, and
 * nothing of the file is kept). No file is ever read whole into memory: a chunk per send in
 * flight, and the next one of its file.
 *
 * The hashing is the worker's (hash-worker.ts): this thread reads each chunk and hands it over,
 * and it comes back hashed. The next chunk of a file is read and hashed while one is on the wire,
 * so sends wait on the hash only where it is slower than the network.
 *
 * A file's hash starts at its first byte, so the bytes the server already holds of it (an upload
 * resumed, a chunk it kept in part) are read once more, a slice at a time. A File is a snapshot
 * of what was picked: once the file on disk changes, reading it fails (NotReadableError), so no
 * file changed while it is sent can go out torn under one hash.
 */

/** The bytes read and handed over at a time when the hash catches up with a file's bytes held. */
const SLICE_BYTES = 4 * 1024 * 1024;

/** One chunk read for sending; `taken` once the server has it, so the hash goes on past it. */
export interface ChunkRead {
  bytes: Uint8Array<ArrayBuffer>;
  /** The whole file's SHA-256 (lower-case hex), when this chunk is its last. */
  sha256: string | undefined;
  taken(): void;
}

/** A chunk read and hashed ahead, before it was asked for. */
interface Ahead {
  offset: number;
  end: number;
  read: Promise<Hashed>;
}

/** The hashes of the files being sent, each as far as its bytes have been read. */
export class UploadDigests {
  // By the picked File itself: a folder picked again is new Files, and their hashes start anew.
  private readonly keys = new WeakMap<File, number>();
  private readonly ahead = new WeakMap<File, Ahead>();
  private lastKey = 0;

  constructor(private readonly hashes: HashService = new HashWorker()) {}

  /** Resolves once files can be hashed; rejects with HashingUnavailable if they cannot. */
  ready(): Promise<void> {
    return this.hashes.ready();
  }

  /** Stops the hashing (the page is left); a later read starts it anew. */
  close(): void {
    this.hashes.close();
  }

  /**
   * Reads bytes `offset` to `end` of `file`, with the file's SHA-256 if they are its last, and
   * starts on the file's next chunk (as long as this one).
   */
  async read(file: File, offset: number, end: number): Promise<ChunkRead> {
    const key = this.keyOf(file);
    const ahead = this.ahead.get(file);
    this.ahead.delete(file);
    const { bytes, sha256 } =
      ahead?.offset === offset && ahead.end === end
        ? await ahead.read
        : await this.hashRange(file, key, offset, end);
    if (end < file.size) {
      const next = Math.min(file.size, end + (end - offset));
      const read = this.hashRange(file, key, end, next);
      // Read only if asked for, which says how it failed.
      read.catch(() => undefined);
      this.ahead.set(file, { offset: end, end: next, read });
    }
    return {
      bytes: new Uint8Array(bytes),
      sha256,
      taken: () => this.hashes.keep(key, end === file.size ? Infinity : end),
    };
  }

  /**
   * The SHA-256 of the first `held` bytes of `file` (what the server holds of it), read now; the
   * hash goes on from there as the rest is sent.
   */
  async held(file: File, held: number): Promise<string> {
    const key = this.keyOf(file);
    await this.upTo(file, key, held);
    const { sha256 } = await this.hashes.update(key, held, new ArrayBuffer(0), true);
    if (held === file.size) {
      this.hashes.keep(key, Infinity);
    }
    return sha256 ?? '';
  }

  private keyOf(file: File): number {
    let key = this.keys.get(file);
    if (key === undefined) {
      this.lastKey += 1;
      key = this.lastKey;
      this.keys.set(file, key);
    }
    return key;
  }

  /** Bytes `offset` to `end` of `file`, hashed after the file's first `offset` bytes. */
  private async hashRange(file: File, key: number, offset: number, end: number): Promise<Hashed> {
    await this.upTo(file, key, offset);
    const bytes = await file.slice(offset, end).arrayBuffer();
    return this.hashes.update(key, offset, bytes, end === file.size);
  }

  /**
   * Brings the hash of `file` up to its first `offset` bytes: from the nearest offset before it
   * the hash is known up to (the file's first byte, if none), by reading what it lacks.
   */
  private async upTo(file: File, key: number, offset: number): Promise<void> {
    for (let at = await this.hashes.nearest(key, offset); at < offset;) {
      const to = Math.min(offset, at + SLICE_BYTES);
      await this.hashes.update(key, at, await file.slice(at, to).arrayBuffer(), false);
      at = to;
    }
  }
}
