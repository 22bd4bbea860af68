import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The result of a component's self-check, for `/api/v1/health`. */
export interface ComponentCheck {
  ok: boolean;
  /** What was checked, or why it is not ok and what to do. */
  detail: string;
}

/**
 * Where dataset files and results live. Only the local backend exists so far; the S3 backend
 * (AWS S3, Ceph RGW) implements the same interface when ingest needs it.
 */
export interface ObjectStore {
  readonly kind: 'local';
  check(): Promise<ComponentCheck>;
}

/** Objects as files under `<dataDir>/objects`. */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local';
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'objects');
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  async check(): Promise<ComponentCheck> {
    try {
      await access(this.root, constants.R_OK | constants.W_OK);
      const probe = join(this.root, `.health-${process.pid}`);
      await writeFile(probe, 'ok');
      await rm(probe);
      return { ok: true, detail: 'local files in the data directory' };
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
      return {
        ok: false,
        detail: `cannot write to objects/ in the data directory (${code}); check its permissions and free space`,
      };
    }
  }
}
