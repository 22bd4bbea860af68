/**
 * One native file of a delivery, of any kind the ingest reads, from its path into the object store
 * (issue 6, steps 4 and 6): the one function an IngestPool runs for every file, in its worker
 * processes or in the calling thread alike (ingest-pool.ts), so that the server's main thread
 * reads no file's bytes beyond the head it tells the format from (ingest.service.ts).
 *
 * - DICOM: PS3.15's basic profile with modified dates (dicom-ingest.ts); held in the quarantine
 *   for review when it may carry burned-in text.
 * - Slides: the tiled TIFF rewritten without its label and macro images or identifying tags, into
 *   a private temporary folder of the data directory's ingest scratch area, then stored; the
 *   folder goes on every path, errors included.
 * - GE MUSE XML: cleaned of demographics, the patient's pseudonym written in.
 * - NumPy `.npy` / `.npz`: written again canonically by @lantern/deid (an .npy's header with only
 *   its dtype, order and shape; an .npz with only its arrays, under safe names, with no comments,
 *   extra fields or times), the arrays' bytes as delivered; anything else in them holds the file
 *   back, nothing of it stored, its reason quoting nothing from it.
 * - WFDB: the header cleaned of its comments and record name, the signal files it names (beside it
 *   in the delivery) travelling as they are, renamed after the published record; a record that
 *   cannot be read is held back, nothing of it stored, its reason quoting no name from it.
 *
 * Every object is written to a temporary file and renamed (the stores), so a process killed
 * mid-file leaves no half-stored object. Errors are the readers' and de-identifiers' typed ones
 * (FormatError, DicomDeidError, SlideDeidError, MuseDeidError, NumpyDeidError, TiffWriteError).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
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
import type { ObjectStore, StoredObject } from '../../storage/object-store.js';
import {
  FileTooLargeError,
  ingestDicomFile,
  readWholeFile,
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
      format: 'dicom' | 'unreadable';
      reason: string;
      /** The de-identified bytes kept in the quarantine for the review; none when unreadable. */
      quarantined: StoredObject | null;
    };

