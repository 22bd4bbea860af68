import { Readable } from 'node:stream';
import { hasPermission } from '@lantern/core';
import {
  categorySlugSchema,
  dataDictionarySchema,
  datasetSchema,
  datasetSlugSchema,
  documentationSchema,
  foreignKeySchema,
  modalitySchema,
  columnNameSchema,
  snapshotSchema,
  tableNameSchema,
} from '@lantern/core/catalog';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TABLE_MAX_BYTES, type CatalogService } from '../../services/catalog/catalog.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const datasetView = datasetSchema
  .extend({ synthetic: z.boolean(), createdAt: z.string(), updatedAt: z.string() })
  .meta({ id: 'Dataset' });

const catalogCard = datasetView
  .extend({
    latestVersion: z.string().nullable(),
    latestPublishedAt: z.string().nullable(),
    hasDraft: z.boolean(),
  })
  .meta({ id: 'CatalogCard' });

const versionSummary = z
  .object({
    version: z.string().nullable().meta({ description: 'null for the draft' }),
    status: z.enum(['draft', 'published', 'retired']),
    changeLevel: z.enum(['major', 'minor', 'patch']).nullable(),
    publishedAt: z.string().nullable(),
    retiredAt: z.string().nullable(),
    updatedAt: z.string(),
  })
  .meta({ id: 'VersionSummary' });

const changeLogEntry = z
  .object({
    kind: z.string(),
    table: z.string(),
    column: z.string().optional(),
    text: z.string(),
  })
  .meta({ id: 'ChangeLogEntry' });

const versionView = versionSummary
  .extend({
    documentation: z.array(
      z.object({
        kind: z.string(),
        title: z.string(),
        markdown: z.string(),
      }),
    ),
    snapshot: snapshotSchema,
    dictionary: dataDictionarySchema,
    changeLog: z.array(changeLogEntry),
    changeReasons: z.array(z.string()),
    notes: z.string(),
    files: z.array(z.object({ path: z.string(), size: z.number() })),
  })
  .meta({ id: 'DatasetVersion' });

/** A problem of a draft's publication (also in an ingest's summary). */
export const publicationProblem = z
  .object({
    source: z.enum(['dictionary', 'keys', 'naming', 'phi']),
    severity: z.enum(['blocking', 'warning']),
    code: z.string(),
    table: z.string(),
    column: z.string().optional(),
    message: z.string(),
  })
  .meta({ id: 'PublicationProblem' });

const preview = z
  .object({
    version: z.string(),
    previous: z.string().nullable(),
    level: z.enum(['major', 'minor', 'patch']),
    reasons: z.array(z.string()),
    changeLog: z.array(changeLogEntry),
    problems: z.array(publicationProblem),
    publishable: z.boolean(),
  })
  .meta({ id: 'PublicationPreview' });

const slugParams = z.object({ slug: datasetSlugSchema });
const versionParams = z.object({
  slug: datasetSlugSchema,
  version: z
    .string()
    .regex(/^(draft|\d{1,6}\.\d{1,6}(\.\d{1,6})?)$/u, 'a version like 1.0, 2.1.1, or draft'),
});
const tableParams = z.object({ slug: datasetSlugSchema, table: tableNameSchema });
const TABLE_TYPES = ['text/csv'];

/**
 * The catalog: anyone reads datasets, their documentation, tables described, dictionary,
 * schematic and versions (never data); curators edit drafts and publish them.
 */
