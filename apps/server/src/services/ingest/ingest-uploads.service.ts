/**
 * Remote ingest (issue 6): `lantern ingest DIR --server URL` and the web app's ingest page hand a
 * delivery to a running server, which ingests it with the same pipeline as a local ingest. The
 * curator first declares the delivery's files with their sizes (and SHA-256, if known;
 * `delivery.yaml` among them); each file is then streamed into a staging folder of the data
 * directory — only declared files, never more bytes than declared; `run` ingests the folder in the
 * background, and the folder is deleted when the run ends, whatever happens, because it holds
 * identified data. Its owner may cancel an upload not yet running: sends in flight stop, and its
 * staging folder goes at once. Uploads left unrun an hour expire, files and all.
 *
 * Uploads are resumable. The upload and its files are rows of the database (how many bytes of each
 * file the folder holds), so a restart of the server or a dropped connection loses nothing: the
 * client asks which bytes the server has (`files`) and sends the rest of each file as a chunk at
 * its offset. A chunk must start exactly where the file's bytes end and may not run past its
 * declared size; a refused chunk leaves the file as it was, and a chunk whose connection drops
 * keeps the bytes that arrived. A file is sent whole when no offset is given (all or nothing).
 *
 * Integrity: the server hashes each file's bytes as they arrive (a running SHA-256 per file, kept
 * between its chunks), and a file complete must have the SHA-256 its client declared — with the
 * chunk that completes it (so a client hashes while it sends, reading each byte once), or when it
 * declared the delivery. A mismatch discards the file's bytes, and only its (409 against a hash
 * sent with the chunk: the client sends the file again from its start). No file is taken
 * unchecked: a send that would complete one with neither is refused (400), its bytes discarded and
 * those before it kept, for the same send to come again with the file's SHA-256 (the CLI and the
 * web app both hash as they send, so every delivery is checked end to end). The running hash
 * lives in this process: after a restart, or a chunk another process took, it is rebuilt from the
 * bytes of the file already held, read once more.
 *
 * Files are named in URLs and in the audit log by their place in the declared list, never by path:
 * a partner's paths may hold source identifiers (an accession number in a file name). The paths
 * themselves are rows of the database only while the upload needs them, and errors (which the
 * server logs) name files by index too.
 *
 * The staging folder of an upload: `<data dir>/ingest-staging/<id>/delivery/<path>` holds the
 * files complete, `…/<id>/parts/<index>` those still arriving. Folders and files are the server's
 * user's alone (0700, 0600).
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import { AppError, type FieldError } from '@lantern/core';
import { estimateProgress, type IngestSummary } from '@lantern/core/ingest';
import type { Database, IngestUploadStatus } from '../../db/schema.js';
import {
  ingestUploadRepository as repo,
  type IngestUploadFileRow,
  type IngestUploadRow,
} from '../../repositories/ingest/ingest-upload.repository.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import { summarize } from './ingest-summary.js';
import { INGEST_HEARTBEAT_MS, type IngestProgress, type IngestService } from './ingest.service.js';

/** The folder of the data directory that staging folders go in. */
export const STAGING_DIR = 'ingest-staging';
/** The most files and bytes one delivery may declare. */
export const UPLOAD_MAX_FILES = 100_000;
export const UPLOAD_MAX_BYTES = 1024 ** 4;
/** The longest path of a delivery's file. */
export const UPLOAD_PATH_MAX = 1024;
/** An upload nobody has touched for this long is removed, with its files. */
export const UPLOAD_IDLE_MS = 60 * 60 * 1000;
/** A finished upload's answer is kept this long for its client to read. */
const FINISHED_KEPT_MS = 24 * 60 * 60 * 1000;
/** What an upload whose run a stopped server left says. */
export const UPLOAD_INTERRUPTED =
  'interrupted: the server stopped while the delivery was ingested; the draft page says what the ingest left, and the delivery may be uploaded again';

export type UploadStatus = IngestUploadStatus;

/**
 * The run's progress as its client sees it: the ingest's phase and items, with the time since the
 * run and its phase began, the bytes stored per second and the phase's time left (null until one
 * item is done).
 */
