import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { Database, SessionsTable, UsersTable } from '../../db/schema.js';
import { acceptedCurrentTerms } from '../terms/terms.repository.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A live session with the user it belongs to. */
export interface SessionWithUser {
  session: Pick<
    Selectable<SessionsTable>,
    'id_hash' | 'last_seen_at' | 'expires_at' | 'second_factor'
  >;
  user: Pick<Selectable<UsersTable>, 'id' | 'email' | 'name' | 'status' | 'roles'> & {
    /** Accepted the newest version of the terms. */
    terms_accepted: boolean;
  };
}

/** SQL of sessions, always by the hash of the secret the browser holds. */
export const sessionsRepository = {
  async insert(executor: Executor, session: Insertable<SessionsTable>): Promise<void> {
    await executor.insertInto('sessions').values(session).execute();
  },

  /** The session and its user, when the session is neither revoked nor expired. */
  async findLive(
    executor: Executor,
    idHash: string,
    now: Date,
  ): Promise<SessionWithUser | undefined> {
    const row = await executor
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.id_hash',
        'sessions.last_seen_at',
        'sessions.expires_at',
        'sessions.second_factor',
        'users.id',
        'users.email',
        'users.name',
        'users.status',
        'users.roles',
        acceptedCurrentTerms,
      ])
      .where('sessions.id_hash', '=', idHash)
      .where('sessions.revoked_at', 'is', null)
      .where('sessions.expires_at', '>', now)
      .executeTakeFirst();
    if (row === undefined) {
      return undefined;
    }
    return {
      session: {
        id_hash: row.id_hash,
        last_seen_at: row.last_seen_at,
        expires_at: row.expires_at,
        second_factor: row.second_factor,
      },
      user: {
        id: row.id,
        email: row.email,
        name: row.name,
        status: row.status,
        roles: row.roles,
        terms_accepted: row.terms_accepted,
      },
    };
  },

  /** The user's live sessions, most recently used first. */
  async listLive(
    executor: Executor,
    userId: string,
    now: Date,
  ): Promise<Selectable<SessionsTable>[]> {
    return executor
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('last_seen_at', 'desc')
      .execute();
  },

  /** Revokes every live session of the user; returns how many. */
  async revokeAll(executor: Executor, userId: string, now: Date): Promise<number> {
    const result = await executor
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  async touch(executor: Executor, idHash: string, now: Date): Promise<void> {
    await executor
      .updateTable('sessions')
      .set({ last_seen_at: now })
      .where('id_hash', '=', idHash)
      .execute();
  },

  /** Revokes one session of `userId`; false when there was none live. */
  async revoke(executor: Executor, userId: string, idHash: string, now: Date): Promise<boolean> {
    const result = await executor
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('id_hash', '=', idHash)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },
};
