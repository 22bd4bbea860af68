import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AdmissionService } from '../../services/admission/admission.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const evidence = z.object({ certificateId: z.string(), expiresOn: z.string() }).nullable();

const standing = z
  .object({
    status: z.string(),
    appliedAt: z.string().nullable(),
    evidence,
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
    decidedAt: z.string().nullable(),
    decisionReason: z.string().nullable(),
  })
  .meta({ id: 'Applicant' });

/** The applicant's waiting page, and the reviewers' admission queue. */
export function admissionRoutes(admission: AdmissionService): FastifyPluginAsyncZod {
  return async (app) => {
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

    app.get(
      '/api/v1/admission/queue',
      {
        config: { permission: 'admission.review', action: 'admission.queue' },
        schema: {
          operationId: 'listApplicants',
          summary: 'Applications, oldest first',
          tags: ['admission'],
          querystring: z.object({
            status: z.enum(['pending', 'admitted', 'rejected']).default('pending'),
            hasEvidence: z.enum(['true', 'false']).optional(),
            limit: z.coerce.number().int().min(1).max(200).default(50),
          }),
          response: { ...problemResponses, 200: z.object({ applicants: z.array(applicant) }) },
        },
      },
      async (request) => ({
        applicants: await admission.queue({
          status: request.query.status,
          hasEvidence:
            request.query.hasEvidence === undefined
              ? undefined
              : request.query.hasEvidence === 'true',
          limit: request.query.limit,
        }),
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