export interface UploadProgress extends IngestProgress {
  elapsedMs: number;
  phaseElapsedMs: number;
  bytesPerSecond: number | null;
  secondsLeft: number | null;
}

/** Where an upload stands, as its client sees it. */
export interface UploadView {
  id: string;
  status: UploadStatus;
  /** Files complete, and bytes held (of complete files and parts of the others). */
  files: { declared: number; received: number };
  bytes: { declared: number; received: number };
  /** Once running: the ingest's phase, items, rate and time left. */
  progress: UploadProgress | null;
  /** Once done: the draft made. */
  summary: IngestSummary | null;
  /** Once refused: every problem of the delivery. */
  problems: FieldError[];
  /** Once failed: why. */
  error: string | null;
}

/** One declared file, and how many of its bytes the server holds. */
export interface UploadFileView {
  index: number;
  path: string;
  size: number;
  sha256: string | null;
  received: number;
}

/** A file as a client declares it. */
export interface DeclaredFile {
  path: string;
  size: number;
  sha256?: string | undefined;
}

/** One send of a file in flight: it stops when aborted, and `done` settles once it kept its bytes. */
interface Send {
  controller: AbortController;
  done: Promise<void>;
}

/** The SHA-256 of the first `offset` bytes of a file held, to go on with as its next bytes arrive. */
interface RunningHash {
  offset: number;
  hash: Hash;
}

/** What this process knows of an upload beyond its row: sends in flight, hashes, its run. */
interface LiveUpload {
  /** Files being sent now, by index. */
  writing: Map<number, Send>;
  /** Files being received, by index: the hash of the bytes held so far. */
  hashes: Map<number, RunningHash>;
  /** Cancelled or expired: sends in flight stop, and their bytes go with the folder. */
  cancelled: boolean;
  progress: IngestProgress | null;
  /** When the run and its current phase began (the service's clock). */
  runStarted: number;
  phaseStarted: number;
  /** The background run, awaited when the service closes. */
  running: Promise<void> | null;
}

/**
 * Why `path` may not name a file of a delivery, or null: a relative path of `/`-separated names,
 * none empty, `.` or `..`, without backslashes or control characters.
 */
export function deliveryPathProblem(path: string): string | null {
  if (path.length === 0 || path.length > UPLOAD_PATH_MAX) {
    return `a path has 1 to ${UPLOAD_PATH_MAX} characters`;
  }
  if (path.startsWith('/')) {
    return 'a path is relative to the delivery folder (no leading /)';
  }
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  if (/[\\\u0000-\u001f\u007f]/u.test(path)) {
    return 'a path has no backslashes or control characters';
  }
  if (path.split('/').some((name) => name === '' || name === '.' || name === '..')) {
    return 'a path has no empty, . or .. names';
  }
  return null;
}

export class IngestUploadService {
  private readonly live = new Map<string, LiveUpload>();
  private readonly root: string;

  constructor(
    private readonly db: Kysely<Database>,
    dataDir: string,
    private readonly ingest: IngestService,
    private readonly catalog: CatalogService,
    private readonly clock: () => number = () => Date.now(),
  ) {
    this.root = join(dataDir, STAGING_DIR);
  }

  /**
   * At a start: marks failed the uploads whose run a stopped process left (`staleMs` as the
   * ingest's own recovery: 0 on PGlite, which no other process opens), and removes every staging
   * folder no upload still wants — a crash's leftovers hold identified data.
   */
  async recover(staleMs: number): Promise<number> {
    const interrupted = await repo.systemFailInterrupted(
      this.db,
      staleMs,
      UPLOAD_INTERRUPTED,
      this.now(),
    );
    await this.sweepFolders();
    return interrupted.length;
  }

