import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { IngestRunTable } from '../../db/schema.js';
import { beat, staleBefore, type Executor } from './ingest-rows.js';
export type IngestRunRow = Selectable<IngestRunTable>;

/** What an interrupted run's error says. */
export const INTERRUPTED =
  'interrupted: the process running this ingest stopped before it finished';

/** SQL of ingest runs. */
export const ingestRepository = {
  async insert(executor: Executor, row: Insertable<IngestRunTable>): Promise<void> {
    await executor.insertInto('ingest_run').values(row).execute();
  },

  async update(executor: Executor, id: string, changes: Updateable<IngestRunTable>): Promise<void> {
    await executor.updateTable('ingest_run').set(changes).where('id', '=', id).execute();
  },

  /** Says the run's process is still at it (the database's clock, shared by every replica). */
  async beat(executor: Executor, id: string): Promise<void> {
    await beat(executor, 'ingest_run', id);
  },

  /**
   * Marks failed, as interrupted, the runs still `running` whose heartbeat is at least `staleMs`
   * old; returns their ids.
   */
  async failInterrupted(executor: Executor, staleMs: number): Promise<string[]> {
    const rows = await executor
      .updateTable('ingest_run')
      .set({ status: 'failed', error: INTERRUPTED, finished_at: sql<Date>`now()` })
      .where('status', '=', 'running')
      .where('heartbeat_at', '<=', staleBefore(staleMs))
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
  },

  /** Is a run in progress, or has one started since `since` (the database's clock)? */
  async busySince(executor: Executor, since: Date): Promise<boolean> {
    const row = await executor
      .selectFrom('ingest_run')
      .select('id')
      .where((eb) => eb.or([eb('status', '=', 'running'), eb('started_at', '>=', since)]))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  },

  /** The newest run into a version, whatever its status. */
  async latest(executor: Executor, versionId: string): Promise<IngestRunRow | undefined> {
    return executor
      .selectFrom('ingest_run')
      .selectAll()
      .where('version_id', '=', versionId)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  },

  /** The newest finished run into a version (a draft's review is the last delivery's). */
  async latestDone(executor: Executor, versionId: string): Promise<IngestRunRow | undefined> {
    return executor
      .selectFrom('ingest_run')
      .selectAll()
      .where('version_id', '=', versionId)
      .where('status', '=', 'done')
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  },
};
