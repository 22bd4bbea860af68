import { AppError, SECOND_FACTOR_ROLES } from '@lantern/core';
import {
  ACCOUNT_THROTTLE,
  base32Encode,
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  hashSecret,
  totpUri,
  verifyTotp,
} from '@lantern/core/identity';
import type { Kysely, Transaction } from 'kysely';
import type { DeploymentKey } from '../../crypto/deployment-key.js';
import type { Database } from '../../db/schema.js';
import { secondFactorRepository } from '../../repositories/identity/second-factor.repository.js';
import { usersRepository } from '../../repositories/identity/users.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';
import {
  describeWait,
  recordThrottleFailures,
  secondsLocked,
  type ThrottleKey,
} from './throttle.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** Where a person stands with their second factor. */
export interface SecondFactorStatus {
  enabled: boolean;
  /** Their roles need it (reviewer, admin): without it they act with none of those roles. */
  required: boolean;
  /** Unused recovery codes left (0 when not enabled). */
  recoveryCodesLeft: number;
}

/** How a second factor was proved. */
export type SecondFactorProof = 'totp' | 'recovery_code';

const RECOVERY_CODE = /^[a-z0-9]{5}-?[a-z0-9]{5}$/iu;

/**
 * The second factor: TOTP (RFC 6238) from an authenticator app, with ten single-use recovery
 * codes. Seeds are sealed with the deployment key and bound to their owner; a code works once.
 * Optional for everyone, required for reviewers and admins (core SECOND_FACTOR_ROLES).
 */
