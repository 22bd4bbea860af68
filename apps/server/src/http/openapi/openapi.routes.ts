import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

/** `GET /api/v1/openapi.json`: the API described from the routes' own schemas. */
export const openapiRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/v1/openapi.json',
    { config: { permission: 'public', action: 'openapi.read' }, schema: { hide: true } },
    async () => app.swagger(),
  );
};
