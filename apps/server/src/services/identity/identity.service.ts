import { randomBytes } from 'node:crypto';
import { AppError, effectiveRoles, isRole, type Principal, type Role } from '@lantern/core';
import {
  ACCOUNT_THROTTLE,
  ADDRESS_THROTTLE,
  checkPassword,
  generateSecret,
  hashSecret,
  isSecretOfKind,
  normalizePassword,
} from '@lantern/core/identity';
import argon2 from 'argon2';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { oneTimeLinksRepository } from '../../repositories/identity/one-time-links.repository.js';
import { sessionsRepository } from '../../repositories/identity/sessions.repository.js';
import { throttleRepository } from '../../repositories/identity/throttle.repository.js';
import { usersRepository } from '../../repositories/identity/users.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { SecondFactorService, SecondFactorStatus } from './second-factor.service.js';
import {
  describeWait,
  recordThrottleFailures,
  secondsLocked,
  type ThrottleKey,
} from './throttle.js';

export interface IdentityOptions {
  /** The address of the admin created on the first start of an empty data directory. */
  adminEmail: string;
  sessionTtlMs: number;
  /** Lower-cased common and breached passwords, refused by the password policy. */
  commonPasswords: ReadonlySet<string>;
}

/** The signed-in person, as the API shows them. */
export interface SessionUser {
  id: string;
  email: string;
  name: string;
  status: string;
  /** The roles given to the person. */
  roles: Role[];
}

/** The signed-in person and what this session may do, for the web app. */
export interface SessionDescription extends SessionUser {
  /** The roles this caller acts with now: none until admitted, and no reviewer or admin role
   *  without a second factor in this session. */
  actingRoles: Role[];
  secondFactor: SecondFactorStatus & { thisSession: boolean };
  /** Accepted the current terms (data is withheld until then). */
  termsAccepted: boolean;
}

/** A session as its owner sees it. */
export interface SessionView {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  clientIp: string | null;
  userAgent: string | null;
}

const SET_PASSWORD_LINK_TTL_MS = 24 * 60 * 60 * 1000;
/** Sessions are touched at most this often, so reads do not each write. */
const TOUCH_INTERVAL_MS = 60 * 1000;
const WRONG_CREDENTIALS = 'wrong email or password';

// argon2id, RFC 9106's second recommended option scaled to a server: 64 MiB, 3 passes, 4 lanes.
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 65_536,
  timeCost: 3,
  parallelism: 4,
} as const;

const newUserId = () => `u_${randomBytes(10).toString('hex')}`;

/**
 * Who people are and how they prove it: the first admin, passwords, sessions. Every decision is
 * audited — successes with the change they make, refusals on their own.
 */
