import { auditBodySchema, parseAuditBody, type SealedAuditEvent } from '@lantern/core/audit';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { problemResponses } from '../plugins/problems.js';
import { z } from 'zod';
import type { AuditService } from '../../services/audit/audit.service.js';

const auditEvent = auditBodySchema
  .omit({ v: true })
  .extend({ seq: z.number().int(), prevHash: z.string(), hash: z.string() })
  .meta({ id: 'AuditEvent' });

const verdict = z
  .object({
    ok: z.boolean(),
    checked: z.number().int(),
    headSeq: z.number().int().nullable(),
    firstBadSeq: z.number().int().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: 'AuditVerdict' });

/** An event as clients see it: its body's fields beside its place in the chain. */
function presentAuditEvent(event: SealedAuditEvent) {
  const { v: _version, ...body } = parseAuditBody(event.body);
  return { seq: event.seq, ...body, prevHash: event.prevHash, hash: event.hash };
}

/** The audit log: read it, and recompute its hash chain. */
export function auditRoutes(audit: AuditService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/audit/events',
      {
        config: { permission: 'audit.read', action: 'audit.list' },
        schema: {
          operationId: 'listAuditEvents',
          summary: 'Sealed audit events, newest first (keyset pagination on seq)',
          tags: ['audit'],
          querystring: z.object({
            before: z.coerce.number().int().positive().optional(),
            limit: z.coerce.number().int().min(1).max(500).default(50),
            action: z.string().max(100).optional(),
            actor: z.string().max(200).optional(),
            projectId: z.string().max(100).optional(),
            requestId: z.string().max(64).optional(),
          }),
          response: {
            ...problemResponses,
            200: z.object({ events: z.array(auditEvent), nextBefore: z.number().int().nullable() }),
          },
        },
      },
      async (request) => {
        const { before, limit, action, actor, projectId, requestId } = request.query;
        const events = await audit.list({
          beforeSeq: before,
          limit,
          action,
          actor,
          projectId,
          requestId,
        });
        const last = events.at(-1);
        return {
          events: events.map(presentAuditEvent),
          nextBefore: events.length === limit && last !== undefined ? last.seq : null,
        };
      },
    );

    app.post(
      '/api/v1/audit/verify',
      {
        config: { permission: 'audit.verify', action: 'audit.verify' },
        schema: {
          operationId: 'verifyAuditChain',
          summary: 'Recompute the hash chain and name the first bad seq, if any',
          tags: ['audit'],
          response: { ...problemResponses, 200: verdict },
        },
      },
      async () => {
        const result = await audit.verify();
        return result.ok
          ? {
              ok: true,
              checked: result.checked,
              headSeq: result.head.seq,
              firstBadSeq: null,
              reason: null,
            }
          : {
              ok: false,
              checked: result.checked,
              headSeq: null,
              firstBadSeq: result.fault.seq,
              reason: result.fault.detail,
            };
      },
    );
  };
}
