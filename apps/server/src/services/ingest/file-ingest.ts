/**
 * One native file of a delivery, of any kind the ingest reads, from its path into the object store
 * (issue 6, steps 4 and 6), in two steps: writeNativeFile, which an IngestPool's worker processes
 * run for every file, with every store and any number of workers (ingest-pool.ts), de-identifies
 * it into its caller's private folder of the data directory's ingest scratch area (one a worker
 * process, made once), hashing every byte as it is made; storeWritten, in the server's main
 * thread, stores what it wrote under those hashes and removes what the store left. The main
 * thread reads no file's bytes beyond the head it tells the format from (ingest.service.ts), and
 * hashes none.
 *
 * - DICOM: PS3.15's basic profile with modified dates (dicom-ingest.ts); held in the quarantine
 *   for review when it may carry burned-in text.
 * - Slides: the tiled TIFF rewritten without its label and macro images or identifying tags.
 * - GE MUSE XML: cleaned of demographics, the patient's pseudonym written in.
 * - NumPy `.npy` / `.npz`: written again canonically by @lantern/deid (an .npy's header with only
 *   its dtype, order and shape; an .npz with only its arrays, with no comments, extra fields or
 *   times), the arrays' bytes as delivered; an .npz whose arrays had names other than ECG array
 *   names is written with them renamed and held in the quarantine for review, as DICOM is;
 *   anything else in them (objects, text, bytes after the data) holds the file back, nothing of it
 *   stored, its reason quoting nothing from it.
 * - WFDB: the header cleaned of its comments and record name, the signal files it names (beside it
 *   in the delivery) travelling as they are, renamed after the published record; a record that
 *   cannot be read is held back, nothing of it stored, its reason quoting no name from it.
 *
 * Only de-identified bytes reach the scratch area (folders made 0700 in a folder made 0700). A
 * process killed mid-file leaves its files in its folder there, never a half-stored object (the
 * stores rename complete files only): the janitor sweeps the folder once its process is gone
 * (sweepFolders). Errors are the readers' and de-identifiers' typed ones (FormatError,
 * DicomDeidError, SlideDeidError, MuseDeidError, NumpyDeidError, TiffWriteError).
 */