  /**
   * Removes uploads idle too long (their files with them) and old finished answers. An upload with
   * a send in flight here is not idle, however long its send takes.
   */
  async expire(): Promise<number> {
    const now = this.clock();
    for (const [id, live] of this.live) {
      if (live.writing.size > 0) {
        await repo.touch(this.db, id, new Date(now));
      }
    }
    const idle = await repo.systemDeleteIdle(
      this.db,
      ['uploading'],
      new Date(now - UPLOAD_IDLE_MS),
    );
    for (const id of idle) {
      this.forget(id);
      await this.removeFolder(id);
    }
    const finished = await repo.systemDeleteIdle(
      this.db,
      ['done', 'refused', 'failed'],
      new Date(now - FINISHED_KEPT_MS),
    );
    return idle.length + finished.length;
  }

  /** Declares a delivery's files; `delivery.yaml` must be one of them. */
  async create(owner: string, files: readonly DeclaredFile[]): Promise<UploadView> {
    const errors: FieldError[] = [];
    const paths = new Set<string>();
    let total = 0;
    for (const [index, file] of files.entries()) {
      const problem = deliveryPathProblem(file.path);
      if (problem !== null) {
        errors.push({ path: `body.files.${index}.path`, message: problem });
      } else if (paths.has(file.path)) {
        errors.push({ path: `body.files.${index}.path`, message: `${file.path} is listed twice` });
      }
      paths.add(file.path);
      total += file.size;
    }
    if (!paths.has('delivery.yaml')) {
      errors.push({ path: 'body.files', message: 'a delivery has delivery.yaml at its top' });
    }
    if (files.length > UPLOAD_MAX_FILES || total > UPLOAD_MAX_BYTES) {
      errors.push({
        path: 'body.files',
        message: `a delivery has at most ${UPLOAD_MAX_FILES} files and ${UPLOAD_MAX_BYTES} bytes`,
      });
    }
    if (errors.length > 0) {
      throw new AppError('validation_failed', 'the delivery cannot be uploaded', { errors });
    }
    await this.expire();
    const id = `upl_${randomBytes(10).toString('hex')}`;
    // The row first: a start's sweep never removes the folder of an upload it knows.
    await this.db.transaction().execute((trx) =>
      repo.insert(
        trx,
        {
          id,
          owner,
          status: 'uploading',
          declared_files: files.length,
          declared_bytes: total,
          touched_at: this.now(),
        },
        files.map((file, index) => ({
          upload_id: id,
          idx: index,
          path: file.path,
          size: file.size,
          sha256: file.sha256 ?? null,
        })),
      ),
    );
    await mkdir(join(this.dirOf(id), 'delivery'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.dirOf(id), 'parts'), { recursive: true, mode: 0o700 });
    // An empty file is complete as declared: there is nothing to send.
    for (const file of files.filter((f) => f.size === 0)) {
      const target = join(this.dirOf(id), 'delivery', file.path);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await writeFile(target, new Uint8Array(0), { mode: 0o600 });
    }
    return this.get(owner, id);
  }

  /** The declared files and how many bytes of each the server holds, for a client to resume. */
  async files(owner: string, id: string): Promise<UploadFileView[]> {
    const upload = await this.find(owner, id);
    if (upload.status !== 'uploading') {
      return [];
    }
    const rows = await repo.filesOf(this.db, owner, id);
    return rows.map((row) => ({
      index: row.idx,
      path: row.path,
      size: Number(row.size),
      sha256: row.sha256,
      received: Number(row.received),
    }));
  }

