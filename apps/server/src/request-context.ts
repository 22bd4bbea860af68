import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Principal } from '@lantern/core';

/** What is known about the request being served, for logs and audit events. */
export interface RequestContext {
  requestId: string;
  /** The peer's address; null for a local command (`lantern ingest`), which has none. */
  clientIp: string | null;
  principal: Principal;
  projectId: string | null;
  /** Set once a service has written this request's audit event inside its own transaction. */
  audited: boolean;
  /** Set once a service has written this request's outcome outside any transaction (a refusal). */
  auditSettled: boolean;
  /** How the caller proved who they are; cookie-authenticated writes need the CSRF header. */
  authenticatedBy: 'session' | 'token' | null;
  /** The API token used, when authenticatedBy is 'token'. */
  tokenId: string | null;
  /** Set when a service refused by answering "not found" (so the request audits as `denied`). */
  denied: boolean;
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * A request's context on arrival: anonymous until authentication finds who is calling, unless
 * the caller is known from the start (a local command, an instance).
 */
export function newRequestContext(
  requestId: string,
  clientIp: string | null,
  principal: Principal = { kind: 'anonymous' },
): RequestContext {
  return {
    requestId,
    clientIp,
    principal,
    projectId: null,
    audited: false,
    auditSettled: false,
    authenticatedBy: null,
    tokenId: null,
    denied: false,
  };
}

/** Runs `fn` with `context` as the current request context. */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The current request's context, if any (background jobs have none). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn`, and everything it starts, outside any request: for background work that outlives the
 * request that began it, whose audit events are then the system's.
 */
export function runOutsideRequest<T>(fn: () => T): T {
  return storage.exit(fn);
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Uses the caller's X-Request-Id when it is safe to log, otherwise makes one. */
export function generateRequestId(request: {
  headers: Record<string, string | string[] | undefined>;
}): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * The context of work an instance asks for (ngsci's calls on its platform socket, and what they
 * change): the system principal `instance:<id>`, so that its audit events name it.
 */
export function instanceRequestContext(
  instanceId: string,
  origin: Pick<RequestContext, 'requestId' | 'clientIp' | 'projectId'>,
): RequestContext {
  return {
    ...newRequestContext(origin.requestId, origin.clientIp, {
      kind: 'system',
      name: `instance:${instanceId}`,
    }),
    projectId: origin.projectId,
  };
}
