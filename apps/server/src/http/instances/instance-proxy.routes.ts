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
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import proxyAddr from '@fastify/proxy-addr';
import { AppError, actorOf, ERROR_CODES } from '@lantern/core';
import type { FastifyBaseLogger, FastifyContextConfig, FastifyPluginAsync } from 'fastify';
import {
  checkEgressRequest,
  responseTooLarge,
  type EgressBlock,
} from '../../compute/proxy/egress-guard.js';
import {
  instanceBasePath,
  isProxiedMethod,
  PROXIED_METHODS,
  type ForwardOutcome,
  type CachedResolver,
  type InstanceProxy,
  type ResolvedInstance,
} from '../../compute/proxy/instance-proxy.js';
import {
  generateRequestId,
  newRequestContext,
  runWithRequestContext,
  type RequestContext,
} from '../../request-context.js';
import type { AuditService } from '../../services/audit/audit.service.js';
import type { AuthenticationCache } from '../plugins/authentication-cache.js';
import {
  PROBLEM_CONTENT_TYPE,
  problemJson,
  toAppError,
  writeProblem,
} from '../plugins/problems.js';
import {
  answerWithheld,
  authorizeCaller,
  checkCsrf,
  isSameOrigin,
  recordOutcome,
} from '../plugins/request-lifecycle.js';

/** A caller's traffic to an instance after this long a pause opens a new audited session. */
export const SESSION_IDLE_MS = 30 * 60 * 1000;
/** Sessions remembered at most (the oldest are forgotten first, and then audited again). */
const MAX_SESSIONS = 10_000;
/** A session's last traffic is written down at most this often (a burst's requests are one). */
const SESSION_REFRESH_MS = 1_000;

/** The proxy's route, as Fastify declares it and as the lean path serves it. */
const PROXY_ROUTE_URL = '/instances/:id/*';

/**
 * Who may use the proxy and how it is checked: declared on the Fastify route (so that it is in the
 * route registry like every other route's) and enforced from here by the lean path too.
 */
export const PROXY_ROUTE_CONFIG = {
  permission: 'project.work',
  action: 'instance.proxy',
  csrf: 'same-origin',
  authentication: 'cached',
} as const satisfies FastifyContextConfig;

