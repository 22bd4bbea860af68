import { randomBytes } from 'node:crypto';
import { AppError, blockedByTerms, hasPermission, type Principal } from '@lantern/core';
import { parseAuditBody } from '@lantern/core/audit';
import type { ChangeLogEntry } from '@lantern/core/catalog';
import { generateSecret, hashSecret, isSecretOfKind } from '@lantern/core/identity';
import {
  holdsAccess,
  initialAccessStatus,
  INVITATION_TTL_MS,
  invitationState,
  isProjectOpen,
  mayAct,
  normaliseEmail,
  offeredVersions,
  PROJECT_ACTIONS,
  refuseAcceptance,
  refuseAction,
  refuseOwnerless,
  refuseVersionForAccess,
  type AccessStatus,
  type DatasetRequest,
  type InvitationState,
  type MemberFacts,
  type MemberRole,
  type MembershipChange,
  type NewProject,
  type ProjectAction,
  type ProjectChanges,
  type ProjectStatus,
} from '@lantern/core/projects';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';
import { catalogRepository } from '../../repositories/catalog/catalog.repository.js';
import { usersRepository } from '../../repositories/identity/users.repository.js';
import {
  projectsRepository,
  type InvitationRow,
  type MemberRow,
  type ProjectDatasetRow,
  type ProjectRow,
} from '../../repositories/projects/projects.repository.js';
import { releasesRepository } from '../../repositories/releases/releases.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';

/** A project in its member's list. */
export interface ProjectSummary {
  id: string;
  title: string;
  purpose: string;
  status: ProjectStatus;
  role: MemberRole;
  members: number;
  datasets: number;
  createdAt: string;
  archivedAt: string | null;
}

export interface ProjectMember {
  userId: string;
  name: string;
  email: string;
  role: MemberRole;
  /** False while their account is suspended: they cannot act, here or anywhere. */
  active: boolean;
  joinedAt: string;
}

export interface ProjectInvitation {
  id: string;
  email: string;
  role: MemberRole;
  state: InvitationState;
  expiresAt: string;
  createdAt: string;
}

/** A project's access to one dataset version. */
export interface ProjectDataset {
  /** The access request's id (reviewers answer it by this). */
  id: string;
  slug: string;
  title: string;
  accessTier: 'open' | 'approval';
  version: string;
  versionStatus: 'published' | 'retired';
  status: AccessStatus;
  /** Whether members work with it now: attached, and the project active. */
  access: boolean;
  requestedAt: string;
  decidedAt: string | null;
  /** The reviewer's reason, once answered. */
  reason: string | null;
}

/** A newer published version of a dataset the project holds: offered, not forced. */
export interface VersionOffer {
  slug: string;
  title: string;
  version: string;
  publishedAt: string | null;
  notes: string;
  changeLog: ChangeLogEntry[];
}

