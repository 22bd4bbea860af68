import { SHA256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';

/**
 * The SHA-256 of each file the ingest page sends (issue 6), worked out on the way as
 * `lantern ingest --server` does (apps/cli upload-digests.ts): a chunk's bytes are read once, into
 * the request that carries them, and hashed once the server took them, so a file's last chunk
 * carries the SHA-256 of the whole file, which the server checks against its own hash of the bytes
 * it received (a mismatch is a 409, and nothing of the file is kept). SubtleCrypto has no
 * incremental digest, so the hash is @noble/hashes' (audited, pure JS); no file is ever read
 * whole into memory, only one chunk per send in flight.
 *
 * A file's hash starts at its first byte, so the bytes the server already holds of it (an upload
 * resumed, a chunk it kept in part) are read once more, in the browser's own slices. A File is a
 * snapshot of what was picked: once the file on disk changes, reading it fails
 * (NotReadableError), so no file changed while it is sent can go out torn under one hash.
 *
 * The hash runs on the page's thread, a slice at a time: pure JS is several times slower than the
 * platform's SHA-256, and a whole chunk at once would hold the page (its Cancel button) that long.
 */

/** The bytes hashed between two chances for the page to handle its events. */
const SLICE_BYTES = 1024 * 1024;

/** The hash of a file's first `offset` bytes. */
interface Running {
  offset: number;
  hash: SHA256;
}

/** One chunk read for sending; `taken` once the server has it, so the hash goes on past it. */
export interface ChunkRead {
  bytes: Uint8Array<ArrayBuffer>;
  /** The whole file's SHA-256 (lower-case hex), when this chunk is its last. */
  sha256: string | undefined;
  taken(): Promise<void>;
}

/** The hashes of the files being sent, each as far as its bytes have gone. */
export class UploadDigests {
  // By the picked File itself: a folder picked again is new Files, and their hashes start anew.
  private readonly running = new WeakMap<File, Running>();

  /** Reads bytes `offset` to `end` of `file`, with the file's SHA-256 if they are its last. */
  async read(file: File, offset: number, end: number): Promise<ChunkRead> {
    const running = await this.upTo(file, offset);
    const bytes = new Uint8Array(await file.slice(offset, end).arrayBuffer());
    const last = end === file.size;
    let sha256: string | undefined;
    if (last) {
      const whole = running.hash.clone();
      await update(whole, bytes);
      sha256 = bytesToHex(whole.digest());
    }
    return {
      bytes,
      sha256,
      taken: async () => {
        if (last) {
          this.running.delete(file);
        } else if (running.offset === offset) {
          // The file's next chunk is read only once this resolves.
          await update(running.hash, bytes);
          running.offset = end;
        }
      },
    };
  }

  /**
   * The hash of the first `offset` bytes of `file`: the running one carried on by reading what it
   * lacks, or, when it has gone past them (the server kept fewer bytes than were hashed, or
   * discarded the file), one made anew from the file's first byte.
   */
  private async upTo(file: File, offset: number): Promise<Running> {
    let running = this.running.get(file);
    if (running === undefined || running.offset > offset) {
      running = { offset: 0, hash: new SHA256() };
      this.running.set(file, running);
    }
    if (running.offset < offset) {
      try {
        const reader = file.slice(running.offset, offset).stream().getReader();
        for (let read = await reader.read(); !read.done; read = await reader.read()) {
          await update(running.hash, read.value);
        }
      } catch (error) {
        // Hashed part of the way: of no use.
        this.running.delete(file);
        throw error;
      }
      running.offset = offset;
    }
    return running;
  }
}

/** Hashes `bytes` a slice at a time, the page handling its events between slices. */
async function update(hash: SHA256, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; at += SLICE_BYTES) {
    if (at > 0) {
      await nextTask();
    }
    hash.update(bytes.subarray(at, at + SLICE_BYTES));
  }
}

/**
 * Resolves in a task of its own, after the events waiting. A message, not a timer: a hidden tab's
 * timers wait a second or more, and its uploads would crawl.
 */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
