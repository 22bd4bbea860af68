/**
 * The SHA-256 of each file `lantern ingest --server` sends (issue 6), worked out on the way: a
 * chunk's bytes are read once, for the request that carries them, and hashed after the server took
 * them, so the file's hash goes with its last chunk (the server checks it against its own hash of
 * what it received) and the delivery is never read beforehand to hash it. A file's hash starts at
 * its first byte, so the bytes the server already holds of a file are read once more — only when
 * an upload is resumed, or after a chunk the server kept part of.
 *
 * A file changed while it was sent must not arrive torn (old first bytes, new last ones) under a
 * hash of the bytes read: when its modification time moved since its hash began, its last chunk
 * carries the hash of the file as it is now, read whole once more. The server then takes it if
 * the bytes it holds are that file's, and otherwise refuses it (409), and the upload loop sends it
 * again from its start. The same goes for a file resumed whose first bytes changed between runs.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { CliError } from './cli-error.js';

/** A file of the delivery on this machine. */
export interface HashedFile {
  /** Its path in the delivery, for messages. */
  path: string;
  /** Where it is on this machine. */
  absolute: string;
  /** Its size as declared. */
  size: number;
}

/** One chunk read for sending; `taken` once the server has it, so the hash goes on past it. */
export interface ChunkRead {
  bytes: Uint8Array<ArrayBuffer>;
  /** The whole file's SHA-256, when this chunk is its last. */
  sha256: string | undefined;
  taken(): void;
}

/** The hash of a file's first `offset` bytes, and the file's modification time when it began. */
interface Running {
  offset: number;
  hash: Hash;
  mtimeMs: number;
}

/** The hashes of the files being sent, each as far as its bytes have gone. */
export class UploadDigests {
  private readonly running = new Map<string, Running>();

  /**
   * The SHA-256 of the first `held` bytes of `file` (the bytes the server holds of it), read now;
   * when they are not the whole file, the hash goes on from there as the rest is sent.
   */
  async held(file: HashedFile, held: number): Promise<string> {
    const running = await this.upTo(file, held);
    if (held === file.size) {
      this.running.delete(file.absolute);
    }
    return running.hash.copy().digest('hex');
  }

  /**
   * Reads bytes `offset` to `end` of `file`, with the file's SHA-256 if they are its last: of the
   * bytes read since its hash began, or, if the file was modified meanwhile, of the file now.
   */
  async read(file: HashedFile, offset: number, end: number): Promise<ChunkRead> {
    const running = await this.upTo(file, offset);
    const bytes = await readRange(file, offset, end);
    let sha256: string | undefined;
    if (end === file.size) {
      sha256 =
        (await stat(file.absolute)).mtimeMs === running.mtimeMs
          ? running.hash.copy().update(bytes).digest('hex')
          : await hashOf(file);
    }
    return {
      bytes,
      sha256,
      taken: () => {
        if (end === file.size) {
          this.running.delete(file.absolute);
        } else if (running.offset === offset) {
          running.hash.update(bytes);
          running.offset = end;
        }
      },
    };
  }

  /**
   * The hash of the first `offset` bytes of `file`: the running one when it has not gone past
   * them, carried on by reading what it lacks; otherwise (the server kept fewer bytes than were
   * hashed) one made anew from the file's first byte.
   */
  private async upTo(file: HashedFile, offset: number): Promise<Running> {
    let running = this.running.get(file.absolute);
    if (running === undefined || running.offset > offset) {
      // Its modification time before its first byte is read.
      const { mtimeMs } = await stat(file.absolute);
      running = { offset: 0, hash: createHash('sha256'), mtimeMs };
      this.running.set(file.absolute, running);
    }
    if (running.offset < offset) {
      try {
        let read = 0;
        for await (const chunk of createReadStream(file.absolute, {
          start: running.offset,
          end: offset - 1,
        })) {
          running.hash.update(chunk as Buffer);
          read += (chunk as Buffer).length;
        }
        if (read !== offset - running.offset) {
          throw changed(file);
        }
      } catch (error) {
        // Hashed part of the way: of no use.
        this.running.delete(file.absolute);
        throw error;
      }
      running.offset = offset;
    }
    return running;
  }
}

/** The SHA-256 of the declared bytes of `file` as it is now. */
async function hashOf(file: HashedFile): Promise<string> {
  const hash = createHash('sha256');
  if (file.size > 0) {
    for await (const chunk of createReadStream(file.absolute, { end: file.size - 1 })) {
      hash.update(chunk as Buffer);
    }
  }
  return hash.digest('hex');
}

/** Bytes `offset` to `end` of `file`, all of them, or the CliError of a file that shrank. */
async function readRange(
  file: HashedFile,
  offset: number,
  end: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(end - offset);
  const handle = await open(file.absolute, 'r');
  try {
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(
        bytes,
        filled,
        bytes.length - filled,
        offset + filled,
      );
      if (bytesRead === 0) {
        throw changed(file);
      }
      filled += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return bytes;
}

function changed(file: HashedFile): CliError {
  return new CliError(
    1,
    `${file.path} has fewer than its ${file.size} bytes declared: it changed while the delivery was sent`,
  );
}