/** One change in the project, from the audit log. */
export interface ActivityEntry {
  seq: number;
  time: string;
  actor: string;
  /** The person's name when the actor is a user. */
  actorName: string | null;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

/** Everything a project page shows, in one answer. */
export interface ProjectPage {
  id: string;
  title: string;
  purpose: string;
  status: ProjectStatus;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
  /** The caller's role, and the project actions it allows them now. */
  role: MemberRole;
  may: ProjectAction[];
  members: ProjectMember[];
  invitations: ProjectInvitation[];
  datasets: ProjectDataset[];
  offers: VersionOffer[];
  activity: ActivityEntry[];
}

/** Reads of the project: kept in the audit log, left out of its activity feed. */
const READ_ACTIONS = [
  'project.read',
  'project.list',
  'email.queue',
  // The project page reads its instances and the types, again while one starts or stops.
  'instance.list',
  'instance.types',
  'instance.read',
  'instance.usage',
  // The project page's spend, read again while an instance runs.
  'project.spend',
  // Its release requests, read and previewed (downloads, what left, stay in the feed).
  'release.list',
  'release.read',
  'release.preview',
];
const ACTIVITY_LIMIT = 100;

/**
 * Projects (issue 7): creating them with the datasets they need, their members and roles,
 * invitations by email, dataset access per version, archiving. Only members see a project (any
 * other caller is told it does not exist); each action is checked against PROJECT_ACTIONS; every
 * change is one transaction that locks the project's row and writes its audit event.
 */
export class ProjectService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
    private readonly links: { base: string },
  ) {}

  /** Creates a project with `userId` as its owner and asks for its datasets. */
  async create(userId: string, input: NewProject): Promise<ProjectPage> {
    const id = `prj_${randomBytes(8).toString('hex')}`;
    await this.db.transaction().execute(async (trx) => {
      await projectsRepository.insertProject(trx, {
        id,
        title: input.title,
        purpose: input.purpose,
        created_by: userId,
      });
      await projectsRepository.insertMember(trx, {
        project_id: id,
        user_id: userId,
        role: 'owner',
        added_by: `user:${userId}`,
      });
      await this.audit.record(trx, {
        action: 'project.create',
        target: `project:${id}`,
        projectId: id,
        details: { title: input.title },
      });
      for (const [i, request] of input.datasets.entries()) {
        await this.requestDataset(trx, id, userId, request, `body.datasets.${i}`);
      }
    });
    return this.get(userId, id);
  }

  /** The projects `userId` is a member of, newest first. */
  async listMine(userId: string): Promise<ProjectSummary[]> {
    const rows = await projectsRepository.projectsOf(this.db, userId);
    return rows.map((row) => ({
      id: row.id,
      title: row.title,
      purpose: row.purpose,
      status: row.status,
      role: row.role,
      members: row.members,
      datasets: row.datasets,
      createdAt: row.created_at.toISOString(),
      archivedAt: row.archived_at?.toISOString() ?? null,
    }));
  }

  /** The project page: members, invitations, datasets and versions, offers, activity. */
  async get(userId: string, projectId: string): Promise<ProjectPage> {
    const { project, member } = await this.requireMember(this.db, projectId, userId);
    const [members, invitations, datasets] = await Promise.all([
      projectsRepository.members(this.db, projectId),
      projectsRepository.invitations(this.db, projectId),
      projectsRepository.projectDatasets(this.db, projectId),
    ]);
    const now = new Date();
    return {
      id: project.id,
      title: project.title,
      purpose: project.purpose,
      status: project.status,
      createdAt: project.created_at.toISOString(),
      updatedAt: project.updated_at.toISOString(),
      archivedAt: project.archived_at?.toISOString() ?? null,
      role: member.role,
      may: (Object.keys(PROJECT_ACTIONS) as ProjectAction[]).filter(
        (action) =>
          mayAct(member.role, action) &&
          (action === 'project.read' || isProjectOpen(project.status)),
      ),
      members: members.map(presentMember),
      invitations: invitations
        .map((row) => presentInvitation(row, now))
        .filter((inv) => inv.state !== 'accepted'),
      datasets: datasets.map((row) => presentDataset(row, project.status)),
      offers: await this.offers(datasets),
      activity: await this.activity(projectId),
    };
  }

  /** Changes the title or the purpose. */
  async update(userId: string, projectId: string, changes: ProjectChanges): Promise<ProjectPage> {
    await this.change(projectId, userId, 'project.update', async (trx) => {
      await projectsRepository.updateProject(trx, projectId, {
        ...(changes.title === undefined ? {} : { title: changes.title }),
        ...(changes.purpose === undefined ? {} : { purpose: changes.purpose }),
      });
      return {
        action: 'project.update',
        target: `project:${projectId}`,
        details: { changed: Object.keys(changes).sort() },
      };
    });
    return this.get(userId, projectId);
  }

  /**
   * Attaches an open dataset version or requests an approval one (an offered newer version is
   * taken the same way). Refused: a version the project has already, a retired one.
   */
  async addDataset(
    userId: string,
    projectId: string,
    request: DatasetRequest,
  ): Promise<ProjectPage> {
    await this.change(projectId, userId, 'project.add_dataset', async (trx) => {
      await this.requestDataset(trx, projectId, userId, request, 'body');
      return null;
    });
    return this.get(userId, projectId);
  }

  /**
   * Invites `email` with `role`: an email with a link that works once and expires in a week.
   * Refused for a member's address and for an address with an invitation still open.
   */
  async invite(
    userId: string,
    projectId: string,
    input: { email: string; role: MemberRole },
  ): Promise<ProjectInvitation> {
    const email = normaliseEmail(input.email);
    const id = `inv_${randomBytes(8).toString('hex')}`;
    const token = generateSecret('invitation');
    const now = new Date();
    await this.change(projectId, userId, 'project.invite', async (trx, project, inviter) => {
      const members = await projectsRepository.members(trx, projectId);
      if (members.some((m) => normaliseEmail(m.email) === email)) {
        throw new AppError('conflict', `${email} is a member of this project already`);
      }
      const open = (await projectsRepository.invitations(trx, projectId)).find(
        (inv) => inv.email === email && invitationState(inviteFacts(inv), now) === 'pending',
      );
      if (open !== undefined) {
        throw new AppError(
          'conflict',
          `${email} was invited already (the link works until ${open.expires_at.toISOString()}); withdraw that invitation to send another`,
        );
      }
      await projectsRepository.insertInvitation(trx, {
        id,
        project_id: projectId,
        email,
        role: input.role,
        token_hash: hashSecret(token),
        invited_by: userId,
        expires_at: new Date(now.getTime() + INVITATION_TTL_MS),
      });
      const link = `${this.links.base}/invitations#token=${token}`;
      await this.email.queue(trx, {
        kind: 'project.invitation',
        to: email,
        subject: `${inviter.name} invites you to the Lantern project "${project.title}"`,
        text:
          `Hello,\n\n${inviter.name} invites you to join the project "${project.title}" on Lantern as ${input.role === 'owner' ? 'an owner' : input.role === 'editor' ? 'an editor' : 'a viewer'}.\n\n` +
          `Its research purpose: ${project.purpose}\n\n` +
          `Accept the invitation: ${link}\n\n` +
          `The link works once, for seven days. If you have no Lantern account yet, register with this address (${email}) first: once you are admitted and have accepted the terms, open the link again.\n`,
      });
      return {
        action: 'project.invite',
        target: `invitation:${id}`,
        details: { email, role: input.role },
      };
    });
    const row = (await projectsRepository.invitations(this.db, projectId)).find((r) => r.id === id);
    if (row === undefined) {
      throw new AppError('internal', 'the invitation was not kept');
    }
    return presentInvitation(row, new Date());
  }

  /** Withdraws an invitation still open. */
  async revokeInvitation(userId: string, projectId: string, invitationId: string): Promise<void> {
    const now = new Date();
    await this.change(projectId, userId, 'project.revoke_invitation', async (trx) => {
      const row = (await projectsRepository.invitations(trx, projectId)).find(
        (inv) => inv.id === invitationId,
      );
      if (row === undefined) {
        throw new AppError('not_found', 'this project has no such invitation');
      }
      const state = invitationState(inviteFacts(row), now);
      if (state !== 'pending') {
        throw new AppError('conflict', `this invitation is ${state}; only open ones are withdrawn`);
      }
      await projectsRepository.updateInvitation(trx, projectId, invitationId, { revoked_at: now });
      return {
        action: 'project.revoke_invitation',
        target: `invitation:${invitationId}`,
        details: { email: row.email },
      };
    });
  }

  /**
   * Accepts an invitation with the secret of its link. The caller must be admitted, have accepted
   * the current terms, and be signed in with the invited address; the link then works no more.
   */
  async accept(principal: Principal, token: string): Promise<ProjectPage> {
    if (principal.kind !== 'user') {
      throw new AppError('unauthenticated', 'sign in to accept an invitation');
    }
    const userId = principal.userId;
    if (!hasPermission(principal, 'project.work')) {
      throw new AppError(
        'forbidden',
        blockedByTerms(principal, 'project.work')
          ? 'accept the current version of the terms (at /terms) before you join a project, then open the link again'
          : 'only admitted researchers join projects: once reviewers admit you, open the invitation link again',
      );
    }
    const now = new Date();
    const projectId = await this.db.transaction().execute(async (trx) => {
      const invitation = isSecretOfKind(token, 'invitation')
        ? await projectsRepository.invitationByHashForUpdate(trx, hashSecret(token))
        : undefined;
      if (invitation === undefined) {
        throw new AppError(
          'not_found',
          'this invitation link is not valid; check that it was copied whole',
        );
      }
      const refusal = refuseAcceptance(inviteFacts(invitation), now);
      if (refusal !== null) {
        throw new AppError('conflict', refusal);
      }
      const project = await projectsRepository.projectForUpdate(trx, invitation.project_id);
      if (project === undefined || !isProjectOpen(project.status)) {
        throw new AppError('conflict', 'this project is archived; it takes no new members');
      }
      const user = await usersRepository.findById(trx, userId);
      if (user === undefined || normaliseEmail(user.email) !== invitation.email) {
        throw new AppError(
          'forbidden',
          `this invitation was sent to ${invitation.email}; sign in with that address to accept it`,
        );
      }
      if ((await projectsRepository.member(trx, project.id, userId)) !== undefined) {
        throw new AppError('conflict', 'you are a member of this project already');
      }
      await projectsRepository.insertMember(trx, {
        project_id: project.id,
        user_id: userId,
        role: invitation.role,
        added_by: `user:${invitation.invited_by}`,
      });
      await projectsRepository.updateInvitation(trx, project.id, invitation.id, {
        accepted_at: now,
        accepted_by: userId,
      });
      await this.audit.record(trx, {
        action: 'project.join',
        target: `user:${userId}`,
        projectId: project.id,
        details: { invitation: invitation.id, role: invitation.role },
      });
      return project.id;
    });
    return this.get(userId, projectId);
  }

  /** Gives a member another role (never leaving the project without an owner). */
  async changeRole(
    userId: string,
    projectId: string,
    memberId: string,
    role: MemberRole,
  ): Promise<ProjectPage> {
    await this.change(projectId, userId, 'project.change_role', async (trx) => {
      const members = await projectsRepository.members(trx, projectId);
      const target = members.find((m) => m.user_id === memberId);
      if (target === undefined) {
        throw new AppError('not_found', 'this project has no such member');
      }
      if (target.role === role) {
        throw new AppError(
          'conflict',
          `${target.name} is ${role === 'viewer' ? 'a' : 'an'} ${role} already`,
        );
      }
      refuseIfOwnerless(members, { kind: 'set_role', userId: memberId, role });
      await projectsRepository.setMemberRole(trx, projectId, memberId, role);
      return {
        action: 'project.change_role',
        target: `user:${memberId}`,
        details: { from: target.role, to: role },
      };
    });
    return this.get(userId, projectId);
  }

  /** Removes a member (never the last owner). */
  async removeMember(userId: string, projectId: string, memberId: string): Promise<ProjectPage> {
    await this.change(projectId, userId, 'project.remove_member', async (trx) => {
      const members = await projectsRepository.members(trx, projectId);
      const target = members.find((m) => m.user_id === memberId);
      if (target === undefined) {
        throw new AppError('not_found', 'this project has no such member');
      }
      refuseIfOwnerless(members, { kind: 'remove', userId: memberId });
      await projectsRepository.deleteMember(trx, projectId, memberId);
      return {
        action: 'project.remove_member',
        target: `user:${memberId}`,
        details: { role: target.role },
      };
    });
    return this.get(userId, projectId);
  }

  /** Leaves the project (the last owner transfers ownership first). */
  async leave(userId: string, projectId: string): Promise<void> {
    await this.change(
      projectId,
      userId,
      'project.leave',
      async (trx, _project, member) => {
        const members = await projectsRepository.members(trx, projectId);
        refuseIfOwnerless(members, { kind: 'leave', userId });
        await projectsRepository.deleteMember(trx, projectId, userId);
        return {
          action: 'project.leave',
          target: `user:${userId}`,
          details: { role: member.role },
        };
      },
      { evenArchived: true },
    );
  }

  /** Makes another member owner; the caller stays on as an editor. */
  async transferOwnership(
    userId: string,
    projectId: string,
    toUserId: string,
  ): Promise<ProjectPage> {
    await this.change(projectId, userId, 'project.transfer', async (trx) => {
      if (toUserId === userId) {
        throw new AppError('conflict', 'you are an owner already; name another member');
      }
      const target = await projectsRepository.member(trx, projectId, toUserId);
      if (target === undefined) {
        throw new AppError('not_found', 'this project has no such member; invite them first');
      }
      if (target.user_status !== 'admitted') {
        throw new AppError(
          'conflict',
          `${target.name}'s account is suspended; they cannot own the project`,
        );
      }
      if (target.role !== 'owner') {
        await projectsRepository.setMemberRole(trx, projectId, toUserId, 'owner');
      }
      await projectsRepository.setMemberRole(trx, projectId, userId, 'editor');
      return {
        action: 'project.transfer',
        target: `user:${toUserId}`,
        details: { from: userId, to: toUserId },
      };
    });
    return this.get(userId, projectId);
  }

  /**
   * Archives the project: access to its datasets ends, open invitations, dataset requests and
   * pending release requests are withdrawn; nothing is deleted, and members still read the record.
   */
  async archive(userId: string, projectId: string): Promise<ProjectPage> {
    const now = new Date();
    await this.change(projectId, userId, 'project.archive', async (trx) => {
      await projectsRepository.updateProject(trx, projectId, {
        status: 'archived',
        archived_at: now,
        archived_by: `user:${userId}`,
      });
      const invitations = await projectsRepository.revokeOpenInvitations(trx, projectId, now);
      const requests = await projectsRepository.withdrawRequested(trx, projectId, now);
      // Nothing leaves an archived project: its release requests still waiting are withdrawn.
      const releases = await releasesRepository.withdrawPending(trx, projectId, userId, now);
      return {
        action: 'project.archive',
        target: `project:${projectId}`,
        details: {
          invitationsWithdrawn: invitations,
          requestsWithdrawn: requests,
          releasesWithdrawn: releases,
        },
      };
    });
    return this.get(userId, projectId);
  }

  /**
   * One change to a project, in one transaction: the project's row locked, the caller's
   * membership and role checked against `action`, the change made and audited.
   */
  private async change(
    projectId: string,
    userId: string,
    action: ProjectAction,
    make: (
      trx: Transaction<Database>,
      project: ProjectRow,
      member: MemberRow,
    ) => Promise<{ action: string; target: string; details: Record<string, unknown> } | null>,
    options: { evenArchived?: boolean } = {},
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { project, member } = await this.requireMember(
        trx,
        projectId,
        userId,
        await projectsRepository.projectForUpdate(trx, projectId),
      );
      const refusal = refuseAction(member.role, action);
      if (refusal !== null) {
        throw new AppError('forbidden', refusal);
      }
      if (!isProjectOpen(project.status) && options.evenArchived !== true) {
        throw new AppError(
          'conflict',
          'this project is archived; its record stays, but it takes no changes',
        );
      }
      const event = await make(trx, project, member);
      if (event !== null) {
        await this.audit.record(trx, { ...event, projectId });
      }
    });
  }

  /**
   * The project and the caller's membership. A caller who is not a member is told the project
   * does not exist, exactly as for an id that names nothing.
   */
  private async requireMember(
    executor: Kysely<Database> | Transaction<Database>,
    projectId: string,
    userId: string,
    locked?: ProjectRow,
  ): Promise<{ project: ProjectRow; member: MemberRow }> {
    // A locked row read in the caller's transaction, or the row as it is now.
    const project = locked ?? (await projectsRepository.project(executor, projectId));
    const member =
      project === undefined
        ? undefined
        : await projectsRepository.member(executor, projectId, userId);
    if (project === undefined || member === undefined || member.user_status !== 'admitted') {
      throw new AppError('not_found', `there is no project ${projectId}`);
    }
    return { project, member };
  }

  /** Attaches or requests one dataset version for the project, audited. */
  private async requestDataset(
    trx: Transaction<Database>,
    projectId: string,
    userId: string,
    request: DatasetRequest,
    path: string,
  ): Promise<void> {
    const dataset = await catalogRepository.bySlug(trx, request.slug);
    const published =
      dataset === undefined ? undefined : await catalogRepository.latestPublished(trx, dataset.id);
    if (dataset === undefined || published === undefined) {
      throw new AppError('not_found', `there is no dataset ${request.slug}`, {
        errors: [{ path: `${path}.slug`, message: 'no such dataset' }],
      });
    }
    const version = await catalogRepository.version(trx, dataset.id, request.version);
    const current = (await catalogRepository.versions(trx, dataset.id)).find(
      (v) => v.status === 'published',
    );
    const refusal =
      version === undefined
        ? `${request.slug} has no published version ${request.version}`
        : refuseVersionForAccess(
            request.slug,
            request.version,
            version.status,
            current?.number ?? null,
          );
    if (version === undefined || refusal !== null) {
      throw new AppError(version?.status === 'retired' ? 'conflict' : 'not_found', refusal ?? '', {
        errors: [{ path: `${path}.version`, message: refusal ?? '' }],
      });
    }
    const held = (await projectsRepository.projectDatasets(trx, projectId)).find(
      (d) => d.version_id === version.id,
    );
    if (held !== undefined) {
      throw new AppError(
        'conflict',
        `this project has ${request.slug} ${request.version} already (${held.status})`,
        { errors: [{ path, message: held.status }] },
      );
    }
    const id = `acc_${randomBytes(8).toString('hex')}`;
    const status = initialAccessStatus(dataset.access_tier);
    await projectsRepository.insertProjectDataset(trx, {
      id,
      project_id: projectId,
      dataset_id: dataset.id,
      version_id: version.id,
      status,
      requested_by: userId,
    });
    await this.audit.record(trx, {
      action: status === 'attached' ? 'project.attach_dataset' : 'access.request',
      target: `dataset:${request.slug}`,
      projectId,
      details: { version: request.version, request: id, tier: dataset.access_tier },
    });
  }

  /** Newer published versions of the datasets the project holds, with their change logs. */
  private async offers(datasets: readonly ProjectDatasetRow[]): Promise<VersionOffer[]> {
    const ids = [...new Set(datasets.map((d) => d.dataset_id))];
    const published = await projectsRepository.publishedVersions(this.db, ids);
    const offers: VersionOffer[] = [];
    for (const datasetId of ids) {
      const rows = datasets.filter((d) => d.dataset_id === datasetId);
      const first = rows[0];
      if (first === undefined) {
        continue;
      }
      const held = rows
        .filter((d) => holdsAccess(d.status) && d.number !== null)
        .map((d) => d.number ?? '');
      const known = new Set(rows.map((d) => d.number));
      const versions = published.filter((v) => v.dataset_id === datasetId && v.number !== null);
      for (const number of offeredVersions(
        held,
        versions.map((v) => v.number ?? ''),
      ).filter((n) => !known.has(n))) {
        const version = versions.find((v) => v.number === number);
        offers.push({
          slug: first.slug,
          title: first.dataset_title,
          version: number,
          publishedAt: version?.published_at?.toISOString() ?? null,
          notes: version?.notes ?? '',
          changeLog: version?.change_log ?? [],
        });
      }
    }
    return offers;
  }

  /** The changes made in the project, newest first, from the audit log. */
  private async activity(projectId: string): Promise<ActivityEntry[]> {
    const events = await this.audit.list({
      projectId,
      limit: ACTIVITY_LIMIT,
      outcome: 'allowed',
      excludeActions: READ_ACTIONS,
    });
    const bodies = events.map((event) => ({ seq: event.seq, body: parseAuditBody(event.body) }));
    const userIds = [
      ...new Set(
        bodies
          .map(({ body }) => /^user:(.+)$/u.exec(body.actor)?.[1])
          .filter((id) => id !== undefined),
      ),
    ];
    const names = await projectsRepository.userNames(this.db, userIds);
    return bodies.map(({ seq, body }) => ({
      seq,
      time: body.time,
      actor: body.actor,
      actorName: names.get(body.actor.replace(/^user:/u, '')) ?? null,
      action: body.action,
      target: body.target,
      details: body.details,
    }));
  }
}