export function catalogRoutes(catalog: CatalogService): FastifyPluginAsyncZod {
  return async (app) => {
    // Tables arrive as the raw bytes of the body, streamed to the object store.
    app.addContentTypeParser(TABLE_TYPES, (_request, payload, done) => {
      done(null, payload);
    });

    app.get(
      '/api/v1/dataset-categories',
      {
        config: { permission: 'public', action: 'catalog.categories' },
        schema: {
          operationId: 'listDatasetCategories',
          summary: 'The categories of the catalog',
          tags: ['catalog'],
          response: {
            ...problemResponses,
            200: z.object({
              categories: z.array(
                z.object({ slug: z.string(), title: z.string(), description: z.string() }),
              ),
            }),
          },
        },
      },
      async () => ({ categories: await catalog.categories() }),
    );

    app.post(
      '/api/v1/dataset-categories',
      {
        config: { permission: 'catalog.manage', action: 'catalog.add_category' },
        schema: {
          operationId: 'addDatasetCategory',
          summary: 'Add a category to the catalog',
          tags: ['catalog'],
          body: z.object({
            slug: categorySlugSchema,
            title: z.string().trim().min(2).max(80),
            description: z.string().trim().max(500).default(''),
          }),
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        await catalog.addCategory(request.body);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/datasets',
      {
        config: { permission: 'public', action: 'catalog.list' },
        schema: {
          operationId: 'listDatasets',
          summary:
            'The catalog: published datasets (and drafts, for curators), searchable and filterable',
          tags: ['catalog'],
          querystring: z.object({
            q: z.string().max(200).optional(),
            category: categorySlugSchema.optional(),
            partner: z.string().max(200).optional(),
            country: z.string().length(2).optional(),
            modality: modalitySchema.optional(),
          }),
          response: { ...problemResponses, 200: z.object({ datasets: z.array(catalogCard) }) },
        },
      },
      async (request) => ({
        datasets: await catalog.list(
          hasPermission(request.ctx.principal, 'catalog.curate'),
          request.query,
        ),
      }),
    );

    app.post(
      '/api/v1/datasets',
      {
        config: { permission: 'catalog.curate', action: 'catalog.create_dataset' },
        schema: {
          operationId: 'createDataset',
          summary: 'A new dataset, with an empty draft to fill',
          tags: ['catalog'],
          body: datasetSchema,
          response: { ...problemResponses, 201: datasetView },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await catalog.create(`user:${requireUser(request)}`, request.body)),
    );

    app.get(
      '/api/v1/datasets/:slug',
      {
        config: { permission: 'public', action: 'catalog.read' },
        schema: {
          operationId: 'getDataset',
          summary: 'One dataset with its versions',
          tags: ['catalog'],
          params: slugParams,
          response: {
            ...problemResponses,
            200: datasetView.extend({ versions: z.array(versionSummary) }),
          },
        },
      },
      async (request) =>
        catalog.get(request.params.slug, hasPermission(request.ctx.principal, 'catalog.curate')),
    );

    app.put(
      '/api/v1/datasets/:slug',
      {
        config: { permission: 'catalog.curate', action: 'catalog.update_dataset' },
        schema: {
          operationId: 'updateDataset',
          summary: 'Change what the catalog says of a dataset (not its slug)',
          tags: ['catalog'],
          params: slugParams,
          body: datasetSchema.omit({ slug: true }),
          response: { ...problemResponses, 200: datasetView },
        },
      },
      async (request) => catalog.update(request.params.slug, request.body),
    );

    app.get(
      '/api/v1/datasets/:slug/versions/:version',
      {
        config: { permission: 'public', action: 'catalog.read_version' },
        schema: {
          operationId: 'getDatasetVersion',
          summary:
            'One version: documentation, tables described, data dictionary, change log (`draft` for curators)',
          tags: ['catalog'],
          params: versionParams,
          response: { ...problemResponses, 200: versionView },
        },
      },
      async (request) =>
        catalog.version(
          request.params.slug,
          request.params.version,
          hasPermission(request.ctx.principal, 'catalog.curate'),
        ),
    );

    app.get(
      '/api/v1/datasets/:slug/versions/:version/schematic.svg',
      {
        config: { permission: 'public', action: 'catalog.schematic' },
        schema: {
          operationId: 'getDatasetSchematic',
          summary: 'The entity-relationship diagram of a version, as SVG, drawn from its keys',
          tags: ['catalog'],
          params: versionParams,
          produces: ['image/svg+xml'],
        },
      },
      async (request, reply) => {
        const svg = await catalog.schematic(
          request.params.slug,
          request.params.version,
          hasPermission(request.ctx.principal, 'catalog.curate'),
        );
        return reply
          .type('image/svg+xml; charset=utf-8')
          .header('x-content-type-options', 'nosniff')
          .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
          .send(svg);
      },
    );

    app.post(
      '/api/v1/datasets/:slug/draft',
      {
        config: { permission: 'catalog.curate', action: 'catalog.open_draft' },
        schema: {
          operationId: 'openDatasetDraft',
          summary: 'Open a draft from the newest version, to make the next one',
          tags: ['catalog'],
          params: slugParams,
          response: { ...problemResponses, 201: versionView },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(await catalog.openDraft(`user:${requireUser(request)}`, request.params.slug)),
    );

    app.put(
      '/api/v1/datasets/:slug/draft/documentation',
      {
        config: { permission: 'catalog.curate', action: 'catalog.edit_documentation' },
        schema: {
          operationId: 'setDraftDocumentation',
          summary: "The draft's documentation, in Markdown sections",
          tags: ['catalog'],
          params: slugParams,
          body: z.object({ sections: documentationSchema }),
          response: { ...problemResponses, 200: versionView },
        },
      },
      async (request) => catalog.setDocumentation(request.params.slug, request.body.sections),
    );

    app.put(
      '/api/v1/datasets/:slug/draft/dictionary',
      {
        config: { permission: 'catalog.curate', action: 'catalog.edit_dictionary' },
        schema: {
          operationId: 'setDraftDictionary',
          summary: "The draft's data dictionary, checked against its tables at publication",
          tags: ['catalog'],
          params: slugParams,
          body: dataDictionarySchema,
          response: { ...problemResponses, 200: versionView },
        },
      },
      async (request) => catalog.setDictionary(request.params.slug, request.body),
    );

    app.put(
      '/api/v1/datasets/:slug/draft/tables/:table',
      {
        config: { permission: 'catalog.curate', action: 'catalog.put_table' },
        bodyLimit: TABLE_MAX_BYTES,
        schema: {
          operationId: 'uploadDraftTable',
          summary:
            'A table of the draft as a CSV file (RFC 4180, UTF-8); its columns are read from it',
          tags: ['catalog'],
          consumes: TABLE_TYPES,
          params: tableParams,
          querystring: z.object({
            file: z
              .string()
              .min(1)
              .max(1024)
              .regex(
                /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9_./-]+$/u,
                'a path inside the version folder',
              )
              .meta({
                description: 'where the file sits in the version folder, e.g. tables/patients.csv',
              }),
          }),
          body: z.unknown().meta({ description: 'the bytes of the CSV file' }),
          response: { ...problemResponses, 200: versionView },
        },
      },
      async (request) =>
        catalog.uploadTable(request.params.slug, {
          table: request.params.table,
          file: request.query.file,
          body: isAsyncIterable(request.body) ? request.body : Readable.from([]),
        }),
    );

    app.put(
      '/api/v1/datasets/:slug/draft/tables/:table/keys',
      {
        config: { permission: 'catalog.curate', action: 'catalog.set_keys' },
        schema: {
          operationId: 'setDraftTableKeys',
          summary: "A table's primary key and foreign keys (they draw the schematic)",
          tags: ['catalog'],
          params: tableParams,
          body: z.object({
            primaryKey: z.array(columnNameSchema).max(16),
            foreignKeys: z.array(foreignKeySchema).max(32),
          }),
          response: { ...problemResponses, 200: versionView },
        },
      },
      async (request) => catalog.setKeys(request.params.slug, request.params.table, request.body),
    );

    app.delete(
      '/api/v1/datasets/:slug/draft/tables/:table',
      {
        config: { permission: 'catalog.curate', action: 'catalog.remove_table' },
        schema: {
          operationId: 'removeDraftTable',
          summary: 'Remove a table from the draft',
          tags: ['catalog'],
          params: tableParams,
          response: { ...problemResponses, 200: versionView },
        },
      },
      async (request) => catalog.removeTable(request.params.slug, request.params.table),
    );

    app.get(
      '/api/v1/datasets/:slug/draft/publication',
      {
        config: { permission: 'catalog.curate', action: 'catalog.preview_publication' },
        schema: {
          operationId: 'previewPublication',
          summary: 'The number, change log and problems publishing the draft now would give',
          tags: ['catalog'],
          params: slugParams,
          response: { ...problemResponses, 200: preview },
        },
      },
      async (request) => catalog.preview(request.params.slug),
    );

    app.post(
      '/api/v1/datasets/:slug/draft/publish',
      {
        config: { permission: 'catalog.curate', action: 'catalog.publish' },
        schema: {
          operationId: 'publishDraft',
          summary:
            'Publish the draft under the number its changes make; refused with every problem listed',
          tags: ['catalog'],
          params: slugParams,
          body: z.object({
            version: z.string().max(20).optional().meta({
              description: 'the number you expect; refused when it is not the computed one',
            }),
            notes: z.string().trim().max(10_000).default(''),
          }),
          response: { ...problemResponses, 200: versionView },
        },
      },
      async (request) =>
        catalog.publish(`user:${requireUser(request)}`, request.params.slug, request.body),
    );

    app.post(
      '/api/v1/datasets/:slug/versions/:version/retire',
      {
        config: { permission: 'catalog.curate', action: 'catalog.retire' },
        schema: {
          operationId: 'retireDatasetVersion',
          summary: 'Retire a published version: no longer offered, still readable',
          tags: ['catalog'],
          params: versionParams,
          response: { ...problemResponses, 200: versionView },
        },
      },
      async (request) => catalog.retire(request.params.slug, request.params.version),
    );
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
