/**
 * Remote ingest (issue 6): `lantern ingest DIR --server URL` hands a delivery to a running server,
 * which ingests it with the same pipeline as a local ingest. The curator first declares the
 * delivery's files with their sizes (`delivery.yaml` among them); each file is then streamed into
 * a staging folder of the data directory — only declared paths, checked, never more bytes than
 * declared; `run` ingests the folder in the background, and the folder is deleted when the run
 * ends, whatever happens, because it holds identified data. Uploads left unrun expire, and a
 * start removes any staging folder a crash left behind. Its owner may cancel an upload not yet
 * running (the web app's Cancel): sends in flight stop, and its staging folder goes at once.
 *
 * Uploads live in this process: one server owns its data directory's staging folder.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, type FieldError } from '@lantern/core';
import { estimateProgress, type IngestSummary } from '@lantern/core/ingest';
import type { CatalogService } from '../catalog/catalog.service.js';
import { summarize } from './ingest-summary.js';
import type { IngestProgress, IngestService } from './ingest.service.js';

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

export type UploadStatus = 'uploading' | 'running' | 'done' | 'refused' | 'failed';

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

interface DeclaredFile {
  size: number;
  received: boolean;
  writing: boolean;
}

interface Upload {
  id: string;
  owner: string;
  dir: string;
  files: Map<string, DeclaredFile>;
  status: UploadStatus;
  progress: IngestProgress | null;
  /** When the run and its current phase began (the service's clock). */
  runStarted: number;
  phaseStarted: number;
  summary: IngestSummary | null;
  problems: FieldError[];
  error: string | null;
  touched: number;
  /** Cancelled by its owner: sends in flight stop, and their files are removed. */
  cancelled: boolean;
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
  private readonly uploads = new Map<string, Upload>();
  private readonly root: string;

  constructor(
    dataDir: string,
    private readonly ingest: IngestService,
    private readonly catalog: CatalogService,
    private readonly clock: () => number = () => Date.now(),
  ) {
    this.root = join(dataDir, STAGING_DIR);
  }

  /** Removes every staging folder (a start: no upload of this process exists yet). */
  async sweep(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /** Removes uploads idle too long (their files with them) and old finished answers. */
  async expire(): Promise<number> {
    const now = this.clock();
    let removed = 0;
    for (const upload of [...this.uploads.values()]) {
      const idle = now - upload.touched;
      if (upload.status === 'uploading' && idle > UPLOAD_IDLE_MS) {
        this.uploads.delete(upload.id);
        await rm(upload.dir, { recursive: true, force: true });
        removed += 1;
      } else if (
        upload.status !== 'uploading' &&
        upload.status !== 'running' &&
        idle > FINISHED_KEPT_MS
      ) {
        this.uploads.delete(upload.id);
        removed += 1;
      }
    }
    return removed;
  }

  /** Declares a delivery's files; `delivery.yaml` must be one of them. */
  async create(
    owner: string,
    files: readonly { path: string; size: number }[],
  ): Promise<UploadView> {
    const errors: FieldError[] = [];
    const declared = new Map<string, DeclaredFile>();
    let total = 0;
    for (const [index, file] of files.entries()) {
      const problem = deliveryPathProblem(file.path);
      if (problem !== null) {
        errors.push({ path: `body.files.${index}.path`, message: problem });
      } else if (declared.has(file.path)) {
        errors.push({ path: `body.files.${index}.path`, message: `${file.path} is listed twice` });
      }
      declared.set(file.path, { size: file.size, received: false, writing: false });
      total += file.size;
    }
    if (!declared.has('delivery.yaml')) {
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
    const dir = join(this.root, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const upload: Upload = {
      id,
      owner,
      dir,
      files: declared,
      status: 'uploading',
      progress: null,
      runStarted: 0,
      phaseStarted: 0,
      summary: null,
      problems: [],
      error: null,
      touched: this.clock(),
      cancelled: false,
      running: null,
    };
    this.uploads.set(id, upload);
    return this.viewOf(upload);
  }

  /**
   * Streams one declared file into the staging folder: refused past its declared size, and kept
   * only when it has exactly that size (a file sent again replaces it).
   */
  async putFile(
    owner: string,
    id: string,
    path: string,
    body: AsyncIterable<Uint8Array>,
  ): Promise<UploadView> {
    const upload = this.find(owner, id);
    if (upload.status !== 'uploading') {
      throw new AppError(
        'conflict',
        `the upload ${id} is ${upload.status}; files can no longer be sent`,
      );
    }
    const file = upload.files.get(path);
    if (file === undefined) {
      throw new AppError('not_found', `${path} is not a declared file of the upload ${id}`);
    }
    if (file.writing) {
      throw new AppError('conflict', `${path} is being sent already`);
    }
    const target = resolve(upload.dir, path);
    if (!target.startsWith(`${upload.dir}${sep}`)) {
      throw new AppError('validation_failed', `${path} is outside the delivery`);
    }
    file.writing = true;
    file.received = false;
    upload.touched = this.clock();
    const partial = `${target}.part-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const counter = new ByteBound(file.size, path, () => upload.cancelled);
      await pipeline(body, counter, createWriteStream(partial, { mode: 0o600 }));
      if (counter.count !== file.size) {
        throw new AppError(
          'validation_failed',
          `${path} has ${counter.count} bytes, not the ${file.size} declared`,
        );
      }
      await rename(partial, target);
      file.received = true;
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    } finally {
      file.writing = false;
      upload.touched = this.clock();
      // A cancel while this file arrived: whatever this send wrote goes with the folder.
      if (upload.cancelled) {
        await rm(upload.dir, { recursive: true, force: true });
      }
    }
    return this.viewOf(upload);
  }

  /** Starts the ingest of a complete upload in the background; the staging folder goes when it ends. */
  run(owner: string, id: string): UploadView {
    const upload = this.find(owner, id);
    if (upload.status !== 'uploading') {
      throw new AppError('conflict', `the upload ${id} is ${upload.status} already`);
    }
    const missing = [...upload.files].filter(([, f]) => !f.received).map(([path]) => path);
    if (missing.length > 0) {
      throw new AppError('validation_failed', `${missing.length} declared files were not sent`, {
        errors: missing.slice(0, 100).map((path) => ({ path, message: 'not sent' })),
      });
    }
    upload.status = 'running';
    upload.touched = this.clock();
    upload.runStarted = upload.touched;
    upload.phaseStarted = upload.touched;
    upload.running = this.ingestUpload(upload, owner);
    return this.viewOf(upload);
  }

  /** Where an upload stands. */
  get(owner: string, id: string): UploadView {
    return this.viewOf(this.find(owner, id));
  }

  /**
   * Cancels an upload not yet running: sends in flight stop, its staging folder is removed and the
   * upload forgotten. A finished upload is only forgotten (its folder went when its run ended); a
   * running one cannot be cancelled, since the ingest keeps the draft consistent only if it ends.
   */
  async cancel(owner: string, id: string): Promise<void> {
    const upload = this.find(owner, id);
    if (upload.status === 'running') {
      throw new AppError(
        'conflict',
        `the upload ${id} is being ingested; it cannot be cancelled, wait for its end`,
      );
    }
    upload.cancelled = true;
    this.uploads.delete(id);
    await rm(upload.dir, { recursive: true, force: true });
  }

  /** Waits for the runs in progress (a server shutting down). */
  async close(): Promise<void> {
    const running = [...this.uploads.values()].flatMap((upload) =>
      upload.running === null ? [] : [upload.running],
    );
    await Promise.all(running);
    for (const upload of this.uploads.values()) {
      await rm(upload.dir, { recursive: true, force: true });
    }
  }

  /** Runs the ingest; the staging folder is gone before the upload says how it ended. */
  private async ingestUpload(upload: Upload, owner: string): Promise<void> {
    let finish: () => void;
    try {
      const report = await this.ingest.ingestDirectory(upload.dir, {
        actor: owner,
        onProgress: (progress) => {
          if (progress.phase !== upload.progress?.phase) {
            upload.phaseStarted = this.clock();
          }
          upload.progress = progress;
        },
      });
      const preview = await this.catalog.preview(report.dataset);
      const summary = summarize(upload.id, report, preview);
      finish = () => {
        upload.summary = summary;
        upload.status = 'done';
      };
    } catch (error) {
      finish =
        error instanceof AppError && error.code === 'validation_failed'
          ? () => {
              upload.status = 'refused';
              upload.problems = error.errors ?? [];
              upload.error = error.message;
            }
          : () => {
              upload.status = 'failed';
              upload.error = error instanceof Error ? error.message : String(error);
            };
    }
    try {
      await rm(upload.dir, { recursive: true, force: true });
    } finally {
      finish();
      upload.touched = this.clock();
    }
  }

  /** The caller's upload; anyone else's is not found. */
  private find(owner: string, id: string): Upload {
    const upload = this.uploads.get(id);
    if (upload === undefined || upload.owner !== owner) {
      throw new AppError('not_found', `no upload ${id}`);
    }
    return upload;
  }

  /** The upload as its client sees it, the run's rate and time left worked out now. */
  private viewOf(upload: Upload): UploadView {
    const { progress } = upload;
    if (progress === null) {
      return viewOf(upload, null);
    }
    // A finished run's times stop at its end.
    const now = upload.status === 'running' ? this.clock() : upload.touched;
    const elapsedMs = Math.max(0, now - upload.runStarted);
    const phaseElapsedMs = Math.max(0, now - upload.phaseStarted);
    return viewOf(upload, {
      ...progress,
      elapsedMs,
      phaseElapsedMs,
      ...estimateProgress(progress, elapsedMs, phaseElapsedMs),
    });
  }
}

function viewOf(upload: Upload, progress: UploadProgress | null): UploadView {
  const files = [...upload.files.values()];
  const received = files.filter((f) => f.received);
  return {
    id: upload.id,
    status: upload.status,
    files: { declared: files.length, received: received.length },
    bytes: {
      declared: files.reduce((sum, f) => sum + f.size, 0),
      received: received.reduce((sum, f) => sum + f.size, 0),
    },
    progress,
    summary: upload.summary,
    problems: upload.problems,
    error: upload.error,
  };
}

/**
 * Passes bytes on and counts them, failing as soon as there are more than `limit`, or once the
 * upload is cancelled.
 */
class ByteBound extends Transform {
  count = 0;

  constructor(
    private readonly limit: number,
    private readonly path: string,
    private readonly isCancelled: () => boolean,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.isCancelled()) {
      done(new AppError('conflict', `the upload was cancelled while ${this.path} was being sent`));
      return;
    }
    this.count += chunk.length;
    if (this.count > this.limit) {
      done(
        new AppError(
          'payload_too_large',
          `${this.path} has more than the ${this.limit} bytes declared`,
        ),
      );
      return;
    }
    done(null, chunk);
  }
}
