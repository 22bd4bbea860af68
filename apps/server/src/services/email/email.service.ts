import type { Kysely, Transaction } from 'kysely';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Database } from '../../db/schema.js';
import { outboxRepository, type OutboxRow } from '../../repositories/email/outbox.repository.js';
import type { AuditService } from '../audit/audit.service.js';

/** A message to someone. `kind` says what for (`admission.decision`, `email.verify` …). */
export interface EmailMessage {
  kind: string;
  to: string;
  subject: string;
  text: string;
}

const BATCH = 20;
const FIRST_RETRY_MS = 60 * 1000;
const MAX_RETRY_MS = 60 * 60 * 1000;

/**
 * Email: queued in the caller's transaction (a change that rolls back sends nothing), delivered
 * over SMTP by a background worker when `LANTERN_SMTP_URL` is set, and kept in the outbox for admins
 * to read either way. Failed deliveries are retried with backoff (1 minute doubling to an hour).
 */
export class EmailService {
  private readonly transport: Transporter | null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    options: { smtpUrl: string | undefined; from: string },
    private readonly from = options.from,
  ) {
    this.transport =
      options.smtpUrl === undefined ? null : nodemailer.createTransport(options.smtpUrl);
  }

  /** How mail leaves this installation. */
  get delivery(): 'smtp' | 'outbox only' {
    return this.transport === null ? 'outbox only' : 'smtp';
  }

  /** Queues `message` in `trx`, with an audit event beside it. */
  async queue(trx: Transaction<Database>, message: EmailMessage): Promise<void> {
    await outboxRepository.enqueue(trx, {
      kind: message.kind,
      to_address: message.to,
      subject: message.subject,
      body_text: message.text,
    });
    await this.audit.record(trx, {
      action: 'email.queue',
      details: { kind: message.kind, to: message.to },
    });
  }

  /** Delivers what is due; returns how many were sent and how many failed. */
  async deliverDue(): Promise<{ sent: number; failed: number }> {
    const transport = this.transport;
    if (transport === null) {
      return { sent: 0, failed: 0 };
    }
    return this.db.transaction().execute(async (trx) => {
      let sent = 0;
      let failed = 0;
      for (const row of await outboxRepository.claimDue(trx, new Date(), BATCH)) {
        try {
          await transport.sendMail({
            from: this.from,
            to: row.to_address,
            subject: row.subject,
            text: row.body_text,
          });
          await outboxRepository.markSent(trx, row.id, new Date());
          await this.audit.record(trx, {
            action: 'email.send',
            target: `email:${row.id}`,
            details: { kind: row.kind },
          });
          sent += 1;
        } catch (error) {
          const attempts = row.attempts + 1;
          const wait = Math.min(FIRST_RETRY_MS * 2 ** (attempts - 1), MAX_RETRY_MS);
          const reason = error instanceof Error ? error.message : String(error);
          await outboxRepository.markFailed(
            trx,
            row.id,
            attempts,
            reason,
            new Date(Date.now() + wait),
          );
          await this.audit.record(trx, {
            action: 'email.send',
            outcome: 'failed',
            target: `email:${row.id}`,
            details: { kind: row.kind, attempts, reason: reason.slice(0, 200) },
          });
          failed += 1;
        }
      }
      return { sent, failed };
    });
  }

  /** The outbox, newest first. */
  async list(filter: { beforeId?: number | undefined; limit: number }): Promise<OutboxRow[]> {
    return outboxRepository.list(this.db, filter);
  }

  async close(): Promise<void> {
    this.transport?.close();
  }
}