function refuseIfOwnerless(members: readonly MemberRow[], change: MembershipChange): void {
  const facts: MemberFacts[] = members.map((m) => ({
    userId: m.user_id,
    role: m.role,
    active: m.user_status === 'admitted',
  }));
  const refusal = refuseOwnerless(facts, change);
  if (refusal !== null) {
    throw new AppError('conflict', refusal);
  }
}

function inviteFacts(row: InvitationRow) {
  return { expiresAt: row.expires_at, acceptedAt: row.accepted_at, revokedAt: row.revoked_at };
}

function presentMember(row: MemberRow): ProjectMember {
  return {
    userId: row.user_id,
    name: row.name,
    email: row.email,
    role: row.role,
    active: row.user_status === 'admitted',
    joinedAt: row.joined_at.toISOString(),
  };
}

function presentInvitation(row: InvitationRow, now: Date): ProjectInvitation {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    state: invitationState(inviteFacts(row), now),
    expiresAt: row.expires_at.toISOString(),
    createdAt: row.created_at.toISOString(),
  };
}

export function presentDataset(
  row: ProjectDatasetRow,
  projectStatus: ProjectStatus,
): ProjectDataset {
  return {
    id: row.id,
    slug: row.slug,
    title: row.dataset_title,
    accessTier: row.access_tier,
    version: row.number ?? '',
    versionStatus: row.version_status === 'retired' ? 'retired' : 'published',
    status: row.status,
    access: row.status === 'attached' && isProjectOpen(projectStatus),
    requestedAt: row.requested_at.toISOString(),
    decidedAt: row.decided_at?.toISOString() ?? null,
    reason: row.reason,
  };
}
