import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { ApiTokensTable, Database, UsersTable } from '../../db/schema.js';
import { acceptedCurrentTerms } from '../terms/terms.repository.js';

type Executor = Kysely<Database> | Transaction<Database>;
export type ApiTokenRow = Omit<Selectable<ApiTokensTable>, 'token_hash'>;

const COLUMNS = [
  'id',
  'user_id',
  'name',
  'scope',
  'created_at',
  'expires_at',
  'last_used_at',
  'revoked_at',
] as const;

/** SQL of API tokens. Every query but the lookup by secret is scoped to the holder. */
export const apiTokensRepository = {
  async insert(executor: Executor, token: Insertable<ApiTokensTable>): Promise<void> {
    await executor.insertInto('api_tokens').values(token).execute();
  },

  /** The holder's tokens, newest first (secrets are never stored, so never returned). */
  async listForUser(executor: Executor, userId: string): Promise<ApiTokenRow[]> {
    return executor
      .selectFrom('api_tokens')
      .select(COLUMNS)
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .execute();
  },

  /** The holder's token `id`, live or not; undefined when the holder has none by that id. */
  async findForUser(
    executor: Executor,
    userId: string,
    id: string,
  ): Promise<ApiTokenRow | undefined> {
    return executor
      .selectFrom('api_tokens')
      .select(COLUMNS)
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  },

  /** Revokes the holder's token `id`; false when the holder has no such live token. */
  async revoke(executor: Executor, userId: string, id: string, now: Date): Promise<boolean> {
    const result = await executor
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /** A live token by the hash of its secret, with its holder. */
  async findLive(
    executor: Executor,
    tokenHash: string,
    now: Date,
  ): Promise<
    | {
        token: ApiTokenRow;
        user: Pick<Selectable<UsersTable>, 'id' | 'status' | 'roles' | 'totp_enabled_at'> & {
          terms_accepted: boolean;
        };
      }
    | undefined
  > {
    const row = await executor
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'api_tokens.id',
        'api_tokens.user_id',
        'api_tokens.name',
        'api_tokens.scope',
        'api_tokens.created_at',
        'api_tokens.expires_at',
        'api_tokens.last_used_at',
        'api_tokens.revoked_at',
        'users.status',
        'users.roles',
        'users.totp_enabled_at',
        acceptedCurrentTerms,
      ])
      .where('api_tokens.token_hash', '=', tokenHash)
      .where('api_tokens.revoked_at', 'is', null)
      .where('api_tokens.expires_at', '>', now)
      .executeTakeFirst();
    if (row === undefined) {
      return undefined;
    }
    const { status, roles, totp_enabled_at, terms_accepted, ...token } = row;
    return { token, user: { id: row.user_id, status, roles, totp_enabled_at, terms_accepted } };
  },

  /** Revokes every live token of the user; returns how many. */
  async revokeAll(executor: Executor, userId: string, now: Date): Promise<number> {
    const result = await executor
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  async touch(executor: Executor, id: string, now: Date): Promise<void> {
    await executor
      .updateTable('api_tokens')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .execute();
  },
};
