import { projectIdSchema } from '@lantern/core/projects';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SpendService } from '../../services/instances/spend.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const figure = { seconds: z.number().int(), cents: z.number().int() };

const projectSpend = z
  .object({
    projectId: z.string(),
    from: z.string(),
    to: z.string(),
    total: z.object(figure),
    byType: z.array(z.object({ type: z.string(), priceCentsPerHour: z.number().int(), ...figure })),
    byMember: z.array(z.object({ userId: z.string(), name: z.string(), ...figure })),
    byDay: z.array(z.object({ day: z.string(), ...figure })),
    running: z.object({
      centsPerHour: z.number().int(),
      instances: z.array(
        z.object({
          instanceId: z.string(),
          type: z.string(),
          userId: z.string(),
          name: z.string(),
          priceCentsPerHour: z.number().int(),
          since: z.string(),
          ...figure,
        }),
      ),
    }),
  })
  .meta({ id: 'ProjectSpend' });

const instant = z.string().max(40).optional().meta({
  description: 'A date (its start in UTC, 2025-03-01) or a date and time with its offset',
});

/**
 * A project's spend (issues 7 and 8): its instances' usage × their prices, for any member
 * (`project.work`; the service answers a non-member as if the project did not exist).
 */
export function spendRoutes(spend: SpendService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/projects/:id/spend',
      {
        config: { permission: 'project.work', action: 'project.spend' },
        schema: {
          operationId: 'getProjectSpend',
          summary:
            "A project's spend from its instances' per-second usage: the total, per type (free types at 0 cents with their hours), per member and per UTC day over a window (from inclusive, to exclusive; the last 30 days by default, at most 366), and what runs now with its rate per hour. Cents are rounded once per figure",
          tags: ['instances'],
          params: z.object({ id: projectIdSchema }),
          querystring: z.object({ from: instant, to: instant }),
          response: { ...problemResponses, 200: projectSpend },
        },
      },
      async (request) => {
        request.ctx.projectId = request.params.id;
        return spend.projectSpend(requireUser(request), request.params.id, request.query);
      },
    );
  };
}
