import { PHI_KINDS } from '@lantern/deid';
import { columnNameSchema, datasetSlugSchema, tableNameSchema } from '@lantern/core/catalog';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IngestService } from '../../services/ingest/ingest.service.js';
import { requireUser } from '../plugins/request-lifecycle.js';
import { problemResponses } from '../plugins/problems.js';

/** One PHI finding of an ingest's scan, masked (also in an ingest's summary). */
export const phiFinding = z
  .object({
    id: z.string(),
    table: z.string(),
    column: z.string(),
    kind: z.enum(PHI_KINDS),
    cells: z.number(),
    rows: z.array(z.number()),
    examples: z.array(z.object({ row: z.number(), masked: z.string() })),
    confidence: z.number(),
    freeText: z.boolean(),
    reason: z.string(),
  })
  .meta({ id: 'PhiFinding' });

const drop = z.object({
  action: z.literal('drop'),
  table: tableNameSchema,
  column: columnNameSchema,
  note: z.string().trim().max(2000).optional(),
});
const confirm = z.object({
  action: z.literal('confirm'),
  finding: z.string().max(400),
  note: z.string().trim().min(1, 'say why it is not PHI').max(2000),
});
const decision = z.discriminatedUnion('action', [drop, confirm]).meta({ id: 'PhiDecision' });

/** Who took a decision (their name; null for decisions recorded before names were) and when. */
const taken = {
  by: z.string().nullable(),
  at: z.string().nullable(),
};
const decisionTaken = z
  .discriminatedUnion('action', [drop.extend(taken), confirm.extend(taken)])
  .meta({ id: 'PhiDecisionTaken' });

const review = z
  .object({
    ingest: z.string().nullable(),
    findings: z.array(phiFinding),
    decisions: z.array(decisionTaken),
    open: z.array(z.string()),
    blocked: z.boolean(),
    held: z.array(z.object({ path: z.string(), reason: z.string() })),
  })
  .meta({ id: 'PhiReview' });

const examples = z
  .object({
    tables: z.array(
      z.object({
        name: z.string(),
        columns: z.array(
          z.object({ name: z.string(), example: z.string().nullable(), withheld: z.boolean() }),
        ),
      }),
    ),
  })
  .meta({ id: 'DraftExamples' });

const slugParams = z.object({ slug: datasetSlugSchema });

/** The PHI review of a draft an ingest made: its findings, and curators' decisions on them. */
export function ingestRoutes(ingest: IngestService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/datasets/:slug/draft/phi',
      {
        config: { permission: 'catalog.curate', action: 'ingest.phi_review' },
        schema: {
          operationId: 'getPhiReview',
          summary:
            "The PHI the last ingest's scan found in the draft's tables (masked), the decisions taken, and files held back",
          tags: ['ingest'],
          params: slugParams,
          response: { ...problemResponses, 200: review },
        },
      },
      async (request) => ingest.phiReview(request.params.slug),
    );

    app.get(
      '/api/v1/datasets/:slug/draft/examples',
      {
        config: { permission: 'catalog.curate', action: 'catalog.draft_examples' },
        schema: {
          operationId: 'getDraftExamples',
          summary:
            "A first value of each draft column, for the data dictionary's examples (withheld in columns with open PHI findings)",
          tags: ['ingest'],
          params: slugParams,
          response: { ...problemResponses, 200: examples },
        },
      },
      async (request) => ingest.dictionaryExamples(request.params.slug),
    );

    app.post(
      '/api/v1/datasets/:slug/draft/phi/decisions',
      {
        config: { permission: 'catalog.curate', action: 'ingest.phi_decisions' },
        schema: {
          operationId: 'decidePhi',
          summary:
            'Decide PHI findings: drop a column (its table is rewritten without it) or confirm a finding is not PHI, saying why',
          tags: ['ingest'],
          params: slugParams,
          body: z.object({ decisions: z.array(decision).min(1).max(500) }),
          response: { ...problemResponses, 200: review },
        },
      },
      async (request) =>
        ingest.decidePhi(
          request.params.slug,
          request.body.decisions.map((d) =>
            d.action === 'drop'
              ? {
                  action: 'drop' as const,
                  table: d.table,
                  column: d.column,
                  ...(d.note === undefined ? {} : { note: d.note }),
                }
              : d,
          ),
          `user:${requireUser(request)}`,
        ),
    );
  };
}
