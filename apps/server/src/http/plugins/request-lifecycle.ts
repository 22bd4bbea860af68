import {
  AppError,
  blockedByTerms,
  hasPermission,
  isPermission,
  type Permission,
} from '@lantern/core';
import type { IncomingHttpHeaders } from 'node:http';
import type {
  FastifyContextConfig,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteOptions,
} from 'fastify';
import {
  newRequestContext,
  runWithRequestContext,
  type RequestContext,
} from '../../request-context.js';
import { PROBLEM_CONTENT_TYPE, problemJson } from './problems.js';
import type { AuditService } from '../../services/audit/audit.service.js';
import type { ApiTokensService } from '../../services/identity/api-tokens.service.js';
import type { IdentityService } from '../../services/identity/identity.service.js';
import type {
  AuthenticationCache,
  Authenticated,
  CredentialHeaders,
} from './authentication-cache.js';
import { readCookie, SESSION_COOKIE } from './cookies.js';

/** A route as declared: method, path and the permission it requires. */
export interface DeclaredRoute {
  method: string;
  url: string;
  permission: Permission | undefined;
  action: string | undefined;
}

/**
 * The request pipeline shared by every route: context and authentication on arrival, authorization
 * before the handler (after validation), and an audit event for every request that did not record
 * its own inside a transaction — allowed, denied and failed alike. Its steps are exported one by
 * one for the instance proxy's lean path, which serves in front of Fastify with the same steps.
 * Returns the registry of declared routes, checked when the server becomes ready.
 */
