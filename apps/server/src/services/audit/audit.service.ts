import { actorOf } from '@lantern/core';
import {
  AuditChainVerifier,
  encodeAuditBody,
  GENESIS_HASH,
  sealAuditEvents,
  type AuditEventInput,
  type ChainVerdict,
  type FramedAuditEvent,
  type SealedAuditEvent,
} from '@lantern/core/audit';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';
import {
  auditRepository,
  type AuditListFilter,
} from '../../repositories/audit/audit.repository.js';
import { currentRequestContext } from '../../request-context.js';

/** What a service says about a change it makes; who, when and from where come from the request. */
export type AuditRecord = Pick<AuditEventInput, 'action' | 'details'> &
  Partial<Pick<AuditEventInput, 'target' | 'projectId' | 'outcome'>>;

const SEAL_BATCH = 2000;
const VERIFY_PAGE = 20_000;
/** Ranges fetched ahead while one is hashed. */
const VERIFY_AHEAD = 2;

/**
 * The audit log. Writers only queue events (one insert, in their own transaction, no shared row to
 * wait on); a single sealer links queued events onto the hash chain in batches. This keeps many
 * concurrent requests from serialising behind the chain's head, while the chain itself stays a
 * strict sequence that `verify` can recompute.
 */
export class AuditService {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Records `record` in `trx`, the transaction of the change it describes, and marks the current
   * request as audited so that it is not recorded twice.
   */
  async record(trx: Transaction<Database>, record: AuditRecord): Promise<void> {
    await auditRepository.enqueue(trx, [encodeAuditBody(this.complete(record))]);
    const ctx = currentRequestContext();
    if (ctx !== undefined) {
      ctx.audited = true;
    }
  }

  /** Records an event on its own (a read, a denial, a failure): nothing else to commit with it. */
  async recordAlone(record: AuditRecord): Promise<void> {
    await auditRepository.enqueue(this.db, [encodeAuditBody(this.complete(record))]);
    const ctx = currentRequestContext();
    if (ctx !== undefined) {
      ctx.auditSettled = true;
    }
  }

  private complete(record: AuditRecord): AuditEventInput {
    const ctx = currentRequestContext();
    return {
      time: new Date(),
      actor: ctx === undefined ? 'system:lantern' : actorOf(ctx.principal),
      action: record.action,
      target: record.target ?? null,
      projectId: record.projectId ?? ctx?.projectId ?? null,
      clientIp: ctx?.clientIp ?? null,
      requestId: ctx?.requestId ?? null,
      outcome: record.outcome ?? 'allowed',
      details: record.details,
    };
  }

  /**
   * Seals one batch of queued events onto the chain. Returns how many were sealed; 0 when the
   * queue is empty or another sealer (another replica) holds the lock.
   */
  async sealBatch(limit = SEAL_BATCH): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await auditRepository.tryLockSealer(trx))) {
        return 0;
      }
      const queued = await auditRepository.takeInbox(trx, limit);
      if (queued.length === 0) {
        return 0;
      }
      const head = await auditRepository.head(trx);
      const sealed = sealAuditEvents(
        head ?? { seq: 0, hash: GENESIS_HASH },
        queued.map((q) => q.body),
      );
      await auditRepository.appendSealed(trx, sealed);
      return sealed.length;
    });
  }

  /** Seals until the queue is empty (as far as this sealer can see). */
  async sealAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.sealBatch();
      total += n;
      if (n < SEAL_BATCH) {
        return total;
      }
    }
  }

  /**
   * Recomputes the chain up to its current head and returns the first fault if any. Ranges of seqs
   * are fetched ahead (VERIFY_AHEAD at a time, each on its own connection on PostgreSQL) so the
   * database reads the next ranges while this process hashes the current one. `onProgress` is
   * told how many events were checked so far, after each range.
   */
  async verify(onProgress?: (checked: number) => void): Promise<ChainVerdict> {
    const verifier = new AuditChainVerifier();
    const head = (await auditRepository.head(this.db))?.seq ?? 0;
    const fetchRange = (lo: number) =>
      auditRepository.framedChainRange(this.db, lo, lo + VERIFY_PAGE);
    const ahead: Promise<FramedAuditEvent[]>[] = [];
    let next = 0;
    const fill = () => {
      while (ahead.length < VERIFY_AHEAD && next < head) {
        ahead.push(fetchRange(next));
        next += VERIFY_PAGE;
      }
    };
    fill();
    try {
      for (let range = ahead.shift(); range !== undefined; range = ahead.shift()) {
        const page = await range;
        fill();
        for (const event of page) {
          if (!verifier.pushFramed(event)) {
            return verifier.result();
          }
        }
        onProgress?.(verifier.result().checked);
      }
    } finally {
      // Settle what was fetched ahead of an early return, so nothing rejects unobserved.
      await Promise.allSettled(ahead);
    }
    const result = verifier.result();
    if (result.ok && result.head.seq < head) {
      const seq = result.head.seq + 1;
      return {
        ok: false,
        checked: result.checked,
        fault: { kind: 'missing', seq, detail: `seqs ${seq}..${head} are missing (deleted)` },
      };
    }
    return result;
  }

  /** Sealed events, newest first. */
  async list(filter: AuditListFilter): Promise<SealedAuditEvent[]> {
    return auditRepository.list(this.db, filter);
  }

  /** The chain's head and the queue's backlog, for health. */
  async status(): Promise<{
    head: { seq: number; hash: string } | null;
    pending: number;
    oldestPending: Date | null;
  }> {
    const [head, inbox] = await Promise.all([
      auditRepository.head(this.db),
      auditRepository.inboxStats(this.db),
    ]);
    return { head, pending: inbox.pending, oldestPending: inbox.oldest };
  }
}
