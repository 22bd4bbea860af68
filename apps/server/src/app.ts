import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { cachedResolver, InstanceProxy } from './compute/proxy/instance-proxy.js';
import type { AppContext } from './context.js';
import { generateRequestId } from './request-context.js';
import { outboxRoutes } from './http/admin/outbox.routes.js';
import { userAdminRoutes } from './http/admin/users.routes.js';
import { admissionRoutes } from './http/admission/admission.routes.js';
import { auditRoutes } from './http/audit/audit.routes.js';
import { catalogRoutes } from './http/catalog/catalog.routes.js';
import { ingestUploadRoutes } from './http/ingest/ingest-uploads.routes.js';
import { heldFilesRoutes } from './http/ingest/held-files.routes.js';
import { ingestRoutes } from './http/ingest/ingest.routes.js';
import { reportRoutes } from './http/catalog/reports.routes.js';
import { authRoutes } from './http/auth/auth.routes.js';
import { tokenRoutes } from './http/auth/tokens.routes.js';
import { secondFactorRoutes } from './http/auth/second-factor.routes.js';
import { healthRoutes } from './http/health/health.routes.js';
import { instanceProxyRoutes } from './http/instances/instance-proxy.routes.js';
import { platformRoutes } from './http/instances/platform.routes.js';
import { openapiRoutes } from './http/openapi/openapi.routes.js';
import { instanceRoutes } from './http/instances/instances.routes.js';
import { spendRoutes } from './http/instances/spend.routes.js';
import { accessRequestRoutes } from './http/projects/access-requests.routes.js';
import { projectRoutes } from './http/projects/projects.routes.js';
import { registerJsonParser, registerProblemHandlers } from './http/plugins/problems.js';
import {
  frameworkErrorHandler,
  registerRequestLifecycle,
  type DeclaredRoute,
} from './http/plugins/request-lifecycle.js';
import { termsRoutes } from './http/terms/terms.routes.js';
import { webRoutes } from './http/web/web.routes.js';

export interface App {
  fastify: FastifyInstance;
  /** Every route with its declared permission (complete once `fastify.ready()` resolved). */
  routes: DeclaredRoute[];
}

/** Builds the HTTP server over a context. Does not listen. */
export async function buildApp(ctx: AppContext): Promise<App> {
  const fastify = Fastify({
    loggerInstance: ctx.logger,
    genReqId: generateRequestId,
    bodyLimit: ctx.config.bodyLimitBytes,
    // Trust X-Forwarded-For only from the configured number of proxy hops in front of us.
    trustProxy: (_address: string, hop: number) => hop < ctx.config.trustProxyHops,
    // Never let a slow client hold a connection forever.
    requestTimeout: 120_000,
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler(ctx.services.audit),
    forceCloseConnections: 'idle',
    // A delivery's file path is one URL-encoded parameter (PUT /api/v1/ingests/:id/files/:path):
    // up to 1,024 characters, three each when encoded.
    routerOptions: { maxParamLength: 3 * 1024 },
  });
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setSerializerCompiler(serializerCompiler);
  fastify.decorateRequest('ctx');
  registerJsonParser(fastify);

  const routes = registerRequestLifecycle(
    fastify,
    ctx.services.audit,
    ctx.services.identity,
    ctx.services.tokens,
  );
  registerProblemHandlers(fastify);

  await fastify.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lantern API',
        version: ctx.version,
        description:
          'Secure research on de-identified health data. Errors are application/problem+json with a stable `code`.',
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  await fastify.register(openapiRoutes);
  await fastify.register(healthRoutes(ctx.services.health));
  await fastify.register(
    authRoutes(ctx.services.identity, ctx.services.registration, ctx.services.passwordReset),
  );
  await fastify.register(tokenRoutes(ctx.services.tokens));
  await fastify.register(secondFactorRoutes(ctx.services.secondFactor));
  await fastify.register(termsRoutes(ctx.services.terms));
  await fastify.register(catalogRoutes(ctx.services.catalog));
  await fastify.register(ingestRoutes(ctx.services.ingest));
  await fastify.register(heldFilesRoutes(ctx.services.heldFiles));
  await fastify.register(ingestUploadRoutes(ctx.services.ingestUploads));
  await fastify.register(reportRoutes(ctx.services.reports));
  await fastify.register(auditRoutes(ctx.services.audit));
  await fastify.register(outboxRoutes(ctx.services.email));
  await fastify.register(userAdminRoutes(ctx.services.userAdmin));
  await fastify.register(admissionRoutes(ctx.services.admission));
  await fastify.register(projectRoutes(ctx.services.projects));
  await fastify.register(accessRequestRoutes(ctx.services.accessRequests));
  await fastify.register(instanceRoutes(ctx.services.instances));
  await fastify.register(spendRoutes(ctx.services.spend));
  await fastify.register(
    instanceProxyRoutes({
      proxy: new InstanceProxy({ responseLimitBytes: ctx.instanceProxy.responseLimitBytes }),
      // Read through ctx on each lookup, so that the instance service can provide it after boot.
      resolve: cachedResolver((instanceId, principal) =>
        ctx.instanceProxy.resolve(instanceId, principal),
      ),
      recordActivity: (instanceId) => ctx.instanceProxy.recordActivity(instanceId),
      audit: ctx.services.audit,
      identity: ctx.services.identity,
      tokens: ctx.services.tokens,
    }),
  );
  await fastify.register(platformRoutes({ api: () => ctx.services.instances }));
  await fastify.register(webRoutes(ctx.config.webDir));

  return { fastify, routes };
}