/** Where a file's objects go, and the private folder of the data directory for temporary files. */
export interface FileIngestTarget {
  stores: { published: ObjectStore; quarantine: ObjectStore };
  /** The data directory's ingest scratch area (a slide's rewrite), readable by its owner only. */
  scratch: string;
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
 * De-identifies and stores the file `job` names (see the file's comment), reading whole files into
 * `readBuffer` (one caller's files one after another share one).
 */
export async function ingestNativeFile(
  job: FileJob,
  target: FileIngestTarget,
  readBuffer: ReadBuffer,
  remapperOf: (key: Uint8Array) => UidRemapper = hmacUidRemapper,
): Promise<FileOutcome> {
  try {
    return await ingestByKind(job, target, readBuffer, remapperOf);
  } catch (error) {
    if (isSystemError(error)) {
      throw new IngestSystemError(error.code, job.name, error.syscall);
    }
    if (error instanceof FileTooLargeError) {
      // Nothing else in the delivery is wrong: this file waits for a curator, as unreadable ones do.
      return unreadable(`${error.message}; held back, nothing of it stored`);
    }
    throw error;
  }
}

async function ingestByKind(
  job: FileJob,
  target: FileIngestTarget,
  readBuffer: ReadBuffer,
  remapperOf: (key: Uint8Array) => UidRemapper,
): Promise<FileOutcome> {
  switch (job.kind) {
    case 'dicom': {
      const outcome = await ingestDicomFile(
        job.path,
        {
          name: job.name,
          shiftDays: job.shiftDays,
          remapUid: remapperOf(job.uidKey),
          pseudonym: job.pseudonym,
        },
        target.stores,
        readBuffer,
      );
      return outcome.kind === 'held'
        ? { ...outcome, format: 'dicom' }
        : storedAs(job.name, { key: outcome.key, size: outcome.size, existed: outcome.existed });
    }
    case 'slide':
      return storedAs(job.name, await ingestSlide(job, target));
    case 'muse': {
      const result = deidentifyMuseXml(await readWholeFile(job.path, readBuffer), {
        name: job.name,
        shiftDays: job.shiftDays,
        pseudonym: { patientId: job.pseudonym.patientId },
      });
      return storedAs(
        job.name,
        await store(target.stores.published, [result.bytes], result.sha256),
      );
    }
    case 'numpy':
      return ingestNumpy(job, target, readBuffer);
    case 'wfdb':
      return ingestWfdb(job, target);
    default:
      return job satisfies never;
  }
}

/**
 * Removes the folders of `dir` (a scratch area) whose newest entry is older than `before`; a
 * folder being written is left. Returns how many it removed.
 */
export async function sweepFolders(dir: string, before: Date): Promise<number> {
  const folders = await readdir(dir).catch((error: unknown) => {
    if (isMissing(error)) {
      return [];
    }
    throw error;
  });
  let removed = 0;
  for (const name of folders) {
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

function storedAs(path: string, stored: Omit<StoredFile, 'path'>): FileOutcome {
  return { kind: 'stored', files: [{ path, ...stored }] };
}

/**
 * A slide rewritten without its label and macro images and identifying tags, into a folder of its
 * own in the scratch area (mkdtemp: its owner's alone), stored, and the folder removed whatever
 * happened.
 */
async function ingestSlide(
  job: FileJobBase,
  target: FileIngestTarget,
): Promise<Omit<StoredFile, 'path'>> {
  await mkdir(target.scratch, { recursive: true, mode: 0o700 });
  const folder = await mkdtemp(join(target.scratch, 'slide-'));
  try {
    const out = join(folder, 'slide.tif');
    const result = await deidentifySlide(job.path, out, {
      name: job.name,
      shiftDays: job.shiftDays,
    });
    // Taken as written and hashed (putFile): no second hash, and locally no copy either.
    const published = target.stores.published;
    const existed = (await published.head(`sha256/${result.sha256}`)) !== null;
    const stored = await published.putFile({
      path: out,
      size: result.bytesWritten,
      sha256: result.sha256,
    });
    return { key: stored.key, size: stored.size, existed };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * A NumPy file written again by @lantern/deid (numpy.ts): an .npy in memory, or, when large, its
 * canonical header followed by its data streamed from the delivery (hashed by the store as it is
 * written); an .npz in memory. A file it refuses is held back with nothing of it stored, its
 * reason the de-identifier's own (which quotes nothing from the file) or the reader's code.
 */
async function ingestNumpy(
  job: FileJobBase,
  target: FileIngestTarget,
  readBuffer: ReadBuffer,
): Promise<FileOutcome> {
  const { path, name } = job;
  const published = target.stores.published;
  const size = (await stat(path)).size;
  try {
    const head = await readHead(path, NPY_HEAD_BYTES);
    if (isNpy(head) && size > NPY_IN_MEMORY_BYTES) {
      const rewrite = rewriteNpyHeader(head, size, { name });
      // Only the bytes the header declares: whatever a file grown since holds stays behind.
      const data = streamFile(path, {
        name,
        start: rewrite.dataOffset,
        bytes: rewrite.dataBytes,
      });
      const body = prepend(rewrite.header, data);
      return storedAs(name, await store(published, body, null));
    }
    // An archive is no larger than the arrays it holds, stored, and a few bytes a member.
    if (!isNpy(head) && size > NPZ_MAX_TOTAL_BYTES + NPZ_OVERHEAD_BYTES) {
      return unreadable('an .npz larger than 256 MiB; held back, nothing of it stored');
    }
    const bytes = await readWholeFile(path, readBuffer);
    const result = isNpy(head) ? deidentifyNpy(bytes, { name }) : deidentifyNpz(bytes, { name });
    return storedAs(name, await store(published, [...result.chunks], result.sha256));
  } catch (error) {
    if (isNumpyRefusal(error)) {
      const why = error instanceof NumpyDeidError ? error.detail : error.code;
      return unreadable(
        `the NumPy file cannot be de-identified (${why}); held back, nothing stored`,
      );
    }
    throw error;
  }
}

/**
 * A WFDB record (PhysioNet's header(5) and signal(5)): the header the table names, cleaned of
 * its comments and record-level information by @lantern/deid, and the signal files it names
 * (beside it in the delivery), which hold samples only and travel as they are, renamed after
 * the published record. The whole record is read by @lantern/formats first (sizes, checksums,
 * formats 16 and 212); a record that cannot be read is held back, nothing of it stored, and its
 * reason quotes no name from it.
 */
async function ingestWfdb(job: FileJobBase, target: FileIngestTarget): Promise<FileOutcome> {
  const { path, name } = job;
  if ((await stat(path)).size > WFDB_HEADER_MAX_BYTES) {
    return unreadable('a WFDB header larger than 1 MiB; held back, nothing of it stored');
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
        return unreadable('a WFDB signal file name with a folder or an odd character; held back');
      }
      const signalPath = join(dirname(path), fileName);
      const size = await stat(signalPath).then(
        (s) => (s.isFile() ? s.size : null),
        () => null,
      );
      if (size === null) {
        return unreadable('a signal file the WFDB header names is missing; held back');
      }
      total += size;
      if (total > WFDB_SIGNALS_MAX_BYTES) {
        return unreadable('the WFDB signal files exceed 2 GiB; held back, nothing of it stored');
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
    const folder = posix.dirname(name);
    const published = target.stores.published;
    const files: StoredFile[] = [
      { path: name, ...(await store(published, [header.bytes], header.sha256)) },
    ];
    for (const file of header.files) {
      const bytes = sources.get(file.source);
      if (bytes === undefined) {
        return unreadable('a signal file the WFDB header names is missing; held back');
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      files.push({
        path: `${folder}/${file.published}`,
        ...(await store(published, [bytes], sha256)),
      });
    }
    return { kind: 'stored', files };
  } catch (error) {
    if (error instanceof FormatError || error instanceof WfdbDeidError) {
      return unreadable(
        `the WFDB record cannot be read (${error.code}); held back, nothing stored`,
      );
    }
    throw error;
  }
}

/**
 * Stores bytes; `sha256`, when known, tells a repeat of stored bytes (kept once) apart, and
 * for bytes in memory, names them without a second hash.
 */
async function store(
  published: ObjectStore,
  body: AsyncIterable<Uint8Array> | Uint8Array[],
  sha256: string | null,
): Promise<Omit<StoredFile, 'path'>> {
  const existed = sha256 !== null && (await published.head(`sha256/${sha256}`)) !== null;
  // Bytes in memory hashed where they were made are not hashed again (every byte hashed once).
  const stored =
    Array.isArray(body) && sha256 !== null
      ? await published.putHashed({
          chunks: body,
          size: body.reduce((sum, chunk) => sum + chunk.byteLength, 0),
          sha256,
        })
      : await published.put(toAsync(body));
  return { key: stored.key, size: stored.size, existed };
}

/** The first `bytes` bytes of a file (all of it when shorter). */
export async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
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

async function* toAsync(
  body: AsyncIterable<Uint8Array> | Uint8Array[],
): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    yield chunk;
  }
}
