import { datasetSlugSchema } from '@lantern/core/catalog';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HeldFilesService } from '../../services/ingest/held-files.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const heldFile = z
  .object({
    id: z.string(),
    path: z.string(),
    table: z.string(),
    column: z.string(),
    format: z.enum(['dicom', 'numpy', 'unreadable']),
    reason: z.string(),
    size: z.number().nullable(),
    previewable: z.boolean(),
    decision: z.enum(['release', 'exclude']).nullable(),
    note: z.string().nullable(),
    by: z.string().nullable(),
    at: z.string().nullable(),
  })
  .meta({ id: 'HeldFile' });

const review = z
  .object({
    ingest: z.string().nullable(),
    files: z.array(heldFile),
    open: z.number().int(),
    blocked: z.boolean(),
  })
  .meta({ id: 'HeldReview' });

const fileId = z.string().min(1).max(100);
const release = z.object({
  file: fileId,
  action: z.literal('release'),
  note: z
    .string()
    .trim()
    .min(1, 'say why what it shows (the text in the pixels, the arrays) does not identify anyone')
    .max(2000),
});
const exclude = z.object({
  file: fileId,
  action: z.literal('exclude'),
  note: z.string().trim().max(2000).optional(),
});
const decision = z.discriminatedUnion('action', [release, exclude]).meta({ id: 'HeldDecision' });

const slugParams = z.object({ slug: datasetSlugSchema });

/**
 * The review of files the draft's last ingest held back (burned-in text, renamed NumPy arrays,
 * unreadable formats): the list, a rendered preview of each held image or archive, and curators'
 * decisions. Curators only: the previews show what may identify a patient.
 */
export function heldFilesRoutes(held: HeldFilesService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/datasets/:slug/draft/held',
      {
        config: { permission: 'catalog.curate', action: 'ingest.held_review' },
        schema: {
          operationId: 'getHeldFiles',
          summary:
            "The files the draft's last ingest held back for review (burned-in text, renamed NumPy arrays, unreadable formats) and the decisions taken",
          tags: ['ingest'],
          params: slugParams,
          response: { ...problemResponses, 200: review },
        },
      },
      async (request) => held.review(request.params.slug),
    );

    app.get(
      '/api/v1/datasets/:slug/draft/held/:file/preview',
      {
        config: { permission: 'catalog.curate', action: 'ingest.held_preview' },
        schema: {
          operationId: 'getHeldFilePreview',
          summary:
            "A held file as a PNG at most 1024 pixels a side (never the file itself): an image rendered 8-bit through its VOI window, a NumPy archive's arrays plotted",
          tags: ['ingest'],
          params: z.object({ slug: datasetSlugSchema, file: fileId }),
          produces: ['image/png'],
        },
      },
      async (request, reply) => {
        const png = await held.preview(request.params.slug, request.params.file);
        return reply
          .type('image/png')
          .header('content-length', String(png.byteLength))
          .header('x-content-type-options', 'nosniff')
          .header('cross-origin-resource-policy', 'same-origin')
          .header('cache-control', 'private, no-store')
          .send(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
      },
    );

    app.post(
      '/api/v1/datasets/:slug/draft/held/decisions',
      {
        config: { permission: 'catalog.curate', action: 'ingest.held_decisions' },
        schema: {
          operationId: 'decideHeldFiles',
          summary:
            'Decide held files: release (stored and put in the draft; say why what it shows, the burned-in text or the arrays, does not identify anyone) or exclude (left out, its table cells emptied)',
          tags: ['ingest'],
          params: slugParams,
          body: z.object({ decisions: z.array(decision).min(1).max(1000) }),
          response: { ...problemResponses, 200: review },
        },
      },
      async (request) =>
        held.decide(
          request.params.slug,
          request.body.decisions.map((d) =>
            d.action === 'release'
              ? d
              : {
                  file: d.file,
                  action: 'exclude' as const,
                  ...(d.note === undefined ? {} : { note: d.note }),
                },
          ),
          `user:${requireUser(request)}`,
        ),
    );
  };
}
