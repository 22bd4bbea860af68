import { AppError, isRole, SECOND_FACTOR_ROLES, type Role } from '@lantern/core';
import type { Kysely, Transaction } from 'kysely';
import type { Database, UserStatus } from '../../db/schema.js';
import { apiTokensRepository } from '../../repositories/identity/api-tokens.repository.js';
import { secondFactorRepository } from '../../repositories/identity/second-factor.repository.js';
import { sessionsRepository } from '../../repositories/identity/sessions.repository.js';
import {
  userAdminRepository,
  type ManagedUserRow,
} from '../../repositories/identity/user-admin.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';

/** A person as admins see them. */
export interface ManagedUser {
  id: string;
  email: string;
  name: string;
  institution: string | null;
  status: UserStatus;
  roles: Role[];
  /** The partners whose access requests they answer (with the partner role). */
  delegatePartners: string[];
  createdAt: string;
  secondFactor: boolean;
  suspension: {
    at: string;
    by: string | null;
    reason: string | null;
    returnsTo: UserStatus;
  } | null;
}

/** A page of people and the cursor of the next one. */
export interface ManagedUserPage {
  users: ManagedUser[];
  next: string | null;
}

/**
 * What admins do to accounts: find people, suspend and reinstate them, give roles, and clear a
 * lost second factor. Suspension stops a person at once: their status refuses every session and
 * token, and both are revoked besides, so reinstating does not bring them back.
 */
