import type { Permission } from '@lantern/core';
import type { RequestContext } from '../request-context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route. Required: the server refuses to start when a route has none. */
    permission?: Permission;
    /** The audit action recorded for a request to this route, e.g. `health.read`. */
    action?: string;
    /**
     * How browser writes prove they come from this site: the X-Lantern-CSRF header (the default),
     * or also a same-origin `Origin` header (`same-origin`), for routes whose client is not the
     * SDK (the instance proxy, which Jupyter's own pages call).
     */
    csrf?: 'header' | 'same-origin';
    /**
     * `cached`: who a credential belongs to is remembered for a few seconds
     * (AuthenticationCache), for routes that see bursts of small requests (the instance proxy).
     * `none`: the route's bearer token is not a person's (an instance's platform token, which the
     * route checks itself); the caller is anonymous to the permission layer.
     */
    authentication?: 'lookup' | 'cached' | 'none';
  }
  interface FastifyRequest {
    /** Who is calling, where from, and whether the request was audited yet. */
    ctx: RequestContext;
  }
}
