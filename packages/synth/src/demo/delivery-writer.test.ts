import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DeliveryProgress } from './demo-dataset.js';
import { DeliveryWriter, type WrittenFile } from './delivery-writer.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lantern-delivery-writer-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('DeliveryWriter', () => {
  it('makes native files and counts every file and byte, telling how far it got', async () => {
    const events: DeliveryProgress[] = [];
    const writer = new DeliveryWriter(join(root, 'out'), { onProgress: (p) => events.push(p) });
    await writer.write('tables/a.csv', 'x,y\n');
    await writer.native('files/ab/one.bin', () => new Uint8Array([1, 2, 3]));
    await writer.nativeStreamed('files/cd/two.bin', async (target) => {
      await writeFile(target, 'streamed');
      return 8;
    });
    expect(await readFile(join(root, 'out/files/ab/one.bin'))).toEqual(Buffer.from([1, 2, 3]));
    expect(await readFile(join(root, 'out/files/cd/two.bin'), 'utf8')).toBe('streamed');
    expect(events).toEqual([
      { files: 1, bytes: 4 },
      { files: 2, bytes: 7 },
      { files: 3, bytes: 15 },
    ]);
    expect(writer.reused).toBe(0);
  });

  it('copies the native files an earlier delivery holds instead of making them, and makes the rest', async () => {
    const earlier = join(root, 'delivery-1');
    await mkdir(join(earlier, 'files/ab'), { recursive: true });
    await writeFile(join(earlier, 'files/ab/one.bin'), 'from delivery 1');
    const writer = new DeliveryWriter(join(root, 'delivery-2'), { reuse: earlier });
    const made: string[] = [];
    await writer.native('files/ab/one.bin', () => {
      made.push('one');
      return new Uint8Array(1);
    });
    await writer.native('files/ab/new.bin', () => {
      made.push('new');
      return new Uint8Array([9]);
    });
    expect(made).toEqual(['new']);
    expect(writer.reused).toBe(1);
    expect(await readFile(join(root, 'delivery-2/files/ab/one.bin'), 'utf8')).toBe(
      'from delivery 1',
    );
    expect(await readFile(join(root, 'delivery-2/files/ab/new.bin'))).toEqual(Buffer.from([9]));
    expect({ files: writer.files, bytes: writer.bytes }).toEqual({ files: 2, bytes: 16 });
  });

  it('tells of every file it writes, and counts files another writer (a worker thread) wrote', async () => {
    const earlier = join(root, 'delivery-1');
    await mkdir(join(earlier, 'files'), { recursive: true });
    await writeFile(join(earlier, 'files/old.bin'), 'old');
    const told: WrittenFile[] = [];
    const worker = new DeliveryWriter(join(root, 'delivery-2'), {
      reuse: earlier,
      onFile: (file) => told.push(file),
    });
    const events: DeliveryProgress[] = [];
    const parent = new DeliveryWriter(join(root, 'delivery-2'), {
      onProgress: (p) => events.push(p),
    });
    await parent.write('delivery.yaml', 'dataset: x\n');
    await worker.native('files/old.bin', () => new Uint8Array(99));
    await worker.native('files/new.bin', () => new Uint8Array(5));
    expect(told).toEqual([
      { bytes: 3, reused: true },
      { bytes: 5, reused: false },
    ]);
    told.forEach((file) => parent.recordWritten(file));
    expect({ files: parent.files, bytes: parent.bytes, reused: parent.reused }).toEqual({
      files: 3,
      bytes: 19,
      reused: 1,
    });
    expect(events.at(-1)).toEqual({ files: 3, bytes: 19 });
  });
});
