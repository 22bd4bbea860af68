import {
  INSTANCE_STATES,
  instanceIdSchema,
  instanceTypeSchema,
  launchRequestSchema,
} from '@lantern/core/instances';
import { projectIdSchema } from '@lantern/core/projects';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { InstanceService, StartAnswer } from '../../services/instances/instance.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

export const instance = z
  .object({
    id: z.string(),
    projectId: z.string(),
    userId: z.string(),
    type: z.string(),
    state: z.enum(INSTANCE_STATES),
    failureReason: z.string().nullable(),
    datasets: z.array(z.object({ slug: z.string(), version: z.string() })),
    url: z.string(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    stoppedAt: z.string().nullable(),
    lastActivityAt: z.string().nullable(),
    idleStopAt: z
      .string()
      .nullable()
      .describe(
        'When this idle instance will be stopped unless it is used; null unless it was warned (idle culling)',
      ),
  })
  .meta({ id: 'Instance' });

const usage = z
  .object({
    instanceId: z.string(),
    type: z.string(),
    userId: z.string(),
    projectId: z.string(),
    priceCentsPerHour: z.number().int(),
    startedAt: z.string(),
    endedAt: z.string(),
    seconds: z.number().int(),
    closed: z.boolean(),
  })
  .meta({ id: 'InstanceUsage' });

/**
 * The answers of a launch, restart or stop in the OpenAPI document: the instance, described, with
 * the Location header where it is polled.
 */
function instanceAnswer(description: string) {
  return instance.meta({
    description,
    headers: {
      location: {
        type: 'string',
        description: 'Where to poll the instance: /api/v1/instances/{id}',
      },
    },
  });
}

const STILL_STARTING =
  'The instance is still requested or starting when the wait ended: its start goes on in the background; poll Location until it is running or failed';

const projectParams = z.object({ id: projectIdSchema });
const instanceParams = z.object({ id: instanceIdSchema });

/**
 * A start's answer: `done` (201 for a launch, 200 for a restart) with the instance once it runs or
 * failed within LANTERN_INSTANCE_START_WAIT_MS, else 202 Accepted with it `requested` or
 * `starting`, the start going on in the background; `Location` is where to poll it.
 */
function sendStart(reply: FastifyReply, answer: StartAnswer, done: 200 | 201) {
  return reply
    .code(answer.pending ? 202 : done)
    .header('location', `/api/v1/instances/${answer.instance.id}`)
    .send(answer.instance);
}

/**
 * Instances (issue 8): the type catalogue, a project's instances, launch, read, stop, restart,
 * usage; and the admin's switch for paid types per project. Every project route is `project.work`;
 * the service checks membership (a non-member is told the instance or project does not exist)
 * and the role against PROJECT_ACTIONS.
 */
export function instanceRoutes(instances: InstanceService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/instance-types',
      {
        config: { permission: 'project.work', action: 'instance.types' },
        schema: {
          operationId: 'listInstanceTypes',
          summary:
            'The instance types: vCPUs, memory, GPU, disk and price per hour in cents (0 is free)',
          tags: ['instances'],
          response: { ...problemResponses, 200: z.object({ types: z.array(instanceTypeSchema) }) },
        },
      },
      () => ({ types: instances.listTypes() }),
    );

    app.get(
      '/api/v1/projects/:id/instances',
      {
        config: { permission: 'project.work', action: 'instance.list' },
        schema: {
          operationId: 'listProjectInstances',
          summary: "A project's instances, newest first (any member)",
          tags: ['instances'],
          params: projectParams,
          response: { ...problemResponses, 200: z.object({ instances: z.array(instance) }) },
        },
      },
      async (request) => {
        request.ctx.projectId = request.params.id;
        return { instances: await instances.list(requireUser(request), request.params.id) };
      },
    );

    app.post(
      '/api/v1/projects/:id/instances',
      {
        config: { permission: 'project.work', action: 'instance.launch' },
        schema: {
          operationId: 'launchInstance',
          summary:
            "Launch an instance of a type with dataset versions the project holds (owners and editors): 201 once it runs (or failed, with why) within the server's wait, else 202 while it starts, Location saying where to poll it. Free types: one per person (429); paid types need an admin's leave; too many starts at once: 429 with Retry-After",
          tags: ['instances'],
          params: projectParams,
          body: launchRequestSchema,
          response: {
            ...problemResponses,
            201: instanceAnswer(
              'Launched: the instance runs, or failed with failureReason saying why, within the wait',
            ),
            202: instanceAnswer(STILL_STARTING),
          },
        },
      },
      async (request, reply) => {
        request.ctx.projectId = request.params.id;
        const launched = await instances.launch(
          requireUser(request),
          request.params.id,
          request.body,
        );
        return sendStart(reply, launched, 201);
      },
    );

    app.get(
      '/api/v1/instances/:id',
      {
        config: { permission: 'project.work', action: 'instance.read' },
        schema: {
          operationId: 'getInstance',
          summary: 'An instance: its state (and why it failed), type and datasets',
          tags: ['instances'],
          params: instanceParams,
          response: { ...problemResponses, 200: instance },
        },
      },
      async (request) => instances.get(requireUser(request), request.params.id),
    );

    app.get(
      '/api/v1/instances/:id/usage',
      {
        config: { permission: 'project.work', action: 'instance.usage' },
        schema: {
          operationId: 'getInstanceUsage',
          summary:
            "An instance's usage records (per second: each running stretch, extended while it runs)",
          tags: ['instances'],
          params: instanceParams,
          response: { ...problemResponses, 200: z.object({ usage: z.array(usage) }) },
        },
      },
      async (request) => ({
        usage: await instances.usage(requireUser(request), request.params.id),
      }),
    );

    app.post(
      '/api/v1/instances/:id/stop',
      {
        config: { permission: 'project.work', action: 'instance.stop' },
        schema: {
          operationId: 'stopInstance',
          summary:
            'Stop an instance (its launcher, or an owner or editor); answers 202 while it stops. Home and project files stay',
          tags: ['instances'],
          params: instanceParams,
          response: {
            ...problemResponses,
            202: instance.describe(
              'Stopping (stopped, for one never started): the stop finishes in the background',
            ),
          },
        },
      },
      async (request, reply) =>
        reply.code(202).send(await instances.stop(requireUser(request), request.params.id)),
    );

    app.post(
      '/api/v1/instances/:id/restart',
      {
        config: { permission: 'project.work', action: 'instance.restart' },
        schema: {
          operationId: 'restartInstance',
          summary:
            'Start a stopped or failed instance again with its type and datasets (owners and editors; the same quotas as a launch): 200 once it runs (or failed) within the wait, else 202 while it starts, with Location',
          tags: ['instances'],
          params: instanceParams,
          response: {
            ...problemResponses,
            200: instanceAnswer(
              'Started again: the instance runs, or failed with failureReason saying why, within the wait',
            ),
            202: instanceAnswer(STILL_STARTING),
          },
        },
      },
      async (request, reply) =>
        sendStart(reply, await instances.restart(requireUser(request), request.params.id), 200),
    );

    app.put(
      '/api/v1/admin/projects/:id/paid-instances',
      {
        config: { permission: 'compute.manage', action: 'project.paid_instances' },
        schema: {
          operationId: 'setProjectPaidInstances',
          summary:
            "Enable or disable paid instance types for a project (admins; until billing draws on the project's funds)",
          tags: ['instances'],
          params: projectParams,
          body: z.object({ enabled: z.boolean() }).strict(),
          response: {
            ...problemResponses,
            200: z.object({ projectId: z.string(), paidInstances: z.boolean() }),
          },
        },
      },
      async (request) => {
        await instances.setPaidInstances(request.params.id, request.body.enabled);
        return { projectId: request.params.id, paidInstances: request.body.enabled };
      },
    );
  };
}