  /**
   * Streams bytes of one declared file (by its index) into the staging folder. With `offset`
   * null the body is the whole file, kept only when it has exactly its declared size. With an
   * offset it is a chunk: the offset must be where the file's bytes end on the server, and the
   * chunk may not run past the declared size; a refused chunk changes nothing, and one whose
   * connection drops keeps what arrived. A file complete is checked against its SHA-256 — `sha256`
   * if this send completes it (replacing any declared before), else the one declared; with neither
   * the send is refused — and moved into the delivery.
   */
  async putFile(
    owner: string,
    id: string,
    index: number,
    offset: number | null,
    body: AsyncIterable<Uint8Array>,
    sha256: string | null = null,
  ): Promise<UploadView> {
    const upload = await this.find(owner, id);
    if (upload.status !== 'uploading') {
      throw new AppError(
        'conflict',
        `the upload ${id} is ${upload.status}; files can no longer be sent`,
      );
    }
    const live = this.liveOf(id);
    // A client sending a file again has given up on its earlier send, whose connection may have
    // died without this server noticing (it would wait for its body for ever): the newer send
    // takes over once the earlier one stopped and recorded what had arrived, so the file's row is
    // read after that (and read again if yet another send began meanwhile).
    let file: IngestUploadFileRow | undefined;
    for (;;) {
      const earlier = live.writing.get(index);
      if (earlier !== undefined) {
        earlier.controller.abort();
        await earlier.done;
        continue;
      }
      file = await repo.fileOf(this.db, owner, id, index);
      if (!live.writing.has(index)) {
        break;
      }
    }
    if (file === undefined) {
      throw new AppError('not_found', `the upload ${id} has no file ${index}`);
    }
    const target = resolve(this.dirOf(id), 'delivery', file.path);
    if (!target.startsWith(`${join(this.dirOf(id), 'delivery')}${sep}`)) {
      throw new AppError('validation_failed', `file ${index} is outside the delivery`);
    }
    let stopped: () => void = () => undefined;
    const send: Send = {
      controller: new AbortController(),
      done: new Promise<void>((done) => (stopped = done)),
    };
    live.writing.set(index, send);
    try {
      await this.receive(id, file, target, { offset, sha256 }, body, live, send.controller.signal);
    } finally {
      live.writing.delete(index);
      stopped();
      // A cancel while this file arrived: whatever this send wrote goes with the folder.
      if (live.cancelled) {
        await this.removeFolder(id);
      }
    }
    return this.get(owner, id);
  }

  /** Starts the ingest of a complete upload in the background; the staging folder goes when it ends. */
  async run(owner: string, id: string): Promise<UploadView> {
    const upload = await this.find(owner, id);
    if (upload.status !== 'uploading') {
      throw new AppError('conflict', `the upload ${id} is ${upload.status} already`);
    }
    const live = this.liveOf(id);
    if (live.writing.size > 0) {
      throw new AppError('conflict', `files of the upload ${id} are being sent`);
    }
    const started = this.clock();
    if (!(await repo.startRun(this.db, id, new Date(started)))) {
      const files = await repo.filesOf(this.db, owner, id);
      const missing = files.filter((f) => f.received !== f.size);
      if (missing.length === 0) {
        throw new AppError('conflict', `the upload ${id} is no longer uploading`);
      }
      throw new AppError('validation_failed', `${missing.length} declared files were not sent`, {
        errors: missing.slice(0, 100).map((f) => ({
          path: f.path,
          message: `not sent (${f.received} of ${f.size} bytes)`,
        })),
      });
    }
    live.runStarted = started;
    live.phaseStarted = started;
    live.running = this.ingestUpload(id, owner, live);
    return this.get(owner, id);
  }

  /** Where an upload stands. */
  async get(owner: string, id: string): Promise<UploadView> {
    const upload = await this.find(owner, id);
    const declared = { files: upload.declared_files, bytes: Number(upload.declared_bytes) };
    const received = upload.status === 'uploading' ? await repo.received(this.db, id) : declared;
    return {
      id,
      status: upload.status,
      files: { declared: declared.files, received: received.files },
      bytes: { declared: declared.bytes, received: received.bytes },
      progress: this.progressOf(upload),
      summary: (upload.summary ?? null) as IngestSummary | null,
      problems: upload.problems as FieldError[],
      error: upload.error,
    };
  }

  /**
   * Cancels an upload not yet running: sends in flight stop, its staging folder is removed and the
   * upload forgotten. A finished upload is only forgotten (its folder went when its run ended); a
   * running one cannot be cancelled, since the ingest keeps the draft consistent only if it ends.
   */
  async cancel(owner: string, id: string): Promise<void> {
    const upload = await this.find(owner, id);
    if (upload.status === 'running') {
      throw new AppError(
        'conflict',
        `the upload ${id} is being ingested; it cannot be cancelled, wait for its end`,
      );
    }
    if (!(await repo.deleteOf(this.db, owner, id))) {
      throw new AppError('conflict', `the upload ${id} began its run; it cannot be cancelled`);
    }
    this.forget(id);
    await this.removeFolder(id);
  }

