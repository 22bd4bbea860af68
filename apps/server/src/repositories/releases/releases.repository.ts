import type { ReleaseState } from '@lantern/core/releases';
import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, ReleaseFileTable, ReleaseRequestTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A request as it is shown: with its project's title and status and the people's names. */
export type ReleaseRow = Selectable<ReleaseRequestTable> & {
  project_title: string;
  project_status: 'active' | 'archived';
  requester_name: string;
  requester_email: string;
  decider_name: string | null;
};

export type ReleaseFileRow = Selectable<ReleaseFileTable>;

/** Where a page of requests begins: after this request (its time and id) in the list's order. */
export interface ReleaseCursor {
  at: Date;
  id: string;
}

/** A page of a list: its order, where it begins, how long it is. */
export interface ReleaseListing {
  state: ReleaseState | undefined;
  order: 'oldest' | 'newest';
  after: ReleaseCursor | undefined;
  limit: number;
}

const withNames = (executor: Executor) =>
  executor
    .selectFrom('release_request')
    .innerJoin('project', 'project.id', 'release_request.project_id')
    .innerJoin('users as requester', 'requester.id', 'release_request.requested_by')
    .leftJoin('users as decider', 'decider.id', 'release_request.decided_by')
    .selectAll('release_request')
    .select([
      'project.title as project_title',
      'project.status as project_status',
      'requester.name as requester_name',
      'requester.email as requester_email',
      'decider.name as decider_name',
    ]);

/**
 * SQL of release requests. A project's list names the project; one request is read by its id, and
 * its files by the request's id (the service decides who may see it); the reviewers' queue is the
 * one list across projects, for `release.review` only.
 */
export const releasesRepository = {
  async insertRequest(trx: Transaction<Database>, row: Insertable<ReleaseRequestTable>) {
    await trx.insertInto('release_request').values(row).execute();
  },

  async insertFiles(trx: Transaction<Database>, rows: Insertable<ReleaseFileTable>[]) {
    await trx.insertInto('release_file').values(rows).execute();
  },

  async request(executor: Executor, id: string): Promise<ReleaseRow | undefined> {
    return withNames(executor).where('release_request.id', '=', id).executeTakeFirst();
  },

  /** The request's row, locked until the transaction ends (a decision, a withdrawal). */
  async requestForUpdate(
    trx: Transaction<Database>,
    id: string,
  ): Promise<Selectable<ReleaseRequestTable> | undefined> {
    return trx
      .selectFrom('release_request')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
  },

  async files(executor: Executor, requestId: string): Promise<ReleaseFileRow[]> {
    return executor
      .selectFrom('release_file')
      .selectAll()
      .where('request_id', '=', requestId)
      .orderBy('position')
      .execute();
  },

  async file(
    executor: Executor,
    requestId: string,
    fileId: string,
  ): Promise<ReleaseFileRow | undefined> {
    return executor
      .selectFrom('release_file')
      .selectAll()
      .where('request_id', '=', requestId)
      .where('id', '=', fileId)
      .executeTakeFirst();
  },

  /** A page of one project's requests. */
  async ofProject(
    executor: Executor,
    projectId: string,
    listing: ReleaseListing,
  ): Promise<ReleaseRow[]> {
    return page(
      withNames(executor).where('release_request.project_id', '=', projectId),
      listing,
    ).execute();
  },

  /** A page of every project's requests (the reviewers' queue). */
  async queue(executor: Executor, listing: ReleaseListing): Promise<ReleaseRow[]> {
    return page(withNames(executor), listing).execute();
  },

  /** Moves a request on (the service checked that it may): who, when, and why if decided. */
  async setState(
    trx: Transaction<Database>,
    id: string,
    change: { state: ReleaseState; by: string; at: Date; reason: string | null },
  ): Promise<void> {
    await trx
      .updateTable('release_request')
      .set({
        state: change.state,
        decided_by: change.by,
        decided_at: change.at,
        decision_reason: change.reason,
      })
      .where('id', '=', id)
      .execute();
  },

  /** Withdraws the project's pending requests (its archiving); their ids. */
  async withdrawPending(
    trx: Transaction<Database>,
    projectId: string,
    by: string,
    at: Date,
  ): Promise<string[]> {
    const rows = await trx
      .updateTable('release_request')
      .set({ state: 'withdrawn', decided_by: by, decided_at: at })
      .where('project_id', '=', projectId)
      .where('state', '=', 'pending')
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
  },

  /** The dataset versions attached to the project: whose ids the disclosure checks look for. */
  async attachedVersions(
    executor: Executor,
    projectId: string,
  ): Promise<
    {
      id: string;
      status: string;
      snapshot: Selectable<Database['dataset_version']>['snapshot'];
    }[]
  > {
    return executor
      .selectFrom('project_dataset')
      .innerJoin('dataset_version', 'dataset_version.id', 'project_dataset.version_id')
      .select(['dataset_version.id', 'dataset_version.status', 'dataset_version.snapshot'])
      .where('project_dataset.project_id', '=', projectId)
      .where('project_dataset.status', '=', 'attached')
      .execute();
  },

  /** The addresses of admitted reviewers, to tell them a request arrived. */
  async reviewerEmails(executor: Executor): Promise<string[]> {
    const rows = await executor
      .selectFrom('users')
      .select('email')
      .where('status', '=', 'admitted')
      .where(sql<boolean>`'reviewer' = any(roles)`)
      .orderBy('email')
      .execute();
    return rows.map((row) => row.email);
  },
};

/** The list's order, state and cursor applied to a query of requests. */
function page(query: ReturnType<typeof withNames>, listing: ReleaseListing) {
  const direction = listing.order === 'oldest' ? 'asc' : 'desc';
  const beyond = listing.order === 'oldest' ? '>' : '<';
  let q = query;
  if (listing.state !== undefined) {
    q = q.where('release_request.state', '=', listing.state);
  }
  const after = listing.after;
  if (after !== undefined) {
    q = q.where((eb) =>
      eb.or([
        eb('release_request.requested_at', beyond, after.at),
        eb.and([
          eb('release_request.requested_at', '=', after.at),
          eb('release_request.id', beyond, after.id),
        ]),
      ]),
    );
  }
  return q
    .orderBy('release_request.requested_at', direction)
    .orderBy('release_request.id', direction)
    .limit(listing.limit);
}