export class IdentityService {
  /** Hashed once at start, so "no such user" costs the same as "wrong password". */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly secondFactor: SecondFactorService,
    private readonly options: IdentityOptions,
  ) {
    this.dummyHash = argon2.hash(randomBytes(16).toString('hex'), ARGON2_OPTIONS);
  }

  /**
   * On an empty database, creates the first admin. While an admin has never set a password, makes
   * a fresh single-use link to set it (earlier links stop working) and returns it to be printed:
   * there is no default password that could live on.
   */
  async ensureFirstAdmin(): Promise<{ email: string; secret: string } | null> {
    return this.db.transaction().execute(async (trx) => {
      if ((await usersRepository.count(trx)) === 0) {
        const id = newUserId();
        await usersRepository.insert(trx, {
          id,
          email: this.options.adminEmail,
          name: 'Administrator',
          status: 'admitted',
          roles: ['admin'],
          email_verified_at: new Date(),
        });
        await this.audit.record(trx, {
          action: 'user.create_first_admin',
          target: `user:${id}`,
          details: { email: this.options.adminEmail },
        });
      }
      const [admin] = await usersRepository.findAdminsWithoutPassword(trx);
      if (admin === undefined) {
        return null;
      }
      const now = new Date();
      const secret = generateSecret('email_link');
      await oneTimeLinksRepository.expireUnused(trx, admin.id, 'set_password', now);
      await oneTimeLinksRepository.insert(trx, {
        id_hash: hashSecret(secret),
        user_id: admin.id,
        purpose: 'set_password',
        expires_at: new Date(now.getTime() + SET_PASSWORD_LINK_TTL_MS),
      });
      await this.audit.record(trx, {
        action: 'user.issue_set_password_link',
        target: `user:${admin.id}`,
        details: {},
      });
      return { email: admin.email, secret };
    });
  }

  /**
   * Sets a password through a single-use link: the first admin's, or one asked for with "forgot
   * your password?". The link is spent only if the password is accepted. Every session of the
   * person ends (whoever else was signed in is thrown out); API tokens and second factors stay.
   */
  async setPasswordWithLink(
    caller: Principal,
    secret: string,
    password: string,
  ): Promise<{ email: string }> {
    if (caller.kind === 'user') {
      throw new AppError('conflict', 'sign out before using a link meant for setting a password');
    }
    const problems = await this.db.transaction().execute(async (trx) => {
      const link = isSecretOfKind(secret, 'email_link')
        ? await oneTimeLinksRepository.consume(trx, hashSecret(secret), 'set_password', new Date())
        : undefined;
      const user =
        link === undefined ? undefined : await usersRepository.findById(trx, link.user_id);
      // A link made before a suspension or rejection does not outlive it.
      if (user === undefined || user.status === 'suspended' || user.status === 'rejected') {
        return { kind: 'bad_link' as const };
      }
      const refused = checkPassword(password, {
        email: user.email,
        name: user.name,
        commonPasswords: this.options.commonPasswords,
      });
      if (refused.length > 0) {
        // Rolls back, so the link still works for a better password.
        throw new AppError(
          'validation_failed',
          `password refused: ${refused.map((p) => p.message).join('; ')}`,
          {
            errors: refused.map((p) => ({ path: 'body.password', message: p.message })),
          },
        );
      }
      await usersRepository.setPasswordHash(
        trx,
        user.id,
        await argon2.hash(normalizePassword(password), ARGON2_OPTIONS),
      );
      const sessions = await sessionsRepository.revokeAll(trx, user.id, new Date());
      // The sign-in lock counted guesses at the old password; they say nothing about the new one.
      await throttleRepository.clear(trx, `account:${user.email.toLowerCase()}`);
      await this.audit.record(trx, {
        action: 'user.set_password',
        target: `user:${user.id}`,
        details: { via: 'link', sessionsEnded: sessions },
      });
      return { kind: 'ok' as const, email: user.email };
    });
    if (problems.kind === 'bad_link') {
      await this.audit.recordAlone({
        action: 'user.set_password',
        outcome: 'denied',
        details: { reason: 'bad_link' },
      });
      throw new AppError(
        'not_found',
        'this link is invalid, used or expired; ask for a new one with "Forgot your password?" on the sign-in page',
      );
    }
    return { email: problems.email };
  }

  /**
   * Signs in with email and password. "No such user" and "wrong password" get the same answer
   * after the same work (an argon2 verification either way).
   */
  async signIn(
    email: string,
    password: string,
    meta: { clientIp: string | null; userAgent: string | null },
    code?: string,
  ): Promise<{ secret: string; user: SessionUser; expiresAt: Date }> {
    const address = email.trim();
    const keys: ThrottleKey[] = [
      { key: `account:${address.toLowerCase()}`, policy: ACCOUNT_THROTTLE },
    ];
    if (meta.clientIp !== null) {
      keys.push({ key: `address:${meta.clientIp}`, policy: ADDRESS_THROTTLE });
    }
    // Locked keys are refused before any password is checked, whether the account exists or not.
    const seconds = await secondsLocked(this.db, keys);
    if (seconds !== null) {
      await this.audit.recordAlone({
        action: 'auth.sign_in',
        outcome: 'denied',
        details: { reason: 'locked', seconds },
      });
      throw new AppError(
        'rate_limited',
        `too many failed sign-ins; try again in ${describeWait(seconds)}`,
        {
          retryAfterSeconds: seconds,
        },
      );
    }
    const user = await usersRepository.findByEmail(this.db, address);
    const candidate = normalizePassword(password);
    const matches =
      user?.password_hash !== null && user?.password_hash !== undefined
        ? await argon2.verify(user.password_hash, candidate)
        : (await argon2.verify(await this.dummyHash, candidate), false);
    if (user === undefined || !matches) {
      await recordThrottleFailures(this.db, keys);
      await this.audit.recordAlone({
        action: 'auth.sign_in',
        outcome: 'denied',
        target: user === undefined ? null : `user:${user.id}`,
        details: { reason: user === undefined ? 'no_such_user' : 'wrong_password' },
      });
      throw new AppError('unauthenticated', WRONG_CREDENTIALS);
    }
    if (user.status === 'suspended' || user.status === 'rejected') {
      // The password was right, so saying why does not reveal that the account exists.
      await this.audit.recordAlone({
        action: 'auth.sign_in',
        outcome: 'denied',
        target: `user:${user.id}`,
        details: { reason: user.status },
      });
      throw new AppError('forbidden', `this account is ${user.status}; contact the administrators`);
    }
    const proof = await this.checkSecondFactor(user, code, keys);
    await throttleRepository.clear(this.db, `account:${address.toLowerCase()}`);
    const secret = generateSecret('session');
    const expiresAt = new Date(Date.now() + this.options.sessionTtlMs);
    await this.db.transaction().execute(async (trx) => {
      await sessionsRepository.insert(trx, {
        id_hash: hashSecret(secret),
        user_id: user.id,
        expires_at: expiresAt,
        client_ip: meta.clientIp,
        user_agent: meta.userAgent?.slice(0, 400) ?? null,
        second_factor: proof !== null,
      });
      await this.audit.record(trx, {
        action: 'auth.sign_in',
        target: `user:${user.id}`,
        details: { secondFactor: proof },
      });
      if (proof === 'recovery_code') {
        await this.secondFactor.noticeRecoveryCodeUsed(trx, user);
      }
    });
    return { secret, user: present(user), expiresAt };
  }

  /**
   * After the right password: when the person has a second factor, the code is required and must
   * match (a wrong one counts like a wrong password). Returns how it was proved, or null when the
   * person has none.
   */
  private async checkSecondFactor(
    user: { id: string; totp_enabled_at: Date | null },
    code: string | undefined,
    keys: ThrottleKey[],
  ): Promise<'totp' | 'recovery_code' | null> {
    if (user.totp_enabled_at === null) {
      return null;
    }
    if (code === undefined || code.trim() === '') {
      await this.audit.recordAlone({
        action: 'auth.sign_in',
        outcome: 'denied',
        target: `user:${user.id}`,
        details: { reason: 'second_factor_required' },
      });
      throw new AppError(
        'second_factor_required',
        'enter the 6-digit code from your authenticator app, or one of your recovery codes',
      );
    }
    const proof = await this.secondFactor.verify(this.db, user.id, code);
    if (proof === null) {
      await recordThrottleFailures(this.db, keys);
      await this.audit.recordAlone({
        action: 'auth.sign_in',
        outcome: 'denied',
        target: `user:${user.id}`,
        details: { reason: 'wrong_second_factor' },
      });
      throw new AppError(
        'second_factor_required',
        'that code is wrong or was already used; enter the newest code from your app',
      );
    }
    return proof;
  }

  /** The person behind a session secret, or null when it is not a live session. */
  async authenticate(secret: string): Promise<{ principal: Principal; user: SessionUser } | null> {
    if (!isSecretOfKind(secret, 'session')) {
      return null;
    }
    const now = new Date();
    const found = await sessionsRepository.findLive(this.db, hashSecret(secret), now);
    if (
      found === undefined ||
      found.user.status === 'suspended' ||
      found.user.status === 'rejected'
    ) {
      return null;
    }
    if (now.getTime() - found.session.last_seen_at.getTime() > TOUCH_INTERVAL_MS) {
      await sessionsRepository.touch(this.db, found.session.id_hash, now);
    }
    const user = present(found.user);
    return {
      principal: {
        kind: 'user',
        userId: user.id,
        roles: effectiveRoles(found.user, found.session.second_factor),
        termsAccepted: found.user.terms_accepted,
      },
      user,
    };
  }

  /** Who the caller is and what they may do now, for the web app's header and guards. */
  async describe(
    principal: Principal,
    secret: string | undefined,
  ): Promise<SessionDescription | null> {
    if (principal.kind !== 'user') {
      return null;
    }
    const user = await this.getUser(principal.userId);
    if (user === null) {
      return null;
    }
    const session =
      secret !== undefined && isSecretOfKind(secret, 'session')
        ? await sessionsRepository.findLive(this.db, hashSecret(secret), new Date())
        : undefined;
    return {
      ...user,
      actingRoles: [...principal.roles],
      secondFactor: {
        ...(await this.secondFactor.status(user.id)),
        thisSession: session?.session.second_factor ?? false,
      },
      termsAccepted: principal.termsAccepted === true,
    };
  }

  /** Ends the session whose secret is given (it must be the caller's). */
  async signOut(userId: string, secret: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await sessionsRepository.revoke(trx, userId, hashSecret(secret), new Date());
      await this.audit.record(trx, {
        action: 'auth.sign_out',
        target: `user:${userId}`,
        details: {},
      });
    });
  }

  /** The caller's live sessions; `currentSecret` marks the one making the request. */
  async listSessions(userId: string, currentSecret: string | undefined): Promise<SessionView[]> {
    const current = currentSecret === undefined ? null : hashSecret(currentSecret);
    const rows = await sessionsRepository.listLive(this.db, userId, new Date());
    return rows.map((row) => ({
      id: row.id_hash,
      current: row.id_hash === current,
      createdAt: row.created_at.toISOString(),
      lastSeenAt: row.last_seen_at.toISOString(),
      expiresAt: row.expires_at.toISOString(),
      clientIp: row.client_ip,
      userAgent: row.user_agent,
    }));
  }

  /** Ends one of the caller's sessions by id; another person's session looks like none. */
  async revokeSession(userId: string, id: string): Promise<void> {
    const revoked = await this.db.transaction().execute(async (trx) => {
      const done = await sessionsRepository.revoke(trx, userId, id, new Date());
      if (done) {
        await this.audit.record(trx, {
          action: 'auth.revoke_session',
          target: `user:${userId}`,
          details: { session: id.slice(0, 12) },
        });
      }
      return done;
    });
    if (!revoked) {
      throw new AppError('not_found', 'no such live session');
    }
  }

  /** Ends every session of the caller, this one included. */
  async signOutEverywhere(userId: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const count = await sessionsRepository.revokeAll(trx, userId, new Date());
      await this.audit.record(trx, {
        action: 'auth.sign_out_everywhere',
        target: `user:${userId}`,
        details: { sessions: count },
      });
      return count;
    });
  }

  /** The person by id, as the API shows them. */
  async getUser(userId: string): Promise<SessionUser | null> {
    const user = await usersRepository.findById(this.db, userId);
    return user === undefined ? null : present(user);
  }
}

function present(user: {
  id: string;
  email: string;
  name: string;
  status: string;
  roles: string[];
}): SessionUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    status: user.status,
    roles: user.roles.filter(isRole),
  };
}
