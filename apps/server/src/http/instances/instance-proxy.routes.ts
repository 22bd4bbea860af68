/**
 * `/instances/<id>/…`: every request and websocket to a notebook instance (issue 8). The caller is
 * authenticated like any other (session cookie or API token) and needs `project.work`; the
 * instance resolver then says whether this instance is running and theirs (404 alike when it does
 * not exist or is not theirs). The egress guard refuses what would carry data out (403, each
 * refusal an audit event with the path), and the rest goes to Jupyter through the InstanceProxy.
 *
 * Every forwarded request and every websocket message a client sends is reported as activity of
 * the instance (`recordActivity`, for the idle culler; throttled by the instance service).
 *
 * The audit log records sessions, not requests: `instance.session_opened` the first time a caller
 * reaches an instance (again after SESSION_IDLE_MS without traffic), one `instance.websocket_opened`
 * and `instance.websocket_closed` per websocket, and every refusal. Each record is written before
 * what it records happens: a session's before its first request is forwarded, a websocket's before
 * its handshake is, a block's before the 403 is sent. When the audit log cannot be written the
 * caller gets 503 and nothing is forwarded (the request lifecycle's rule for every other route).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, actorOf, ERROR_CODES, hasPermission, type Principal } from '@lantern/core';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  checkEgressRequest,
  responseTooLarge,
  type EgressBlock,
} from '../../compute/proxy/egress-guard.js';
import {
  instanceBasePath,
  type ForwardOutcome,
  type InstanceProxy,
  type InstanceResolver,
  type ResolvedInstance,
} from '../../compute/proxy/instance-proxy.js';
import {
  generateRequestId,
  runWithRequestContext,
  type RequestContext,
} from '../../request-context.js';
import type { AuditService } from '../../services/audit/audit.service.js';
import type { ApiTokensService } from '../../services/identity/api-tokens.service.js';
import type { IdentityService } from '../../services/identity/identity.service.js';
import { PROBLEM_CONTENT_TYPE, problemJson } from '../plugins/problems.js';
import { authenticateHeaders, isSameOrigin } from '../plugins/request-lifecycle.js';

/** A caller's traffic to an instance after this long a pause opens a new audited session. */
export const SESSION_IDLE_MS = 30 * 60 * 1000;
/** Sessions remembered at most (the oldest are forgotten first, and then audited again). */
const MAX_SESSIONS = 10_000;