export function registerRequestLifecycle(
  app: FastifyInstance,
  audit: AuditService,
  authentication: AuthenticationCache,
): DeclaredRoute[] {
  const routes: DeclaredRoute[] = [];
  const declared: RouteOptions[] = [];

  app.addHook('onRoute', (route) => {
    declared.push(route);
  });

  // Deny by default: a route without a permission is a programming error, caught before listening.
  app.addHook('onReady', async () => {
    routes.length = 0;
    const missing: string[] = [];
    for (const route of declared) {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const permission = route.config?.permission;
      for (const method of methods) {
        routes.push({ method, url: route.url, permission, action: route.config?.action });
        if (!isPermission(permission)) {
          missing.push(`${method} ${route.url}`);
        }
      }
    }
    if (missing.length > 0) {
      throw new Error(`routes without a declared permission: ${missing.join(', ')}`);
    }
  });

  app.addHook('onRequest', (request, reply, done) => {
    request.ctx = newRequestContext(request.id, request.ip);
    void reply.header('x-request-id', request.id);
    // Everything after this, errors included, runs in the request's context (logs, audit).
    runWithRequestContext(request.ctx, () => {
      const how = request.routeOptions.config.authentication;
      const found =
        how === 'none'
          ? Promise.resolve<Authenticated>(ANONYMOUS)
          : how === 'cached'
            ? authentication.authenticate(request.headers, request.ip, Date.now())
            : authentication.lookup(request.headers, request.ip);
      found.then(
        (who) => {
          request.ctx.principal = who.principal;
          request.ctx.authenticatedBy = who.authenticatedBy;
          request.ctx.tokenId = who.tokenId;
          done();
        },
        (error: unknown) => {
          done(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  });

  app.addHook('preHandler', async (request) => {
    if (request.is404) {
      // The not-found handler matches no route, so there is nothing to check: it answers 404.
      return;
    }
    checkCsrf(request.method, request.headers, request.ctx, request.routeOptions.config.csrf);
    authorizeCaller(request.ctx, request.routeOptions.config.permission);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (request.routeOptions.config.action === undefined && request.ctx.audited) {
      // Answered by frameworkErrorHandler, which has audited it.
      return payload;
    }
    try {
      await recordOutcome(audit, request.ctx, {
        action: request.routeOptions.config.action ?? 'http.not_found',
        method: request.method,
        route: request.routeOptions.url ?? null,
        url: request.url,
        status: reply.statusCode,
        ms: reply.elapsedTime,
      });
      return payload;
    } catch (error) {
      request.log.error({ err: error }, 'audit write failed; response withheld');
      void reply.code(503).type(PROBLEM_CONTENT_TYPE);
      return problemJson(request, answerWithheld());
    }
  });

  return routes;
}

/** How a request ended, for its audit event. */
export interface RequestOutcome {
  /** The route's declared action. */
  action: string;
  method: string;
  /** The route's pattern; null when none matched. */
  route: string | null;
  url: string;
  status: number;
  ms: number;
}

/**
 * The audit event of a request that did not record its own (every refusal; answers of routes
 * without a service's audit event): unless a service recorded this request already. Throws when
 * the audit log cannot be written; then the answer must be withheld (answerWithheld).
 */
export async function recordOutcome(
  audit: AuditService,
  ctx: RequestContext,
  outcome: RequestOutcome,
): Promise<void> {
  const { status } = outcome;
  if (ctx.auditSettled || (ctx.audited && status < 400)) {
    return;
  }
  await runWithRequestContext(ctx, () =>
    audit.recordAlone({
      action: outcome.action,
      outcome: status < 400 ? 'allowed' : ctx.denied ? 'denied' : 'failed',
      details: {
        method: outcome.method,
        route: outcome.route,
        path: outcome.url.split('?')[0] ?? outcome.url,
        status,
        ms: Math.round(outcome.ms * 10) / 10,
        via: ctx.authenticatedBy,
        ...(ctx.tokenId === null ? {} : { token: ctx.tokenId }),
      },
    }),
  );
}

/** Nothing leaves unrecorded: the answer in place of one whose audit event could not be written. */
export function answerWithheld(): AppError {
  return new AppError(
    'unavailable',
    'the audit log cannot be written; the request was not completed',
  );
}

const ANONYMOUS: Authenticated = {
  principal: { kind: 'anonymous' },
  authenticatedBy: null,
  tokenId: null,
};

/**
 * Who is calling: an API token (`Authorization: Bearer lnt_…`) or a session cookie. A token that
 * does not work is refused outright (401), never treated as anonymous. Also for websocket
 * handshakes, which no route sees.
 */
export async function authenticateHeaders(
  headers: CredentialHeaders,
  clientIp: string,
  identity: IdentityService,
  tokens: ApiTokensService,
): Promise<Authenticated> {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const bearer = /^Bearer\s+(\S+)$/iu.exec(authorization)?.[1];
    if (bearer === undefined) {
      throw new AppError(
        'unauthenticated',
        'the Authorization header must be "Bearer <API token>"',
      );
    }
    const found = await tokens.authenticate(bearer, clientIp);
    return { principal: found.principal, authenticatedBy: 'token', tokenId: found.tokenId };
  }
  const secret = readCookie({ headers }, SESSION_COOKIE);
  const found = secret === undefined ? null : await identity.authenticate(secret);
  return found === null
    ? ANONYMOUS
    : { principal: found.principal, authenticatedBy: 'session', tokenId: null };
}

/** The signed-in caller's id, for routes about one's own account. */
export function requireUser(request: FastifyRequest): string {
  const { principal } = request.ctx;
  if (principal.kind !== 'user') {
    throw new AppError('unauthenticated', 'sign in to do this');
  }
  return principal.userId;
}

/**
 * The signed-in caller and their session secret, for changes to how one signs in: refused with an
 * API token, which must never be able to change the credentials of its holder.
 */
export function requireSession(request: FastifyRequest): { userId: string; secret: string } {
  const userId = requireUser(request);
  const secret = readCookie(request, SESSION_COOKIE);
  if (request.ctx.authenticatedBy !== 'session' || secret === undefined) {
    request.ctx.denied = true;
    throw new AppError('forbidden', 'sign in with a browser session to do this; API tokens cannot');
  }
  return { userId, secret };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-lantern-csrf';

/**
 * Cross-site request forgery: a browser sends cookies with requests other sites start, but it
 * never lets them add a custom header without a CORS preflight, which this server does not grant
 * (OWASP CSRF cheat sheet, "custom request headers"). So every write from a browser must carry
 * X-Lantern-CSRF; the SDK always sends it. Sign-in is covered too (login CSRF).
 */
export function checkCsrf(
  method: string,
  headers: IncomingHttpHeaders,
  ctx: RequestContext,
  csrf: FastifyContextConfig['csrf'],
): void {
  // API tokens travel in a header no other site can make a browser send, so they need no more.
  if (SAFE_METHODS.has(method) || ctx.authenticatedBy === 'token') {
    return;
  }
  if (headers[CSRF_HEADER] !== '1' && !(csrf === 'same-origin' && isSameOrigin(headers))) {
    ctx.denied = true;
    throw new AppError(
      'forbidden',
      `writes from a browser need the header ${CSRF_HEADER}: 1 (the SDK sends it)`,
    );
  }
}

/**
 * Whether a browser says the request comes from a page of this site: its Origin header names the
 * host the request was sent to (RFC 6454; browsers send Origin with every write and websocket
 * handshake, and no page can forge it).
 */
export function isSameOrigin(headers: {
  origin?: string | undefined;
  host?: string | undefined;
}): boolean {
  const { origin, host } = headers;
  if (origin === undefined || host === undefined) {
    return false;
  }
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Fastify's `frameworkErrors`: a URL it cannot decode never reaches a route or the hooks above, so
 * it is answered and audited here, like any other failed request.
 */
export function frameworkErrorHandler(audit: AuditService) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    request.ctx = newRequestContext(request.id, request.ip);
    void reply.header('x-request-id', request.id);
    const appError = new AppError('bad_request', error.message);
    void runWithRequestContext(request.ctx, () =>
      audit.recordAlone({
        action: 'http.bad_request',
        outcome: 'failed',
        details: {
          method: request.method,
          path: request.url.split('?')[0] ?? request.url,
          status: 400,
          code: error.code,
        },
      }),
    )
      .catch((auditError: unknown) => {
        request.log.error({ err: auditError }, 'audit write failed');
      })
      .finally(() => {
        void reply.code(400).type(PROBLEM_CONTENT_TYPE).send(problemJson(request, appError));
      });
  };
}

/** Whether the authenticated caller holds the route's declared permission; throws when not. */
export function authorizeCaller(ctx: RequestContext, permission: Permission | undefined): void {
  if (permission === undefined) {
    throw new AppError('forbidden', 'this route declares no permission');
  }
  const { principal } = ctx;
  if (!hasPermission(principal, permission)) {
    ctx.denied = true;
    if (principal.kind === 'anonymous') {
      throw new AppError('unauthenticated', 'sign in to do this');
    }
    throw blockedByTerms(principal, permission)
      ? new AppError(
          'forbidden',
          'accept the current version of the terms (the data use agreement, at /terms) before touching data',
        )
      : new AppError('forbidden', 'you do not have permission to do this');
  }
}
