import type { AuditEventInput, EncodedAuditEvent, SealedAuditEvent } from '@lantern/core/audit';
import { canonicalJson } from '@lantern/core/audit';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { AuditEventTable, AuditInboxTable, Database } from '../../db/schema.js';

/** A queued event, as claimed by the sealer. */
export interface InboxEvent extends Omit<
  SealedAuditEvent,
  'seq' | 'prevHash' | 'hash' | 'schemaVersion'
> {
  inboxId: number;
}

/** Filters for listing sealed events. */
export interface AuditListFilter {
  afterSeq?: number | undefined;
  limit: number;
  action?: string | undefined;
  actor?: string | undefined;
  projectId?: string | undefined;
}

type Executor = Kysely<Database> | Transaction<Database>;

// Arbitrary constant naming the advisory lock that makes the sealer a singleton across replicas.
const SEALER_LOCK_KEY = 7_305_117_001;

/**
 * SQL of the audit log, and nothing else. The audit log is system-wide by nature: it records every
 * caller, so its queries are scoped by the filters the service passes, not by one caller.
 */
export const auditRepository = {
  /** Queues events in the caller's transaction, so they commit or roll back with the change. */
  async enqueue(executor: Executor, events: readonly AuditEventInput[]): Promise<void> {
    if (events.length === 0) {
      return;
    }
    await executor
      .insertInto('audit_inbox')
      .values(
        events.map((e) => ({
          occurred_at: e.time,
          actor: e.actor,
          action: e.action,
          target: e.target,
          project_id: e.projectId,
          client_ip: e.clientIp,
          request_id: e.requestId,
          outcome: e.outcome,
          details: canonicalJson(e.details),
        })),
      )
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

  /** The oldest queued events, locked for this transaction. */
  async claimInbox(trx: Transaction<Database>, limit: number): Promise<InboxEvent[]> {
    const rows = await trx
      .selectFrom('audit_inbox')
      .selectAll()
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    return rows.map(fromInbox);
  },

  /** Appends sealed events to the chain and removes them from the queue, in one transaction. */
  async appendSealed(
    trx: Transaction<Database>,
    sealed: readonly SealedAuditEvent[],
    inboxIds: readonly number[],
  ): Promise<void> {
    if (sealed.length === 0) {
      return;
    }
    await trx
      .insertInto('audit_event')
      .values(
        sealed.map((e) => ({
          seq: e.seq,
          schema_version: e.schemaVersion,
          occurred_at: e.time,
          actor: e.actor,
          action: e.action,
          target: e.target,
          project_id: e.projectId,
          client_ip: e.clientIp,
          request_id: e.requestId,
          outcome: e.outcome,
          details: e.details,
          prev_hash: e.prevHash,
          hash: e.hash,
        })),
      )
      .execute();
    await trx
      .deleteFrom('audit_inbox')
      .where('id', 'in', [...inboxIds])
      .execute();
  },

  /** Sealed events with seq > `afterSeq`, in seq order, at most `limit`. */
  async chainPage(
    executor: Executor,
    afterSeq: number,
    limit: number,
  ): Promise<SealedAuditEvent[]> {
    const rows = await executor
      .selectFrom('audit_event')
      .select(CHAIN_COLUMNS)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(fromEvent);
  },

  /**
   * Sealed events with lo < seq <= hi as the verifier needs them: chain fields plus the canonical
   * encoding of each event, built by the database from the stored columns (ENCODED_EVENT below).
   * Ranges rather than keyset pages, so the verifier can fetch the next range while it hashes this
   * one; a missing seq inside a range shows as a gap.
   */
  async encodedChainRange(
    executor: Executor,
    lo: number,
    hi: number,
  ): Promise<EncodedAuditEvent[]> {
    const { rows } = await sql<{ seq: number; prev_hash: string; hash: string; encoded: string }>`
      select seq, prev_hash, hash, ${ENCODED_EVENT} as encoded
      from audit_event where seq > ${lo} and seq <= ${hi} order by seq`.execute(executor);
    return rows.map((r) => ({
      seq: r.seq,
      prevHash: r.prev_hash,
      hash: r.hash,
      encoded: r.encoded,
    }));
  },

  /** Sealed events matching `filter`, newest first. */
  async list(executor: Executor, filter: AuditListFilter): Promise<SealedAuditEvent[]> {
    let query = executor
      .selectFrom('audit_event')
      .select(CHAIN_COLUMNS)
      .orderBy('seq', 'desc')
      .limit(filter.limit);
    if (filter.afterSeq !== undefined) {
      // "after" in the newest-first order means older: keyset pagination on seq.
      query = query.where('seq', '<', filter.afterSeq);
    }
    if (filter.action !== undefined) {
      query = query.where('action', '=', filter.action);
    }
    if (filter.actor !== undefined) {
      query = query.where('actor', '=', filter.actor);
    }
    if (filter.projectId !== undefined) {
      query = query.where('project_id', '=', filter.projectId);
    }
    return (await query.execute()).map(fromEvent);
  },

  /** How many events wait to be sealed, and since when. */
  async inboxStats(executor: Executor): Promise<{ pending: number; oldest: Date | null }> {
    const row = await executor
      .selectFrom('audit_inbox')
      .select((eb) => [
        eb.fn.countAll<number>().as('pending'),
        eb.fn.min('occurred_at').as('oldest'),
      ])
      .executeTakeFirstOrThrow();
    return {
      pending: Number(row.pending),
      oldest: row.oldest === null ? null : new Date(row.oldest),
    };
  },
};

/**
 * encodeAuditEvent (packages/core/src/audit/chain.ts) in SQL: the same members in the same order.
 * PostgreSQL's to_json escapes strings exactly as JSON.stringify does (quote, backslash, \b \f \n
 * \r \t, other controls as \u00xx, everything else verbatim UTF-8); a test holds the two to the
 * same bytes on both dialects. Letting the database build it spares the verifier parsing thirteen
 * columns and a date per event, and runs on the database's core while Node hashes.
 */
const ENCODED_EVENT = sql<string>`'{"action":' || to_json(action)::text
  || ',"actor":' || to_json(actor)::text
  || ',"clientIp":' || coalesce(to_json(client_ip)::text, 'null')
  || ',"details":' || details
  || ',"outcome":' || to_json(outcome)::text
  || ',"prevHash":' || to_json(prev_hash)::text
  || ',"projectId":' || coalesce(to_json(project_id)::text, 'null')
  || ',"requestId":' || coalesce(to_json(request_id)::text, 'null')
  || ',"seq":' || seq::text
  || ',"target":' || coalesce(to_json(target)::text, 'null')
  || ',"time":"' || to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  || '","v":' || schema_version::text || '}'`;

const CHAIN_COLUMNS = [
  'seq',
  'schema_version',
  'occurred_at',
  'actor',
  'action',
  'target',
  'project_id',
  'client_ip',
  'request_id',
  'outcome',
  'details',
  'prev_hash',
  'hash',
] as const;

function fromInbox(row: Selectable<AuditInboxTable>): InboxEvent {
  return {
    inboxId: row.id,
    time: row.occurred_at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    projectId: row.project_id,
    clientIp: row.client_ip,
    requestId: row.request_id,
    outcome: row.outcome,
    details: row.details,
  };
}

function fromEvent(
  row: Pick<Selectable<AuditEventTable>, (typeof CHAIN_COLUMNS)[number]>,
): SealedAuditEvent {
  return {
    seq: row.seq,
    schemaVersion: row.schema_version,
    time: row.occurred_at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    projectId: row.project_id,
    clientIp: row.client_ip,
    requestId: row.request_id,
    outcome: row.outcome,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