  /**
   * Waits for the runs in progress (a server shutting down). Uploads still being sent keep their
   * files: the next start resumes them.
   */
  async close(): Promise<void> {
    const running = [...this.live.values()].flatMap((live) =>
      live.running === null ? [] : [live.running],
    );
    await Promise.all(running);
  }

  /** Writes one send's bytes and records them; see putFile. */
  private async receive(
    id: string,
    file: IngestUploadFileRow,
    target: string,
    { offset, sha256 }: { offset: number | null; sha256: string | null },
    body: AsyncIterable<Uint8Array>,
    live: LiveUpload,
    signal: AbortSignal,
  ): Promise<void> {
    const size = Number(file.size);
    const part = join(this.dirOf(id), 'parts', String(file.idx));
    const held = await this.heldBytes(file, target, part);
    if (held !== Number(file.received)) {
      // The folder has fewer bytes than recorded (a crash between a write and its record).
      await repo.setReceived(this.db, id, file.idx, held, this.now());
    }
    if (offset !== null && offset !== held) {
      throw new AppError(
        'conflict',
        `file ${file.idx}: the chunk starts at byte ${offset}, but the server holds ${held} of its ${size} bytes; send from byte ${held}`,
        { errors: [{ path: 'query.offset', message: `the server holds ${held} bytes` }] },
      );
    }
    const start = offset ?? 0;
    if (start === size && held === size) {
      // Complete already: an empty chunk at its end changes nothing, a longer one is refused.
      const counter = new ByteBound(0, file, () => live.cancelled);
      await pipeline(body, counter, new Writable({ write: (_chunk, _encoding, done) => done() }));
      return;
    }
    if (start === 0) {
      // Sent anew from its start: a complete copy of it goes.
      await rm(target, { force: true });
    }
    const running = await this.runningHash(live, file.idx, part, start);
    const counter = new ByteBound(size - start, file, () => live.cancelled, running.hash);
    const out = createWriteStream(part, { flags: start === 0 ? 'w' : 'r+', start, mode: 0o600 });
    let kept: number;
    let failure: Error | null = null;
    try {
      await pipeline(body, counter, out, { signal });
      kept = start + counter.count;
      if (offset === null && kept !== size) {
        failure = new AppError(
          'validation_failed',
          `file ${file.idx} has ${counter.count} bytes, not the ${size} declared`,
        );
        kept = 0;
      }
    } catch (error) {
      failure = signal.aborted
        ? new AppError('conflict', `file ${file.idx}: a newer send of it took over`)
        : error instanceof Error
          ? error
          : new Error(String(error));
      // Refused (too long, cancelled), or sent whole: nothing of this send is kept. A chunk whose
      // connection dropped, or that a newer send took over, keeps the bytes written.
      kept = error instanceof AppError || offset === null ? start : start + out.bytesWritten;
    }
    if (live.cancelled) {
      // Its folder is gone, or going: nothing of this send is kept.
      throw new AppError(
        'conflict',
        `the upload ${id} was cancelled while file ${file.idx} was sent`,
      );
    }
    await truncate(part, kept);
    // The hash goes on from here only if it took exactly the bytes kept; else it is rebuilt.
    running.offset = start + counter.hashed;
    if (running.offset !== kept) {
      live.hashes.delete(file.idx);
    }
    let completed: string | null = null;
    if (failure === null && kept === size) {
      live.hashes.delete(file.idx);
      const digest = running.hash.digest('hex');
      const expected = sha256 ?? file.sha256;
      if (expected === null) {
        // Unchecked bytes are never taken as the file: only this send's go, and its client may
        // send them again with the file's SHA-256.
        failure = hashMissing(file.idx);
        kept = start;
        await truncate(part, kept);
      } else if (digest !== expected) {
        failure = hashMismatch(file.idx, sha256 !== null);
        kept = 0;
        await truncate(part, 0);
      } else {
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        await rename(part, target);
        completed = expected;
      }
    }
    const recorded = await repo.setReceived(this.db, id, file.idx, kept, this.now(), completed);
    if (failure !== null) {
      throw failure;
    }
    if (!recorded) {
      throw new AppError('conflict', `the upload ${id} no longer takes files`);
    }
  }

