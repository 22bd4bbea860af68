/**
 * Writes the files of one delivery under its folder and counts them, for every generator alike.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type DeliveryProgress } from './demo-dataset.js';

export class DeliveryWriter {
  readonly out: string;
  files = 0;
  bytes = 0;
  private readonly onProgress: ((progress: DeliveryProgress) => void) | undefined;

  /** `onProgress` (DemoGenerateOptions') is told the running counts after every file. */
  constructor(out: string, onProgress?: (progress: DeliveryProgress) => void) {
    this.out = out;
    this.onProgress = onProgress;
  }

  /** Writes `data` at `path` (relative to the delivery's folder, `/`-separated). */
  async write(path: string, data: string | Uint8Array): Promise<void> {
    const target = join(this.out, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
    this.files += 1;
    this.bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.onProgress?.({ files: this.files, bytes: this.bytes });
  }
}
