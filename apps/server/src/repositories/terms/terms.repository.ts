import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, TermsVersionTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;
export type TermsVersionRow = Selectable<TermsVersionTable>;

/**
 * Whether the user in the row being selected (`users.id`) accepted the newest published version:
 * a column for the queries that authenticate callers, so the check costs no extra round trip.
 */
export const acceptedCurrentTerms = sql<boolean>`exists (
  select 1 from terms_acceptance
  where terms_acceptance.user_id = users.id
    and terms_acceptance.version = (select max(version) from terms_version)
)`.as('terms_accepted');

/** SQL of the terms: published versions (append-only) and acceptances. */
export const termsRepository = {
  async current(executor: Executor): Promise<TermsVersionRow | undefined> {
    return executor
      .selectFrom('terms_version')
      .selectAll()
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
  },

  async byVersion(executor: Executor, version: number): Promise<TermsVersionRow | undefined> {
    return executor
      .selectFrom('terms_version')
      .selectAll()
      .where('version', '=', version)
      .executeTakeFirst();
  },

  /** Every version, newest first, with how many people accepted each. */
  async history(executor: Executor): Promise<(TermsVersionRow & { acceptances: number })[]> {
    const rows = await executor
      .selectFrom('terms_version')
      .leftJoin('terms_acceptance', 'terms_acceptance.version', 'terms_version.version')
      .selectAll('terms_version')
      .select((eb) => eb.fn.count<string>('terms_acceptance.user_id').as('acceptances'))
      .groupBy('terms_version.version')
      .orderBy('terms_version.version', 'desc')
      .execute();
    return rows.map((row) => ({ ...row, acceptances: Number(row.acceptances) }));
  },

  /** Serialises publishers, so two admins publishing at once get versions n+1 and n+2. */
  async lockForPublish(trx: Transaction<Database>): Promise<void> {
    await sql`lock table terms_version in share row exclusive mode`.execute(trx);
  },

  async insert(executor: Executor, version: Insertable<TermsVersionTable>): Promise<void> {
    await executor.insertInto('terms_version').values(version).execute();
  },

  /** The user's newest acceptance, if any. */
  async latestAcceptance(
    executor: Executor,
    userId: string,
  ): Promise<{ version: number; accepted_at: Date } | undefined> {
    return executor
      .selectFrom('terms_acceptance')
      .select(['version', 'accepted_at'])
      .where('user_id', '=', userId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
  },

  /** Records an acceptance; false when it was already recorded. */
  async accept(
    executor: Executor,
    row: { user_id: string; version: number; client_ip: string | null },
  ): Promise<boolean> {
    const inserted = await executor
      .insertInto('terms_acceptance')
      .values(row)
      .onConflict((oc) => oc.columns(['user_id', 'version']).doNothing())
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  /** Addresses of admitted people, to tell them a new version waits for them. */
  async admittedAddresses(executor: Executor): Promise<{ id: string; email: string }[]> {
    return executor
      .selectFrom('users')
      .select(['id', 'email'])
      .where('status', '=', 'admitted')
      .execute();
  },
};
