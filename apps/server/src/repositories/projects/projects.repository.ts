import type { AccessStatus, MemberRole } from '@lantern/core/projects';
import {
  sql,
  type Insertable,
  type Kysely,
  type Selectable,
  type Transaction,
  type Updateable,
} from 'kysely';
import type {
  Database,
  ProjectDatasetTable,
  ProjectInvitationTable,
  ProjectMemberTable,
  ProjectTable,
  UserStatus,
} from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;
export type ProjectRow = Selectable<ProjectTable>;
export type InvitationRow = Selectable<ProjectInvitationTable>;

/** A member with who they are. */
export interface MemberRow {
  user_id: string;
  role: MemberRole;
  joined_at: Date;
  name: string;
  email: string;
  user_status: UserStatus;
}

/** A project as one of its members lists it. */
export type MyProjectRow = ProjectRow & { role: MemberRole; members: number; datasets: number };

/** A project's access to a dataset version, with the dataset and version it names. */
export type ProjectDatasetRow = Selectable<ProjectDatasetTable> & {
  slug: string;
  dataset_title: string;
  access_tier: 'open' | 'approval';
  number: string | null;
  version_status: 'draft' | 'published' | 'retired';
};

/** An access request as reviewers read it. */
export type AccessRequestRow = ProjectDatasetRow & {
  project_title: string;
  project_purpose: string;
  project_status: 'active' | 'archived';
  requester_name: string;
  requester_email: string;
};

/** A published version a project may be offered. */
export interface PublishedVersionRow {
  dataset_id: string;
  number: string | null;
  published_at: Date | null;
  notes: string;
  change_log: Selectable<Database['dataset_version']>['change_log'];
}

const projectDatasets = (executor: Executor) =>
  executor
    .selectFrom('project_dataset')
    .innerJoin('dataset', 'dataset.id', 'project_dataset.dataset_id')
    .innerJoin('dataset_version', 'dataset_version.id', 'project_dataset.version_id')
    .selectAll('project_dataset')
    .select([
      'dataset.slug',
      'dataset.title as dataset_title',
      'dataset.access_tier',
      'dataset_version.number',
      'dataset_version.status as version_status',
    ]);

/**
 * SQL of projects: the project, its members, invitations and dataset access. Every query names
 * the project (or, for a member's own list, the user); access requests are the reviewers' queue.
 */
