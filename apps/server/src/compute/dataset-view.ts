/**
 * Dataset views: a published version's files as a read-only folder under their published paths,
 * which instances bind at `/home/ngsci/datasets/<slug>/<version>` (issue 8). One view per version,
 * at `<data dir>/dataset-views/<slug>/<version>`, shared by every instance that mounts it and made
 * once: built in a temporary folder, then renamed into place (rename(2) is atomic), so an instance
 * never sees half a view. A published version never changes, so neither does its view.
 *
 * Files are hard links into the local object store where they can be (no bytes copied), copies
 * otherwise (another file system, or an S3 store, streamed); a copy is checked against its key's
 * SHA-256. Everything is world-readable, as the sandbox user must read it: for a hard link that is
 * the stored object's own mode (the same inode), which the object store's folders still guard.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LocalObjectStore, objectKeyHex, type ObjectStore } from '../storage/object-store.js';

/** A published version's files, as the catalog lists them. */
export interface VersionFiles {
  slug: string;
  version: string;
  files: readonly { path: string; objectKey: string; size: number }[];
}

/** A view that cannot be made: a path that would leave its folder, an object missing or wrong. */
export class DatasetViewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetViewError';
  }
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,99}$/u;
const VERSION = /^\d{1,6}(\.\d{1,6}){1,2}$/u;

export class DatasetViews {
  readonly root: string;
  private readonly scratch: string;
  /** Views being made now, so that concurrent launches of one version wait for the same one. */
  private readonly making = new Map<string, Promise<string>>();

  private readonly hardLinks: boolean;

  /**
   * `hardLinks: false` copies even from a local store (leaving the stored objects' modes as they
   * are, at the cost of the bytes).
   */
  constructor(
    dataDir: string,
    private readonly store: ObjectStore,
    options: { hardLinks?: boolean } = {},
  ) {
    this.hardLinks = options.hardLinks ?? true;
    this.root = join(dataDir, 'dataset-views');
    this.scratch = join(this.root, '.tmp');
  }

  /** Where the view of `slug` `version` is (made or not). */
  pathOf(slug: string, version: string): string {
    checkNames(slug, version);
    return join(this.root, slug, version);
  }

  /** The view's folder, made first if it is not there yet. */
  async materialise(version: VersionFiles): Promise<string> {
    const target = this.pathOf(version.slug, version.version);
    const id = `${version.slug}/${version.version}`;
    const under = this.making.get(id);
    if (under !== undefined) {
      return under;
    }
    const made = this.make(version, target).finally(() => this.making.delete(id));
    this.making.set(id, made);
    return made;
  }

  private async make(version: VersionFiles, target: string): Promise<string> {
    if (await isFolder(target)) {
      return target;
    }
    checkPaths(version.files.map((file) => file.path));
    // Traversable by the sandbox user, not listable: it reaches only the views it is given.
    await mkdir(this.scratch, { recursive: true });
    await chmod(this.root, 0o711);
    const temp = join(this.scratch, randomUUID());
    await mkdir(temp, { mode: 0o755 });
    try {
      const folders = new Set<string>();
      for (const file of version.files) {
        const dest = join(temp, file.path);
        await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
        for (let dir = dirname(file.path); dir !== '.'; dir = dirname(dir)) {
          folders.add(dir);
        }
        await this.place(file, dest);
      }
      // Read-only from here on: folders deepest first, then the view itself.
      for (const dir of [...folders].sort((a, b) => b.length - a.length)) {
        await chmod(join(temp, dir), 0o555);
      }
      await chmod(temp, 0o555);
      await mkdir(join(this.root, version.slug), { recursive: true, mode: 0o755 });
      try {
        await rename(temp, target);
      } catch (error) {
        // Made meanwhile by another process: that one is the view.
        if (isCode(error, 'ENOTEMPTY') || isCode(error, 'EEXIST')) {
          await removeTree(temp);
          return target;
        }
        throw error;
      }
      return target;
    } catch (error) {
      await removeTree(temp);
      throw error;
    }
  }

  /** One file: a hard link to the stored object, or a checked copy of its bytes. */
  private async place(file: VersionFiles['files'][number], dest: string): Promise<void> {
    const hex = objectKeyHex(file.objectKey);
    if (this.hardLinks && this.store instanceof LocalObjectStore) {
      try {
        await link(this.store.pathOf(file.objectKey), dest);
        const { size } = await stat(dest);
        if (size !== file.size) {
          throw new DatasetViewError(
            `${file.path}: the object ${file.objectKey} holds ${size} bytes, the version says ${file.size}`,
          );
        }
        await chmod(dest, 0o444);
        return;
      } catch (error) {
        if (isCode(error, 'ENOENT')) {
          throw new DatasetViewError(`${file.path}: no object ${file.objectKey} in the store`);
        }
        // Another file system, or links not allowed there: copied below instead.
        if (!isCode(error, 'EXDEV') && !isCode(error, 'EPERM') && !isCode(error, 'EMLINK')) {
          throw error;
        }
      }
    }
    const object = await this.store.get(file.objectKey);
    if (object === null) {
      throw new DatasetViewError(`${file.path}: no object ${file.objectKey} in the store`);
    }
    const hash = createHash('sha256');
    let size = 0;
    await pipeline(
      object.body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.byteLength;
          yield chunk;
        }
      },
      createWriteStream(dest, { flags: 'wx', mode: 0o644 }),
    );
    if (size !== file.size || hash.digest('hex') !== hex) {
      throw new DatasetViewError(
        `${file.path}: the bytes of ${file.objectKey} (${size}) are not what the version lists (${file.size})`,
      );
    }
    await chmod(dest, 0o444);
  }
}

function checkNames(slug: string, version: string): void {
  if (!SLUG.test(slug) || !VERSION.test(version)) {
    throw new DatasetViewError(`not a dataset version: ${JSON.stringify(`${slug} ${version}`)}`);
  }
}

/** Every path stays inside the view: relative, no `.`, `..` or empty part, none twice. */
function checkPaths(paths: readonly string[]): void {
  const seen = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/');
    if (path.includes('\0') || parts.some((part) => part === '' || part === '.' || part === '..')) {
      throw new DatasetViewError(
        `the path ${JSON.stringify(path)} would leave the version's folder`,
      );
    }
    if (seen.has(path)) {
      throw new DatasetViewError(`the path ${JSON.stringify(path)} is listed twice`);
    }
    seen.add(path);
  }
}

/** Removes a tree made read-only (folders 0555): writable again first, as a non-root owner needs. */
async function removeTree(path: string): Promise<void> {
  await chmodTree(path).catch(() => undefined);
  await rm(path, { recursive: true, force: true });
}

async function chmodTree(path: string): Promise<void> {
  const stats = await stat(path);
  if (!stats.isDirectory()) {
    return;
  }
  await chmod(path, 0o755);
  for (const entry of await readdir(path)) {
    await chmodTree(join(path, entry));
  }
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if (isCode(error, 'ENOENT')) {
      return false;
    }
    throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
