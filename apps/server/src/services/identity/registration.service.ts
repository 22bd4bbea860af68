import { randomBytes } from 'node:crypto';
import { AppError, type FieldError, type Principal } from '@lantern/core';
import {
  checkPassword,
  generateSecret,
  hashSecret,
  isSecretOfKind,
  normalizePassword,
  parseOrcid,
  type ThrottlePolicy,
} from '@lantern/core/identity';
import argon2 from 'argon2';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';
import { oneTimeLinksRepository } from '../../repositories/identity/one-time-links.repository.js';
import { usersRepository } from '../../repositories/identity/users.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';
import { ARGON2_OPTIONS } from './identity.service.js';
import {
  describeWait,
  limitLinkRequests,
  recordThrottleFailures,
  secondsLocked,
} from './throttle.js';

export interface Registration {
  name: string;
  email: string;
  password: string;
  institution: string;
  institutionRole: string;
  researchPurpose: string;
  orcid?: string | undefined;
}

/** Ten registrations an hour from one address, then a lock that doubles from ten minutes. */
const REGISTRATION_THROTTLE: ThrottlePolicy = {
  freeFailures: 10,
  windowMs: 60 * 60 * 1000,
  firstLockMs: 10 * 60 * 1000,
  maxLockMs: 24 * 60 * 60 * 1000,
};
const VERIFY_LINK_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * The researcher's way in: register, verify the address, then wait to be admitted. The answer to a
 * registration is the same whether or not the address already has an account (the owner of an
 * existing account is told by email instead), so registering reveals nobody.
 */
