/**
 * The ingest scratch area's sweep (file-ingest.ts' sweepFolders): what a process killed mid-slide
 * left goes; a folder whose file is still being written, or a new one, stays. A file written there
 * hashed, stored under that hash, its folder removed; a file too large to read whole: held back,
 * named by its published name only.
 */
import { createHash } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { npyHeaderBytes, writeNpy } from '@lantern/formats';
import { LocalObjectStore } from '../../storage/object-store.js';
import { READ_WHOLE_MAX_BYTES, ReadBuffer } from './dicom-ingest.js';
import { storeWritten, sweepFolders, writeNativeFile } from './file-ingest.js';

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-scratch-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A folder holding one file, each last changed at `changed` (the file) and `made` (the folder). */
async function folder(name: string, made: Date, changed: Date): Promise<void> {
  const path = join(work, 'scratch', name);
  await mkdir(path, { recursive: true });
  await writeFile(join(path, 'slide.tif'), 'de-identified bytes');
  await utimes(join(path, 'slide.tif'), changed, changed);
  await utimes(path, made, made);
}

describe('sweepFolders', () => {
  it('removes the folders whose newest entry is older than the cut-off, and only those', async () => {
    const cutoff = new Date('2026-01-01T12:00:00Z');
    const before = new Date('2026-01-01T11:00:00Z');
    const after = new Date('2026-01-01T13:00:00Z');
    await folder('slide-dead', before, before);
    // Made before the cut-off, its file still written since: a slide being rewritten.
    await folder('slide-busy', before, after);
    await folder('slide-new', after, after);
    expect(await sweepFolders(join(work, 'scratch'), cutoff)).toBe(1);
    expect((await readdir(join(work, 'scratch'))).sort()).toEqual(['slide-busy', 'slide-new']);
  });

  it('finds nothing in a scratch area no ingest has made yet', async () => {
    expect(await sweepFolders(join(work, 'never-made'), new Date('2026-01-01T12:00:00Z'))).toBe(0);
  });
});

