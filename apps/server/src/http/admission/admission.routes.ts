import { Readable } from 'node:stream';
import { AppError } from '@lantern/core';
import { CERTIFICATE_MAX_BYTES, CERTIFICATE_MEDIA_TYPES } from '@lantern/core/identity';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AdmissionService } from '../../services/admission/admission.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const evidence = z.object({ certificateId: z.string(), expiresOn: z.string() }).nullable();

const certificateFile = z
  .object({
    name: z.string(),
    mediaType: z.string(),
    size: z.number().int(),
    expiresOn: z.string(),
    uploadedAt: z.string(),
  })
  .meta({ id: 'CertificateFile' });

const CERTIFICATE_TYPES = Object.keys(CERTIFICATE_MEDIA_TYPES);

/**
 * A hostile file must not run in the app's origin: the browser is told not to guess another type
 * (nosniff), to show rather than save it, and to open it in a sandbox with an opaque origin and no
 * scripts, forms or plugins (CSP Level 3 `sandbox`), loading nothing else.
 */
function sendCertificateFile(
  reply: FastifyReply,
  file: Awaited<ReturnType<AdmissionService['openCertificateFile']>>,
): FastifyReply {
  return reply
    .type(file.mediaType)
    .header('content-length', String(file.size))
    .header('content-disposition', `inline; filename="${file.name}"`)
    .header('x-content-type-options', 'nosniff')
    .header(
      'content-security-policy',
      "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
    )
    .header('cross-origin-resource-policy', 'same-origin')
    .header('cache-control', 'private, no-store')
    .send(file.body);
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<Uint8Array> =>
  typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

const standing = z
  .object({
    status: z.string(),
    appliedAt: z.string().nullable(),
    evidence,
    certificateFile: certificateFile.nullable(),
    ahead: z.number().int().nullable(),
    medianWaitDays: z.number().nullable(),
    decision: z.object({ at: z.string(), reason: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'AdmissionStanding' });

const applicant = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    institution: z.string().nullable(),
    institutionRole: z.string().nullable(),
    researchPurpose: z.string().nullable(),
    orcid: z.string().nullable(),
    status: z.string(),
    appliedAt: z.string().nullable(),
    evidence,
    certificateFile: certificateFile.nullable(),
    decidedAt: z.string().nullable(),
    decidedBy: z
      .object({ id: z.string(), name: z.string().nullable(), email: z.string().nullable() })
      .nullable(),
    decisionReason: z.string().nullable(),
  })
  .meta({ id: 'Applicant' });

/** The applicant's waiting page, and the reviewers' admission queue. */
export function admissionRoutes(admission: AdmissionService): FastifyPluginAsyncZod {
  return async (app) => {
    // Certificate files arrive as the raw bytes of the body, streamed to the object store rather
    // than buffered. Fastify enforces bodyLimit only on bodies it buffers, so the route's limit is
    // applied here to the declared length, and by the service to the bytes as they arrive.
    app.addContentTypeParser(CERTIFICATE_TYPES, (request, payload, done) => {
      const limit = request.routeOptions.bodyLimit ?? CERTIFICATE_MAX_BYTES;
      const length = Number(request.headers['content-length'] ?? '0');
      if (length > limit) {
        done(
          new AppError(
            'payload_too_large',
            `a certificate file may be at most ${limit / 1024 / 1024} MiB`,
          ),
          undefined,
        );
        return;
      }
      done(null, payload);
    });

    app.get(
      '/api/v1/admission/me',
      {
        config: { permission: 'account', action: 'admission.standing' },
        schema: {
          operationId: 'getAdmissionStanding',
          summary: 'Where your application stands, and the current median wait',
          tags: ['admission'],
          response: { ...problemResponses, 200: standing },
        },
      },
      async (request) => admission.standing(requireUser(request)),
    );

    app.put(
      '/api/v1/admission/me/evidence',
      {
        config: { permission: 'account', action: 'admission.evidence' },
        schema: {
          operationId: 'submitTrainingEvidence',
          summary: 'Your human-subjects research training certificate',
          tags: ['admission'],
          body: z.object({
            certificateId: z.string().trim().min(3).max(100),
            expiresOn: z.iso.date('use the form YYYY-MM-DD'),
          }),
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        await admission.submitEvidence(requireUser(request), request.body);
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/api/v1/admission/me/certificate-file',
      {
        config: { permission: 'account', action: 'admission.certificate_file' },
        bodyLimit: CERTIFICATE_MAX_BYTES,
        // A refusal before the whole body arrived (too large, wrong type) ends the connection, so
        // the client stops sending rather than the server reading what it will throw away.
        onSend: async (request, reply, payload) => {
          if (!request.raw.complete) {
            void reply.header('connection', 'close');
          }
          return payload;
        },
        schema: {
          operationId: 'uploadCertificateFile',
          summary:
            'Your training certificate as a file (PDF, PNG or JPEG, at most 10 MiB), replacing any earlier one',
          description:
            'The body is the file itself, with its media type as Content-Type; the type is checked against the first bytes of the file.',
          tags: ['admission'],
          consumes: CERTIFICATE_TYPES,
          querystring: z.object({
            expiresOn: z.iso.date('use the form YYYY-MM-DD'),
            name: z.string().max(255).default(''),
          }),
          body: z.unknown().meta({ description: 'the bytes of the file' }),
          response: { ...problemResponses, 200: certificateFile },
        },
      },
      async (request) =>
        admission.uploadCertificateFile(requireUser(request), {
          contentType: request.headers['content-type'],
          contentLength:
            request.headers['content-length'] === undefined
              ? undefined
              : Number(request.headers['content-length']),
          fileName: request.query.name,
          expiresOn: request.query.expiresOn,
          body: isAsyncIterable(request.body) ? request.body : Readable.from([]),
        }),
    );

    app.get(
      '/api/v1/admission/me/certificate-file',
      {
        config: { permission: 'account', action: 'admission.certificate_file.view' },
        schema: {
          operationId: 'getOwnCertificateFile',
          summary: 'Your training certificate file, as you uploaded it',
          tags: ['admission'],
          response: problemResponses,
        },
      },
      async (request, reply) =>
        sendCertificateFile(reply, await admission.openCertificateFile(requireUser(request))),
    );

    app.get(
      '/api/v1/admission/applicants/:id/certificate-file',
      {
        config: { permission: 'admission.review', action: 'admission.certificate_file.view' },
        schema: {
          operationId: 'getApplicantCertificateFile',
          summary: "An applicant's training certificate file (reviewers), shown sandboxed",
          tags: ['admission'],
          params: z.object({ id: z.string().max(100) }),
          response: problemResponses,
        },
      },
      async (request, reply) =>
        sendCertificateFile(reply, await admission.openCertificateFile(request.params.id)),
    );

    app.get(
      '/api/v1/admission/queue',
      {
        config: { permission: 'admission.review', action: 'admission.queue' },
        schema: {
          operationId: 'listApplicants',
          summary:
            'Applications a page at a time: pending ones oldest first, decided ones newest decision first',
          tags: ['admission'],
          querystring: z.object({
            status: z.enum(['pending', 'admitted', 'rejected']).default('pending'),
            hasEvidence: z.enum(['true', 'false']).optional(),
            q: z.string().max(200).optional(),
            cursor: z.string().max(500).optional(),
            limit: z.coerce.number().int().min(1).max(200).default(50),
          }),
          response: {
            ...problemResponses,
            200: z.object({ applicants: z.array(applicant), nextCursor: z.string().nullable() }),
          },
        },
      },
      async (request) =>
        admission.queue({
          status: request.query.status,
          hasEvidence:
            request.query.hasEvidence === undefined
              ? undefined
              : request.query.hasEvidence === 'true',
          search: request.query.q,
          cursor: request.query.cursor,
          limit: request.query.limit,
        }),
    );

    app.post(
      '/api/v1/admission/decisions',
      {
        config: { permission: 'admission.review', action: 'admission.decide' },
        schema: {
          operationId: 'decideApplications',
          summary: 'Admit or reject one or more applicants (all or none); each is emailed',
          tags: ['admission'],
          body: z.object({
            userIds: z.array(z.string().max(100)).min(1).max(100),
            decision: z.enum(['admit', 'reject']),
            reason: z.string().max(2000).default(''),
          }),
          response: { ...problemResponses, 200: z.object({ decided: z.number().int() }) },
        },
      },
      async (request) => ({ decided: await admission.decide(requireUser(request), request.body) }),
    );
  };
}
