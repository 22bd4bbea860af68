import type { Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { Database, IngestRunTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;
export type IngestRunRow = Selectable<IngestRunTable>;

/** SQL of ingest runs. */
export const ingestRepository = {
  async insert(executor: Executor, row: Insertable<IngestRunTable>): Promise<void> {
    await executor.insertInto('ingest_run').values(row).execute();
  },

  async update(executor: Executor, id: string, changes: Updateable<IngestRunTable>): Promise<void> {
    await executor.updateTable('ingest_run').set(changes).where('id', '=', id).execute();
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
