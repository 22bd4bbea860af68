import { SHA256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';

/**
 * The SHA-256 of each file the ingest page sends, as far as its bytes have been read (issue 6):
 * the state the hashing worker keeps (upload-hash.worker.ts). SubtleCrypto has no incremental
 * digest, so the hash is @noble/hashes' (audited, pure JS), run off the page's thread.
 *
 * A file's hash is kept at each offset its bytes were hashed up to (a checkpoint: a copy of the
 * hash's state, a few hundred bytes), until the page says the server holds the bytes before one.
 * The page hashes a chunk before the server has taken it (the next chunk is read and hashed while
 * one is on the wire), so when the server keeps fewer bytes than were hashed, the hash goes on
 * from the checkpoint at or before the bytes it keeps rather than from the file's first byte.
 */
export class RunningHashes {
  /** Per file (the page's number for it): checkpoints by offset. */
  private readonly files = new Map<number, Map<number, SHA256>>();

  /** The largest offset at or before `offset` the hash of file `key` is known up to (0: none). */
  nearest(key: number, offset: number): number {
    let best = 0;
    for (const at of this.files.get(key)?.keys() ?? []) {
      if (at <= offset && at > best) {
        best = at;
      }
    }
    return best;
  }

  /**
   * Hashes `bytes`, the file's bytes from `offset`, after its checkpoint there (the hash of its
   * first `offset` bytes), and keeps a checkpoint where they end; with `digest`, the SHA-256
   * (lower-case hex) of the file's bytes up to there.
   */
  update(key: number, offset: number, bytes: Uint8Array, digest: boolean): string | undefined {
    let points = this.files.get(key);
    if (points === undefined) {
      points = new Map();
      this.files.set(key, points);
    }
    const base = points.get(offset) ?? (offset === 0 ? new SHA256() : undefined);
    if (base === undefined) {
      throw new RangeError(`file ${key}: no hash of its first ${offset} bytes to go on from`);
    }
    const next = base.clone();
    next.update(bytes);
    points.set(offset + bytes.length, next);
    return digest ? bytesToHex(next.clone().digest()) : undefined;
  }

  /** Drops the checkpoints of file `key` before `from` (all of them with Infinity). */
  keep(key: number, from: number): void {
    const points = this.files.get(key);
    if (points === undefined) {
      return;
    }
    for (const at of points.keys()) {
      if (at < from) {
        points.delete(at);
      }
    }
    if (points.size === 0) {
      this.files.delete(key);
    }
  }
}