export class UserAdminService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
  ) {}

  async list(filter: {
    status?: UserStatus | undefined;
    role?: Role | undefined;
    search?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  }): Promise<ManagedUserPage> {
    const rows = await userAdminRepository.list(this.db, {
      status: filter.status,
      role: filter.role,
      search: filter.search?.trim(),
      after: filter.cursor === undefined ? undefined : decodeCursor(filter.cursor),
      limit: filter.limit + 1,
    });
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      users: page.map(present),
      next: rows.length > filter.limit && last !== undefined ? encodeCursor(last) : null,
    };
  }

  async get(id: string): Promise<ManagedUser & { sessions: number; tokens: number }> {
    const row = await userAdminRepository.get(this.db, id);
    if (row === undefined) {
      throw new AppError('not_found', 'no such person');
    }
    return {
      ...present(row),
      ...(await userAdminRepository.liveCredentials(this.db, id, new Date())),
    };
  }

  /** Suspends a person: every session and token ends now, and they are told why. */
  async suspend(adminId: string, id: string, reason: string): Promise<ManagedUser> {
    return this.change(adminId, id, async (trx, row, now) => {
      if (row.status === 'suspended') {
        throw new AppError('conflict', `${row.email} is already suspended`);
      }
      await userAdminRepository.suspend(trx, id, `user:${adminId}`, reason, row.status, now);
      const sessions = await sessionsRepository.revokeAll(trx, id, now);
      const tokens = await apiTokensRepository.revokeAll(trx, id, now);
      await this.email.queue(trx, {
        kind: 'account.suspended',
        to: row.email,
        subject: 'Your Lantern account is suspended',
        text: `Hello ${row.name},\n\nyour Lantern account was suspended, and every session and API token of yours has ended.\n\nReason: ${reason}\n\nYou may reply to the administrators.\n`,
      });
      return { action: 'user.suspend', details: { reason, sessions, tokens } };
    });
  }

  /** Reinstates a suspended person to the status they had; they sign in again. */
  async reinstate(adminId: string, id: string, note: string): Promise<ManagedUser> {
    return this.change(adminId, id, async (trx, row, now) => {
      if (row.status !== 'suspended') {
        throw new AppError('conflict', `${row.email} is not suspended`);
      }
      const status = row.status_before_suspension ?? 'pending';
      await userAdminRepository.reinstate(trx, id, status, now);
      await this.email.queue(trx, {
        kind: 'account.reinstated',
        to: row.email,
        subject: 'Your Lantern account is reinstated',
        text: `Hello ${row.name},\n\nyour Lantern account is reinstated; sign in again to continue.${note === '' ? '' : `\n\nNote from the administrators: ${note}`}\n`,
      });
      return { action: 'user.reinstate', details: { status, note } };
    });
  }

  /** Gives a person exactly `roles`. Reviewer and admin roles take effect once they have a second factor. */
  async setRoles(adminId: string, id: string, roles: Role[]): Promise<ManagedUser> {
    const wanted = [...new Set(roles)].filter(isRole);
    return this.change(adminId, id, async (trx, row, now) => {
      await userAdminRepository.setRoles(trx, id, wanted, now);
      return { action: 'user.set_roles', details: { from: row.roles, to: wanted } };
    });
  }

  /**
   * Makes a person the delegate of these partners (names as datasets list them): with the partner
   * role, they answer the access requests to those partners' approval-tier datasets.
   */
  async setDelegatePartners(adminId: string, id: string, partners: string[]): Promise<ManagedUser> {
    const wanted = [...new Set(partners.map((name) => name.trim()))].sort();
    return this.change(adminId, id, async (trx, row, now) => {
      await userAdminRepository.setDelegatePartners(trx, id, wanted, now);
      return {
        action: 'user.set_delegate_partners',
        details: { from: row.delegate_partners, to: wanted },
      };
    });
  }

  /**
   * Clears a person's second factor (a lost phone and lost recovery codes). Their sessions end;
   * they sign in with their password and, if their roles need one, enrol again.
   */
  async resetSecondFactor(adminId: string, id: string, reason: string): Promise<ManagedUser> {
    return this.change(adminId, id, async (trx, row, now) => {
      if (row.totp_enabled_at === null) {
        throw new AppError('conflict', `${row.email} has no second factor to reset`);
      }
      await secondFactorRepository.clear(trx, id);
      const sessions = await sessionsRepository.revokeAll(trx, id, now);
      await this.email.queue(trx, {
        kind: 'account.second_factor_reset',
        to: row.email,
        subject: 'Your Lantern two-factor sign-in was reset',
        text: `Hello ${row.name},\n\nan administrator reset your two-factor sign-in. Sign in with your password${row.roles.some((r) => (SECOND_FACTOR_ROLES as readonly string[]).includes(r)) ? ' and set it up again: your roles need it' : ''}.\n\nReason: ${reason}\n\nIf you did not ask for this, tell the administrators at once.\n`,
      });
      return { action: 'user.reset_second_factor', details: { reason, sessions } };
    });
  }

  /**
   * One change to one person, in one transaction with its audit event. Admins never change their
   * own standing here (a slip would lock them out); another admin does. So the admin acting is
   * always an admitted admin left standing: the platform never loses its last one this way.
   */
  private async change(
    adminId: string,
    id: string,
    apply: (
      trx: Transaction<Database>,
      row: ManagedUserRow,
      now: Date,
    ) => Promise<{ action: string; details: Record<string, unknown> }>,
  ): Promise<ManagedUser> {
    if (id === adminId) {
      throw new AppError('conflict', 'ask another admin to change your own account');
    }
    await this.db.transaction().execute(async (trx) => {
      const row = await userAdminRepository.getForUpdate(trx, id);
      if (row === undefined) {
        throw new AppError('not_found', 'no such person');
      }
      const { action, details } = await apply(trx, row, new Date());
      await this.audit.record(trx, { action, target: `user:${id}`, details });
    });
    const row = await userAdminRepository.get(this.db, id);
    if (row === undefined) {
      throw new AppError('not_found', 'no such person');
    }
    return present(row);
  }
}

function present(row: ManagedUserRow): ManagedUser {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    institution: row.institution,
    status: row.status,
    roles: row.roles.filter(isRole),
    delegatePartners: row.delegate_partners,
    createdAt: row.created_at.toISOString(),
    secondFactor: row.totp_enabled_at !== null,
    suspension:
      row.suspended_at === null
        ? null
        : {
            at: row.suspended_at.toISOString(),
            by: row.suspended_by,
            reason: row.suspension_reason,
            returnsTo: row.status_before_suspension ?? 'pending',
          },
  };
}

function encodeCursor(row: ManagedUserRow): string {
  return Buffer.from(JSON.stringify([row.created_at.toISOString(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const createdAt = new Date(String(at));
    if (typeof id !== 'string' || Number.isNaN(createdAt.getTime())) {
      throw new Error('bad cursor');
    }
    return { createdAt, id };
  } catch {
    throw new AppError(
      'bad_request',
      'this cursor is not one the server gave; start from the first page',
    );
  }
}