import { createHash } from 'node:crypto';
import { constants, mkdirSync } from 'node:fs';
import { open, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import {
  deidentifyMuseXml,
  deidentifyNpy,
  deidentifyNpz,
  deidentifySlide,
  deidentifyWfdbHeader,
  hmacUidRemapper,
  isNumpyRefusal,
  NPY_HEAD_BYTES,
  NPZ_MAX_TOTAL_BYTES,
  NumpyDeidError,
  rewriteNpyHeader,
  WfdbDeidError,
  type UidRemapper,
} from '@lantern/deid';
import { FormatError, isNpy, parseWfdbHeader, readWfdb } from '@lantern/formats';
import type { HeldFormat } from '../../db/schema.js';
import {
  writeHashedFileSync,
  type HashedFile,
  type ObjectStore,
  type StoredObject,
} from '../../storage/object-store.js';
import {
  NotReadWholeError,
  readWholeFileSync,
  writeDicomFile,
  type ReadBuffer,
} from './dicom-ingest.js';

/** What a file to ingest is, as its first bytes told (never its name alone). */
export type NativeFileKind = 'dicom' | 'slide' | 'muse' | 'numpy' | 'wfdb';

interface FileJobBase {
  path: string;
  /** The published name: the file named in errors (the source path may identify a patient). */
  name: string;
  /** The patient's date offset in whole days. */
  shiftDays: number;
}

/**
 * One native file to de-identify and store: its kind, where it is, and what its de-identifier
 * needs of the patient (the date offset; the pseudonym for the formats that write one in; the UID
 * key for DICOM) and nothing more. Secrets: it travels in memory only (ingest-pool-messages.ts).
 */
export type FileJob =
  | (FileJobBase & {
      kind: 'dicom';
      /** The key of the HMAC that remaps UIDs (hmacUidRemapper). */
      uidKey: Uint8Array;
      pseudonym: { patientId: string; patientName: string };
    })
  | (FileJobBase & { kind: 'muse'; pseudonym: { patientId: string } })
  | (FileJobBase & { kind: 'slide' | 'numpy' | 'wfdb' });

/** A file stored under its published path. */
export interface StoredFile {
  path: string;
  key: string;
  size: number;
  /** The store held these bytes already, as it said (a re-delivery). */
  existed: boolean;
}

/** What became of one native file: stored (with the files travelling with it), or held back. */
export type FileOutcome =
  | { kind: 'stored'; files: StoredFile[] }
  | {
      kind: 'held';
      format: HeldFormat;
      reason: string;
      /** The de-identified bytes kept in the quarantine for the review; none when unreadable. */
      quarantined: StoredObject | null;
    };

/**
 * A de-identified file written whole to the scratch area (never a source path), with the SHA-256
 * of its bytes computed where they were made, for the caller to store (ObjectStore.putFile).
 */
export interface WrittenFile {
  /** Its published path. */
  path: string;
  file: HashedFile;
}

/**
 * What writeNativeFile made of one native file, in its caller's folder of the scratch area, which
 * storeWritten stores and then removes (the files named here are all the job left there):
 * de-identified files to publish, or the file held back (its de-identified bytes to keep in the
 * quarantine for the review; none when unreadable).
 */
export type WrittenOutcome =
  | { kind: 'written'; files: WrittenFile[] }
  | {
      kind: 'held';
      format: HeldFormat;
      reason: string;
      quarantine: HashedFile | null;
    };

/** The stores an ingest's files go into. */
export interface IngestStores {
  published: ObjectStore;
  quarantine: ObjectStore;
}

/** The largest WFDB header read (real ones are a few hundred bytes). */
const WFDB_HEADER_MAX_BYTES = 1024 * 1024;
/** The largest WFDB record's signal files, together (a day of 12 leads at 1 kHz in format 16). */
const WFDB_SIGNALS_MAX_BYTES = 2 * 1024 * 1024 * 1024;
/** A WFDB file name as the format's writer allows it: no folder, nothing hidden. */
const WFDB_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/u;
/** An .npz's directory and headers, beyond its arrays' bytes (generous: 10,000 members). */
const NPZ_OVERHEAD_BYTES = 16 * 1024 * 1024;
/** An .npy up to this size is rewritten in memory; a larger one streams from disk. */
const NPY_IN_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * De-identifies the file `job` names (see the file's comment) into `folder` (its caller's in the
 * data directory's ingest scratch area, its owner's alone, made when missing), hashing every byte
 * written as it is made, reading whole files into `readBuffer` (one caller's files one after
 * another share one). On an error its files are removed; otherwise storeWritten stores what it
 * wrote and removes what is left.
 */
export async function writeNativeFile(
  job: FileJob,
  folder: string,
  readBuffer: ReadBuffer,
  remapperOf: (key: Uint8Array) => UidRemapper = hmacUidRemapper,
): Promise<WrittenOutcome> {
  const files = new ScratchFiles(folder);
  try {
    const written = await writeByKind(job, files, readBuffer, remapperOf);
    // A job that wrote a file and then held its delivery back leaves nothing behind.
    await removeFiles(files.madeOutside(written));
    return written;
  } catch (error) {
    await removeFiles(files.made);
    if (error instanceof NotReadWholeError) {
      // Nothing else in the delivery is wrong: this file waits for a curator, as unreadable ones do.
      return heldUnreadable(`${error.message}; held back, nothing of it stored`);
    }
    if (isSystemError(error)) {
      throw new IngestSystemError(error.code, job.name, error.syscall);
    }
    throw error;
  }
}

/**
 * Stores what writeNativeFile wrote (in the server's main thread, with the server's stores: local
 * files, or S3) and removes its folder, whatever happens. ObjectStore.putFile takes each file
 * under the hash its maker computed: the local store renames it (the scratch area is in the same
 * data directory), the S3 store has the server check it; no byte is hashed here.
 */
export async function storeWritten(
  written: WrittenOutcome,
  stores: IngestStores,
): Promise<FileOutcome> {
  try {
    switch (written.kind) {
      case 'written': {
        const files: StoredFile[] = [];
        for (const { path, file } of written.files) {
          const existed = (await stores.published.head(`sha256/${file.sha256}`)) !== null;
          const stored = await stores.published.putFile(file);
          files.push({ path, key: stored.key, size: stored.size, existed });
        }
        return { kind: 'stored', files };
      }
      case 'held':
        return {
          kind: 'held',
          format: written.format,
          reason: written.reason,
          quarantined:
            written.quarantine === null
              ? null
              : await stores.quarantine.putFile(written.quarantine),
        };
      default:
        return written satisfies never;
    }
  } finally {
    // Gone when the store renamed them away (the local store), else removed here.
    await removeFiles(writtenPaths(written));
  }
}

/** The paths of the files a WrittenOutcome names, in its caller's folder of the scratch area. */
export function writtenPaths(written: WrittenOutcome): string[] {
  switch (written.kind) {
    case 'written':
      return written.files.map(({ file }) => file.path);
    case 'held':
      return written.quarantine === null ? [] : [written.quarantine.path];
    default:
      return written satisfies never;
  }
}

/** Removes files of the scratch area, those already gone (stored by a rename) too. */
async function removeFiles(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    await unlink(path).catch((error: unknown) => {
      if (!isMissing(error)) {
        throw error;
      }
    });
  }
}

