import { describe, expect, it, vi } from 'vitest';
import type { Hashed, HashService } from './hash-worker.js';
import { RunningHashes } from './running-hashes.js';
import { UploadDigests } from './upload-digests.js';

// The ingest page's running SHA-256 (noble's, pure JS) against the platform's own one-shot
// SHA-256 (SubtleCrypto), over the ways a file's chunks go: in order, resumed from bytes the server
// holds, after the server kept fewer bytes than were hashed, and after it discarded the file. The
// worker's hashes run here on this thread (Node has no Web Worker); the worker itself is driven in
// Chromium by apps/web/e2e/ingest-web.e2e.test.ts.
const SIZE = 300_000;
const bytes = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7919 + (i >> 8)) & 0xff);
const file = new File([bytes], 'x.dcm');

/** The worker's RunningHashes behind the page's HashService, the buffers handed over as a worker's. */
class SameThreadHashes implements HashService {
  readonly hashes = new RunningHashes();
  ready = () => Promise.resolve();
  nearest = (key: number, offset: number) => Promise.resolve(this.hashes.nearest(key, offset));
  update(key: number, offset: number, buffer: ArrayBuffer, digest: boolean): Promise<Hashed> {
    // Handed over: the caller's buffer is detached, as postMessage's transfer leaves it.
    const moved = structuredClone(buffer, { transfer: [buffer] });
    return Promise.resolve({
      bytes: moved,
      sha256: this.hashes.update(key, offset, new Uint8Array(moved), digest),
    });
  }
  keep = (key: number, from: number) => this.hashes.keep(key, from);
  close = () => undefined;
}

async function whole(of: Uint8Array<ArrayBuffer> = bytes): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', of));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Sends bytes `from` to the end in chunks, each taken; the SHA-256 the last one carries. */
async function send(digests: UploadDigests, from: number, chunk: number): Promise<string> {
  let sha256: string | undefined;
  for (let offset = from; offset < SIZE; offset += chunk) {
    const read = await digests.read(file, offset, Math.min(SIZE, offset + chunk));
    expect(read.bytes).toEqual(bytes.subarray(offset, Math.min(SIZE, offset + chunk)));
    expect(read.sha256 === undefined).toBe(offset + chunk < SIZE);
    sha256 = read.sha256;
    read.taken();
  }
  return sha256 ?? '';
}

const digestsOf = () => new UploadDigests(new SameThreadHashes());

describe('the SHA-256 of a file sent in chunks', () => {
  it('is the whole file’s, with the last chunk only, sent in one or in many', async () => {
    expect(await send(digestsOf(), 0, SIZE)).toBe(await whole());
    expect(await send(digestsOf(), 0, 65_536)).toBe(await whole());
  });

  it('starts from the bytes the server holds when an upload resumes', async () => {
    expect(await send(digestsOf(), 123_457, 50_000)).toBe(await whole());
  });

  it('starts anew when the server kept fewer bytes than were hashed, or discarded the file', async () => {
    const digests = digestsOf();
    for (const [offset, end] of [
      [0, 100_000],
      [100_000, 200_000],
    ] as const) {
      (await digests.read(file, offset, end)).taken();
    }
    // The server holds 150,000 bytes: the next chunk starts there.
    expect(await send(digests, 150_000, 100_000)).toBe(await whole());

    // A last chunk refused (the server found the file altered and kept none of it): sent again
    // from the first byte, not taken in between.
    const refused = await digests.read(file, 200_000, SIZE);
    expect(refused.sha256).toBe(await whole());
    expect(await send(digests, 0, 120_000)).toBe(await whole());
  });

  it('reads and hashes a file’s next chunk while one is on the wire', async () => {
    const hashes = new SameThreadHashes();
    const digests = new UploadDigests(hashes);
    const first = await digests.read(file, 0, 100_000);
    // The first file read is the hashes' file 1: hashed up to the next chunk's end, unasked.
    await vi.waitFor(() => expect(hashes.hashes.nearest(1, SIZE)).toBe(200_000));
    first.taken();
    const second = await digests.read(file, 100_000, 200_000);
    expect(second.bytes).toEqual(bytes.subarray(100_000, 200_000));
    // Taken: the hash before it is no longer kept, the one after it is.
    second.taken();
    expect(hashes.hashes.nearest(1, 199_999)).toBe(0);
    expect(await send(digests, 200_000, 100_000)).toBe(await whole());
  });

  it('says what the server holds of a file is its first bytes, and goes on from there', async () => {
    const digests = digestsOf();
    expect(await digests.held(file, SIZE)).toBe(await whole());
    expect(await digests.held(file, 0)).toBe(await whole(new Uint8Array(0)));
    expect(await digests.held(file, 123_457)).toBe(await whole(bytes.subarray(0, 123_457)));
    expect(await send(digests, 123_457, 100_000)).toBe(await whole());
  });
});

describe('the running hashes the worker keeps', () => {
  it('go on from the checkpoint at or before the bytes held, and forget what was taken', () => {
    const hashes = new RunningHashes();
    hashes.update(1, 0, bytes.subarray(0, 1000), false);
    hashes.update(1, 1000, bytes.subarray(1000, 3000), false);
    expect(hashes.nearest(1, 2999)).toBe(1000);
    expect(hashes.nearest(1, 3000)).toBe(3000);
    hashes.keep(1, 3000);
    expect(hashes.nearest(1, 2999)).toBe(0);
    expect(() => hashes.update(1, 1000, bytes.subarray(1000, 2000), false)).toThrow(RangeError);
    hashes.keep(1, Infinity);
    expect(hashes.nearest(1, 3000)).toBe(0);
  });
});