describe('writeNativeFile and storeWritten', () => {
  const stores = () => ({
    published: new LocalObjectStore(work, 'objects'),
    quarantine: new LocalObjectStore(work, 'quarantine'),
  });
  const scratch = () => join(work, 'scratch');

  it('holds back a file too large to read whole, without reading it or naming its source path', async () => {
    // Sparse: its size is all that is read. Its name is what a partner might call a file.
    const path = join(work, 'MRN-4471902 SMITH JANE.xml');
    await writeFile(path, '');
    await truncate(path, READ_WHOLE_MAX_BYTES + 1);
    const written = await writeNativeFile(
      { kind: 'muse', path, name: 'ecgs/e_1.xml', shiftDays: 3, pseudonym: { patientId: 'p1' } },
      scratch(),
      new ReadBuffer(),
    );
    const outcome = await storeWritten(written, stores());
    expect(outcome).toMatchObject({ kind: 'held', format: 'unreadable', quarantined: null });
    const reason = outcome.kind === 'held' ? outcome.reason : '';
    expect(reason).toContain(`${READ_WHOLE_MAX_BYTES + 1} bytes`);
    expect(reason).not.toMatch(/MRN|SMITH/u);
    expect((await readdir(work)).sort()).toEqual(['MRN-4471902 SMITH JANE.xml', 'scratch']);
    expect(await readdir(scratch())).toEqual([]);
  });

  it('writes a file hashed as written to a private folder, which the store takes and is removed', async () => {
    const path = join(work, 'lead.npy');
    // Canonical already, so its rewrite is the same bytes.
    const bytes = Buffer.from(writeNpy({ data: new Int16Array([1, -2, 3]), shape: [3] }));
    await writeFile(path, bytes);
    const sha256 = sha256Of(bytes);
    const job = { kind: 'numpy', path, name: 'ecgs/e_1.npy', shiftDays: 0 } as const;
    const written = await writeNativeFile(job, scratch(), new ReadBuffer());
    if (written.kind !== 'written') {
      throw new Error('held');
    }
    expect((await stat(scratch())).mode & 0o777).toBe(0o700);
    expect(written.files).toEqual([
      {
        path: 'ecgs/e_1.npy',
        file: { path: expect.any(String) as unknown, size: bytes.byteLength, sha256 },
      },
    ]);
    const [made] = written.files;
    expect(made && (await readFile(made.file.path)).equals(bytes)).toBe(true);
    const published = new LocalObjectStore(work, 'objects');
    const quarantine = new LocalObjectStore(work, 'quarantine');
    await published.init();
    const outcome = await storeWritten(written, { published, quarantine });
    const stored = { path: 'ecgs/e_1.npy', key: `sha256/${sha256}`, size: bytes.byteLength };
    expect(outcome).toEqual({ kind: 'stored', files: [{ ...stored, existed: false }] });
    expect((await readFile(published.pathOf(stored.key))).equals(bytes)).toBe(true);
    expect(await readdir(scratch())).toEqual([]);
    // Delivered again: stored once, and said so.
    const again = await storeWritten(await writeNativeFile(job, scratch(), new ReadBuffer()), {
      published,
      quarantine,
    });
    expect(again).toEqual({ kind: 'stored', files: [{ ...stored, existed: true }] });
  });

  it('removes the written file when the store refuses it, and stores nothing', async () => {
    const published = new LocalObjectStore(work, 'objects');
    await published.init();
    await mkdir(scratch(), { recursive: true });
    const path = join(scratch(), '1');
    await writeFile(path, 'de-identified bytes');
    const refused = storeWritten(
      {
        kind: 'written',
        files: [{ path: 'x/1.npy', file: { path, size: 5, sha256: sha256Of('') } }],
      },
      { published, quarantine: new LocalObjectStore(work, 'quarantine') },
    );
    await expect(refused).rejects.toThrow('not the 5 given');
    expect(await readdir(scratch())).toEqual([]);
    expect(await readdir(join(work, 'objects', '.tmp'))).toEqual([]);
  });

  it('streams an .npy too large to rewrite in memory after its canonical header, and nothing more', async () => {
    // Sparse: 256 MiB and 2 bytes of int16 zeros after a header with a name in a key and padding.
    const count = 128 * 1024 * 1024 + 1;
    const dict = `{'descr': '<i2', 'patient': 'SMITH JANE', 'fortran_order': False, 'shape': (${count},), } # MRN 4471902`;
    const text = `${dict.padEnd(Math.ceil((dict.length + 11) / 64) * 64 - 11, ' ')}\n`;
    const head = Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >> 8]),
      Buffer.from(text, 'latin1'),
    ]);
    const stores = {
      published: new LocalObjectStore(work, 'objects'),
      quarantine: new LocalObjectStore(work, 'quarantine'),
    };
    await stores.published.init();
    const ingest = async (extra: number) => {
      const path = join(work, 'SMITH JANE.npy');
      await writeFile(path, head);
      await truncate(path, head.length + count * 2 + extra);
      const written = await writeNativeFile(
        { kind: 'numpy', path, name: 'ecgs/e_1.npy', shiftDays: 3 },
        join(work, 'scratch'),
        new ReadBuffer(),
      );
      const outcome = await storeWritten(written, stores);
      await rm(path);
      return outcome;
    };
    const outcome = await ingest(0);
    expect(outcome.kind).toBe('stored');
    const stored = outcome.kind === 'stored' ? outcome.files[0] : undefined;
    const header = npyHeaderBytes('<i2', false, [count]);
    expect(stored?.size).toBe(header.length + count * 2);
    const object = await stores.published.get(stored?.key ?? '');
    // The object's first chunk only: its header and the zeros after it.
    const [chunk] = ((await object?.body.take(1).toArray()) ?? []) as Buffer[];
    const first = new Uint8Array(chunk ?? []);
    object?.body.destroy();
    expect(Buffer.from(first.subarray(0, header.length)).equals(Buffer.from(header))).toBe(true);
    expect(first.subarray(header.length).every((byte) => byte === 0)).toBe(true);
    await stores.published.delete(stored?.key ?? '');

    // A byte after the data the header declares: held, before anything is streamed.
    const trailing = await ingest(1);
    expect(trailing).toMatchObject({ kind: 'held', format: 'unreadable', quarantined: null });
    expect(trailing.kind === 'held' ? trailing.reason : '').toBe(
      "the NumPy file cannot be de-identified (1 bytes follow the array's data); held back, nothing stored",
    );
  }, 120_000);
});

function sha256Of(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