/** The files of this process that its jobs wrote, for a name unique in its folder. */
let filesMade = 0;

/**
 * The files one job writes in its caller's folder, each named by a number of this process (never
 * by a source name). The folder (and the scratch area above it, both its owner's alone) is made
 * when missing, so also after a sweep removed it: one blocking mkdir a job, which fails at once
 * when it is there (no trip through the thread pool, and no directory made and removed a file,
 * which cost ext4 more: bench/ingest/README.md).
 */
class ScratchFiles {
  /** The paths handed out, written or not. */
  readonly made: string[] = [];

  constructor(readonly folder: string) {
    try {
      mkdirSync(folder, { mode: 0o700 });
    } catch (error) {
      if (isMissing(error)) {
        mkdirSync(folder, { recursive: true, mode: 0o700 });
      } else if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) {
        throw error;
      }
    }
  }

  /** A new file's path in the folder. */
  next(): string {
    filesMade += 1;
    const path = join(this.folder, String(filesMade));
    this.made.push(path);
    return path;
  }

  /** The paths handed out that `written` does not name (nothing to store, so to remove). */
  madeOutside(written: WrittenOutcome): string[] {
    const named = writtenPaths(written);
    return this.made.filter((path) => !named.includes(path));
  }

  /** Bytes in memory written to a new file, hashed here unless their maker hashed them. */
  write(bytes: Uint8Array, sha256?: string): HashedFile {
    return writeHashedFileSync(this.next(), {
      chunks: [bytes],
      size: bytes.byteLength,
      sha256: sha256 ?? createHash('sha256').update(bytes).digest('hex'),
    });
  }

  /** The job's one file, written, to be published under `path`. */
  only(path: string, file: HashedFile): WrittenOutcome {
    return { kind: 'written', files: [{ path, file }] };
  }

  /** The job's one file, written de-identified, held back for review in the quarantine. */
  held(format: HeldFormat, reason: string, file: HashedFile): WrittenOutcome {
    return { kind: 'held', format, reason, quarantine: file };
  }
}

async function writeByKind(
  job: FileJob,
  folder: ScratchFiles,
  readBuffer: ReadBuffer,
  remapperOf: (key: Uint8Array) => UidRemapper,
): Promise<WrittenOutcome> {
  switch (job.kind) {
    case 'dicom': {
      const { file, hold } = writeDicomFile(
        job.path,
        {
          name: job.name,
          shiftDays: job.shiftDays,
          remapUid: remapperOf(job.uidKey),
          pseudonym: job.pseudonym,
        },
        folder.next(),
        readBuffer,
      );
      return hold === null ? folder.only(job.name, file) : folder.held('dicom', hold, file);
    }
    case 'slide': {
      const out = folder.next();
      // Hashed by the slide's de-identifier as it wrote it: stored without a second hash.
      const result = await deidentifySlide(job.path, out, {
        name: job.name,
        shiftDays: job.shiftDays,
      });
      return folder.only(job.name, {
        path: out,
        size: result.bytesWritten,
        sha256: result.sha256,
      });
    }
    case 'muse': {
      const result = deidentifyMuseXml(readWholeFileSync(job.path, readBuffer), {
        name: job.name,
        shiftDays: job.shiftDays,
        pseudonym: { patientId: job.pseudonym.patientId },
      });
      return folder.only(job.name, folder.write(result.bytes, result.sha256));
    }
    case 'numpy':
      return writeNumpy(job, folder, readBuffer);
    case 'wfdb':
      return writeWfdb(job, folder);
    default:
      return job satisfies never;
  }
}
/**
 * Removes the folders of `dir` (a scratch area) whose newest entry is older than `before`, but
 * those named in `kept` (the folders of workers alive); a folder being written is left. Returns how
 * many it removed.
 */
