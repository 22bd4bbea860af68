import { columnNameSchema, datasetSlugSchema, tableNameSchema } from '@lantern/core/catalog';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ReportsService } from '../../services/catalog/reports.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const STATUSES = ['open', 'answered', 'closed'] as const;

const report = z
  .object({
    id: z.string(),
    dataset: z.string(),
    version: z.string().nullable(),
    table: z.string().nullable(),
    column: z.string().nullable(),
    text: z.string(),
    reporter: z.object({ name: z.string(), email: z.string().optional() }),
    status: z.enum(STATUSES),
    answer: z.string().nullable(),
    answeredAt: z.string().nullable(),
    fixedIn: z.string().nullable(),
    closedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'DatasetReport' });

const version = z.string().regex(/^\d{1,6}\.\d{1,6}(\.\d{1,6})?$/u, 'a version like 1.0 or 2.1.1');

/** Reports of inconsistencies in datasets: filed by readers, worked by curators. */
export function reportRoutes(reports: ReportsService): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/v1/datasets/:slug/reports',
      {
        config: { permission: 'catalog.report', action: 'catalog.report' },
        schema: {
          operationId: 'reportDatasetProblem',
          summary: 'Report a problem in a dataset, a table or a column',
          tags: ['catalog'],
          params: z.object({ slug: datasetSlugSchema }),
          body: z.object({
            version: version.optional(),
            table: tableNameSchema.optional(),
            column: columnNameSchema.optional(),
            text: z
              .string()
              .trim()
              .min(10, 'say what looks wrong (10 characters at least)')
              .max(5_000),
          }),
          response: { ...problemResponses, 201: report },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(await reports.file(requireUser(request), request.params.slug, request.body)),
    );

    app.get(
      '/api/v1/reports/mine',
      {
        config: { permission: 'account', action: 'catalog.my_reports' },
        schema: {
          operationId: 'listMyReports',
          summary: 'The problems you reported, newest first, with the answers',
          tags: ['catalog'],
          response: { ...problemResponses, 200: z.object({ reports: z.array(report) }) },
        },
      },
      async (request) => ({ reports: await reports.mine(requireUser(request)) }),
    );

    app.get(
      '/api/v1/catalog/reports',
      {
        config: { permission: 'catalog.curate', action: 'catalog.report_queue' },
        schema: {
          operationId: 'listReports',
          summary: 'Reported problems: open ones oldest first, others newest first',
          tags: ['catalog'],
          querystring: z.object({
            status: z.enum(STATUSES).default('open'),
            limit: z.coerce.number().int().min(1).max(500).default(100),
          }),
          response: { ...problemResponses, 200: z.object({ reports: z.array(report) }) },
        },
      },
      async (request) => ({
        reports: await reports.queue(request.query.status, request.query.limit),
      }),
    );

    app.post(
      '/api/v1/catalog/reports/:id/answer',
      {
        config: { permission: 'catalog.curate', action: 'catalog.answer_report' },
        schema: {
          operationId: 'answerReport',
          summary:
            'Answer a report; with `fixedIn` (a published version) or `close`, close it; the reporter is told',
          tags: ['catalog'],
          params: z.object({ id: z.string().max(40) }),
          body: z.object({
            answer: z.string().trim().min(3).max(5_000),
            fixedIn: version.optional(),
            close: z.boolean().default(false),
          }),
          response: { ...problemResponses, 200: report },
        },
      },
      async (request) => reports.answer(requireUser(request), request.params.id, request.body),
    );

    app.get(
      '/api/v1/datasets/:slug/versions/:version/fixed-reports',
      {
        config: { permission: 'public', action: 'catalog.fixed_reports' },
        schema: {
          operationId: 'listFixedReports',
          summary: 'The reported problems this version fixed (shown beside its change log)',
          tags: ['catalog'],
          params: z.object({ slug: datasetSlugSchema, version }),
          response: {
            ...problemResponses,
            200: z.object({
              reports: z.array(
                z.object({
                  id: z.string(),
                  table: z.string().nullable(),
                  column: z.string().nullable(),
                  text: z.string(),
                  answer: z.string().nullable(),
                  closedAt: z.string().nullable(),
                }),
              ),
            }),
          },
        },
      },
      async (request) => ({
        reports: await reports.fixedIn(request.params.slug, request.params.version),
      }),
    );
  };
}
