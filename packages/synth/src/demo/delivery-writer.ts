/**
 * Writes the files of one delivery under its folder and counts them, for every generator alike.
 *
 * A delivery is a full snapshot, so delivery 2 repeats every native file of delivery 1 byte for
 * byte (each generator's tests check it). A writer given that earlier delivery's folder (`reuse`)
 * copies those files from it instead of making them again: the slides, radiographs and ECGs are
 * where the time goes, and the copy is the same bytes.
 *
 * When a pool's worker threads make the native files, each worker has its own writer on the same
 * folder and tells the parent of every file (`onFile`), whose writer counts it (`recordWritten`):
 * the parent's counts and progress are the delivery's.
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type DeliveryProgress } from './demo-dataset.js';

/** One file a writer wrote: its size, and whether it was copied from the reused delivery. */
export interface WrittenFile {
  bytes: number;
  reused: boolean;
}

export interface DeliveryWriterOptions {
  /** Told the running counts after every file. */
  onProgress?: ((progress: DeliveryProgress) => void) | undefined;
  /** Told of every file as it is written. */
  onFile?: ((file: WrittenFile) => void) | undefined;
  /**
   * The folder of an earlier delivery of the same dataset, written from the same seed and scale:
   * native files it holds at the same paths are copied from it, not made again.
   */
  reuse?: string | undefined;
}

export class DeliveryWriter {
  readonly out: string;
  files = 0;
  bytes = 0;
  /** Native files copied from the reused delivery rather than made. */
  reused = 0;
  private readonly onProgress: ((progress: DeliveryProgress) => void) | undefined;
  private readonly onFile: ((file: WrittenFile) => void) | undefined;
  private readonly reuse: string | undefined;

  constructor(out: string, options: DeliveryWriterOptions = {}) {
    this.out = out;
    this.onProgress = options.onProgress;
    this.onFile = options.onFile;
    this.reuse = options.reuse;
  }

  /** Counts a file another writer wrote into this delivery (a worker thread's). */
  recordWritten(file: WrittenFile): void {
    if (file.reused) {
      this.reused += 1;
    }
    this.counted(file.bytes, file.reused);
  }

  /** Where `path` (relative to the delivery's folder, `/`-separated) is written. */
  target(path: string): string {
    return join(this.out, ...path.split('/'));
  }

  /** Writes `data` at `path` (relative to the delivery's folder, `/`-separated). */
  async write(path: string, data: string | Uint8Array): Promise<void> {
    const target = this.target(path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
    this.counted(typeof data === 'string' ? Buffer.byteLength(data) : data.length, false);
  }

  /** Writes the native file `make` encodes at `path`, or copies it from the reused delivery. */
  async native(path: string, make: () => Uint8Array): Promise<void> {
    await this.nativeStreamed(path, async (target) => {
      const data = make();
      await writeFile(target, data);
      return data.length;
    });
  }

  /**
   * Like `native`, for files written straight to disk (slides): `make` writes `target` and answers
   * its size in bytes. Its folder exists when it is called.
   */
  async nativeStreamed(path: string, make: (target: string) => Promise<number>): Promise<void> {
    const target = this.target(path);
    await mkdir(dirname(target), { recursive: true });
    const copied = await this.copyFromReused(path, target);
    if (copied !== null) {
      this.reused += 1;
      this.counted(copied, true);
      return;
    }
    this.counted(await make(target), false);
  }

  /** The size of `path` copied from the reused delivery, or null when it has no such file. */
  private async copyFromReused(path: string, target: string): Promise<number | null> {
    if (this.reuse === undefined) {
      return null;
    }
    const source = join(this.reuse, ...path.split('/'));
    const found = await stat(source).catch(() => null);
    if (found === null || !found.isFile()) {
      return null;
    }
    // A copy-on-write clone where the file system offers one, an ordinary copy elsewhere.
    await copyFile(source, target, constants.COPYFILE_FICLONE);
    return found.size;
  }

  private counted(bytes: number, reused: boolean): void {
    this.files += 1;
    this.bytes += bytes;
    this.onFile?.({ bytes, reused });
    this.onProgress?.({ files: this.files, bytes: this.bytes });
  }
}
