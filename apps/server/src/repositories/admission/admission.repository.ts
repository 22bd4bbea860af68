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
  | 'decided_by'
  | 'decision_reason'
  | 'training_file_key'
  | 'training_file_type'
  | 'training_file_name'
  | 'training_file_size'
  | 'training_file_expires_on'
  | 'training_file_uploaded_at'
>;

/** A row of the queue: the applicant, and who decided on them. */
export type QueueRow = ApplicantRow & { decider_name: string | null; decider_email: string | null };

/** What the queue shows: one status, optionally narrowed, a page at a time. */
export interface QueueFilter {
  status: 'pending' | 'admitted' | 'rejected';
  /** Only applicants with (true) or without (false) training evidence on file. */
  hasEvidence?: boolean | undefined;
  /** Words to find in the name, email address or institution (case-insensitive). */
  search?: string | undefined;
  /** The id of the last applicant of the previous page. */
  after?: string | undefined;
  limit: number;
}

/** The certificate file recorded on an applicant. */
export interface CertificateFileRecord {
  key: string;
  mediaType: string;
  name: string;
  size: number;
  expiresOn: string;
  uploadedAt: Date;
}

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
  'decided_by',
  'decision_reason',
  'training_file_key',
  'training_file_type',
  'training_file_name',
  'training_file_size',
  'training_file_expires_on',
  'training_file_uploaded_at',
] as const;

const QUEUED = APPLICANT.map((column) => `a.${column}` as const);

/** `%` and `_` match literally in a search (backslash is PostgreSQL's default LIKE escape). */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/gu, (c) => `\\${c}`)}%`;

/** SQL of admission: the queue reviewers work through, and each applicant's own standing. */
export const admissionRepository = {
  /**
   * One page of applicants with `filter.status`, with keyset pagination on the sort key and id:
   * pending ones oldest application first (the order they are worked in), decided ones newest
   * decision first. Asks for one row more than `limit` so the caller knows whether more follow.
   */
  async queue(executor: Executor, filter: QueueFilter): Promise<QueueRow[]> {
    const pending = filter.status === 'pending';
    let query = executor
      .selectFrom('users as a')
      .leftJoin('users as d', 'd.id', 'a.decided_by')
      .select([...QUEUED, 'd.name as decider_name', 'd.email as decider_email'])
      .where('a.status', '=', filter.status)
      .where('a.applied_at', 'is not', null)
      .limit(filter.limit + 1);
    query = pending
      ? query.orderBy('a.applied_at', 'asc').orderBy('a.id', 'asc')
      : query.orderBy('a.decided_at', 'desc').orderBy('a.id', 'desc');
    if (filter.after !== undefined) {
      // The row after which the page starts is looked up by id, so the sort key is compared at
      // the database's own precision, and nothing is skipped or repeated at a tie.
      query = query.where(
        pending
          ? sql<boolean>`(a.applied_at, a.id) > (select c.applied_at, c.id from users c where c.id = ${filter.after})`
          : sql<boolean>`(a.decided_at, a.id) < (select c.decided_at, c.id from users c where c.id = ${filter.after})`,
      );
    }
    if (filter.hasEvidence !== undefined) {
      query = query.where((eb) =>
        filter.hasEvidence === true
          ? eb.or([
              eb('a.training_certificate_id', 'is not', null),
              eb('a.training_file_key', 'is not', null),
            ])
          : eb.and([
              eb('a.training_certificate_id', 'is', null),
              eb('a.training_file_key', 'is', null),
            ]),
      );
    }
    const search = filter.search?.trim() ?? '';
    if (search !== '') {
      const pattern = likePattern(search);
      query = query.where((eb) =>
        eb.or([
          eb('a.name', 'ilike', pattern),
          eb('a.email', 'ilike', pattern),
          eb('a.institution', 'ilike', pattern),
        ]),
      );
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

  /** Records the applicant's certificate file, replacing any earlier one. */
  async setCertificateFile(
    executor: Executor,
    userId: string,
    file: CertificateFileRecord,
  ): Promise<void> {
    await executor
      .updateTable('users')
      .set({
        training_file_key: file.key,
        training_file_type: file.mediaType,
        training_file_name: file.name,
        training_file_size: file.size,
        training_file_expires_on: file.expiresOn,
        training_file_uploaded_at: file.uploadedAt,
        updated_at: file.uploadedAt,
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