/** Every method Jupyter's REST API and pages use. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** `/instances/<id>` and what follows it, as the request line had them (still encoded). */
const PROXIED_URL = /^\/instances\/([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?/u;

export interface InstanceProxyRoutesOptions {
  proxy: InstanceProxy;
  resolve: InstanceResolver;
  /** Traffic to a running instance, for the idle culler. */
  recordActivity: (instanceId: string) => Promise<void>;
  audit: AuditService;
  identity: IdentityService;
  tokens: ApiTokensService;
}

interface ProxiedUrl {
  instanceId: string;
  /** After `/instances/<id>/`, still encoded, no query. */
  rest: string;
  /** Without `?`; empty when none. */
  query: string;
}

function parseProxiedUrl(url: string): ProxiedUrl | null {
  const match = PROXIED_URL.exec(url);
  const encodedId = match?.[1];
  if (match === null || encodedId === undefined) {
    return null;
  }
  let instanceId: string;
  try {
    instanceId = decodeURIComponent(encodedId);
  } catch {
    return null;
  }
  return { instanceId, rest: (match[2] ?? '/').slice(1), query: match[3] ?? '' };
}

/** The path and query Jupyter gets: under its base_url, the rest as the client sent it. */
function upstreamPath(url: ProxiedUrl): string {
  return `${instanceBasePath(url.instanceId)}${url.rest}${url.query === '' ? '' : `?${url.query}`}`;
}

/** Remembers who has an open session with which instance, so that each is audited once. */
class ProxySessions {
  private readonly lastSeen = new Map<string, number>();

  /** Whether this is the start of a session (first traffic, or the first after a long pause). */
  touch(key: string, now: number): boolean {
    const previous = this.lastSeen.get(key);
    this.lastSeen.delete(key);
    this.lastSeen.set(key, now);
    if (this.lastSeen.size > MAX_SESSIONS) {
      const oldest = this.lastSeen.keys().next().value;
      if (oldest !== undefined) {
        this.lastSeen.delete(oldest);
      }
    }
    return previous === undefined || now - previous > SESSION_IDLE_MS;
  }

  /** Forgets a session whose opening could not be recorded, so that the next request tries again. */
  forget(key: string): void {
    this.lastSeen.delete(key);
  }
}

function sessionKey(ctx: RequestContext, instanceId: string): string {
  return `${actorOf(ctx.principal)}\u0000${ctx.tokenId ?? ctx.authenticatedBy ?? ''}\u0000${instanceId}`;
}

/** The instance proxy's routes and its websocket upgrade handler. */
export function instanceProxyRoutes(options: InstanceProxyRoutesOptions): FastifyPluginAsync {
  const { proxy, resolve, audit } = options;
  const sessions = new ProxySessions();

  /** Records an egress block; an audit log that cannot be written is 503 (AppError). */
  const recordBlock = (ctx: RequestContext, url: ProxiedUrl, method: string, block: EgressBlock) =>
    recordOrRefuse(ctx, () =>
      audit.recordAlone({
        action: 'instance.egress_blocked',
        outcome: 'denied',
        target: url.instanceId,
        details: { method, path: `/${url.rest}`, reason: block.reason, detail: block.detail },
      }),
    );

  /** Audits the start of a session; an audit log that cannot be written stops the request. */
  const openSession = async (ctx: RequestContext, url: ProxiedUrl, via: 'http' | 'websocket') => {
    const key = sessionKey(ctx, url.instanceId);
    if (!sessions.touch(key, Date.now())) {
      return;
    }
    try {
      await recordOrRefuse(ctx, () =>
        audit.recordAlone({
          action: 'instance.session_opened',
          target: url.instanceId,
          details: { via, path: `/${url.rest}` },
        }),
      );
    } catch (error) {
      sessions.forget(key);
      throw error;
    }
  };

  return async (app) => {
    app.addHook('onClose', async () => {
      proxy.close();
    });
    /** Reports traffic without holding the request up; a failed write is logged, never answered. */
    const reportActivity = (instanceId: string) => {
      options.recordActivity(instanceId).catch((error: unknown) => {
        app.log.error({ err: error, instance: instanceId }, 'recording instance activity failed');
      });
    };
    // Bodies go to Jupyter as they come: nothing parses or buffers them here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => {
      done(null);
    });

    app.route({
      method: 'GET',
      url: '/instances/:id',
      config: { permission: 'public', action: 'instance.proxy' },
      schema: { hide: true },
      handler: (request, reply) => {
        const url = parseProxiedUrl(request.url);
        if (url === null) {
          throw new AppError('not_found', 'no such instance');
        }
        return reply.redirect(upstreamPath(url), 301);
      },
    });

    app.route({
      method: [...METHODS],
      url: '/instances/:id/*',
      exposeHeadRoute: false,
      config: {
        permission: 'project.work',
        action: 'instance.proxy',
        csrf: 'same-origin',
        authentication: 'cached',
      },
      schema: { hide: true },
      handler: async (request, reply) => {
        const url = parseProxiedUrl(request.url);
        if (url === null) {
          throw new AppError('not_found', 'no such instance');
        }
        const target = await resolveOrRefuse(request.ctx, url.instanceId);
        const block = checkEgressRequest(request.method, url.rest, url.query);
        if (block !== null) {
          request.ctx.denied = true;
          await recordBlock(request.ctx, url, request.method, block);
          throw new AppError('forbidden', block.detail);
        }
        await openSession(request.ctx, url, 'http');
        reportActivity(url.instanceId);
        await forward(request, reply, target, url);
      },
    });

    const resolveOrRefuse = async (
      ctx: RequestContext,
      instanceId: string,
    ): Promise<ResolvedInstance> => {
      const target = await resolve(instanceId, ctx.principal);
      if (target === null) {
        ctx.denied = true;
        // The same answer whether it does not exist, is not running or is not the caller's.
        throw new AppError('not_found', `no running instance ${instanceId} of yours`);
      }
      ctx.projectId = target.projectId;
      return target;
    };

    const forward = async (
      request: FastifyRequest,
      reply: FastifyReply,
      target: ResolvedInstance,
      url: ProxiedUrl,
    ) => {
      reply.hijack();
      const answer = (error: AppError) => {
        const body = problemJson(request, error);
        reply.raw.writeHead(error.status, {
          'content-type': PROBLEM_CONTENT_TYPE,
          'content-length': Buffer.byteLength(body),
          'x-request-id': request.id,
        });
        reply.raw.end(body);
      };
      const refuse = async (outcome: ForwardOutcome) => {
        if (outcome.kind !== 'too-large') {
          answer(new AppError('unavailable', `instance ${url.instanceId} does not answer`));
          return;
        }
        // The block is recorded before the 403 that says so; unrecorded, it is a 503.
        try {
          await recordBlock(request.ctx, url, request.method, {
            ...responseTooLarge(proxy.responseLimitBytes),
            detail: `refused a ${outcome.status} response declaring more than ${proxy.responseLimitBytes} bytes`,
          });
          answer(new AppError('forbidden', responseTooLarge(proxy.responseLimitBytes).detail));
        } catch (error) {
          answer(error instanceof AppError ? error : new AppError('internal', 'the proxy failed'));
        }
      };
      const outcome = await proxy.forward(
        request.raw,
        reply.raw,
        target,
        upstreamPath(url),
        refuse,
        { 'x-request-id': request.id },
      );
      if (outcome.kind === 'too-large' && outcome.cut) {
        // A cut has no answer to hold back: what was sent is within the limit, and the connection
        // is broken off at once rather than after a database write.
        await recordBlock(request.ctx, url, request.method, {
          ...responseTooLarge(proxy.responseLimitBytes),
          detail: `cut off after ${outcome.bytes} bytes of a ${outcome.status} response`,
        }).catch((error: unknown) => {
          request.log.error({ err: error }, 'audit write of an egress block failed');
        });
      } else if (outcome.kind === 'upstream-failed') {
        request.log.warn({ err: outcome.error, instance: url.instanceId }, 'instance proxy failed');
      }
    };

    app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void handleUpgrade(req, socket, head).catch((error: unknown) => {
        app.log.error({ err: error }, 'websocket proxy failed');
        socket.destroy();
      });
    });

    const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node leaves an upgraded socket without an error listener: a reset while the caller is
      // looked up must not bring the server down.
      socket.on('error', () => socket.destroy());
      const url = parseProxiedUrl(req.url ?? '');
      const ctx: RequestContext = {
        requestId: generateRequestId(req),
        clientIp: req.socket.remoteAddress ?? null,
        principal: { kind: 'anonymous' },
        projectId: null,
        audited: false,
        auditSettled: false,
        authenticatedBy: null,
        tokenId: null,
        denied: false,
      };
      try {
        if (url === null || !req.url?.startsWith('/instances/')) {
          throw new AppError('not_found', 'websockets are served under /instances/<id>/ only');
        }
        Object.assign(
          ctx,
          await authenticateHeaders(
            req.headers,
            ctx.clientIp ?? '',
            options.identity,
            options.tokens,
          ),
        );
        authorizeWebsocket(ctx.principal, ctx.authenticatedBy, req);
        const target = await resolveOrRefuse(ctx, url.instanceId);
        const block = checkEgressRequest('GET', url.rest, url.query);
        if (block !== null) {
          await recordBlock(ctx, url, 'GET', block);
          throw new AppError('forbidden', block.detail);
        }
        await openSession(ctx, url, 'websocket');
        await recordOrRefuse(ctx, () =>
          audit.recordAlone({
            action: 'instance.websocket_opened',
            target: url.instanceId,
            details: { path: `/${url.rest}` },
          }),
        );
        const opened = performance.now();
        reportActivity(url.instanceId);
        const onMessage = () => reportActivity(url.instanceId);
        await proxy.tunnel(
          req,
          socket,
          head,
          target,
          upstreamPath(url),
          (bytes) => {
            void runWithRequestContext(ctx, () =>
              audit.recordAlone({
                action: 'instance.websocket_closed',
                target: url.instanceId,
                details: {
                  path: `/${url.rest}`,
                  bytesIn: bytes.in,
                  bytesOut: bytes.out,
                  seconds: Math.round((performance.now() - opened) / 100) / 10,
                },
              }),
            ).catch((error: unknown) => {
              app.log.error({ err: error }, 'audit write of a closed websocket failed');
            });
          },
          onMessage,
        );
      } catch (error) {
        const appError =
          error instanceof AppError ? error : new AppError('internal', 'the websocket failed');
        if (!(error instanceof AppError)) {
          app.log.error({ err: error }, 'websocket proxy failed');
        }
        await refuseUpgrade(app, ctx, req, socket, url, appError, audit);
      }
    };
  };
}

