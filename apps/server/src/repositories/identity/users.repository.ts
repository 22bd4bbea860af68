import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, UsersTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;
export type UserRow = Selectable<UsersTable>;

/** SQL of users. Lookups by id or address only; listing joins the admission issue. */
export const usersRepository = {
  async count(executor: Executor): Promise<number> {
    const row = await executor
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  async findById(executor: Executor, id: string): Promise<UserRow | undefined> {
    return executor.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** By address, whatever its case (the unique index is on lower(email)). */
  async findByEmail(executor: Executor, email: string): Promise<UserRow | undefined> {
    return executor
      .selectFrom('users')
      .selectAll()
      .where(sql<string>`lower(email)`, '=', email.toLowerCase())
      .executeTakeFirst();
  },

  /** Admins that have never set a password (the first admin before setup). */
  async findAdminsWithoutPassword(executor: Executor): Promise<UserRow[]> {
    return executor
      .selectFrom('users')
      .selectAll()
      .where(sql<boolean>`'admin' = any(roles)`)
      .where('password_hash', 'is', null)
      .execute();
  },

  async insert(executor: Executor, user: Insertable<UsersTable>): Promise<void> {
    await executor.insertInto('users').values(user).execute();
  },

  /** Marks the address verified and moves an unverified user on to wait for admission. */
  async markEmailVerified(executor: Executor, id: string, now: Date): Promise<void> {
    await executor
      .updateTable('users')
      .set({ email_verified_at: now, applied_at: now, status: 'pending', updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'unverified')
      .execute();
  },

  async setPasswordHash(executor: Executor, id: string, passwordHash: string): Promise<void> {
    await executor
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  },
};
