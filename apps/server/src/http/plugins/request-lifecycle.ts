import {
  AppError,
  blockedByTerms,
  hasPermission,
  isPermission,
  type Permission,
} from '@lantern/core';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteOptions,
} from 'fastify';
import { runWithRequestContext, type RequestContext } from '../../request-context.js';
import { PROBLEM_CONTENT_TYPE, problemJson } from './problems.js';
import type { AuditService } from '../../services/audit/audit.service.js';
import type { ApiTokensService } from '../../services/identity/api-tokens.service.js';
import type { IdentityService } from '../../services/identity/identity.service.js';
import {
  AuthenticationCache,
  type Authenticated,
  type CredentialHeaders,
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
 * its own inside a transaction — allowed, denied and failed alike.
 * Returns the registry of declared routes, checked when the server becomes ready.
 */
export function registerRequestLifecycle(
  app: FastifyInstance,
  audit: AuditService,
  identity: IdentityService,
  tokens: ApiTokensService,
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

  const lookup = (headers: CredentialHeaders, clientIp: string) =>
    authenticateHeaders(headers, clientIp, identity, tokens);
  const cache = new AuthenticationCache(lookup);

  app.addHook('onRequest', (request, reply, done) => {
    request.ctx = newRequestContext(request);
    void reply.header('x-request-id', request.id);
    // Everything after this, errors included, runs in the request's context (logs, audit).
    runWithRequestContext(request.ctx, () => {
      const how = request.routeOptions.config.authentication;
      const found =
        how === 'none'
          ? Promise.resolve<Authenticated>(ANONYMOUS)
          : how === 'cached'
            ? cache.authenticate(request.headers, request.ip, Date.now())
            : lookup(request.headers, request.ip);
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
    checkCsrf(request);
    authorize(request);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const status = reply.statusCode;
    if (request.routeOptions.config.action === undefined && request.ctx.audited) {
      // Answered by frameworkErrorHandler, which has audited it.
      return payload;
    }
    if (request.ctx.auditSettled || (request.ctx.audited && status < 400)) {
      return payload;
    }
    try {
      await audit.recordAlone({
        action: request.routeOptions.config.action ?? 'http.not_found',
        outcome: status < 400 ? 'allowed' : request.ctx.denied ? 'denied' : 'failed',
        details: {
          method: request.method,
          route: request.routeOptions.url ?? null,
          path: request.url.split('?')[0] ?? request.url,
          status,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          via: request.ctx.authenticatedBy,
          ...(request.ctx.tokenId === null ? {} : { token: request.ctx.tokenId }),
        },
      });
      return payload;
    } catch (error) {
      // Nothing leaves unrecorded: if the audit log cannot be written, the answer is withheld.
      request.log.error({ err: error }, 'audit write failed; response withheld');
      void reply.code(503).type(PROBLEM_CONTENT_TYPE);
      return problemJson(
        request,
        new AppError(
          'unavailable',
          'the audit log cannot be written; the request was not completed',
        ),
      );
    }
  });

  return routes;
}

function newRequestContext(request: FastifyRequest): RequestContext {
  return {
    requestId: request.id,
    clientIp: request.ip,
    // Anonymous until authenticate() finds a session.
    principal: { kind: 'anonymous' },
    projectId: null,
    audited: false,
    auditSettled: false,
    authenticatedBy: null,
    tokenId: null,
    denied: false,
  };
}

/**
 * Who is calling: an API token (`Authorization: Bearer lnt_…`) or a session cookie. A token that
 * does not work is refused outright (401), never treated as anonymous. Also for websocket
 * handshakes, which no route sees.
 */
const ANONYMOUS: Authenticated = {
  principal: { kind: 'anonymous' },
  authenticatedBy: null,
  tokenId: null,
};

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
function checkCsrf(request: FastifyRequest): void {
  // API tokens travel in a header no other site can make a browser send, so they need no more.
  if (
    SAFE_METHODS.has(request.method) ||
    request.is404 ||
    request.ctx.authenticatedBy === 'token'
  ) {
    return;
  }
  if (
    request.headers[CSRF_HEADER] !== '1' &&
    !(request.routeOptions.config.csrf === 'same-origin' && isSameOrigin(request.headers))
  ) {
    request.ctx.denied = true;
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
    request.ctx = newRequestContext(request);
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

function authorize(request: FastifyRequest): void {
  if (request.is404) {
    // The not-found handler matches no route, so there is nothing to authorize: it answers 404.
    return;
  }
  const permission = request.routeOptions.config.permission;
  if (permission === undefined) {
    throw new AppError('forbidden', 'this route declares no permission');
  }
  const { principal } = request.ctx;
  if (!hasPermission(principal, permission)) {
    request.ctx.denied = true;
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
