import type { AuditOutcome } from '@lantern/core';
import type { FramedAuditEvent, SealedAuditEvent } from '@lantern/core/audit';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';

/** A queued event body, as claimed by the sealer. */
export interface InboxEvent {
  inboxId: number;
  body: string;
}

/** Filters for listing sealed events. */
export interface AuditListFilter {
  /** Only events older than this seq (keyset pagination, newest first). */
  beforeSeq?: number | undefined;
  limit: number;
  action?: string | undefined;
  actor?: string | undefined;
  projectId?: string | undefined;
  requestId?: string | undefined;
  /** Only events that ended this way (`allowed` for changes made, as activity feeds show). */
  outcome?: AuditOutcome | undefined;
  /** Leave out these actions (reads, in a feed of changes). */
  excludeActions?: readonly string[] | undefined;
}

type Executor = Kysely<Database> | Transaction<Database>;

// Arbitrary constant naming the advisory lock that makes the sealer a singleton across replicas.
const SEALER_LOCK_KEY = 7_305_117_001;

// Aliased to SealedAuditEvent's names, so rows need no mapping.
const CHAIN_COLUMNS = ['seq', 'prev_hash as prevHash', 'hash', 'body'] as const;

/**
 * SQL of the audit log, and nothing else. The audit log is system-wide by nature: it records every
 * caller, so its queries are scoped by the filters the service passes, not by one caller.
 */
export const auditRepository = {
  /** Queues event bodies in the caller's transaction, so they commit or roll back with the change. */
  async enqueue(executor: Executor, bodies: readonly string[]): Promise<void> {
    if (bodies.length === 0) {
      return;
    }
    await executor
      .insertInto('audit_inbox')
      .values(bodies.map((body) => ({ body })))
      .execute();
  },

  /** Takes the sealer's lock for this transaction; false when another sealer holds it. */
  async tryLockSealer(trx: Transaction<Database>): Promise<boolean> {
    const { rows } = await sql<{
      locked: boolean;
    }>`select pg_try_advisory_xact_lock(${SEALER_LOCK_KEY}) as locked`.execute(trx);
    return rows[0]?.locked === true;
  },

  /** The last sealed event's seq and hash, or null for an empty log. */
  async head(executor: Executor): Promise<{ seq: number; hash: string } | null> {
    const row = await executor
      .selectFrom('audit_event')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ?? null;
  },

  /** Removes the oldest queued events (at most `limit`) and returns them in queue order. */
  async takeInbox(trx: Transaction<Database>, limit: number): Promise<InboxEvent[]> {
    // One statement claims and removes; SKIP LOCKED leaves rows another transaction holds alone.
    const { rows } = await sql<{ id: number; body: string }>`
      delete from audit_inbox where id in (
        select id from audit_inbox order by id limit ${limit} for update skip locked
      ) returning id, body`.execute(trx);
    return rows.map((r) => ({ inboxId: r.id, body: r.body })).sort((a, b) => a.inboxId - b.inboxId);
  },

  /** Appends sealed events to the chain. */
  async appendSealed(
    trx: Transaction<Database>,
    sealed: readonly SealedAuditEvent[],
  ): Promise<void> {
    if (sealed.length === 0) {
      return;
    }
    // Four array parameters rather than four per row: binding thousands of parameters costs the
    // database more than the insert itself.
    await sql`
      insert into audit_event (seq, prev_hash, hash, body)
      select * from unnest(
        ${sealed.map((e) => e.seq)}::int8[], ${sealed.map((e) => e.prevHash)}::text[],
        ${sealed.map((e) => e.hash)}::text[], ${sealed.map((e) => e.body)}::text[])`.execute(trx);
  },

  /**
   * Sealed events with lo < seq <= hi, in seq order, framed as their hashes cover them
   * (frameAuditEvent in packages/core: prev_hash, seq and body, one per line). The database does
   * the concatenation, so the verifier receives one string per event and hashes it as it is.
   * Ranges rather than keyset pages, so the verifier can fetch the next range while it hashes this
   * one; a missing seq shows as a gap.
   */
  async framedChainRange(executor: Executor, lo: number, hi: number): Promise<FramedAuditEvent[]> {
    const { rows } = await sql<FramedAuditEvent>`
      select seq, hash, prev_hash || E'\n' || seq::text || E'\n' || body as framed
      from audit_event where seq > ${lo} and seq <= ${hi} order by seq`.execute(executor);
    return rows;
  },

  /** Sealed events matching `filter`, newest first. */
  async list(executor: Executor, filter: AuditListFilter): Promise<SealedAuditEvent[]> {
    let query = executor
      .selectFrom('audit_event')
      .select(CHAIN_COLUMNS)
      .orderBy('seq', 'desc')
      .limit(filter.limit);
    if (filter.beforeSeq !== undefined) {
      query = query.where('seq', '<', filter.beforeSeq);
    }
    if (filter.action !== undefined) {
      query = query.where(sql<string>`body::jsonb ->> 'action'`, '=', filter.action);
    }
    if (filter.actor !== undefined) {
      query = query.where('actor', '=', filter.actor);
    }
    if (filter.projectId !== undefined) {
      query = query.where('project_id', '=', filter.projectId);
    }
    if (filter.requestId !== undefined) {
      query = query.where(sql<string>`body::jsonb ->> 'requestId'`, '=', filter.requestId);
    }
    if (filter.outcome !== undefined) {
      query = query.where(sql<string>`body::jsonb ->> 'outcome'`, '=', filter.outcome);
    }
    if (filter.excludeActions !== undefined && filter.excludeActions.length > 0) {
      query = query.where(sql<string>`body::jsonb ->> 'action'`, 'not in', filter.excludeActions);
    }
    return query.execute();
  },

  /** How many events wait to be sealed, and since when. */
  async inboxStats(executor: Executor): Promise<{ pending: number; oldest: Date | null }> {
    const row = await executor
      .selectFrom('audit_inbox')
      .select((eb) => [eb.fn.countAll<number>().as('pending'), eb.fn.min('queued_at').as('oldest')])
      .executeTakeFirstOrThrow();
    return {
      pending: Number(row.pending),
      oldest: row.oldest === null ? null : new Date(row.oldest),
    };
  },
};
