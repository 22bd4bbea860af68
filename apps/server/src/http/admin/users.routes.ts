import { ROLES } from '@lantern/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UserAdminService } from '../../services/identity/user-admin.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const STATUSES = ['unverified', 'pending', 'admitted', 'rejected', 'suspended'] as const;

const managedUser = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    institution: z.string().nullable(),
    status: z.enum(STATUSES),
    roles: z.array(z.enum(ROLES)),
    delegatePartners: z.array(z.string()),
    createdAt: z.string(),
    secondFactor: z.boolean(),
    suspension: z
      .object({
        at: z.string(),
        by: z.string().nullable(),
        reason: z.string().nullable(),
        returnsTo: z.string(),
      })
      .nullable(),
  })
  .meta({ id: 'ManagedUser' });

const reason = z.string().trim().min(3, 'give a reason the person will read').max(2_000);
const userId = z.object({ id: z.string().min(1).max(64) });

/** People, for admins: find them, suspend and reinstate, roles, reset a lost second factor. */
export function userAdminRoutes(users: UserAdminService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/admin/users',
      {
        config: { permission: 'user.manage', action: 'user.list' },
        schema: {
          operationId: 'listUsers',
          summary: 'People, newest first, with filters (keyset pagination: pass `next` as cursor)',
          tags: ['admin'],
          querystring: z.object({
            status: z.enum(STATUSES).optional(),
            role: z.enum(ROLES).optional(),
            q: z.string().max(200).optional(),
            cursor: z.string().max(400).optional(),
            limit: z.coerce.number().int().min(1).max(200).default(50),
          }),
          response: {
            ...problemResponses,
            200: z.object({ users: z.array(managedUser), next: z.string().nullable() }),
          },
        },
      },
      async (request) =>
        users.list({
          status: request.query.status,
          role: request.query.role,
          search: request.query.q,
          cursor: request.query.cursor,
          limit: request.query.limit,
        }),
    );

    app.get(
      '/api/v1/admin/users/:id',
      {
        config: { permission: 'user.manage', action: 'user.read' },
        schema: {
          operationId: 'getUser',
          summary: 'One person, with their live sessions and tokens counted',
          tags: ['admin'],
          params: userId,
          response: {
            ...problemResponses,
            200: managedUser.extend({ sessions: z.number().int(), tokens: z.number().int() }),
          },
        },
      },
      async (request) => users.get(request.params.id),
    );

    app.post(
      '/api/v1/admin/users/:id/suspend',
      {
        config: { permission: 'user.manage', action: 'user.suspend' },
        schema: {
          operationId: 'suspendUser',
          summary: 'Suspend: every session and token ends now; the person is told why',
          tags: ['admin'],
          params: userId,
          body: z.object({ reason }),
          response: { ...problemResponses, 200: managedUser },
        },
      },
      async (request) =>
        users.suspend(requireUser(request), request.params.id, request.body.reason),
    );

    app.post(
      '/api/v1/admin/users/:id/reinstate',
      {
        config: { permission: 'user.manage', action: 'user.reinstate' },
        schema: {
          operationId: 'reinstateUser',
          summary: 'Reinstate a suspended person to the status they had',
          tags: ['admin'],
          params: userId,
          body: z.object({ note: z.string().trim().max(2_000).default('') }),
          response: { ...problemResponses, 200: managedUser },
        },
      },
      async (request) =>
        users.reinstate(requireUser(request), request.params.id, request.body.note),
    );

    app.put(
      '/api/v1/admin/users/:id/roles',
      {
        config: { permission: 'user.manage', action: 'user.set_roles' },
        schema: {
          operationId: 'setUserRoles',
          summary: 'Give a person exactly these roles',
          tags: ['admin'],
          params: userId,
          body: z.object({ roles: z.array(z.enum(ROLES)).max(ROLES.length) }),
          response: { ...problemResponses, 200: managedUser },
        },
      },
      async (request) =>
        users.setRoles(requireUser(request), request.params.id, request.body.roles),
    );

    app.put(
      '/api/v1/admin/users/:id/delegate-partners',
      {
        config: { permission: 'user.manage', action: 'user.set_delegate_partners' },
        schema: {
          operationId: 'setUserDelegatePartners',
          summary:
            "Make a person the delegate of these partners: with the partner role, they answer access requests to those partners' approval-tier datasets",
          tags: ['admin'],
          params: userId,
          body: z.object({
            partners: z.array(z.string().trim().min(1, 'a partner name').max(200)).max(20),
          }),
          response: { ...problemResponses, 200: managedUser },
        },
      },
      async (request) =>
        users.setDelegatePartners(requireUser(request), request.params.id, request.body.partners),
    );

    app.post(
      '/api/v1/admin/users/:id/second-factor/reset',
      {
        config: { permission: 'user.manage', action: 'user.reset_second_factor' },
        schema: {
          operationId: 'resetUserSecondFactor',
          summary: "Clear a person's lost second factor; their sessions end",
          tags: ['admin'],
          params: userId,
          body: z.object({ reason }),
          response: { ...problemResponses, 200: managedUser },
        },
      },
      async (request) =>
        users.resetSecondFactor(requireUser(request), request.params.id, request.body.reason),
    );
  };
}
