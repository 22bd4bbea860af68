import { randomBytes } from 'node:crypto';
import {
  AppError,
  isPermission,
  effectiveRoles,
  permissionsOf,
  type Permission,
  type Principal,
} from '@lantern/core';
import {
  ADDRESS_THROTTLE,
  generateSecret,
  hashSecret,
  isSecretOfKind,
} from '@lantern/core/identity';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import {
  apiTokensRepository,
  type ApiTokenRow,
} from '../../repositories/identity/api-tokens.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import {
  describeWait,
  recordThrottleFailures,
  secondsLocked,
  type ThrottleKey,
} from './throttle.js';

/** A token as its holder sees it (never the secret, except once at creation). */
export interface ApiTokenView {
  id: string;
  name: string;
  scope: Permission[];
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const TOUCH_INTERVAL_MS = 60 * 1000;

/**
 * API tokens for the CLI and SDK. A token's scope never exceeds its holder: it is checked against
 * the creator's permissions when made, and against the holder's roles again at every use, so a
 * role taken away or a suspension takes effect at once.
 */
export class ApiTokensService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
  ) {}

  async create(
    principal: Principal,
    input: { name: string; scope: Permission[]; expiresInDays: number },
  ): Promise<{ token: string; view: ApiTokenView }> {
    if (principal.kind !== 'user') {
      throw new AppError('unauthenticated', 'sign in to make API tokens');
    }
    // What the caller may hand on: their roles' permissions, narrowed by their own token if any.
    const allowed = permissionsOf(principal.roles).filter(
      (p) => principal.scope === undefined || principal.scope.includes(p),
    );
    const excess = input.scope.filter((p) => !allowed.includes(p));
    if (excess.length > 0) {
      throw new AppError(
        'forbidden',
        `a token cannot hold permissions you do not have: ${excess.join(', ')}`,
      );
    }
    const token = generateSecret('api_token');
    const id = `tok_${randomBytes(8).toString('hex')}`;
    const expiresAt = new Date(Date.now() + input.expiresInDays * 24 * 60 * 60 * 1000);
    const scope = [...new Set(input.scope)];
    await this.db.transaction().execute(async (trx) => {
      await apiTokensRepository.insert(trx, {
        id,
        user_id: principal.userId,
        name: input.name,
        token_hash: hashSecret(token),
        scope,
        expires_at: expiresAt,
      });
      await this.audit.record(trx, {
        action: 'token.create',
        target: `token:${id}`,
        details: { name: input.name, scope, expiresAt: expiresAt.toISOString() },
      });
    });
    return {
      token,
      view: {
        id,
        name: input.name,
        scope,
        createdAt: new Date().toISOString(),
        expiresAt: expiresAt.toISOString(),
        lastUsedAt: null,
        revokedAt: null,
      },
    };
  }

  async list(userId: string): Promise<ApiTokenView[]> {
    return (await apiTokensRepository.listForUser(this.db, userId)).map(present);
  }

  /** One of the holder's tokens (the one a request carries, for "who am I"). */
  async describe(userId: string, id: string): Promise<ApiTokenView> {
    const row = await apiTokensRepository.findForUser(this.db, userId, id);
    if (row === undefined) {
      throw new AppError('not_found', `no token ${id}`);
    }
    return present(row);
  }

  /** Revokes one of the caller's tokens; another person's token looks like no token at all. */
  async revoke(userId: string, id: string): Promise<void> {
    const revoked = await this.db.transaction().execute(async (trx) => {
      const done = await apiTokensRepository.revoke(trx, userId, id, new Date());
      if (done) {
        await this.audit.record(trx, {
          action: 'token.revoke',
          target: `token:${id}`,
          details: {},
        });
      }
      return done;
    });
    if (!revoked) {
      throw new AppError('not_found', `no live token ${id}`);
    }
  }

  /**
   * The person and scope behind a bearer token. A wrong token is an error, not anonymity, and
   * counts against the client address (lockout with backoff).
   */
  async authenticate(
    secret: string,
    clientIp: string,
  ): Promise<{ principal: Principal; tokenId: string }> {
    const keys: ThrottleKey[] = [{ key: `address:${clientIp}`, policy: ADDRESS_THROTTLE }];
    const locked = await secondsLocked(this.db, keys);
    if (locked !== null) {
      throw new AppError(
        'rate_limited',
        `too many invalid tokens from this address; try again in ${describeWait(locked)}`,
        {
          retryAfterSeconds: locked,
        },
      );
    }
    const now = new Date();
    const found = isSecretOfKind(secret, 'api_token')
      ? await apiTokensRepository.findLive(this.db, hashSecret(secret), now)
      : undefined;
    if (
      found === undefined ||
      found.user.status === 'suspended' ||
      found.user.status === 'rejected'
    ) {
      await recordThrottleFailures(this.db, keys);
      throw new AppError('unauthenticated', 'this API token is invalid, expired or revoked');
    }
    if (
      found.token.last_used_at === null ||
      now.getTime() - found.token.last_used_at.getTime() > TOUCH_INTERVAL_MS
    ) {
      await apiTokensRepository.touch(this.db, found.token.id, now);
    }
    return {
      principal: {
        kind: 'user',
        userId: found.user.id,
        // A token was made from a session that held its scope; reviewer and admin permissions
        // still need the holder to keep a second factor.
        roles: effectiveRoles(found.user, found.user.totp_enabled_at !== null),
        scope: found.token.scope.filter(isPermission),
        termsAccepted: found.user.terms_accepted,
      },
      tokenId: found.token.id,
    };
  }
}

function present(row: ApiTokenRow): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope.filter(isPermission),
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}