export async function sweepFolders(
  dir: string,
  before: Date,
  kept: readonly string[] = [],
): Promise<number> {
  const folders = await readdir(dir).catch((error: unknown) => {
    if (isMissing(error)) {
      return [];
    }
    throw error;
  });
  let removed = 0;
  for (const name of folders.filter((entry) => !kept.includes(entry))) {
    const folder = join(dir, name);
    const entries = await readdir(folder).catch(() => []);
    const times = await Promise.all(
      [folder, ...entries.map((entry) => join(folder, entry))].map((path) =>
        stat(path).then(
          (s) => s.mtimeMs,
          () => 0,
        ),
      ),
    );
    if (Math.max(...times) < before.getTime()) {
      await rm(folder, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

/** An error of a system call, as Node throws it (its message quotes the path). */
function isSystemError(error: unknown): error is Error & { code: string; syscall: string } {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    'syscall' in error &&
    typeof error.syscall === 'string'
  );
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

/**
 * A system call that failed on a file (ENOENT: removed since its format was told; EISDIR …),
 * named by its published name: Node's own error quotes the source path, which may identify a
 * patient.
 */
export class IngestSystemError extends Error {
  readonly code: string;
  readonly file: string;
  readonly syscall: string;

  constructor(code: string, file: string, syscall: string) {
    super(`${file}: ${syscall} failed (${code})`);
    this.name = 'IngestSystemError';
    this.code = code;
    this.file = file;
    this.syscall = syscall;
  }
}

/** A file held back with nothing of it kept: no de-identifier reads it. */
export function unreadable(reason: string): FileOutcome {
  return { kind: 'held', format: 'unreadable', reason, quarantined: null };
}

/** A file held back with nothing of it written: no de-identifier reads it. */
function heldUnreadable(reason: string): WrittenOutcome {
  return { kind: 'held', format: 'unreadable', reason, quarantine: null };
}

/**
 * A NumPy file written again by @lantern/deid (numpy.ts): an .npy in memory, or, when large, its
 * canonical header followed by its data streamed from the delivery, hashed as it is written; an
 * .npz in memory, held for review when the de-identifier renamed arrays. A file it refuses is held
 * back with nothing of it written, its reason the de-identifier's own (which quotes nothing from
 * the file) or the reader's code.
 */
async function writeNumpy(
  job: FileJobBase,
  folder: ScratchFiles,
  readBuffer: ReadBuffer,
): Promise<WrittenOutcome> {
  const { path, name } = job;
  const size = (await stat(path)).size;
  try {
    const head = await readHead(path, NPY_HEAD_BYTES);
    if (isNpy(head) && size > NPY_IN_MEMORY_BYTES) {
      const rewrite = rewriteNpyHeader(head, size, { name });
      // Only the bytes the header declares: whatever a file grown since holds stays behind.
      const data = streamFile(path, { name, start: rewrite.dataOffset, bytes: rewrite.dataBytes });
      return folder.only(name, await writeStreamHashed(folder.next(), rewrite.header, data));
    }
    // An archive is no larger than the arrays it holds, stored, and a few bytes a member.
    if (!isNpy(head) && size > NPZ_MAX_TOTAL_BYTES + NPZ_OVERHEAD_BYTES) {
      return heldUnreadable('an .npz larger than 256 MiB; held back, nothing of it stored');
    }
    const bytes = readWholeFileSync(path, readBuffer);
    const result = isNpy(head) ? deidentifyNpy(bytes, { name }) : deidentifyNpz(bytes, { name });
    const file = writeHashedFileSync(folder.next(), {
      chunks: [...result.chunks],
      size: result.size,
      sha256: result.sha256,
    });
    return result.hold === null
      ? folder.only(name, file)
      : folder.held('numpy', `${result.hold.reason}; held back for review`, file);
  } catch (error) {
    if (isNumpyRefusal(error)) {
      const why = error instanceof NumpyDeidError ? error.detail : error.code;
      return heldUnreadable(
        `the NumPy file cannot be de-identified (${why}); held back, nothing stored`,
      );
    }
    throw error;
  }
}

/** `first`, then `rest` as it streams, written to a new file at `out` and hashed as written. */
async function writeStreamHashed(
  out: string,
  first: Uint8Array,
  rest: AsyncIterable<Uint8Array>,
): Promise<HashedFile> {
  const hash = createHash('sha256');
  let size = 0;
  const file = await open(out, 'wx', 0o600);
  try {
    for await (const chunk of prepend(first, rest)) {
      hash.update(chunk);
      size += chunk.byteLength;
      // At the file's position, whole.
      await file.writeFile(chunk);
    }
  } finally {
    await file.close();
  }
  return { path: out, size, sha256: hash.digest('hex') };
}

/**
 * A WFDB record (PhysioNet's header(5) and signal(5)): the header the table names, cleaned of
 * its comments and record-level information by @lantern/deid, and the signal files it names
 * (beside it in the delivery), which hold samples only and travel as they are, renamed after
 * the published record. The whole record is read by @lantern/formats first (sizes, checksums,
 * formats 16 and 212); a record that cannot be read is held back, nothing of it written, and its
 * reason quotes no name from it.
 */
async function writeWfdb(job: FileJobBase, folder: ScratchFiles): Promise<WrittenOutcome> {
  const { path, name } = job;
  if ((await stat(path)).size > WFDB_HEADER_MAX_BYTES) {
    return heldUnreadable('a WFDB header larger than 1 MiB; held back, nothing of it stored');
  }
  const headerBytes = await readFile(path);
  const recordName = basename(name).replace(/\..*$/u, '');
  try {
    const sources = new Map<string, Uint8Array>();
    let total = 0;
    const names = new Set(
      parseWfdbHeader(headerBytes, { name }).signals.map((signal) => signal.fileName.trim()),
    );
    for (const fileName of names) {
      if (!WFDB_FILE_NAME.test(fileName)) {
        return heldUnreadable(
          'a WFDB signal file name with a folder or an odd character; held back',
        );
      }
      const signalPath = join(dirname(path), fileName);
      const size = await stat(signalPath).then(
        (s) => (s.isFile() ? s.size : null),
        () => null,
      );
      if (size === null) {
        return heldUnreadable('a signal file the WFDB header names is missing; held back');
      }
      total += size;
      if (total > WFDB_SIGNALS_MAX_BYTES) {
        return heldUnreadable(
          'the WFDB signal files exceed 2 GiB; held back, nothing of it stored',
        );
      }
      sources.set(fileName, await readFile(signalPath));
    }
    // Every sample read once: lengths against the header, checksums, initial values.
    readWfdb(headerBytes, sources, { name, digital: true });
    const header = deidentifyWfdbHeader(headerBytes, {
      name,
      shiftDays: job.shiftDays,
      recordName,
    });
    const published = posix.dirname(name);
    const files: WrittenFile[] = [{ path: name, file: folder.write(header.bytes, header.sha256) }];
    for (const file of header.files) {
      const bytes = sources.get(file.source);
      if (bytes === undefined) {
        return heldUnreadable('a signal file the WFDB header names is missing; held back');
      }
      files.push({ path: `${published}/${file.published}`, file: folder.write(bytes) });
    }
    return { kind: 'written', files };
  } catch (error) {
    if (error instanceof FormatError || error instanceof WfdbDeidError) {
      return heldUnreadable(
        `the WFDB record cannot be read (${error.code}); held back, nothing stored`,
      );
    }
    throw error;
  }
}

/**
 * The first `bytes` bytes of a file (all of it when shorter). Anything but a regular file is a
 * NotReadWholeError: opened without waiting for a writer and refused, so that a named pipe put in
 * a delivery after it was checked cannot hold a thread of the pool for ever.
 */
export async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) {
      throw new NotReadWholeError('not a regular file');
    }
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function* prepend(
  first: Uint8Array,
  rest: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield first;
  yield* rest;
}

/**
 * `bytes` bytes of a file from `start` (`name` is its published name, for errors); a file cut short since it was measured is a `truncated`
 * FormatError (the store then keeps nothing of it).
 */
async function* streamFile(
  path: string,
  range: { name: string; start: number; bytes: number },
): AsyncGenerator<Uint8Array> {
  if (range.bytes === 0) {
    return;
  }
  const handle = await open(path, 'r');
  let read = 0;
  try {
    const stream = handle.createReadStream({
      start: range.start,
      end: range.start + range.bytes - 1,
      highWaterMark: 1 << 20,
    });
    for await (const chunk of stream) {
      read += (chunk as Uint8Array).byteLength;
      yield chunk as Uint8Array;
    }
  } finally {
    await handle.close();
  }
  if (read !== range.bytes) {
    throw new FormatError('truncated', 'the file was cut short while it was read', {
      file: range.name,
      offset: range.start + read,
    });
  }
}
