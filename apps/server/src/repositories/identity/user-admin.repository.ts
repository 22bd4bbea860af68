import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, UserStatus, UsersTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A person as admins list them. */
export type ManagedUserRow = Pick<
  Selectable<UsersTable>,
  | 'id'
  | 'email'
  | 'name'
  | 'institution'
  | 'status'
  | 'roles'
  | 'delegate_partners'
  | 'created_at'
  | 'totp_enabled_at'
  | 'suspended_at'
  | 'suspended_by'
  | 'suspension_reason'
  | 'status_before_suspension'
>;

const COLUMNS = [
  'id',
  'email',
  'name',
  'institution',
  'status',
  'roles',
  'delegate_partners',
  'created_at',
  'totp_enabled_at',
  'suspended_at',
  'suspended_by',
  'suspension_reason',
  'status_before_suspension',
] as const;

/** SQL of user administration: listing people, suspending and reinstating, roles. */
export const userAdminRepository = {
  /** People newest first, keyset on (created_at, id); `search` matches name, email, institution. */
  async list(
    executor: Executor,
    filter: {
      status?: UserStatus | undefined;
      role?: string | undefined;
      search?: string | undefined;
      after?: { createdAt: Date; id: string } | undefined;
      limit: number;
    },
  ): Promise<ManagedUserRow[]> {
    // Milliseconds, as the cursor carries them (a JS Date), so no row falls between two pages.
    const createdMs = sql<Date>`date_trunc('milliseconds', created_at)`;
    let query = executor
      .selectFrom('users')
      .select(COLUMNS)
      .orderBy(createdMs, 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit);
    if (filter.status !== undefined) {
      query = query.where('status', '=', filter.status);
    }
    if (filter.role !== undefined) {
      query = query.where(sql<boolean>`${filter.role} = any(roles)`);
    }
    if (filter.search !== undefined && filter.search !== '') {
      const pattern = `%${filter.search.toLowerCase().replace(/[\\%_]/gu, (c) => `\\${c}`)}%`;
      query = query.where((eb) =>
        eb.or([
          eb(sql`lower(name)`, 'like', pattern),
          eb(sql`lower(email)`, 'like', pattern),
          eb(sql`lower(coalesce(institution, ''))`, 'like', pattern),
        ]),
      );
    }
    if (filter.after !== undefined) {
      const { createdAt, id } = filter.after;
      query = query.where((eb) =>
        eb.or([
          eb(createdMs, '<', createdAt),
          eb.and([eb(createdMs, '=', createdAt), eb('id', '<', id)]),
        ]),
      );
    }
    return query.execute();
  },

  async get(executor: Executor, id: string): Promise<ManagedUserRow | undefined> {
    return executor.selectFrom('users').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  },

  /** Locks the row for a change decided on what it holds. */
  async getForUpdate(trx: Transaction<Database>, id: string): Promise<ManagedUserRow | undefined> {
    return trx
      .selectFrom('users')
      .select(COLUMNS)
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
  },

  async suspend(
    executor: Executor,
    id: string,
    by: string,
    reason: string,
    previous: UserStatus,
    now: Date,
  ): Promise<void> {
    await executor
      .updateTable('users')
      .set({
        status: 'suspended',
        status_before_suspension: previous,
        suspended_at: now,
        suspended_by: by,
        suspension_reason: reason,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  },

  async reinstate(executor: Executor, id: string, status: UserStatus, now: Date): Promise<void> {
    await executor
      .updateTable('users')
      .set({
        status,
        status_before_suspension: null,
        suspended_at: null,
        suspended_by: null,
        suspension_reason: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  },

  async setDelegatePartners(
    executor: Executor,
    id: string,
    partners: string[],
    now: Date,
  ): Promise<void> {
    await executor
      .updateTable('users')
      .set({ delegate_partners: partners, updated_at: now })
      .where('id', '=', id)
      .execute();
  },

  async setRoles(executor: Executor, id: string, roles: string[], now: Date): Promise<void> {
    await executor
      .updateTable('users')
      .set({ roles, updated_at: now })
      .where('id', '=', id)
      .execute();
  },

  /** Live sessions and tokens of a person, for the admin's view. */
  async liveCredentials(
    executor: Executor,
    id: string,
    now: Date,
  ): Promise<{ sessions: number; tokens: number }> {
    const sessions = await executor
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', id)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    const tokens = await executor
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', id)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    return { sessions: Number(sessions.n), tokens: Number(tokens.n) };
  },
};