  /**
   * The hash of the first `start` bytes of file `index` held in `part`: the one its last send left
   * in this process if it ends there, else made by reading those bytes (after a restart, or when
   * another process took the file's last chunk).
   */
  private async runningHash(
    live: LiveUpload,
    index: number,
    part: string,
    start: number,
  ): Promise<RunningHash> {
    const kept = live.hashes.get(index);
    if (kept !== undefined && kept.offset === start) {
      return kept;
    }
    const running: RunningHash = { offset: start, hash: createHash('sha256') };
    if (start > 0) {
      for await (const chunk of createReadStream(part, { start: 0, end: start - 1 })) {
        running.hash.update(chunk as Buffer);
      }
    }
    live.hashes.set(index, running);
    return running;
  }

  /**
   * How many bytes of a file the folder really holds: what its row says, unless the bytes are not
   * there (a complete file's copy, or its part, shorter or missing).
   */
  private async heldBytes(
    file: IngestUploadFileRow,
    target: string,
    part: string,
  ): Promise<number> {
    const recorded = Number(file.received);
    const size = Number(file.size);
    if (recorded === size) {
      const whole = await stat(target).catch(() => null);
      return whole?.size === size ? size : 0;
    }
    const partial = await stat(part).catch(() => null);
    return Math.min(recorded, partial?.size ?? 0);
  }

  /** Runs the ingest; the staging folder is gone before the upload says how it ended. */
  private async ingestUpload(id: string, owner: string, live: LiveUpload): Promise<void> {
    const heartbeat = setInterval(() => {
      // A missed beat is retried on the next; only a long silence makes the run look interrupted.
      repo.beat(this.db, id).catch(() => undefined);
    }, INGEST_HEARTBEAT_MS);
    heartbeat.unref();
    let end: {
      status: 'done' | 'refused' | 'failed';
      summary: IngestSummary | null;
      problems: FieldError[];
      error: string | null;
    };
    try {
      const report = await this.ingest.ingestDirectory(join(this.dirOf(id), 'delivery'), {
        actor: owner,
        onProgress: (progress) => {
          if (progress.phase !== live.progress?.phase) {
            live.phaseStarted = this.clock();
          }
          live.progress = progress;
        },
      });
      const preview = await this.catalog.preview(report.dataset);
      end = {
        status: 'done',
        summary: summarize(id, report, preview),
        problems: [],
        error: null,
      };
    } catch (error) {
      end =
        error instanceof AppError && error.code === 'validation_failed'
          ? { status: 'refused', summary: null, problems: error.errors ?? [], error: error.message }
          : {
              status: 'failed',
              summary: null,
              problems: [],
              error: error instanceof Error ? error.message : String(error),
            };
    } finally {
      clearInterval(heartbeat);
    }
    try {
      await this.removeFolder(id);
    } finally {
      const ended = this.clock();
      await repo.finish(this.db, id, {
        ...end,
        progress: this.runProgress(live, ended),
        touchedAt: new Date(ended),
      });
      this.live.delete(id);
    }
  }

  /** The caller's upload; anyone else's is not found. */
  private async find(owner: string, id: string): Promise<IngestUploadRow> {
    const upload = await repo.findOf(this.db, owner, id);
    if (upload === undefined) {
      throw new AppError('not_found', `no upload ${id}`);
    }
    return upload;
  }

  /** A running upload's progress worked out now; a finished one's as it ended. */
  private progressOf(upload: IngestUploadRow): UploadProgress | null {
    if (upload.status === 'running') {
      const live = this.live.get(upload.id);
      return live === undefined ? null : this.runProgress(live, this.clock());
    }
    return (upload.progress ?? null) as UploadProgress | null;
  }

  private runProgress(live: LiveUpload, now: number): UploadProgress | null {
    const { progress } = live;
    if (progress === null) {
      return null;
    }
    const elapsedMs = Math.max(0, now - live.runStarted);
    const phaseElapsedMs = Math.max(0, now - live.phaseStarted);
    return {
      ...progress,
      elapsedMs,
      phaseElapsedMs,
      ...estimateProgress(progress, elapsedMs, phaseElapsedMs),
    };
  }

