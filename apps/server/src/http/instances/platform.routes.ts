/**
 * The platform for python/ngsci over HTTP (issue 8), for instances that cannot share a UNIX socket
 * with the server: Kubernetes Pods, whose NetworkPolicy lets them reach the server's Pods and
 * nothing else, and Slurm jobs on other nodes, through their relays. The calls and answers are the socket's (`answerPlatformCall`), under
 * `/platform/v1/…`; the instance is named by `X-NG-Instance-Id` and proven by its own platform
 * token as a bearer token, so no user session is involved (the route is public to the
 * permission layer, and refuses anything without the instance's token with 401). Each call is
 * audited with its instance, method, path and status before it is answered: no answer leaves
 * unrecorded (503 when the audit log cannot be written).
 */
import type { FastifyPluginAsync } from 'fastify';
import { answerPlatformCall, type PlatformApi } from '../../services/instances/platform-socket.js';

/** Instance ids are `ins_` and hex; anything else is refused before the database is asked. */
const INSTANCE_ID = /^[A-Za-z0-9_-]{1,64}$/u;
const PREFIX = '/platform';

export function platformRoutes(options: {
  /** Read on each call: the instance service is made after the routes are registered. */
  api: () => PlatformApi;
}): FastifyPluginAsync {
  return async (app) => {
    // Contest entries are streamed and counted by the handler, never parsed or buffered here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => {
      done(null);
    });
    app.route({
      method: ['GET', 'POST'],
      url: `${PREFIX}/v1/*`,
      exposeHeadRoute: false,
      config: { permission: 'public', action: 'platform.call', authentication: 'none' },
      schema: { hide: true },
      handler: async (request, reply) => {
        const header = request.headers['x-ng-instance-id'];
        const instanceId = typeof header === 'string' && INSTANCE_ID.test(header) ? header : '';
        reply.hijack();
        // An empty id names no instance: the token check answers 401 as for a wrong token. The
        // call is recorded before it is answered (in this request's context: its id and the
        // caller's address), as on the socket; a record that cannot be written withholds the
        // answer (503), as the request lifecycle does for every other route.
        await answerPlatformCall(
          options.api(),
          { instanceId, via: 'http', path: request.url.slice(PREFIX.length) },
          request.raw,
          reply.raw,
        );
      },
    });
  };
}
