import { ACCESS_DECISIONS, ACCESS_STATUSES } from '@lantern/core/projects';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type {
  AccessRequestService,
  AccessReviewer,
} from '../../services/projects/access-requests.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';
import { projectDataset } from './projects.routes.js';

const accessRequest = projectDataset
  .extend({
    project: z.object({
      id: z.string(),
      title: z.string(),
      purpose: z.string(),
      status: z.enum(['active', 'archived']),
    }),
    requestedBy: z.object({ name: z.string(), email: z.string() }),
  })
  .meta({ id: 'AccessRequest' });

/** Reviewers' queue of requests for approval-tier datasets, and their answers with a reason. */
export function accessRequestRoutes(requests: AccessRequestService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/access-requests',
      {
        config: { permission: 'access.review', action: 'access.list' },
        schema: {
          operationId: 'listAccessRequests',
          summary:
            "Requests for approval-tier datasets with each project's purpose: waiting ones oldest first",
          tags: ['projects'],
          querystring: z.object({
            status: z.enum(ACCESS_STATUSES).default('requested'),
            limit: z.coerce.number().int().min(1).max(500).default(100),
          }),
          response: { ...problemResponses, 200: z.object({ requests: z.array(accessRequest) }) },
        },
      },
      async (request) => ({
        requests: await requests.list(
          reviewerOf(request),
          request.query.status,
          request.query.limit,
        ),
      }),
    );

    app.post(
      '/api/v1/access-requests/:id/decision',
      {
        config: { permission: 'access.review', action: 'access.decide' },
        schema: {
          operationId: 'decideAccessRequest',
          summary:
            "Approve or refuse a request, with a reason the project's members read (the requester is emailed)",
          tags: ['projects'],
          params: z.object({ id: z.string().max(40) }),
          body: z.object({
            decision: z.enum(ACCESS_DECISIONS),
            reason: z.string().trim().min(5, 'say why (5 characters at least)').max(5_000),
          }),
          response: { ...problemResponses, 200: accessRequest },
        },
      },
      async (request) => requests.decide(reviewerOf(request), request.params.id, request.body),
    );
  };
}

/** The caller as the queue scopes them: their id and the roles they act with. */
function reviewerOf(request: FastifyRequest): AccessReviewer {
  const { principal } = request.ctx;
  return { userId: requireUser(request), roles: principal.kind === 'user' ? principal.roles : [] };
}
