import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, UsersTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;
export type ApplicantRow = Pick<
  Selectable<UsersTable>,
  | 'id'
  | 'email'
  | 'name'
  | 'institution'
  | 'institution_role'
  | 'research_purpose'
  | 'orcid'
  | 'status'
  | 'applied_at'
  | 'training_certificate_id'
  | 'training_expires_on'
  | 'decided_at'
  | 'decision_reason'
>;

const APPLICANT = [
  'id',
  'email',
  'name',
  'institution',
  'institution_role',
  'research_purpose',
  'orcid',
  'status',
  'applied_at',
  'training_certificate_id',
  'training_expires_on',
  'decided_at',
  'decision_reason',
] as const;

/** SQL of admission: the queue reviewers work through, and each applicant's own standing. */
export const admissionRepository = {
  /** Applicants with `status`, oldest application first, keyset on (applied_at, id). */
  async queue(
    executor: Executor,
    filter: {
      status: 'pending' | 'admitted' | 'rejected';
      hasEvidence?: boolean | undefined;
      limit: number;
    },
  ): Promise<ApplicantRow[]> {
    let query = executor
      .selectFrom('users')
      .select(APPLICANT)
      .where('status', '=', filter.status)
      .where('applied_at', 'is not', null)
      .orderBy('applied_at')
      .orderBy('id')
      .limit(filter.limit);
    if (filter.hasEvidence === true) {
      query = query.where('training_certificate_id', 'is not', null);
    }
    if (filter.hasEvidence === false) {
      query = query.where('training_certificate_id', 'is', null);
    }
    return query.execute();
  },

  async applicant(executor: Executor, userId: string): Promise<ApplicantRow | undefined> {
    return executor
      .selectFrom('users')
      .select(APPLICANT)
      .where('id', '=', userId)
      .executeTakeFirst();
  },

  /** How many pending applications entered the queue before this one. */
  async positionInQueue(executor: Executor, appliedAt: Date): Promise<number> {
    const row = await executor
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'pending')
      .where('applied_at', '<', appliedAt)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /** The median time from application to decision over decisions since `since`, in seconds. */
  async medianWaitSeconds(executor: Executor, since: Date): Promise<number | null> {
    const { rows } = await sql<{ seconds: number | string | null }>`
      select percentile_cont(0.5) within group (order by extract(epoch from decided_at - applied_at)) as seconds
      from users where decided_at is not null and applied_at is not null and decided_at >= ${since}`.execute(
      executor,
    );
    const value = rows[0]?.seconds;
    return value === null || value === undefined ? null : Number(value);
  },

  async setEvidence(
    executor: Executor,
    userId: string,
    certificateId: string,
    expiresOn: string,
  ): Promise<void> {
    await executor
      .updateTable('users')
      .set({
        training_certificate_id: certificateId,
        training_expires_on: expiresOn,
        updated_at: new Date(),
      })
      .where('id', '=', userId)
      .execute();
  },

  /** Records a decision on a pending applicant; false when the user was not pending. */
  async decide(
    trx: Transaction<Database>,
    userId: string,
    decision: { status: 'admitted' | 'rejected'; by: string; reason: string; at: Date },
  ): Promise<boolean> {
    const result = await trx
      .updateTable('users')
      .set({
        status: decision.status,
        decided_at: decision.at,
        decided_by: decision.by,
        decision_reason: decision.reason,
        updated_at: decision.at,
      })
      .where('id', '=', userId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },
};
