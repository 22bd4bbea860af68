import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EmailService } from '../../services/email/email.service.js';
import { problemResponses } from '../plugins/problems.js';

const message = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    to: z.string(),
    subject: z.string(),
    text: z.string(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
  })
  .meta({ id: 'OutboxMessage' });

/** The email outbox, for admins: what was sent, what waits, and why delivery failed. */
export function outboxRoutes(email: EmailService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/admin/outbox',
      {
        config: { permission: 'outbox.read', action: 'outbox.list' },
        schema: {
          operationId: 'listOutbox',
          summary: 'Email sent and waiting, newest first (keyset pagination on id)',
          tags: ['admin'],
          querystring: z.object({
            before: z.coerce.number().int().positive().optional(),
            limit: z.coerce.number().int().min(1).max(200).default(50),
          }),
          response: {
            ...problemResponses,
            200: z.object({
              delivery: z.string(),
              messages: z.array(message),
              nextBefore: z.number().int().nullable(),
            }),
          },
        },
      },
      async (request) => {
        const rows = await email.list({
          beforeId: request.query.before,
          limit: request.query.limit,
        });
        const last = rows.at(-1);
        return {
          delivery: email.delivery,
          messages: rows.map((r) => ({
            id: r.id,
            kind: r.kind,
            to: r.to_address,
            subject: r.subject,
            text: r.body_text,
            createdAt: r.created_at.toISOString(),
            sentAt: r.sent_at?.toISOString() ?? null,
            attempts: r.attempts,
            lastError: r.last_error,
          })),
          nextBefore: rows.length === request.query.limit && last !== undefined ? last.id : null,
        };
      },
    );
  };
}
