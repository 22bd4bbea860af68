import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { Database, EmailOutboxTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;
export type OutboxRow = Selectable<EmailOutboxTable>;

/** SQL of the email outbox. System-wide: only admins read it, and the sender works through it. */
export const outboxRepository = {
  async enqueue(executor: Executor, message: Insertable<EmailOutboxTable>): Promise<void> {
    await executor.insertInto('email_outbox').values(message).execute();
  },

  /** Unsent messages whose time has come, locked for this transaction (SKIP LOCKED: replicas share). */
  async claimDue(trx: Transaction<Database>, now: Date, limit: number): Promise<OutboxRow[]> {
    return trx
      .selectFrom('email_outbox')
      .selectAll()
      .where('sent_at', 'is', null)
      .where('next_attempt_at', '<=', now)
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
  },

  async markSent(trx: Transaction<Database>, id: number, now: Date): Promise<void> {
    await trx
      .updateTable('email_outbox')
      .set({ sent_at: now, last_error: null })
      .where('id', '=', id)
      .execute();
  },

  async markFailed(
    trx: Transaction<Database>,
    id: number,
    attempts: number,
    error: string,
    next: Date,
  ): Promise<void> {
    await trx
      .updateTable('email_outbox')
      .set({ attempts, last_error: error.slice(0, 500), next_attempt_at: next })
      .where('id', '=', id)
      .execute();
  },

  /** Newest first, keyset on id. */
  async list(
    executor: Executor,
    filter: { beforeId?: number | undefined; limit: number },
  ): Promise<OutboxRow[]> {
    let query = executor
      .selectFrom('email_outbox')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(filter.limit);
    if (filter.beforeId !== undefined) {
      query = query.where('id', '<', filter.beforeId);
    }
    return query.execute();
  },
};
