import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { problemResponses } from '../plugins/problems.js';
import { z } from 'zod';
import type { HealthService } from '../../services/health/health.service.js';

const check = z.object({ ok: z.boolean(), detail: z.string() });

const healthReport = z
  .object({
    status: z.enum(['ok', 'degraded', 'down']),
    version: z.string(),
    uptimeSeconds: z.number().int(),
    checks: z.object({
      database: check.extend({
        dialect: z.enum(['pglite', 'postgres']),
        latencyMs: z.number().nullable(),
      }),
      objectStore: check.extend({ kind: z.string() }),
      compute: check.extend({ backend: z.string() }),
      audit: check.extend({ headSeq: z.number().int(), pending: z.number().int() }),
    }),
  })
  .meta({ id: 'HealthReport' });

/** `GET /api/v1/health`: each component ok, or why not. 503 when the database is down. */
export function healthRoutes(health: HealthService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/health',
      {
        config: { permission: 'public', action: 'health.read' },
        schema: {
          operationId: 'getHealth',
          summary: 'Health of the database, object store, compute backend and audit log',
          tags: ['system'],
          response: { ...problemResponses, 200: healthReport, 503: healthReport },
        },
      },
      async (_request, reply) => {
        const report = await health.report();
        return reply.code(report.status === 'down' ? 503 : 200).send(report);
      },
    );
  };
}