/** `/instances/<id>` and what follows it, as the request line had them (still encoded). */
const PROXIED_URL = /^\/instances\/([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?/u;

export interface InstanceProxyRoutesOptions {
  proxy: InstanceProxy;
  /** Whether an instance is running and the caller's, and where (answers kept a few seconds). */
  instances: CachedResolver;
  /** Traffic to a running instance, for the idle culler. */
  recordActivity: (instanceId: string) => Promise<void>;
  audit: AuditService;
  /** The request lifecycle's authentication, shared: one cache of credentials for the server. */
  authentication: AuthenticationCache;
  /** Whose X-Forwarded-For is believed (Fastify's `trustProxy`), for the lean path's client address. */
  trustProxy: (address: string, hop: number) => boolean;
  logger: FastifyBaseLogger;
}

interface ProxiedUrl {
  instanceId: string;
  /** After `/instances/<id>/`, still encoded, no query. */
  rest: string;
  /** Without `?`; empty when none. */
  query: string;
  /** Whether a path follows the id (`/instances/<id>/…`), not just `/instances/<id>`. */
  underBase: boolean;
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
  return {
    instanceId,
    rest: (match[2] ?? '/').slice(1),
    query: match[3] ?? '',
    underBase: match[2] !== undefined,
  };
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
    if (previous !== undefined && now - previous < SESSION_REFRESH_MS) {
      // Seen just now: its time and its place among the most recent are as good as they get.
      return false;
    }
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

/**
 * The instance proxy: its Fastify routes and websocket upgrade handler (`plugin`), and its lean
 * path (`serve`), which takes `/instances/<id>/…` off Node's server before Fastify sees it.
 *
 * Why a lean path: a notebook's page makes dozens of small requests, each of which Fastify would
 * route, wrap in its request and reply objects, give a child logger and run through its hook
 * chains, at about a third of what forwarding it costs. The lean path runs the same steps by
 * calling the lifecycle's own functions in the lifecycle's order (authenticate with the shared
 * cache, check CSRF, authorize with the declared permission, record a refusal's outcome), then
 * `proxyRequest`, which the Fastify route calls too. What it does not do is log each request
 * (Fastify's "incoming request" and "request completed" lines at info): forwarded requests are
 * recorded as audited sessions; refusals and failures are logged and audited as on any route.
 */
export class InstanceProxyRoutes {
  private readonly sessions = new ProxySessions();
  /** Off once the server is closing: Fastify then answers 503, as for every other route. */
  private serving = true;

  constructor(private readonly options: InstanceProxyRoutesOptions) {}

  /**
   * Serves `req` when it is a proxied request (`/instances/<id>/…` with a method Jupyter uses);
   * false for anything else, which Fastify then serves.
   */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const method = req.method ?? '';
    const url = this.serving && isProxiedMethod(method) ? parseProxiedUrl(req.url ?? '') : null;
    if (url === null || !url.underBase) {
      return false;
    }
    const started = performance.now();
    const ctx = newRequestContext(generateRequestId(req), proxyAddr(req, this.options.trustProxy));
    // Everything after this, refusals included, runs in the request's context (logs, audit).
    void runWithRequestContext(ctx, async () => {
      try {
        const { authentication } = this.options;
        const now = Date.now();
        const found =
          authentication.recall(req.headers, now) ??
          (await authentication.authenticate(req.headers, ctx.clientIp ?? '', now));
        ctx.principal = found.principal;
        ctx.authenticatedBy = found.authenticatedBy;
        ctx.tokenId = found.tokenId;
        checkCsrf(method, req.headers, ctx, PROXY_ROUTE_CONFIG.csrf);
        authorizeCaller(ctx, PROXY_ROUTE_CONFIG.permission);
        await this.proxyRequest(ctx, req, res, url, noHijack);
      } catch (error) {
        await this.refuse(ctx, req, res, error, performance.now() - started);
      }
    });
    return true;
  }

  /** The Fastify plugin: the routes as declared, and the websocket upgrade handler. */
  readonly plugin: FastifyPluginAsync = async (app) => {
    app.addHook('preClose', async () => {
      this.serving = false;
    });
    app.addHook('onClose', async () => {
      this.options.proxy.close();
    });
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

    // Served by the lean path (serve) on the server's sockets; Fastify serves what reaches it
    // otherwise (an injected request), after its hooks have run the same checks.
    app.route({
      method: [...PROXIED_METHODS],
      url: PROXY_ROUTE_URL,
      exposeHeadRoute: false,
      config: PROXY_ROUTE_CONFIG,
      schema: { hide: true },
      handler: async (request, reply) => {
        const url = parseProxiedUrl(request.url);
        if (url === null) {
          throw new AppError('not_found', 'no such instance');
        }
        await this.proxyRequest(request.ctx, request.raw, reply.raw, url, () => {
          reply.hijack();
        });
      },
    });

    app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.handleUpgrade(req, socket, head).catch((error: unknown) => {
        this.options.logger.error({ err: error }, 'websocket proxy failed');
        socket.destroy();
      });
    });
  };

  /**
   * What every proxied request goes through once its caller is authenticated and authorized:
   * the instance resolved, the egress guard, the session audited, then forwarded. Throws an
   * AppError (nothing sent yet) when refused; `hijack` is called just before the answer is
   * streamed.
   */
  private async proxyRequest(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
    url: ProxiedUrl,
    hijack: () => void,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    // A notebook's requests come in bursts: what is known already is not waited for.
    const target =
      this.options.instances.recall(url.instanceId, ctx.principal) ??
      (await this.resolveOrRefuse(ctx, url.instanceId));
    ctx.projectId = target.projectId;
    const block = checkEgressRequest(method, url.rest, url.query);
    if (block !== null) {
      ctx.denied = true;
      await this.recordBlock(ctx, url, method, block);
      throw new AppError('forbidden', block.detail);
    }
    const opening = this.openSession(ctx, url, 'http');
    if (opening !== null) {
      await opening;
    }
    this.reportActivity(url.instanceId);
    hijack();
    await this.forward(ctx, req, res, target, url);
  }

  /**
   * The lean path's answer to a refusal, as the lifecycle's error handler and onSend hook give it
   * on any route: logged, its outcome audited, problem+json; 503 when the audit cannot be written.
   */
  private async refuse(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
    error: unknown,
    ms: number,
  ): Promise<void> {
    const { logger, audit } = this.options;
    let answer = toAppError(error);
    if (answer.code === 'internal') {
      logger.error({ reqId: ctx.requestId, err: error }, 'request failed');
    } else {
      logger.info({ reqId: ctx.requestId, code: answer.code }, answer.message);
    }
    if (answer.isDenial) {
      ctx.denied = true;
    }
    const url = req.url ?? '';
    try {
      await recordOutcome(audit, ctx, {
        action: PROXY_ROUTE_CONFIG.action,
        method: req.method ?? '',
        route: PROXY_ROUTE_URL,
        url,
        status: answer.status,
        ms,
      });
    } catch (auditError) {
      logger.error(
        { reqId: ctx.requestId, err: auditError },
        'audit write failed; response withheld',
      );
      answer = answerWithheld();
    }
    if (res.headersSent) {
      res.destroy();
    } else {
      writeProblem(res, { url, id: ctx.requestId }, answer);
    }
  }

  private async resolveOrRefuse(
    ctx: RequestContext,
    instanceId: string,
  ): Promise<ResolvedInstance> {
    const target = await this.options.instances.resolve(instanceId, ctx.principal);
    if (target === null) {
      ctx.denied = true;
      // The same answer whether it does not exist, is not running or is not the caller's.
      throw new AppError('not_found', `no running instance ${instanceId} of yours`);
    }
    return target;
  }

  /** Records an egress block; an audit log that cannot be written is 503 (AppError). */
  private recordBlock(ctx: RequestContext, url: ProxiedUrl, method: string, block: EgressBlock) {
    return recordOrRefuse(ctx, () =>
      this.options.audit.recordAlone({
        action: 'instance.egress_blocked',
        outcome: 'denied',
        target: url.instanceId,
        details: { method, path: `/${url.rest}`, reason: block.reason, detail: block.detail },
      }),
    );
  }

  /**
   * Audits the start of a session (its first request, or the first after SESSION_IDLE_MS); null
   * when the session is open already, so that its requests wait for nothing. An audit log that
   * cannot be written stops the request (AppError).
   */
  private openSession(
    ctx: RequestContext,
    url: ProxiedUrl,
    via: 'http' | 'websocket',
  ): Promise<void> | null {
    const key = sessionKey(ctx, url.instanceId);
    if (!this.sessions.touch(key, Date.now())) {
      return null;
    }
    return recordOrRefuse(ctx, () =>
      this.options.audit.recordAlone({
        action: 'instance.session_opened',
        target: url.instanceId,
        details: { via, path: `/${url.rest}` },
      }),
    ).catch((error: unknown) => {
      this.sessions.forget(key);
      throw error;
    });
  }

  /** Reports traffic without holding the request up; a failed write is logged, never answered. */
  private reportActivity(instanceId: string): void {
    this.options.recordActivity(instanceId).catch((error: unknown) => {
      this.options.logger.error(
        { err: error, instance: instanceId },
        'recording instance activity failed',
      );
    });
  }

  private async forward(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
    target: ResolvedInstance,
    url: ProxiedUrl,
  ): Promise<void> {
    const { proxy, logger } = this.options;
    const method = req.method ?? 'GET';
    const answer = (error: AppError) => {
      writeProblem(res, { url: req.url ?? '', id: ctx.requestId }, error);
    };
    const refuse = async (outcome: ForwardOutcome) => {
      if (outcome.kind !== 'too-large') {
        answer(new AppError('unavailable', `instance ${url.instanceId} does not answer`));
        return;
      }
      // The block is recorded before the 403 that says so; unrecorded, it is a 503.
      try {
        await this.recordBlock(ctx, url, method, {
          ...responseTooLarge(proxy.responseLimitBytes),
          detail: `refused a ${outcome.status} response declaring more than ${proxy.responseLimitBytes} bytes`,
        });
        answer(new AppError('forbidden', responseTooLarge(proxy.responseLimitBytes).detail));
      } catch (error) {
        answer(error instanceof AppError ? error : new AppError('internal', 'the proxy failed'));
      }
    };
    const outcome = await proxy.forward(req, res, target, upstreamPath(url), refuse, [
      'x-request-id',
      ctx.requestId,
    ]);
    if (outcome.kind === 'too-large' && outcome.cut) {
      // A cut has no answer to hold back: what was sent is within the limit, and the connection
      // is broken off at once rather than after a database write.
      await this.recordBlock(ctx, url, method, {
        ...responseTooLarge(proxy.responseLimitBytes),
        detail: `cut off after ${outcome.bytes} bytes of a ${outcome.status} response`,
      }).catch((error: unknown) => {
        logger.error({ reqId: ctx.requestId, err: error }, 'audit write of an egress block failed');
      });
    } else if (outcome.kind === 'upstream-failed') {
      logger.warn(
        { reqId: ctx.requestId, err: outcome.error, instance: url.instanceId },
        'instance proxy failed',
      );
    }
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { audit, logger } = this.options;
    // Node leaves an upgraded socket without an error listener: a reset while the caller is
    // looked up must not bring the server down.
    socket.on('error', () => socket.destroy());
    const url = parseProxiedUrl(req.url ?? '');
    const ctx = newRequestContext(generateRequestId(req), proxyAddr(req, this.options.trustProxy));
    try {
      if (url === null || !url.underBase) {
        throw new AppError('not_found', 'websockets are served under /instances/<id>/ only');
      }
      Object.assign(ctx, await this.options.authentication.lookup(req.headers, ctx.clientIp ?? ''));
      authorizeCaller(ctx, PROXY_ROUTE_CONFIG.permission);
      checkWebsocketOrigin(ctx, req);
      const target = await this.resolveOrRefuse(ctx, url.instanceId);
      ctx.projectId = target.projectId;
      const block = checkEgressRequest('GET', url.rest, url.query);
      if (block !== null) {
        await this.recordBlock(ctx, url, 'GET', block);
        throw new AppError('forbidden', block.detail);
      }
      await this.openSession(ctx, url, 'websocket');
      await recordOrRefuse(ctx, () =>
        audit.recordAlone({
          action: 'instance.websocket_opened',
          target: url.instanceId,
          details: { path: `/${url.rest}` },
        }),
      );
      const opened = performance.now();
      this.reportActivity(url.instanceId);
      const onMessage = () => this.reportActivity(url.instanceId);
      await this.options.proxy.tunnel(
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
            logger.error({ err: error }, 'audit write of a closed websocket failed');
          });
        },
        onMessage,
      );
    } catch (error) {
      const appError =
        error instanceof AppError ? error : new AppError('internal', 'the websocket failed');
      if (!(error instanceof AppError)) {
        logger.error({ err: error }, 'websocket proxy failed');
      }
      await refuseUpgrade(logger, ctx, req, socket, url, appError, audit);
    }
  }
}

/** The Fastify route's stand-in for `reply.hijack()` on the lean path, which has no reply. */
function noHijack(): void {}

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

/**
 * Cross-site websocket hijacking: a page elsewhere may open a websocket with our cookie, but its
 * browser says where it comes from (the websocket counterpart of the lifecycle's CSRF check).
 */
function checkWebsocketOrigin(ctx: RequestContext, req: IncomingMessage): void {
  if (
    ctx.authenticatedBy === 'session' &&
    req.headers.origin !== undefined &&
    !isSameOrigin(req.headers)
  ) {
    ctx.denied = true;
    throw new AppError(
      'forbidden',
      "websockets to instances are opened from Lantern's own pages only",
    );
  }
}

/** Answers a refused handshake with problem+json on the raw socket, audited, and closes it. */
async function refuseUpgrade(
  logger: FastifyBaseLogger,
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
      logger.error({ err: auditError }, 'audit write of a refused websocket failed');
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
