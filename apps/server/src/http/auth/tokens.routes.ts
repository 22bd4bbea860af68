import { AppError, PERMISSIONS } from '@lantern/core';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiTokensService } from '../../services/identity/api-tokens.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const tokenView = z
  .object({
    id: z.string(),
    name: z.string(),
    scope: z.array(z.enum(PERMISSIONS)),
    createdAt: z.string(),
    expiresAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiToken' });

/**
 * The token a request carries, and its holder. Anything else (no header, a session cookie) has no
 * token to speak of.
 */
function requireToken(request: FastifyRequest): { userId: string; tokenId: string } {
  const { principal, authenticatedBy, tokenId } = request.ctx;
  if (authenticatedBy !== 'token' || tokenId === null || principal.kind !== 'user') {
    throw new AppError('unauthenticated', 'send an API token as "Authorization: Bearer <token>"');
  }
  return { userId: principal.userId, tokenId };
}

/**
 * The caller's own API tokens: make (shown once), list, revoke. The token a request carries may
 * always read and revoke itself, whatever its scope (`public`, as signing out is): a script or the
 * CLI can say whose token it holds and give it up without being trusted with the account.
 */
export function tokenRoutes(tokens: ApiTokensService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/auth/tokens',
      {
        config: { permission: 'account', action: 'token.list' },
        schema: {
          operationId: 'listApiTokens',
          summary: "The caller's API tokens (never their secrets)",
          tags: ['auth'],
          response: { ...problemResponses, 200: z.object({ tokens: z.array(tokenView) }) },
        },
      },
      async (request) => ({ tokens: await tokens.list(requireUser(request)) }),
    );

    app.post(
      '/api/v1/auth/tokens',
      {
        config: { permission: 'account', action: 'token.create' },
        schema: {
          operationId: 'createApiToken',
          summary: 'Make an API token; its secret is in this answer and nowhere else, ever',
          tags: ['auth'],
          body: z.object({
            name: z.string().trim().min(1).max(100),
            scope: z.array(z.enum(PERMISSIONS)).min(1).max(PERMISSIONS.length),
            expiresInDays: z.number().int().min(1).max(365).default(90),
          }),
          response: { ...problemResponses, 201: z.object({ token: z.string(), info: tokenView }) },
        },
      },
      async (request, reply) => {
        const { token, view } = await tokens.create(request.ctx.principal, request.body);
        return reply.code(201).send({ token, info: view });
      },
    );

    app.get(
      '/api/v1/auth/token',
      {
        config: { permission: 'public', action: 'token.describe' },
        schema: {
          operationId: 'getCurrentApiToken',
          summary: 'The API token this request carries: its name, scope and expiry',
          tags: ['auth'],
          response: { ...problemResponses, 200: z.object({ token: tokenView }) },
        },
      },
      async (request) => {
        const { userId, tokenId } = requireToken(request);
        return { token: await tokens.describe(userId, tokenId) };
      },
    );

    app.delete(
      '/api/v1/auth/token',
      {
        config: { permission: 'public', action: 'token.revoke' },
        schema: {
          operationId: 'revokeCurrentApiToken',
          summary: 'Revoke the API token this request carries (signing out of the CLI)',
          tags: ['auth'],
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        const { userId, tokenId } = requireToken(request);
        await tokens.revoke(userId, tokenId);
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/api/v1/auth/tokens/:id',
      {
        config: { permission: 'account', action: 'token.revoke' },
        schema: {
          operationId: 'revokeApiToken',
          summary: 'Revoke one of your API tokens',
          tags: ['auth'],
          params: z.object({ id: z.string().max(100) }),
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        await tokens.revoke(requireUser(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
