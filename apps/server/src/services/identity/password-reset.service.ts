import { generateSecret, hashSecret } from '@lantern/core/identity';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { oneTimeLinksRepository } from '../../repositories/identity/one-time-links.repository.js';
import { usersRepository } from '../../repositories/identity/users.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';
import { limitLinkRequests } from './throttle.js';

/** A reset link is a key to the account sitting in a mailbox: short-lived (OWASP suggests ~1 hour). */
export const RESET_LINK_TTL_MS = 60 * 60 * 1000;

/**
 * "Forgot your password?": emails a single-use link to set a new password. It is the same kind of
 * link as the first admin's (purpose `set_password`), so one route and one page complete both;
 * using it ends every session of the person (IdentityService.setPasswordWithLink).
 */
export class PasswordResetService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
    private readonly options: { links: { base: string } },
  ) {}

  /**
   * Mails a reset link when the address has an account that may sign in (not rejected or
   * suspended); older unused links of the account stop working. The caller hears the same in
   * every case (only the audit event says whether a mail went out), and requests are limited per
   * client address and per address asked about, known or not.
   */
  async requestReset(address: string, clientIp: string): Promise<void> {
    const email = address.trim();
    await limitLinkRequests(this.db, this.audit, {
      purpose: 'password-reset',
      action: 'user.request_password_reset',
      email,
      clientIp,
    });
    await this.db.transaction().execute(async (trx) => {
      const user = await usersRepository.findByEmail(trx, email);
      if (user === undefined || user.status === 'rejected' || user.status === 'suspended') {
        await this.audit.record(trx, {
          action: 'user.request_password_reset',
          target: user === undefined ? null : `user:${user.id}`,
          details: { mailed: false, reason: user === undefined ? 'no_account' : user.status },
        });
        return;
      }
      const now = new Date();
      const secret = generateSecret('email_link');
      await oneTimeLinksRepository.expireUnused(trx, user.id, 'set_password', now);
      await oneTimeLinksRepository.insert(trx, {
        id_hash: hashSecret(secret),
        user_id: user.id,
        purpose: 'set_password',
        expires_at: new Date(now.getTime() + RESET_LINK_TTL_MS),
      });
      await this.email.queue(trx, {
        kind: 'password.reset',
        to: user.email,
        subject: 'Set a new password for Lantern',
        text: `Hello ${user.name},\n\nsomeone (perhaps you) asked to reset the password of your Lantern account. To choose a new one, open this link within an hour; it works once:\n\n${this.options.links.base}/set-password#token=${secret}\n\nSetting a new password signs you out everywhere; your API tokens keep working.\n\nIf you did not ask, you can ignore this message: your password stays as it is.\n`,
      });
      await this.audit.record(trx, {
        action: 'user.request_password_reset',
        target: `user:${user.id}`,
        details: { mailed: true },
      });
    });
  }
}