/** The answer when the audit log cannot be written: nothing is forwarded or answered. */
function auditUnavailable(cause: unknown): AppError {
  return new AppError(
    'unavailable',
    'the audit log cannot be written; the request was not forwarded',
    { cause },
  );
}

/** Writes an audit record in `ctx`; one that cannot be written becomes 503 (auditUnavailable). */
async function recordOrRefuse(ctx: RequestContext, write: () => Promise<void>): Promise<void> {
  try {
    await runWithRequestContext(ctx, write);
  } catch (error) {
    throw auditUnavailable(error);
  }
}

/** The websocket counterpart of the lifecycle's authorize and CSRF checks. */
function authorizeWebsocket(
  principal: Principal,
  authenticatedBy: RequestContext['authenticatedBy'],
  req: IncomingMessage,
): void {
  if (!hasPermission(principal, 'project.work')) {
    throw principal.kind === 'anonymous'
      ? new AppError('unauthenticated', 'sign in to do this')
      : new AppError('forbidden', 'you do not have permission to do this');
  }
  // Cross-site websocket hijacking: a page elsewhere may open a websocket with our cookie, but its
  // browser says where it comes from.
  if (
    authenticatedBy === 'session' &&
    req.headers.origin !== undefined &&
    !isSameOrigin(req.headers)
  ) {
    throw new AppError(
      'forbidden',
      "websockets to instances are opened from Lantern's own pages only",
    );
  }
}

/** Answers a refused handshake with problem+json on the raw socket, audited, and closes it. */
async function refuseUpgrade(
  app: FastifyInstance,
  ctx: RequestContext,
  req: IncomingMessage,
  socket: Duplex,
  url: ProxiedUrl | null,
  refusal: AppError,
  audit: AuditService,
): Promise<void> {
  let error = refusal;
  if (!ctx.auditSettled) {
    try {
      await runWithRequestContext(ctx, () =>
        audit.recordAlone({
          action: 'instance.websocket_refused',
          outcome: error.isDenial || ctx.denied ? 'denied' : 'failed',
          ...(url === null ? {} : { target: url.instanceId }),
          details: { path: (req.url ?? '').split('?')[0] ?? '', status: error.status },
        }),
      );
    } catch (auditError) {
      // The refusal is not recorded: its answer is withheld, as any other would be.
      app.log.error({ err: auditError }, 'audit write of a refused websocket failed');
      error = auditUnavailable(auditError);
    }
  }
  const body = problemJson({ url: req.url ?? '', id: ctx.requestId }, error);
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${error.status} ${ERROR_CODES[error.code].title}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${ctx.requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}
