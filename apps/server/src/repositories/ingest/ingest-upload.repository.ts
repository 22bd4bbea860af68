import { sql, type Insertable, type Selectable } from 'kysely';
import type {
  IngestUploadFileTable,
  IngestUploadStatus,
  IngestUploadTable,
} from '../../db/schema.js';
import { beat, jsonOrNull, staleBefore, type Executor } from './ingest-rows.js';
export type IngestUploadRow = Selectable<IngestUploadTable>;
export type IngestUploadFileRow = Selectable<IngestUploadFileTable>;

/** Rows per insert of declared files (well under PostgreSQL's 65,535 parameters). */
const FILES_PER_INSERT = 1000;

/** How an upload's run ended, as recorded. */
export interface UploadEnd {
  status: Extract<IngestUploadStatus, 'done' | 'refused' | 'failed'>;
  progress: unknown;
  summary: unknown;
  problems: unknown[];
  error: string | null;
  touchedAt: Date;
}

/**
 * SQL of remote ingest's uploads. What a curator asks is scoped by the upload's owner (`…Of`
 * functions); the sweeps of idle, finished and interrupted uploads (`system…`) are the server's.
 */
export const ingestUploadRepository = {
  async insert(
    executor: Executor,
    upload: Insertable<IngestUploadTable>,
    files: Insertable<IngestUploadFileTable>[],
  ): Promise<void> {
    await executor.insertInto('ingest_upload').values(upload).execute();
    for (let start = 0; start < files.length; start += FILES_PER_INSERT) {
      await executor
        .insertInto('ingest_upload_file')
        .values(files.slice(start, start + FILES_PER_INSERT))
        .execute();
    }
  },

  /** The owner's upload. */
  async findOf(
    executor: Executor,
    owner: string,
    id: string,
  ): Promise<IngestUploadRow | undefined> {
    return executor
      .selectFrom('ingest_upload')
      .selectAll()
      .where('id', '=', id)
      .where('owner', '=', owner)
      .executeTakeFirst();
  },

  /** An upload's files, in the order declared. */
  async filesOf(executor: Executor, owner: string, id: string): Promise<IngestUploadFileRow[]> {
    return executor
      .selectFrom('ingest_upload_file')
      .innerJoin('ingest_upload', 'ingest_upload.id', 'ingest_upload_file.upload_id')
      .selectAll('ingest_upload_file')
      .where('ingest_upload.id', '=', id)
      .where('ingest_upload.owner', '=', owner)
      .orderBy('ingest_upload_file.idx')
      .execute();
  },

  /** One declared file of the owner's upload, by its place in the list. */
  async fileOf(
    executor: Executor,
    owner: string,
    id: string,
    index: number,
  ): Promise<IngestUploadFileRow | undefined> {
    return executor
      .selectFrom('ingest_upload_file')
      .innerJoin('ingest_upload', 'ingest_upload.id', 'ingest_upload_file.upload_id')
      .selectAll('ingest_upload_file')
      .where('ingest_upload.id', '=', id)
      .where('ingest_upload.owner', '=', owner)
      .where('ingest_upload_file.idx', '=', index)
      .executeTakeFirst();
  },

  /** Files complete, and bytes held, of an upload (complete files and parts of the others). */
  async received(executor: Executor, id: string): Promise<{ files: number; bytes: number }> {
    const row = await executor
      .selectFrom('ingest_upload_file')
      .select([
        sql<string>`count(*) filter (where received = size)`.as('files'),
        sql<string>`coalesce(sum(received), 0)`.as('bytes'),
      ])
      .where('upload_id', '=', id)
      .executeTakeFirstOrThrow();
    return { files: Number(row.files), bytes: Number(row.bytes) };
  },

  /**
   * Records how many bytes of a file the staging folder holds (and, once complete, the SHA-256 it
   * was checked against), and that the upload was touched; false when the upload no longer takes
   * files (cancelled, expired, run).
   */
  async setReceived(
    executor: Executor,
    id: string,
    index: number,
    received: number,
    touchedAt: Date,
    sha256: string | null = null,
  ): Promise<boolean> {
    const touched = await executor
      .updateTable('ingest_upload')
      .set({ touched_at: touchedAt })
      .where('id', '=', id)
      .where('status', '=', 'uploading')
      .executeTakeFirst();
    if (touched.numUpdatedRows === 0n) {
      return false;
    }
    await executor
      .updateTable('ingest_upload_file')
      .set(sha256 === null ? { received } : { received, sha256 })
      .where('upload_id', '=', id)
      .where('idx', '=', index)
      .execute();
    return true;
  },

  async touch(executor: Executor, id: string, touchedAt: Date): Promise<void> {
    await executor
      .updateTable('ingest_upload')
      .set({ touched_at: touchedAt })
      .where('id', '=', id)
      .execute();
  },

  /**
   * Moves an upload whose every file is complete from uploading to running; false when it was
   * not uploading, or a file is not complete (checked in the same statement).
   */
  async startRun(executor: Executor, id: string, touchedAt: Date): Promise<boolean> {
    const result = await executor
      .updateTable('ingest_upload')
      .set({ status: 'running', touched_at: touchedAt, heartbeat_at: sql<Date>`now()` })
      .where('id', '=', id)
      .where('status', '=', 'uploading')
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('ingest_upload_file')
              .select('idx')
              .where('upload_id', '=', id)
              .whereRef('received', '<', 'size'),
          ),
        ),
      )
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /** Says the run's process is still at it (the database's clock). */
  async beat(executor: Executor, id: string): Promise<void> {
    await beat(executor, 'ingest_upload', id);
  },

  /** Records how a run ended, and forgets the files' paths. */
  async finish(executor: Executor, id: string, end: UploadEnd): Promise<void> {
    await executor
      .updateTable('ingest_upload')
      .set({
        status: end.status,
        progress: jsonOrNull(end.progress),
        summary: jsonOrNull(end.summary),
        problems: JSON.stringify(end.problems),
        error: end.error,
        touched_at: end.touchedAt,
      })
      .where('id', '=', id)
      .execute();
    await executor.deleteFrom('ingest_upload_file').where('upload_id', '=', id).execute();
  },

  /** Deletes the owner's upload unless it is running; false when there was none to delete. */
  async deleteOf(executor: Executor, owner: string, id: string): Promise<boolean> {
    const result = await executor
      .deleteFrom('ingest_upload')
      .where('id', '=', id)
      .where('owner', '=', owner)
      .where('status', '<>', 'running')
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  },

  /** Deletes uploads in `status` untouched since `before`; returns their ids. */
  async systemDeleteIdle(
    executor: Executor,
    status: readonly IngestUploadStatus[],
    before: Date,
  ): Promise<string[]> {
    const rows = await executor
      .deleteFrom('ingest_upload')
      .where('status', 'in', [...status])
      .where('touched_at', '<', before)
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
  },

  /**
   * Marks failed the runs still `running` whose heartbeat is at least `staleMs` old (their
   * process died), forgetting their files' paths; returns their ids.
   */
  async systemFailInterrupted(
    executor: Executor,
    staleMs: number,
    error: string,
    touchedAt: Date,
  ): Promise<string[]> {
    const rows = await executor
      .updateTable('ingest_upload')
      .set({ status: 'failed', error, touched_at: touchedAt })
      .where('status', '=', 'running')
      .where('heartbeat_at', '<=', staleBefore(staleMs))
      .returning('id')
      .execute();
    const ids = rows.map((row) => row.id);
    if (ids.length > 0) {
      await executor.deleteFrom('ingest_upload_file').where('upload_id', 'in', ids).execute();
    }
    return ids;
  },

  /** Of `ids`, the uploads whose staging folder is still wanted (uploading or running). */
  async systemLive(executor: Executor, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) {
      return new Set();
    }
    const rows = await executor
      .selectFrom('ingest_upload')
      .select('id')
      .where('id', 'in', [...ids])
      .where('status', 'in', ['uploading', 'running'])
      .execute();
    return new Set(rows.map((row) => row.id));
  },
};
