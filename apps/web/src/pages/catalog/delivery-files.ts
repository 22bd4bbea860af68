import { formatPath, parseDeliveryManifest, type DeliveryManifest } from '@lantern/core/ingest';

/**
 * A delivery folder as the browser gives it (issue 6): the files a curator picked with a folder
 * input (`webkitdirectory`) or dropped, each with its path inside the folder, and what can be told
 * of them before anything is sent — how many, how large, whether `delivery.yaml` is at the top and
 * reads as a manifest whose tables are among the files. The server checks all of it again.
 */

/** One file of the delivery, its path relative to the delivery folder (`tables/patients.csv`). */
export interface DeliveryFile {
  path: string;
  file: File;
}

/** One thing wrong with the picked folder, where (a path of the folder, or `delivery.yaml`). */
export interface DeliveryProblem {
  path: string;
  message: string;
}

/** The picked folder: its files in path order, their bytes, its manifest and every problem. */
export interface CheckedDelivery {
  /** The folder's name as picked (`knee-1`), when the browser says it. */
  folder: string | null;
  files: DeliveryFile[];
  bytes: number;
  manifest: DeliveryManifest | null;
  problems: DeliveryProblem[];
}

/** The server's own limit (apps/server ingest-uploads.service.ts, UPLOAD_PATH_MAX). */
const PATH_MAX = 1024;

/**
 * The files of a folder input: `webkitRelativePath` starts with the picked folder's name, which
 * is not part of the delivery's paths.
 */
export function filesFromInput(list: FileList): { folder: string | null; files: DeliveryFile[] } {
  let folder: string | null = null;
  const files: DeliveryFile[] = [];
  for (const file of Array.from(list)) {
    const relative = file.webkitRelativePath === '' ? file.name : file.webkitRelativePath;
    const slash = relative.indexOf('/');
    if (slash > 0) {
      folder ??= relative.slice(0, slash);
    }
    files.push({ path: slash > 0 ? relative.slice(slash + 1) : relative, file });
  }
  return { folder, files };
}

/**
 * The files of a dropped folder, read through the File and Directory Entries API. A drop of one
 * folder is the delivery; a drop of loose files or of several folders is refused, since the paths
 * of a delivery are relative to its folder.
 */
export async function filesFromDrop(
  items: DataTransferItemList,
): Promise<{ folder: string; files: DeliveryFile[] }> {
  const entries = Array.from(items)
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry())
    .filter((entry) => entry !== null);
  const [only] = entries;
  if (entries.length !== 1 || only === undefined || !isDirectory(only)) {
    throw new DropError('drop the delivery folder itself (one folder, with delivery.yaml in it)');
  }
  const files: DeliveryFile[] = [];
  await walk(only, '', files);
  return { folder: only.name, files };
}

/** A drop that is not one folder. */
export class DropError extends Error {
  override readonly name = 'DropError';
}

function isDirectory(entry: FileSystemEntry): entry is FileSystemDirectoryEntry {
  return entry.isDirectory;
}

function isFile(entry: FileSystemEntry): entry is FileSystemFileEntry {
  return entry.isFile;
}

async function walk(dir: FileSystemDirectoryEntry, prefix: string, out: DeliveryFile[]) {
  for (const entry of await readAllEntries(dir)) {
    const path = `${prefix}${entry.name}`;
    if (isDirectory(entry)) {
      await walk(entry, `${path}/`, out);
    } else if (isFile(entry)) {
      const file = await new Promise<File>((resolve, reject) => entry.file(resolve, reject));
      out.push({ path, file });
    }
  }
}

/** A directory reader answers in batches (Chromium: 100 entries) until an empty one. */
async function readAllEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) {
      return all;
    }
    all.push(...batch);
  }
}

/**
 * Why a delivery path would be refused by the server, or null (the rule of the upload API: a
 * relative path of `/`-separated names, none empty, `.` or `..`, no backslashes or control
 * characters).
 */
export function pathProblem(path: string): string | null {
  if (path.length === 0 || path.length > PATH_MAX) {
    return `a path has 1 to ${PATH_MAX} characters`;
  }
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  if (/[\\\u0000-\u001f\u007f]/u.test(path)) {
    return 'a path has no backslashes or control characters';
  }
  if (path.startsWith('/') || path.split('/').some((n) => n === '' || n === '.' || n === '..')) {
    return 'a path has no empty, . or .. names';
  }
  return null;
}

/**
 * Checks the picked files: sorted by path, no path the server refuses, `delivery.yaml` at the top
 * and a manifest as `lantern ingest` reads it (problems with their lines), each table's file among
 * the files.
 */
export async function checkDelivery(
  folder: string | null,
  picked: readonly DeliveryFile[],
): Promise<CheckedDelivery> {
  const files = [...picked].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const bytes = files.reduce((sum, f) => sum + f.file.size, 0);
  const problems: DeliveryProblem[] = [];
  for (const { path } of files) {
    const problem = pathProblem(path);
    if (problem !== null) {
      problems.push({ path, message: problem });
    }
  }
  const manifestFile = files.find((f) => f.path === 'delivery.yaml');
  if (files.length === 0) {
    problems.push({ path: folder ?? 'the folder', message: 'the folder has no files' });
    return { folder, files, bytes, manifest: null, problems };
  }
  if (manifestFile === undefined) {
    problems.push({
      path: 'delivery.yaml',
      message: `not found at the top of ${folder ?? 'the folder'}: pick the folder that holds delivery.yaml`,
    });
    return { folder, files, bytes, manifest: null, problems };
  }
  const parsed = parseDeliveryManifest(await manifestFile.file.text());
  if (!parsed.ok) {
    for (const p of parsed.problems) {
      const where = p.line === null ? '' : `:${p.line}${p.column === null ? '' : `:${p.column}`}`;
      problems.push({
        path: `delivery.yaml${where}`,
        message: p.path === '' ? p.message : `${p.path}: ${p.message}`,
      });
    }
    return { folder, files, bytes, manifest: null, problems };
  }
  const paths = new Set(files.map((f) => f.path));
  for (const [index, table] of parsed.manifest.tables.entries()) {
    if (!paths.has(table.file)) {
      problems.push({
        path: table.file,
        message: `the file of table ${table.name} (${formatPath(['tables', index, 'file'])}) is not in the folder`,
      });
    }
  }
  return { folder, files, bytes, manifest: parsed.manifest, problems };
}
