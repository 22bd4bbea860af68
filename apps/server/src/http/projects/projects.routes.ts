import {
  ACCESS_STATUSES,
  datasetRequestSchema,
  INVITATION_STATES,
  invitationEmailSchema,
  MEMBER_ROLES,
  newProjectSchema,
  PROJECT_ACTIONS,
  PROJECT_STATUSES,
  projectChangesSchema,
  projectIdSchema,
  type ProjectAction,
} from '@lantern/core/projects';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ProjectService } from '../../services/projects/project.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const role = z.enum(MEMBER_ROLES);
const status = z.enum(PROJECT_STATUSES);
const PROJECT_ACTION_NAMES = Object.keys(PROJECT_ACTIONS) as [ProjectAction, ...ProjectAction[]];

export const projectSummary = z
  .object({
    id: z.string(),
    title: z.string(),
    purpose: z.string(),
    status,
    role,
    members: z.number().int(),
    datasets: z.number().int(),
    createdAt: z.string(),
    archivedAt: z.string().nullable(),
  })
  .meta({ id: 'ProjectSummary' });

const member = z
  .object({
    userId: z.string(),
    name: z.string(),
    email: z.string(),
    role,
    active: z.boolean(),
    joinedAt: z.string(),
  })
  .meta({ id: 'ProjectMember' });

export const invitation = z
  .object({
    id: z.string(),
    email: z.string(),
    role,
    state: z.enum(INVITATION_STATES),
    expiresAt: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'ProjectInvitation' });

export const projectDataset = z
  .object({
    id: z.string(),
    slug: z.string(),
    title: z.string(),
    accessTier: z.enum(['open', 'approval']),
    version: z.string(),
    versionStatus: z.enum(['published', 'retired']),
    status: z.enum(ACCESS_STATUSES),
    access: z.boolean(),
    requestedAt: z.string(),
    decidedAt: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: 'ProjectDataset' });

const changeLogEntry = z.object({
  kind: z.string(),
  table: z.string(),
  column: z.string().optional(),
  text: z.string(),
});