export class RegistrationService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
    private readonly options: { commonPasswords: ReadonlySet<string>; links: { base: string } },
  ) {}

  async register(caller: Principal, input: Registration, clientIp: string): Promise<void> {
    if (caller.kind === 'user') {
      throw new AppError('conflict', 'sign out before registering another account');
    }
    const keys = [{ key: `register:${clientIp}`, policy: REGISTRATION_THROTTLE }];
    const locked = await secondsLocked(this.db, keys);
    if (locked !== null) {
      throw new AppError(
        'rate_limited',
        `too many registrations from this address; try again in ${describeWait(locked)}`,
        {
          retryAfterSeconds: locked,
        },
      );
    }
    // Every attempt counts here, successful or not: this limits volume, not guessing.
    await recordThrottleFailures(this.db, keys);

    const errors: FieldError[] = checkPassword(input.password, {
      email: input.email,
      name: input.name,
      commonPasswords: this.options.commonPasswords,
    }).map((p) => ({ path: 'body.password', message: p.message }));
    const orcid =
      input.orcid === undefined || input.orcid.trim() === '' ? null : parseOrcid(input.orcid);
    if (orcid === null && input.orcid !== undefined && input.orcid.trim() !== '') {
      errors.push({
        path: 'body.orcid',
        message: 'not a valid ORCID iD (its check digit does not match)',
      });
    }
    if (errors.length > 0) {
      throw new AppError(
        'validation_failed',
        errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        { errors },
      );
    }

    const email = input.email.trim();
    const passwordHash = await argon2.hash(normalizePassword(input.password), ARGON2_OPTIONS);
    await this.db.transaction().execute(async (trx) => {
      const existing = await usersRepository.findByEmail(trx, email);
      if (existing !== undefined) {
        await this.email.queue(trx, {
          kind: 'registration.existing_account',
          to: existing.email,
          subject: 'Someone tried to register with your address on Lantern',
          text: `Someone (perhaps you) tried to register a new Lantern account with ${existing.email}, which already has one.\n\nIf it was you, sign in at ${this.options.links.base}/sign-in instead. If not, you can ignore this message: nothing was changed.\n`,
        });
        await this.audit.record(trx, {
          action: 'user.register',
          outcome: 'denied',
          target: `user:${existing.id}`,
          details: { reason: 'existing_account' },
        });
        return;
      }
      const id = `u_${randomBytes(10).toString('hex')}`;
      await usersRepository.insert(trx, {
        id,
        email,
        name: input.name.trim(),
        institution: input.institution.trim(),
        institution_role: input.institutionRole.trim(),
        research_purpose: input.researchPurpose.trim(),
        orcid,
        password_hash: passwordHash,
        status: 'unverified',
        roles: ['researcher'],
      });
      await this.sendVerificationLink(trx, { id, email, name: input.name.trim() });
      await this.audit.record(trx, {
        action: 'user.register',
        target: `user:${id}`,
        details: { institution: input.institution.trim() },
      });
    });
  }

  /**
   * Sends a fresh verification link to an applicant who lost theirs or let it expire; their older
   * unused links stop working. The caller hears the same whether the address is unknown, already
   * confirmed or awaiting confirmation (only the audit event says whether a mail went out), and
   * requests are limited per client address and per address asked about, known or not.
   */
  async resendVerification(address: string, clientIp: string): Promise<void> {
    const email = address.trim();
    await limitLinkRequests(this.db, this.audit, {
      purpose: 'resend-verification',
      action: 'user.resend_verification',
      email,
      clientIp,
    });
    await this.db.transaction().execute(async (trx) => {
      const user = await usersRepository.findByEmail(trx, email);
      if (user?.status !== 'unverified') {
        await this.audit.record(trx, {
          action: 'user.resend_verification',
          target: user === undefined ? null : `user:${user.id}`,
          details: {
            mailed: false,
            reason: user === undefined ? 'no_account' : 'already_verified',
          },
        });
        return;
      }
      await oneTimeLinksRepository.expireUnused(trx, user.id, 'verify_email', new Date());
      await this.sendVerificationLink(trx, user);
      await this.audit.record(trx, {
        action: 'user.resend_verification',
        target: `user:${user.id}`,
        details: { mailed: true },
      });
    });
  }

  /** Confirms an address with the secret from the verification email. */
  async verifyEmail(secret: string): Promise<{ email: string; status: string }> {
    const result = await this.db.transaction().execute(async (trx) => {
      const now = new Date();
      const link = isSecretOfKind(secret, 'email_link')
        ? await oneTimeLinksRepository.consume(trx, hashSecret(secret), 'verify_email', now)
        : undefined;
      if (link === undefined) {
        return null;
      }
      await usersRepository.markEmailVerified(trx, link.user_id, now);
      await this.audit.record(trx, {
        action: 'user.verify_email',
        target: `user:${link.user_id}`,
        details: {},
      });
      return usersRepository.findById(trx, link.user_id);
    });
    if (result === null || result === undefined) {
      await this.audit.recordAlone({
        action: 'user.verify_email',
        outcome: 'denied',
        details: { reason: 'bad_link' },
      });
      throw new AppError(
        'not_found',
        'this link is invalid, used or expired; ask for a new one with your email address',
      );
    }
    return { email: result.email, status: result.status };
  }

  /** Makes a verification link for `user` and queues the mail that carries it, in `trx`. */
  private async sendVerificationLink(
    trx: Transaction<Database>,
    user: { id: string; email: string; name: string },
  ): Promise<void> {
    const secret = generateSecret('email_link');
    await oneTimeLinksRepository.insert(trx, {
      id_hash: hashSecret(secret),
      user_id: user.id,
      purpose: 'verify_email',
      expires_at: new Date(Date.now() + VERIFY_LINK_TTL_MS),
    });
    await this.email.queue(trx, {
      kind: 'email.verify',
      to: user.email,
      subject: 'Confirm your email address for Lantern',
      text: `Hello ${user.name},\n\nconfirm your address by opening this link within 24 hours:\n\n${this.options.links.base}/verify-email#token=${secret}\n\nThen an administrator reviews your application; you will hear from us either way.\n`,
    });
  }
}