  /** An upload gone (cancelled, expired): its sends in flight stop, and this process forgets it. */
  private forget(id: string): void {
    const live = this.live.get(id);
    if (live !== undefined) {
      live.cancelled = true;
      // Sends waiting for bytes stop now, not when (if ever) their next bytes come.
      for (const send of live.writing.values()) {
        send.controller.abort();
      }
      this.live.delete(id);
    }
  }

  private liveOf(id: string): LiveUpload {
    let live = this.live.get(id);
    if (live === undefined) {
      live = {
        writing: new Map(),
        hashes: new Map(),
        cancelled: false,
        progress: null,
        runStarted: 0,
        phaseStarted: 0,
        running: null,
      };
      this.live.set(id, live);
    }
    return live;
  }

  /** Removes the staging folders of this data directory that no upload wants any more. */
  private async sweepFolders(): Promise<void> {
    const entries = await readdir(this.root).catch(() => []);
    const wanted = await repo.systemLive(this.db, entries);
    for (const entry of entries) {
      if (!wanted.has(entry)) {
        await rm(join(this.root, entry), { recursive: true, force: true });
      }
    }
  }

  private dirOf(id: string): string {
    return join(this.root, id);
  }

  private async removeFolder(id: string): Promise<void> {
    await rm(this.dirOf(id), { recursive: true, force: true });
  }

  private now(): Date {
    return new Date(this.clock());
  }
}

/**
 * The refusal of the send that completes a file with no SHA-256 to check it against (none given
 * with it, none declared): every file is checked end to end, so the bytes of that send are
 * discarded (the file's earlier bytes stay, and are checked when it completes).
 */
function hashMissing(index: number): AppError {
  return new AppError(
    'validation_failed',
    `file ${index}: this send completes it, but no SHA-256 came with it or was declared; send it again with the SHA-256 of the whole file (?sha256=)`,
    { errors: [{ path: 'query.sha256', message: 'required with the send that completes a file' }] },
  );
}

/**
 * The refusal of a file whose bytes received do not have the SHA-256 expected; its bytes are
 * discarded. Against the SHA-256 sent with its last chunk it is a conflict (409): the client's
 * file changed since its first bytes went, and sending it again from its start, hashed anew, may
 * succeed (the upload loop does so). Against the one declared with the delivery, the file is not
 * the one declared (400).
 */
function hashMismatch(index: number, sentWithChunk: boolean): AppError {
  const errors = [
    {
      path: sentWithChunk ? 'query.sha256' : `body.files.${index}.sha256`,
      message: 'not the SHA-256 of the bytes received',
    },
  ];
  return sentWithChunk
    ? new AppError(
        'conflict',
        `file ${index}: the bytes received do not have the SHA-256 sent with its last chunk (it changed since its first bytes were sent?); they were discarded: send the file again from its start`,
        { errors },
      )
    : new AppError(
        'validation_failed',
        `file ${index} does not have the SHA-256 declared; it was discarded, send it again`,
        { errors },
      );
}

/**
 * Passes bytes on and counts them, failing as soon as there are more than `limit`, or once the
 * upload is cancelled; the bytes passed on go into `hash` too, if given (`hashed` of them).
 */
class ByteBound extends Transform {
  count = 0;
  hashed = 0;

  constructor(
    private readonly limit: number,
    private readonly file: IngestUploadFileRow,
    private readonly isCancelled: () => boolean,
    private readonly hash: Hash | null = null,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.isCancelled()) {
      done(
        new AppError(
          'conflict',
          `the upload was cancelled while file ${this.file.idx} was being sent`,
        ),
      );
      return;
    }
    this.count += chunk.length;
    if (this.count > this.limit) {
      done(
        new AppError(
          'payload_too_large',
          `file ${this.file.idx} has ${this.file.size} bytes; this send has more than the ${this.limit} left to send`,
        ),
      );
      return;
    }
    this.hash?.update(chunk);
    this.hashed += chunk.length;
    done(null, chunk);
  }
}
