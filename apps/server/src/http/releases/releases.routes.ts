import { projectIdSchema } from '@lantern/core/projects';
import {
  RELEASE_STATES,
  releaseDecisionSchema,
  releaseFileIdSchema,
  releaseIdSchema,
  releasePageSchema,
  releasePreviewSchema,
  releaseSchema,
} from '@lantern/core/releases';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type {
  ReleaseFileContent,
  ReleaseService,
} from '../../services/releases/release.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const release = releaseSchema.meta({ id: 'Release' });
const releasePage = releasePageSchema.meta({ id: 'ReleasePage' });
const releasePreview = releasePreviewSchema.meta({ id: 'ReleasePreview' });

const releaseParams = z.object({ id: releaseIdSchema });
const fileParams = z.object({ id: releaseIdSchema, fileId: releaseFileIdSchema });
const cursor = z.string().max(200).optional();

/** A file name for Content-Disposition (RFC 6266): ASCII stand-in, and the name in UTF-8 (RFC 8187). */
function dispositionOf(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\u0020-\u007e]|["\\]/gu, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * A file's stored bytes. Never run in the app's origin: the browser is told not to guess another
 * type (nosniff) and to open it, if at all, in a sandbox with an opaque origin that loads nothing
 * (CSP Level 3 `sandbox`); nothing is cached.
 */
function sendFile(
  reply: FastifyReply,
  file: ReleaseFileContent,
  kind: 'inline' | 'attachment',
): FastifyReply {
  return reply
    .type(kind === 'inline' ? file.mediaType : 'application/octet-stream')
    .header('content-length', String(file.size))
    .header('content-disposition', dispositionOf(kind, file.name))
    .header('x-content-sha256', file.sha256)
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "sandbox; default-src 'none'; img-src 'self'")
    .header('cross-origin-resource-policy', 'same-origin')
    .header('cache-control', 'private, no-store')
    .send(file.body);
}

/** The routes that answer a file's bytes rather than JSON. */
const FILE_ROUTES = [
  {
    path: 'image',
    disposition: 'inline',
    permission: 'account',
    action: 'release.preview',
    operationId: 'releaseFileImage',
    summary: 'A PNG or JPEG file of a request, to show (inline, sandboxed)',
  },
  {
    path: 'content',
    disposition: 'attachment',
    permission: 'project.work',
    action: 'release.download',
    operationId: 'downloadReleaseFile',
    summary:
      'An approved file, to take away (members): the stored bytes as an attachment, their SHA-256 in X-Content-SHA256',
  },
] as const;

/**
 * The airlock's routes. Requests are made only from inside instances (the platform's
 * `POST /v1/releases`); here members of the project list, read, preview and (once approved)
 * download them, reviewers list the queue, read, preview and decide, and the requester or an owner
 * withdraws. A request the caller may not see is answered 404, as for one that does not exist.
 */
export function releaseRoutes(releases: ReleaseService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/projects/:id/releases',
      {
        config: { permission: 'project.work', action: 'release.list' },
        schema: {
          operationId: 'listProjectReleases',
          summary: "The project's release requests, newest first, 50 a page (its members)",
          tags: ['releases'],
          params: z.object({ id: projectIdSchema }),
          querystring: z.object({ state: z.enum(RELEASE_STATES).optional(), cursor }),
          response: { ...problemResponses, 200: releasePage },
        },
      },
      async (request) => {
        request.ctx.projectId = request.params.id;
        return releases.listProject(requireUser(request), request.params.id, request.query);
      },
    );

    app.get(
      '/api/v1/releases',
      {
        config: { permission: 'release.review', action: 'release.queue' },
        schema: {
          operationId: 'listReleaseQueue',
          summary:
            'Release requests of every project (reviewers): pending ones oldest first, decided ones newest first, 50 a page',
          tags: ['releases'],
          querystring: z.object({ state: z.enum(RELEASE_STATES).default('pending'), cursor }),
          response: { ...problemResponses, 200: releasePage },
        },
      },
      async (request) => releases.queue(request.query),
    );

    app.get(
      '/api/v1/releases/:id',
      {
        // Members of the project and reviewers: the service tells them apart.
        config: { permission: 'account', action: 'release.read' },
        schema: {
          operationId: 'getRelease',
          summary:
            'A release request: its files with their disclosure checks, the decision, and what you may do with it',
          tags: ['releases'],
          params: releaseParams,
          response: { ...problemResponses, 200: release },
        },
      },
      async (request) => releases.get(principalOf(request), request.params.id),
    );

    app.get(
      '/api/v1/releases/:id/files/:fileId/preview',
      {
        config: { permission: 'account', action: 'release.preview' },
        schema: {
          operationId: 'previewReleaseFile',
          summary:
            "What a file holds: a table's first rows, a text's start, an image (fetch /image), or why it cannot be shown",
          tags: ['releases'],
          params: fileParams,
          response: { ...problemResponses, 200: releasePreview },
        },
      },
      async (request) =>
        releases.preview(principalOf(request), request.params.id, request.params.fileId),
    );

    // A file's bytes: shown (images, to members and reviewers), or taken away (approved, members).
    for (const route of FILE_ROUTES) {
      app.get(
        `/api/v1/releases/:id/files/:fileId/${route.path}`,
        {
          // No HEAD: it would open the bytes, and record a download, for nothing.
          exposeHeadRoute: false,
          config: { permission: route.permission, action: route.action },
          schema: {
            operationId: route.operationId,
            summary: route.summary,
            tags: ['releases'],
            params: fileParams,
            response: problemResponses,
          },
        },
        async (request, reply) => {
          const { id, fileId } = request.params;
          const principal = principalOf(request);
          const file =
            route.disposition === 'inline'
              ? await releases.image(principal, id, fileId)
              : await releases.download(principal, id, fileId);
          return sendFile(reply, file, route.disposition);
        },
      );
    }

    app.post(
      '/api/v1/releases/:id/decision',
      {
        config: { permission: 'release.review', action: 'release.decide' },
        schema: {
          operationId: 'decideRelease',
          summary:
            "Approve or reject a pending request with a reason the project's members read (never your own request; the requester is emailed)",
          tags: ['releases'],
          params: releaseParams,
          body: releaseDecisionSchema,
          response: { ...problemResponses, 200: release },
        },
      },
      async (request) => releases.decide(principalOf(request), request.params.id, request.body),
    );

    app.post(
      '/api/v1/releases/:id/withdraw',
      {
        config: { permission: 'project.work', action: 'release.withdraw' },
        schema: {
          operationId: 'withdrawRelease',
          summary: 'Withdraw a pending request (its requester, or an owner of the project)',
          tags: ['releases'],
          params: releaseParams,
          response: { ...problemResponses, 200: release },
        },
      },
      async (request) => releases.withdraw(principalOf(request), request.params.id),
    );
  };
}

/** The signed-in caller, whom the service weighs as a member and as a reviewer. */
function principalOf(request: FastifyRequest) {
  requireUser(request);
  return request.ctx.principal;
}
