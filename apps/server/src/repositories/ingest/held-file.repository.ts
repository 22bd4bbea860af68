import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, HeldDecision, IngestHeldFileTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;
export type HeldFileRow = Selectable<IngestHeldFileTable>;

/**
 * Held files a statement inserts at most: PostgreSQL binds at most 65,535 parameters, and a row
 * binds one a column (a run holding thousands of radiographs would otherwise fail on PostgreSQL).
 */
const HELD_ROWS_PER_STATEMENT = 1000;

/** SQL of the files ingests held back for review, and of curators' decisions on them. */
export const heldFileRepository = {
  /** Inserts a run's held files, HELD_ROWS_PER_STATEMENT rows a statement. */
  async insert(executor: Executor, rows: Insertable<IngestHeldFileTable>[]): Promise<void> {
    for (let start = 0; start < rows.length; start += HELD_ROWS_PER_STATEMENT) {
      await executor
        .insertInto('ingest_held_file')
        .values(rows.slice(start, start + HELD_ROWS_PER_STATEMENT))
        .execute();
    }
  },

  /** The files a run held, by path. */
  async ofRun(executor: Executor, ingestId: string): Promise<HeldFileRow[]> {
    return executor
      .selectFrom('ingest_held_file')
      .selectAll()
      .where('ingest_id', '=', ingestId)
      .orderBy('path')
      .execute();
  },

  /** The files a run held, locked for a decision (two curators deciding at once wait in turn). */
  async ofRunForUpdate(
    trx: Transaction<Database>,
    ingestId: string,
    ids: readonly string[],
  ): Promise<HeldFileRow[]> {
    if (ids.length === 0) {
      return [];
    }
    return trx
      .selectFrom('ingest_held_file')
      .selectAll()
      .where('ingest_id', '=', ingestId)
      .where('id', 'in', [...ids])
      .forUpdate()
      .execute();
  },

  /** Records a decision on a file still undecided; false when it was decided already. */
  async decide(
    executor: Executor,
    id: string,
    decision: { decision: HeldDecision; note: string | null; by: string },
  ): Promise<boolean> {
    const result = await executor
      .updateTable('ingest_held_file')
      .set({
        decision: decision.decision,
        note: decision.note,
        decided_by: decision.by,
        decided_at: sql<Date>`now()`,
      })
      .where('id', '=', id)
      .where('decision', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /**
   * The quarantine keys a review may still need: those of the files held by the last finished
   * run into each draft (decided or not, so that a curator can still look at what was decided
   * until the draft is published or ingested again). Everything else in the quarantine — files
   * of runs superseded, of versions published, of runs a crash cut short — is for the sweep.
   */
  async quarantineKeys(executor: Executor): Promise<Set<string>> {
    const rows = await executor
      .selectFrom('ingest_held_file as h')
      .innerJoin('dataset_version as v', 'v.id', 'h.version_id')
      .select('h.quarantine_key')
      .distinct()
      .where('v.status', '=', 'draft')
      .where('h.quarantine_key', 'is not', null)
      .where((eb) =>
        eb(
          'h.ingest_id',
          '=',
          eb
            .selectFrom('ingest_run as r')
            .select('r.id')
            .whereRef('r.version_id', '=', 'h.version_id')
            .where('r.status', '=', 'done')
            .orderBy('r.started_at', 'desc')
            .orderBy('r.id', 'desc')
            .limit(1),
        ),
      )
      .execute();
    const keys = new Set<string>();
    for (const row of rows) {
      if (row.quarantine_key !== null) {
        keys.add(row.quarantine_key);
      }
    }
    return keys;
  },
};