export const projectsRepository = {
  async insertProject(executor: Executor, row: Insertable<ProjectTable>): Promise<void> {
    await executor.insertInto('project').values(row).execute();
  },

  async project(executor: Executor, id: string): Promise<ProjectRow | undefined> {
    return executor.selectFrom('project').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** Locks the project's row: changes to one project are made one at a time. */
  async projectForUpdate(trx: Transaction<Database>, id: string): Promise<ProjectRow | undefined> {
    return trx
      .selectFrom('project')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
  },

  async updateProject(
    executor: Executor,
    id: string,
    changes: Updateable<ProjectTable>,
  ): Promise<void> {
    await executor
      .updateTable('project')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  },

  /** The projects `userId` is a member of, newest first, with their role and counts. */
  async projectsOf(executor: Executor, userId: string): Promise<MyProjectRow[]> {
    const rows = await executor
      .selectFrom('project')
      .innerJoin('project_member as me', 'me.project_id', 'project.id')
      .selectAll('project')
      .select((eb) => [
        'me.role',
        eb
          .selectFrom('project_member as m')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('m.project_id', '=', 'project.id')
          .as('members'),
        eb
          .selectFrom('project_dataset as d')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('d.project_id', '=', 'project.id')
          .where('d.status', '=', 'attached')
          .as('datasets'),
      ])
      .where('me.user_id', '=', userId)
      .orderBy('project.created_at', 'desc')
      .orderBy('project.id')
      .execute();
    return rows.map((row) => ({
      ...row,
      members: Number(row.members ?? 0),
      datasets: Number(row.datasets ?? 0),
    }));
  },

  async member(
    executor: Executor,
    projectId: string,
    userId: string,
  ): Promise<MemberRow | undefined> {
    return executor
      .selectFrom('project_member')
      .innerJoin('users', 'users.id', 'project_member.user_id')
      .select([
        'project_member.user_id',
        'project_member.role',
        'project_member.joined_at',
        'users.name',
        'users.email',
        'users.status as user_status',
      ])
      .where('project_member.project_id', '=', projectId)
      .where('project_member.user_id', '=', userId)
      .executeTakeFirst();
  },

  /** The members, owners first, then by when they joined. */
  async members(executor: Executor, projectId: string): Promise<MemberRow[]> {
    const rows = await executor
      .selectFrom('project_member')
      .innerJoin('users', 'users.id', 'project_member.user_id')
      .select([
        'project_member.user_id',
        'project_member.role',
        'project_member.joined_at',
        'users.name',
        'users.email',
        'users.status as user_status',
      ])
      .where('project_member.project_id', '=', projectId)
      .orderBy('project_member.joined_at')
      .orderBy('project_member.user_id')
      .execute();
    const rank: Record<MemberRole, number> = { owner: 0, editor: 1, viewer: 2 };
    return rows.sort((a, b) => rank[a.role] - rank[b.role]);
  },

  async insertMember(executor: Executor, row: Insertable<ProjectMemberTable>): Promise<void> {
    await executor.insertInto('project_member').values(row).execute();
  },

  async setMemberRole(
    executor: Executor,
    projectId: string,
    userId: string,
    role: MemberRole,
  ): Promise<void> {
    await executor
      .updateTable('project_member')
      .set({ role })
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .execute();
  },

  async deleteMember(executor: Executor, projectId: string, userId: string): Promise<void> {
    await executor
      .deleteFrom('project_member')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .execute();
  },

  async insertInvitation(
    executor: Executor,
    row: Insertable<ProjectInvitationTable>,
  ): Promise<void> {
    await executor.insertInto('project_invitation').values(row).execute();
  },

  /** A project's invitations, newest first. */
  async invitations(executor: Executor, projectId: string): Promise<InvitationRow[]> {
    return executor
      .selectFrom('project_invitation')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
  },

  /** The invitation a link's secret names, locked for accepting it. */
  async invitationByHashForUpdate(
    trx: Transaction<Database>,
    tokenHash: string,
  ): Promise<InvitationRow | undefined> {
    return trx
      .selectFrom('project_invitation')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .forUpdate()
      .executeTakeFirst();
  },

  async updateInvitation(
    executor: Executor,
    projectId: string,
    id: string,
    changes: Updateable<ProjectInvitationTable>,
  ): Promise<void> {
    await executor
      .updateTable('project_invitation')
      .set(changes)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .execute();
  },

  /** Withdraws every invitation of the project still open at `now`; returns how many. */
  async revokeOpenInvitations(executor: Executor, projectId: string, now: Date): Promise<number> {
    const result = await executor
      .updateTable('project_invitation')
      .set({ revoked_at: now })
      .where('project_id', '=', projectId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  async insertProjectDataset(
    executor: Executor,
    row: Insertable<ProjectDatasetTable>,
  ): Promise<void> {
    await executor.insertInto('project_dataset').values(row).execute();
  },

  /** A project's dataset access, by dataset then newest request. */
  async projectDatasets(executor: Executor, projectId: string): Promise<ProjectDatasetRow[]> {
    return projectDatasets(executor)
      .where('project_dataset.project_id', '=', projectId)
      .orderBy('dataset.slug')
      .orderBy('dataset_version.major', 'desc')
      .orderBy('dataset_version.minor', 'desc')
      .orderBy('dataset_version.patch', 'desc')
      .execute();
  },

  /** Withdraws the project's requests still waiting for a reviewer; returns how many. */
  async withdrawRequested(executor: Executor, projectId: string, now: Date): Promise<number> {
    const result = await executor
      .updateTable('project_dataset')
      .set({ status: 'withdrawn', decided_at: now, decided_by: 'system:lantern' })
      .where('project_id', '=', projectId)
      .where('status', '=', 'requested')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  /** Every published version of these datasets (for what a project is offered). */
  async publishedVersions(
    executor: Executor,
    datasetIds: readonly string[],
  ): Promise<PublishedVersionRow[]> {
    if (datasetIds.length === 0) {
      return [];
    }
    return executor
      .selectFrom('dataset_version')
      .select(['dataset_id', 'number', 'published_at', 'notes', 'change_log'])
      .where('dataset_id', 'in', datasetIds)
      .where('status', '=', 'published')
      .execute();
  },

  /** The reviewers' queue: requests in `status`, oldest first. */
  /** The queue; `partners` (when given) keeps the requests to datasets of those partners. */
  async accessRequests(
    executor: Executor,
    status: AccessStatus,
    limit: number,
    partners?: readonly string[],
  ): Promise<AccessRequestRow[]> {
    return ofPartners(accessRequests(executor), partners)
      .where('project_dataset.status', '=', status)
      .orderBy('project_dataset.requested_at', status === 'requested' ? 'asc' : 'desc')
      .orderBy('project_dataset.id')
      .limit(limit)
      .execute();
  },

  async accessRequestForUpdate(
    trx: Transaction<Database>,
    id: string,
    partners?: readonly string[],
  ): Promise<AccessRequestRow | undefined> {
    return ofPartners(accessRequests(trx), partners)
      .where('project_dataset.id', '=', id)
      .forUpdate('project_dataset')
      .executeTakeFirst();
  },

  async accessRequest(executor: Executor, id: string): Promise<AccessRequestRow | undefined> {
    return accessRequests(executor).where('project_dataset.id', '=', id).executeTakeFirst();
  },

  /** The partners a person answers access requests for (empty for most people). */
  async delegatePartners(executor: Executor, userId: string): Promise<string[]> {
    const row = await executor
      .selectFrom('users')
      .select('delegate_partners')
      .where('id', '=', userId)
      .executeTakeFirst();
    return row?.delegate_partners ?? [];
  },

  async decideAccess(
    executor: Executor,
    id: string,
    decision: { status: AccessStatus; by: string; at: Date; reason: string },
  ): Promise<void> {
    await executor
      .updateTable('project_dataset')
      .set({
        status: decision.status,
        decided_by: decision.by,
        decided_at: decision.at,
        reason: decision.reason,
      })
      .where('id', '=', id)
      .execute();
  },

  /** The names of people, by id, for the activity feed. */
  async userNames(executor: Executor, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) {
      return new Map();
    }
    const rows = await executor
      .selectFrom('users')
      .select(['id', 'name'])
      .where('id', 'in', ids)
      .execute();
    return new Map(rows.map((row) => [row.id, row.name]));
  },
};

function accessRequests(executor: Executor) {
  return projectDatasets(executor)
    .innerJoin('project', 'project.id', 'project_dataset.project_id')
    .innerJoin('users', 'users.id', 'project_dataset.requested_by')
    .select([
      'project.title as project_title',
      'project.purpose as project_purpose',
      'project.status as project_status',
      'users.name as requester_name',
      'users.email as requester_email',
    ]);
}

/**
 * Keeps the requests to datasets one of `partners` (by name) contributes to; all when undefined.
 * An empty list keeps none.
 */
function ofPartners<Q extends ReturnType<typeof accessRequests>>(
  query: Q,
  partners: readonly string[] | undefined,
): Q {
  if (partners === undefined) {
    return query;
  }
  if (partners.length === 0) {
    return query.where(sql<boolean>`false`) as Q;
  }
  return query.where((eb) =>
    eb.or(
      partners.map(
        (name) => sql<boolean>`dataset.partners @> ${JSON.stringify([{ name }])}::jsonb`,
      ),
    ),
  ) as Q;
}
