import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TermsService } from '../../services/terms/terms.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const termsVersion = z
  .object({
    version: z.number().int(),
    title: z.string(),
    body: z.string().meta({ description: 'Markdown' }),
    changes: z.string(),
    publishedAt: z.string(),
  })
  .meta({ id: 'TermsVersion' });

const termsStanding = z
  .object({
    current: termsVersion,
    accepted: z.object({ version: z.number().int(), at: z.string() }).nullable(),
    upToDate: z.boolean(),
  })
  .meta({ id: 'TermsStanding' });

/**
 * The terms (data use agreement): anyone may read them; signed-in people accept the current
 * version; admins publish new versions, after which everyone accepts again before touching data.
 */
export function termsRoutes(terms: TermsService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/terms',
      {
        config: { permission: 'public', action: 'terms.read' },
        schema: {
          operationId: 'getCurrentTerms',
          summary: 'The current version of the terms',
          tags: ['terms'],
          response: { ...problemResponses, 200: termsVersion },
        },
      },
      async () => terms.current(),
    );

    app.get(
      '/api/v1/terms/versions/:version',
      {
        config: { permission: 'public', action: 'terms.read' },
        schema: {
          operationId: 'getTermsVersion',
          summary: 'One published version of the terms',
          tags: ['terms'],
          params: z.object({ version: z.coerce.number().int().min(1).max(1_000_000) }),
          response: { ...problemResponses, 200: termsVersion },
        },
      },
      async (request) => terms.version(request.params.version),
    );

    app.get(
      '/api/v1/terms/standing',
      {
        config: { permission: 'account', action: 'terms.standing' },
        schema: {
          operationId: 'getTermsStanding',
          summary: 'Which version you accepted, and whether it is the current one',
          tags: ['terms'],
          response: { ...problemResponses, 200: termsStanding },
        },
      },
      async (request) => terms.standing(requireUser(request)),
    );

    app.post(
      '/api/v1/terms/accept',
      {
        config: { permission: 'account', action: 'terms.accept' },
        schema: {
          operationId: 'acceptTerms',
          summary: 'Accept the current version (name it: accepting words you did not see fails)',
          tags: ['terms'],
          body: z.object({ version: z.number().int().min(1) }),
          response: { ...problemResponses, 200: termsStanding },
        },
      },
      async (request) => terms.accept(requireUser(request), request.body.version, request.ip),
    );

    app.get(
      '/api/v1/admin/terms',
      {
        config: { permission: 'terms.manage', action: 'terms.history' },
        schema: {
          operationId: 'listTermsVersions',
          summary: 'Every version of the terms, newest first, with how many accepted each',
          tags: ['admin', 'terms'],
          response: {
            ...problemResponses,
            200: z.object({
              versions: z.array(termsVersion.extend({ acceptances: z.number().int() })),
            }),
          },
        },
      },
      async () => ({ versions: await terms.history() }),
    );

    app.post(
      '/api/v1/admin/terms',
      {
        config: { permission: 'terms.manage', action: 'terms.publish' },
        schema: {
          operationId: 'publishTerms',
          summary: 'Publish a new version; everyone must accept it before touching data again',
          tags: ['admin', 'terms'],
          body: z.object({
            title: z.string().trim().min(3).max(200),
            body: z
              .string()
              .trim()
              .min(200, 'the terms must say something (200 characters at least)')
              .max(100_000),
            changes: z.string().trim().min(3, 'say what changed').max(2_000),
          }),
          response: { ...problemResponses, 201: termsVersion },
        },
      },
      async (request, reply) => {
        const published = await terms.publish(requireUser(request), request.body);
        return reply.code(201).send(published);
      },
    );
  };
}
