import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { CachedResolver, InstanceProxy } from './compute/proxy/instance-proxy.js';
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
import { InstanceProxyRoutes } from './http/instances/instance-proxy.routes.js';
import { platformRoutes } from './http/instances/platform.routes.js';
import { openapiRoutes } from './http/openapi/openapi.routes.js';
import { instanceRoutes } from './http/instances/instances.routes.js';
import { spendRoutes } from './http/instances/spend.routes.js';
import { accessRequestRoutes } from './http/projects/access-requests.routes.js';
import { projectRoutes } from './http/projects/projects.routes.js';
import { releaseRoutes } from './http/releases/releases.routes.js';
import { AuthenticationCache } from './http/plugins/authentication-cache.js';
import { registerJsonParser, registerProblemHandlers } from './http/plugins/problems.js';
import {
  authenticateHeaders,
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

/** Never let a slow client hold a connection forever. */
const REQUEST_TIMEOUT_MS = 120_000;
/** How long an idle keep-alive connection is kept (Fastify's default). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * Node's server with a lean path in front of Fastify: `front` takes the requests it serves
 * itself (the instance proxy's) and everything else goes to Fastify unchanged. Fastify leaves a
 * server it did not make to its maker: the timeouts are set here.
 */
function createFrontServer(
  fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void,
  front: (req: IncomingMessage, res: ServerResponse) => boolean,
): Server {
  const server = createServer((req, res) => {
    if (!front(req, res)) {
      fastifyHandler(req, res);
    }
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  return server;
}

/** Builds the HTTP server over a context. Does not listen. */
export async function buildApp(ctx: AppContext): Promise<App> {
  // Trust X-Forwarded-For only from the configured number of proxy hops in front of us.
  const trustProxy = (_address: string, hop: number) => hop < ctx.config.trustProxyHops;
  const { audit, identity, tokens } = ctx.services;
  const authentication = new AuthenticationCache((headers, clientIp) =>
    authenticateHeaders(headers, clientIp, identity, tokens),
  );
  const instanceProxy = new InstanceProxyRoutes({
    proxy: new InstanceProxy({ responseLimitBytes: ctx.instanceProxy.responseLimitBytes }),
    // Read through ctx on each lookup, so that the instance service can provide it after boot.
    instances: new CachedResolver((instanceId, principal) =>
      ctx.instanceProxy.resolve(instanceId, principal),
    ),
    recordActivity: (instanceId) => ctx.instanceProxy.recordActivity(instanceId),
    audit,
    authentication,
    trustProxy,
    logger: ctx.logger,
  });
  const fastify = Fastify({
    loggerInstance: ctx.logger,
    genReqId: generateRequestId,
    bodyLimit: ctx.config.bodyLimitBytes,
    trustProxy,
    serverFactory: (handler) =>
      createFrontServer(handler, (req, res) => instanceProxy.serve(req, res)),
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

  const routes = registerRequestLifecycle(fastify, audit, authentication);
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
  await fastify.register(releaseRoutes(ctx.services.releases));
  await fastify.register(instanceProxy.plugin);
  await fastify.register(platformRoutes({ api: () => ctx.services.instances }));
  await fastify.register(webRoutes(ctx.config.webDir));

  return { fastify, routes };
}
