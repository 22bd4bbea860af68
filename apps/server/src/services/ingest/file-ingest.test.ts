/**
 * The ingest scratch area's sweep (file-ingest.ts' sweepFolders): what a process killed mid-slide
 * left goes; a folder whose file is still being written, or a new one, stays. And a file too large
 * to read whole: held back, named by its published name only.
 */
import { mkdir, mkdtemp, readdir, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../storage/object-store.js';
import { READ_WHOLE_MAX_BYTES, ReadBuffer } from './dicom-ingest.js';
import { ingestNativeFile, sweepFolders } from './file-ingest.js';

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

describe('ingestNativeFile', () => {
  it('holds back a file too large to read whole, without reading it or naming its source path', async () => {
    // Sparse: its size is all that is read. Its name is what a partner might call a file.
    const path = join(work, 'MRN-4471902 SMITH JANE.xml');
    await writeFile(path, '');
    await truncate(path, READ_WHOLE_MAX_BYTES + 1);
    const stores = {
      published: new LocalObjectStore(work, 'objects'),
      quarantine: new LocalObjectStore(work, 'quarantine'),
    };
    const outcome = await ingestNativeFile(
      { kind: 'muse', path, name: 'ecgs/e_1.xml', shiftDays: 3, pseudonym: { patientId: 'p1' } },
      { stores, scratch: join(work, 'scratch') },
      new ReadBuffer(),
    );
    expect(outcome).toMatchObject({ kind: 'held', format: 'unreadable', quarantined: null });
    const reason = outcome.kind === 'held' ? outcome.reason : '';
    expect(reason).toContain(`${READ_WHOLE_MAX_BYTES + 1} bytes`);
    expect(reason).not.toMatch(/MRN|SMITH/u);
    expect(await readdir(work)).toEqual(['MRN-4471902 SMITH JANE.xml']);
  });
});