const project = z
  .object({
    id: z.string(),
    title: z.string(),
    purpose: z.string(),
    status,
    createdAt: z.string(),
    updatedAt: z.string(),
    archivedAt: z.string().nullable(),
    role,
    may: z.array(z.enum(PROJECT_ACTION_NAMES)),
    members: z.array(member),
    invitations: z.array(invitation),
    datasets: z.array(projectDataset),
    offers: z.array(
      z.object({
        slug: z.string(),
        title: z.string(),
        version: z.string(),
        publishedAt: z.string().nullable(),
        notes: z.string(),
        changeLog: z.array(changeLogEntry),
      }),
    ),
    activity: z.array(
      z.object({
        seq: z.number().int(),
        time: z.string(),
        actor: z.string(),
        actorName: z.string().nullable(),
        action: z.string(),
        target: z.string().nullable(),
        details: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .meta({ id: 'Project' });

const projectParams = z.object({ id: projectIdSchema });
const memberParams = z.object({ id: projectIdSchema, userId: z.string().min(1).max(200) });

/**
 * Marks the request as about a project, so that its audit event (allowed or denied) lands in the
 * project's record. Membership is the service's to check.
 */
function inProject(request: FastifyRequest, projectId: string): string {
  request.ctx.projectId = projectId;
  return requireUser(request);
}

/**
 * Projects: create, list one's own, read one (everything its page shows), change, invite, members,
 * datasets, archive. Every route is `project.work` (admitted, current terms accepted); inside a
 * project the service checks the caller's role against PROJECT_ACTIONS, and a project the caller
 * is not a member of is answered 404.
 */
export function projectRoutes(projects: ProjectService): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/v1/projects',
      {
        config: { permission: 'project.work', action: 'project.create' },
        schema: {
          operationId: 'createProject',
          summary:
            'Create a project (you are its owner) with the dataset versions it needs: open ones attach at once, approval ones become access requests',
          tags: ['projects'],
          body: newProjectSchema,
          response: { ...problemResponses, 201: project },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await projects.create(requireUser(request), request.body)),
    );

    app.get(
      '/api/v1/projects',
      {
        config: { permission: 'project.work', action: 'project.list' },
        schema: {
          operationId: 'listMyProjects',
          summary: 'The projects you are a member of, newest first',
          tags: ['projects'],
          response: { ...problemResponses, 200: z.object({ projects: z.array(projectSummary) }) },
        },
      },
      async (request) => ({ projects: await projects.listMine(requireUser(request)) }),
    );

    app.get(
      '/api/v1/projects/:id',
      {
        config: { permission: 'project.work', action: 'project.read' },
        schema: {
          operationId: 'getProject',
          summary:
            'A project: members, open invitations, datasets and versions, newer versions offered, and its activity',
          tags: ['projects'],
          params: projectParams,
          response: { ...problemResponses, 200: project },
        },
      },
      async (request) => projects.get(inProject(request, request.params.id), request.params.id),
    );

    app.patch(
      '/api/v1/projects/:id',
      {
        config: { permission: 'project.work', action: 'project.update' },
        schema: {
          operationId: 'updateProject',
          summary: 'Change the title or the research purpose (owners and editors)',
          tags: ['projects'],
          params: projectParams,
          body: projectChangesSchema,
          response: { ...problemResponses, 200: project },
        },
      },
      async (request) =>
        projects.update(inProject(request, request.params.id), request.params.id, request.body),
    );

    app.post(
      '/api/v1/projects/:id/datasets',
      {
        config: { permission: 'project.work', action: 'project.add_dataset' },
        schema: {
          operationId: 'addProjectDataset',
          summary:
            'Attach a dataset version (open) or request it (approval); also how an offered newer version is taken',
          tags: ['projects'],
          params: projectParams,
          body: datasetRequestSchema,
          response: { ...problemResponses, 200: project },
        },
      },
      async (request) =>
        projects.addDataset(inProject(request, request.params.id), request.params.id, request.body),
    );

    app.post(
      '/api/v1/projects/:id/invitations',
      {
        config: { permission: 'project.work', action: 'project.invite' },
        schema: {
          operationId: 'inviteToProject',
          summary:
            'Invite someone by email with a role (owners): the link works once, for seven days',
          tags: ['projects'],
          params: projectParams,
          body: z.object({ email: invitationEmailSchema, role }),
          response: { ...problemResponses, 201: invitation },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(
            await projects.invite(
              inProject(request, request.params.id),
              request.params.id,
              request.body,
            ),
          ),
    );

    app.delete(
      '/api/v1/projects/:id/invitations/:invitationId',
      {
        config: { permission: 'project.work', action: 'project.revoke_invitation' },
        schema: {
          operationId: 'revokeProjectInvitation',
          summary: 'Withdraw an open invitation (owners)',
          tags: ['projects'],
          params: z.object({ id: projectIdSchema, invitationId: z.string().max(40) }),
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        await projects.revokeInvitation(
          inProject(request, request.params.id),
          request.params.id,
          request.params.invitationId,
        );
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/invitations/accept',
      {
        // Any signed-in person reaches this, so that the refusal can say what is missing
        // (admission, the terms); joining itself needs what project.work needs.
        config: { permission: 'account', action: 'project.join' },
        schema: {
          operationId: 'acceptProjectInvitation',
          summary:
            'Accept an invitation with the secret of its link (admitted, current terms accepted, signed in with the invited address)',
          tags: ['projects'],
          body: z.object({ token: z.string().min(1).max(200) }),
          response: { ...problemResponses, 200: project },
        },
      },
      async (request) => projects.accept(request.ctx.principal, request.body.token),
    );

    app.put(
      '/api/v1/projects/:id/members/:userId',
      {
        config: { permission: 'project.work', action: 'project.change_role' },
        schema: {
          operationId: 'changeProjectMemberRole',
          summary: "Change a member's role (owners; never the last owner's)",
          tags: ['projects'],
          params: memberParams,
          body: z.object({ role }),
          response: { ...problemResponses, 200: project },
        },
      },
      async (request) =>
        projects.changeRole(
          inProject(request, request.params.id),
          request.params.id,
          request.params.userId,
          request.body.role,
        ),
    );

    app.delete(
      '/api/v1/projects/:id/members/:userId',
      {
        config: { permission: 'project.work', action: 'project.remove_member' },
        schema: {
          operationId: 'removeProjectMember',
          summary: 'Remove a member (owners; never the last owner)',
          tags: ['projects'],
          params: memberParams,
          response: { ...problemResponses, 200: project },
        },
      },
      async (request) =>
        projects.removeMember(
          inProject(request, request.params.id),
          request.params.id,
          request.params.userId,
        ),
    );

    app.post(
      '/api/v1/projects/:id/leave',
      {
        config: { permission: 'project.work', action: 'project.leave' },
        schema: {
          operationId: 'leaveProject',
          summary: 'Leave the project (the last owner transfers ownership first)',
          tags: ['projects'],
          params: projectParams,
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        await projects.leave(inProject(request, request.params.id), request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/projects/:id/transfer',
      {
        config: { permission: 'project.work', action: 'project.transfer' },
        schema: {
          operationId: 'transferProjectOwnership',
          summary: 'Make another member owner; you stay on as an editor',
          tags: ['projects'],
          params: projectParams,
          body: z.object({ userId: z.string().min(1).max(200) }),
          response: { ...problemResponses, 200: project },
        },
      },
      async (request) =>
        projects.transferOwnership(
          inProject(request, request.params.id),
          request.params.id,
          request.body.userId,
        ),
    );

    app.post(
      '/api/v1/projects/:id/archive',
      {
        config: { permission: 'project.work', action: 'project.archive' },
        schema: {
          operationId: 'archiveProject',
          summary:
            'Archive the project (owners): access to its data ends, open invitations and requests are withdrawn, nothing is deleted',
          tags: ['projects'],
          params: projectParams,
          response: { ...problemResponses, 200: project },
        },
      },
      async (request) => projects.archive(inProject(request, request.params.id), request.params.id),
    );
  };
}