export class SecondFactorService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly key: DeploymentKey,
    private readonly email: EmailService,
  ) {}

  /**
   * Tells the person a recovery code was used to sign in, and how many are left: if it was not
   * them, they act now; if it was, they know when to make new ones.
   */
  async noticeRecoveryCodeUsed(
    trx: Transaction<Database>,
    user: { id: string; email: string; name: string },
  ): Promise<void> {
    const left = await secondFactorRepository.unusedRecoveryCodes(trx, user.id);
    await this.email.queue(trx, {
      kind: 'auth.recovery_code_used',
      to: user.email,
      subject: 'A Lantern recovery code was used to sign in',
      text: `Hello ${user.name},\n\na recovery code was just used to sign in to your Lantern account; ${left} ${left === 1 ? 'code is' : 'codes are'} left.${left <= 3 ? ' Make new ones on your account page.' : ''}\n\nIf this was not you, tell the administrators at once: someone has your password and a recovery code.\n`,
    });
  }

  async status(userId: string): Promise<SecondFactorStatus> {
    const user = await usersRepository.findById(this.db, userId);
    if (user === undefined) {
      throw new AppError('not_found', 'no such account');
    }
    const enabled = user.totp_enabled_at !== null;
    return {
      enabled,
      required: user.roles.some((role) =>
        (SECOND_FACTOR_ROLES as readonly string[]).includes(role),
      ),
      recoveryCodesLeft: enabled
        ? await secondFactorRepository.unusedRecoveryCodes(this.db, userId)
        : 0,
    };
  }

  /**
   * Starts enrolment: a new seed, shown once (as text and as the otpauth URI an app scans), kept
   * sealed until a code from it confirms the enrolment.
   */
  async beginEnrolment(userId: string): Promise<{ secret: string; uri: string }> {
    const user = await usersRepository.findById(this.db, userId);
    if (user === undefined) {
      throw new AppError('not_found', 'no such account');
    }
    const seed = generateTotpSecret();
    const stored = await this.db.transaction().execute(async (trx) => {
      const done = await secondFactorRepository.setPending(
        trx,
        userId,
        this.key.seal('totp', userId, seed),
      );
      if (done) {
        await this.audit.record(trx, {
          action: 'auth.second_factor.begin',
          target: `user:${userId}`,
          details: {},
        });
      }
      return done;
    });
    if (!stored) {
      throw new AppError(
        'conflict',
        'two-factor sign-in is already on; turn it off first to move it to another app',
      );
    }
    return { secret: base32Encode(seed), uri: totpUri(seed, user.email) };
  }

  /**
   * Confirms enrolment with a code from the app. Turns the second factor on, marks the caller's
   * session as signed in with it, and returns ten recovery codes, shown this once.
   */
  async confirmEnrolment(
    userId: string,
    sessionHash: string | null,
    code: string,
  ): Promise<{ recoveryCodes: string[] }> {
    await this.guard(userId);
    const codes = generateRecoveryCodes();
    const outcome = await this.db.transaction().execute(async (trx) => {
      const row = await secondFactorRepository.get(trx, userId);
      if (row?.totp_enabled_at !== null && row?.totp_enabled_at !== undefined) {
        return 'already' as const;
      }
      if (row?.totp_secret_sealed === null || row?.totp_secret_sealed === undefined) {
        return 'not_started' as const;
      }
      const step = verifyTotp(
        this.key.open('totp', userId, row.totp_secret_sealed),
        code,
        Date.now(),
        null,
      );
      if (step === null) {
        return 'wrong_code' as const;
      }
      await secondFactorRepository.enable(trx, userId, step, new Date());
      await secondFactorRepository.replaceRecoveryCodes(trx, userId, codes.map(hashRecoveryCode));
      if (sessionHash !== null) {
        await secondFactorRepository.markSession(trx, sessionHash, userId);
      }
      await this.audit.record(trx, {
        action: 'auth.second_factor.enable',
        target: `user:${userId}`,
        details: {},
      });
      return 'enabled' as const;
    });
    switch (outcome) {
      case 'enabled':
        return { recoveryCodes: codes };
      case 'already':
        throw new AppError('conflict', 'two-factor sign-in is already on');
      case 'not_started':
        throw new AppError('conflict', 'start setting up two-factor sign-in first');
      case 'wrong_code':
        await this.refused('auth.second_factor.enable', userId);
        throw new AppError(
          'validation_failed',
          'that code does not match; check the time on your device and enter the newest code',
          { errors: [{ path: 'body.code', message: 'wrong code' }] },
        );
      default:
        return outcome satisfies never;
    }
  }

  /**
   * Checks a code given at sign-in: a TOTP code (each works once) or an unused recovery code
   * (spent). Returns how it was proved, or null. Counts nothing: the caller throttles.
   */
  async verify(
    executor: Executor,
    userId: string,
    code: string,
  ): Promise<SecondFactorProof | null> {
    const row = await secondFactorRepository.get(executor, userId);
    if (row === undefined || row.totp_enabled_at === null || row.totp_secret_sealed === null) {
      return null;
    }
    const given = code.trim();
    if (RECOVERY_CODE.test(given) && !/^\d+$/u.test(given.replace('-', ''))) {
      return (await secondFactorRepository.useRecoveryCode(
        executor,
        userId,
        hashRecoveryCode(given),
        new Date(),
      ))
        ? 'recovery_code'
        : null;
    }
    const step = verifyTotp(
      this.key.open('totp', userId, row.totp_secret_sealed),
      given,
      Date.now(),
      row.totp_last_step,
    );
    return step !== null && (await secondFactorRepository.useStep(executor, userId, step))
      ? 'totp'
      : null;
  }

  /** New recovery codes (the old ones stop working), after a code from the app. */
  async regenerateRecoveryCodes(
    userId: string,
    code: string,
  ): Promise<{ recoveryCodes: string[] }> {
    await this.guard(userId);
    const codes = generateRecoveryCodes();
    const done = await this.db.transaction().execute(async (trx) => {
      if ((await this.verify(trx, userId, code)) !== 'totp') {
        return false;
      }
      await secondFactorRepository.replaceRecoveryCodes(trx, userId, codes.map(hashRecoveryCode));
      await this.audit.record(trx, {
        action: 'auth.second_factor.recovery_codes',
        target: `user:${userId}`,
        details: {},
      });
      return true;
    });
    if (!done) {
      await this.refused('auth.second_factor.recovery_codes', userId);
      throw new AppError(
        'validation_failed',
        'that code does not match; enter the newest code from your app',
        {
          errors: [{ path: 'body.code', message: 'wrong code' }],
        },
      );
    }
    return { recoveryCodes: codes };
  }

  /**
   * Turns the second factor off after a code (TOTP or recovery). Refused when the person's roles
   * require one: an admin or reviewer cannot drop below two factors.
   */
  async disable(userId: string, code: string): Promise<void> {
    const status = await this.status(userId);
    if (status.required) {
      throw new AppError(
        'forbidden',
        'your roles require two-factor sign-in; to move it to a new device, ask another admin to reset it',
      );
    }
    await this.guard(userId);
    const done = await this.db.transaction().execute(async (trx) => {
      if ((await this.verify(trx, userId, code)) === null) {
        return false;
      }
      await secondFactorRepository.clear(trx, userId);
      await this.audit.record(trx, {
        action: 'auth.second_factor.disable',
        target: `user:${userId}`,
        details: {},
      });
      return true;
    });
    if (!done) {
      await this.refused('auth.second_factor.disable', userId);
      throw new AppError('validation_failed', 'that code does not match', {
        errors: [{ path: 'body.code', message: 'wrong code' }],
      });
    }
  }

  /**
   * An admin clears someone's second factor (a lost phone and lost recovery codes): they enrol
   * again at their next sign-in. Their sessions end, so nothing signed in with the old factor lives.
   */
  async reset(trx: Transaction<Database>, userId: string): Promise<void> {
    await secondFactorRepository.clear(trx, userId);
  }

  /** Refuses while the person's codes are locked out after too many wrong ones. */
  private async guard(userId: string): Promise<void> {
    const seconds = await secondsLocked(this.db, [codeThrottle(userId)]);
    if (seconds !== null) {
      throw new AppError(
        'rate_limited',
        `too many wrong codes; try again in ${describeWait(seconds)}`,
        { retryAfterSeconds: seconds },
      );
    }
  }

  private async refused(action: string, userId: string): Promise<void> {
    await recordThrottleFailures(this.db, [codeThrottle(userId)]);
    await this.audit.recordAlone({
      action,
      outcome: 'denied',
      target: `user:${userId}`,
      details: { reason: 'wrong_code' },
    });
  }
}

/** Wrong codes outside sign-in (which throttles by account) lock like wrong passwords do. */
const codeThrottle = (userId: string): ThrottleKey => ({
  key: `second_factor:${userId}`,
  policy: ACCOUNT_THROTTLE,
});

/** The hash of a session secret, as sessions are stored. */
export const sessionHashOf = (secret: string | undefined): string | null =>
  secret === undefined ? null : hashSecret(secret);
