import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from './cli-error.js';
import { UploadDigests, type HashedFile } from './upload-digests.js';

// The SHA-256 `lantern ingest --server` sends with a file's last chunk is the file's, however its
// chunks went: in order, after a chunk the server kept part of, after one it lost, resumed from
// what the server held, and when the file changed on the way.
let dir: string;
let bytes: Buffer;
let file: HashedFile;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-digests-'));
  bytes = randomBytes(300_000);
  file = { path: 'files/a.dcm', absolute: join(dir, 'a.dcm'), size: bytes.length };
  await writeFile(file.absolute, bytes);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('UploadDigests', () => {
  it("sends the file's SHA-256 with its last chunk, and no other", async () => {
    const digests = new UploadDigests();
    const sent: Uint8Array[] = [];
    for (let offset = 0; offset < file.size; offset += 100_000) {
      const chunk = await digests.read(file, offset, offset + 100_000);
      expect(Buffer.from(chunk.bytes).equals(bytes.subarray(offset, offset + 100_000))).toBe(true);
      expect(chunk.sha256).toBe(offset + 100_000 === file.size ? sha256(bytes) : undefined);
      sent.push(chunk.bytes);
      chunk.taken();
    }
    expect(Buffer.concat(sent).equals(bytes)).toBe(true);
  });

  it('goes on from what the server holds after a chunk it kept part of, or lost', async () => {
    const digests = new UploadDigests();
    (await digests.read(file, 0, 100_000)).taken();
    // A chunk whose connection dropped: not taken, the server kept 30,000 of its bytes.
    await digests.read(file, 100_000, 200_000);
    expect((await digests.read(file, 130_000, file.size)).sha256).toBe(sha256(bytes));
    // The server holds fewer bytes than were hashed (it lost some): the hash starts again.
    (await digests.read(file, 130_000, 200_000)).taken();
    expect((await digests.read(file, 50_000, file.size)).sha256).toBe(sha256(bytes));
  });

  it('hashes what the server holds of a resumed file, and goes on from there', async () => {
    const digests = new UploadDigests();
    expect(await digests.held(file, 120_000)).toBe(sha256(bytes.subarray(0, 120_000)));
    expect((await digests.read(file, 120_000, file.size)).sha256).toBe(sha256(bytes));
    expect(await digests.held(file, file.size)).toBe(sha256(bytes));
  });

  it('sends the hash of the file as it is now when it was modified while it was sent', async () => {
    const changing = { ...file, absolute: join(dir, 'c.dcm') };
    await writeFile(changing.absolute, bytes);
    const digests = new UploadDigests();
    (await digests.read(changing, 0, 100_000)).taken();
    // Its first bytes change after they went: the server's copy would be torn.
    const now = Buffer.from(bytes);
    now[0] = (now[0] ?? 0) ^ 0xff;
    await writeFile(changing.absolute, now);
    const later = new Date(Date.now() + 60_000);
    await utimes(changing.absolute, later, later);
    const last = await digests.read(changing, 100_000, changing.size);
    // Not the hash of what was read (old first bytes, new rest): the file's now, for the server
    // to refuse the torn copy it holds.
    expect(last.sha256).toBe(sha256(now));
  });

  it('refuses a file that shrank since it was declared, naming it by its delivery path', async () => {
    const shrunk = { ...file, absolute: join(dir, 'b.dcm') };
    await writeFile(shrunk.absolute, bytes);
    await truncate(shrunk.absolute, 150_000);
    const digests = new UploadDigests();
    await expect(digests.read(shrunk, 100_000, 200_000)).rejects.toThrow(CliError);
    await expect(digests.held(shrunk, 200_000)).rejects.toThrow(
      'files/a.dcm has fewer than its 300000 bytes declared: it changed while the delivery was sent',
    );
  });
});
