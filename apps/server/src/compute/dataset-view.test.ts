/**
 * Dataset views (issue 8): a published version's files under their paths, read-only, made once
 * and shared: hard links into the local object store (the same inode, no byte copied) or checked
 * copies; concurrent launches get the one view; nothing half-made is ever at the view's path.
 */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore, type StoredObject } from '../storage/object-store.js';
import { DatasetViewError, DatasetViews, type VersionFiles } from './dataset-view.js';

let dataDir: string;
let store: LocalObjectStore;
let table: StoredObject;
let image: StoredObject;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-views-'));
  store = new LocalObjectStore(dataDir);
  await store.init();
  table = await store.put(Readable.from([Buffer.from('ecg_id,label\ne1,1\ne2,0\n')]));
  image = await store.put(
    Readable.from([Buffer.from('not really a waveform, but bytes all the same')]),
  );
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function version(files: VersionFiles['files'] = defaultFiles()): VersionFiles {
  return { slug: 'arrest-ntuh-ecg', version: '1.0', files };
}

function defaultFiles(): VersionFiles['files'] {
  return [
    { path: 'ecg.csv', objectKey: table.key, size: table.size },
    { path: 'waveforms/e1/lead.npy', objectKey: image.key, size: image.size },
  ];
}

describe('DatasetViews', () => {
  it('links the version files under their published paths, read-only and world-readable', async () => {
    const views = new DatasetViews(dataDir, store);
    const path = await views.materialise(version());
    expect(path).toBe(join(dataDir, 'dataset-views', 'arrest-ntuh-ecg', '1.0'));
    expect(await readFile(join(path, 'ecg.csv'), 'utf8')).toBe('ecg_id,label\ne1,1\ne2,0\n');
    const linked = await stat(join(path, 'waveforms', 'e1', 'lead.npy'));
    expect(linked.ino).toBe((await stat(store.pathOf(image.key))).ino);
    expect(linked.mode & 0o777).toBe(0o444);
    expect((await stat(path)).mode & 0o777).toBe(0o555);
    expect((await stat(join(path, 'waveforms', 'e1'))).mode & 0o777).toBe(0o555);
    expect((await stat(views.root)).mode & 0o777).toBe(0o711);
  });

  it('makes a view once: concurrent and later calls share it, and no temporary folder is left', async () => {
    const views = new DatasetViews(dataDir, store);
    const paths = await Promise.all([1, 2, 3].map(() => views.materialise(version())));
    expect(new Set(paths).size).toBe(1);
    const first = await stat(paths[0] ?? '');
    // Another server process (a new object) finds it made.
    const again = await new DatasetViews(dataDir, store).materialise(version());
    expect((await stat(again)).ino).toBe(first.ino);
    expect(await readdir(join(views.root, '.tmp'))).toEqual([]);
  });

  it('copies and checks each file against its key when links are off', async () => {
    const views = new DatasetViews(dataDir, store, { hardLinks: false });
    const path = await views.materialise(version());
    const copied = await stat(join(path, 'ecg.csv'));
    expect(copied.ino).not.toBe((await stat(store.pathOf(table.key))).ino);
    expect(copied.mode & 0o777).toBe(0o444);
    expect(await readFile(join(path, 'ecg.csv'), 'utf8')).toBe('ecg_id,label\ne1,1\ne2,0\n');
  });

  it('refuses an object whose bytes are not its key, and leaves no view behind', async () => {
    const stored = store.pathOf(image.key);
    await chmod(stored, 0o644);
    await writeFile(stored, 'tampered bytes of the same length, more or less!');
    const views = new DatasetViews(dataDir, store, { hardLinks: false });
    await expect(views.materialise(version())).rejects.toThrow(DatasetViewError);
    await expect(stat(views.pathOf('arrest-ntuh-ecg', '1.0'))).rejects.toThrow(/ENOENT/u);
    expect(await readdir(join(views.root, '.tmp'))).toEqual([]);
  });

  it('refuses paths that leave the folder, files listed twice, objects missing and odd names', async () => {
    const views = new DatasetViews(dataDir, store);
    const refused = async (files: VersionFiles['files'], message: RegExp) => {
      await expect(views.materialise(version(files))).rejects.toThrow(message);
    };
    const file = { objectKey: table.key, size: table.size };
    await refused([{ path: '../escape.csv', ...file }], /would leave/u);
    await refused([{ path: '/etc/passwd', ...file }], /would leave/u);
    await refused([{ path: 'a//b.csv', ...file }], /would leave/u);
    await refused(
      [
        { path: 'ecg.csv', ...file },
        { path: 'ecg.csv', ...file },
      ],
      /listed twice/u,
    );
    await refused(
      [{ path: 'ecg.csv', objectKey: `sha256/${'0'.repeat(64)}`, size: 1 }],
      /no object/u,
    );
    await refused([{ path: 'ecg.csv', objectKey: table.key, size: table.size + 1 }], /holds/u);
    await expect(views.materialise({ slug: '../x', version: '1.0', files: [] })).rejects.toThrow(
      DatasetViewError,
    );
    await expect(stat(views.pathOf('arrest-ntuh-ecg', '1.0'))).rejects.toThrow(/ENOENT/u);
  });
});
