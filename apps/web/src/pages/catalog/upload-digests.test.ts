import { describe, expect, it } from 'vitest';
import { UploadDigests } from './upload-digests.js';

// The ingest page's running SHA-256 (noble's, pure JS) against the platform's own one-shot
// SHA-256 (SubtleCrypto), over the ways a file's chunks go: in order, resumed from bytes the server
// holds, after the server kept fewer bytes than were hashed, and after it discarded the file.
const SIZE = 300_000;
const bytes = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7919 + (i >> 8)) & 0xff);
const file = new File([bytes], 'x.dcm');

async function whole(): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
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
    await read.taken();
  }
  return sha256 ?? '';
}

describe('the SHA-256 of a file sent in chunks', () => {
  it('is the whole file’s, with the last chunk only, sent in one or in many', async () => {
    expect(await send(new UploadDigests(), 0, SIZE)).toBe(await whole());
    expect(await send(new UploadDigests(), 0, 65_536)).toBe(await whole());
  });

  it('starts from the bytes the server holds when an upload resumes', async () => {
    expect(await send(new UploadDigests(), 123_457, 50_000)).toBe(await whole());
  });

  it('starts anew when the server kept fewer bytes than were hashed, or discarded the file', async () => {
    const digests = new UploadDigests();
    for (const [offset, end] of [
      [0, 100_000],
      [100_000, 200_000],
    ] as const) {
      await (await digests.read(file, offset, end)).taken();
    }
    // The server holds 150,000 bytes: the next chunk starts there.
    expect(await send(digests, 150_000, 100_000)).toBe(await whole());

    // A last chunk refused (the server found the file altered and kept none of it): sent again
    // from the first byte, not taken in between.
    const refused = await digests.read(file, 200_000, SIZE);
    expect(refused.sha256).toBe(await whole());
    expect(await send(digests, 0, 120_000)).toBe(await whole());
  });
});
