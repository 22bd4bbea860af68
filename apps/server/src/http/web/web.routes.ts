import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { AppError } from '@lantern/core';
import type { FastifyPluginAsync } from 'fastify';

/**
 * What the app may load and run (Content Security Policy Level 3), deny by default: its own
 * scripts, styles and module workers (the ingest page hashes in one), requests and images from
 * its own origin, no plug-ins, no other page framing it. It goes with every file of the app, the
 * worker's script too (a worker runs under the policy its script came with).
 */
export const APP_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The browser app, built by Vite into `webDir`. Files are served as they are (scripts, workers
 * among them, as text/javascript); any other path that is not under /api/ gets index.html, so
 * client-side routes survive a reload. Unknown /api/ paths get a problem+json 404, never the app.
 */
export function webRoutes(webDir: string): FastifyPluginAsync {
  return async (app) => {
    const hasBuild = existsSync(join(webDir, 'index.html'));
    await app.register(fastifyStatic, { root: webDir, serve: false });

    app.get(
      '/api/*',
      { config: { permission: 'public', action: 'http.not_found' }, schema: { hide: true } },
      async (request) => {
        throw new AppError('not_found', `no route for GET ${request.url.split('?')[0] ?? ''}`);
      },
    );

    app.get(
      '/*',
      { config: { permission: 'public', action: 'web.read' }, schema: { hide: true } },
      async (request, reply) => {
        if (!hasBuild) {
          throw new AppError(
            'not_found',
            `the web app is not built (no ${webDir}/index.html); run npm run build`,
          );
        }
        const path = (request.params as { '*': string })['*'];
        reply
          .header('content-security-policy', APP_CONTENT_SECURITY_POLICY)
          .header('x-content-type-options', 'nosniff');
        const isAsset = path.startsWith('assets/');
        if (path !== '' && existsSync(join(webDir, path)) && !path.includes('..')) {
          // Vite names assets by content hash, so they never change.
          return reply.sendFile(path, { maxAge: isAsset ? '365d' : 0, immutable: isAsset });
        }
        if (isAsset) {
          throw new AppError('not_found', `no such asset: /${path}`);
        }
        return reply.header('cache-control', 'no-cache').sendFile('index.html');
      },
    );
  };
}
