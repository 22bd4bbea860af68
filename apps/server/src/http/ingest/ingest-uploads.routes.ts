import { actorOf } from '@lantern/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Readable } from 'node:stream';
import { z } from 'zod';
import {
  UPLOAD_MAX_FILES,
  UPLOAD_PATH_MAX,
  type IngestUploadService,
} from '../../services/ingest/ingest-uploads.service.js';
import { publicationProblem } from '../catalog/catalog.routes.js';
import { problemResponses } from '../plugins/problems.js';
import { phiFinding } from './ingest.routes.js';

const FILE_TYPES = ['application/octet-stream'];

const counts = z.object({
  tables: z.number(),
  rows: z.number(),
  files: z.number(),
  stored: z.number(),
  deduplicated: z.number(),
  held: z.number(),
  bytes: z.number(),
});

const summary = z
  .object({
    ingest: z.string(),
    dataset: z.string(),
    delivery: z.string(),
    counts,
    tables: z.array(
      z.object({
        name: z.string(),
        file: z.string(),
        rows: z.number(),
        columns: z.array(z.string()),
        primaryKey: z.array(z.string()),
      }),
    ),
    held: z.array(z.object({ path: z.string(), reason: z.string() })),
    cellProblems: z.array(z.unknown()),
    phi: z.object({
      // PhiFinding's fields, its kind as text (a summary outlives the list of kinds it was made with).
      findings: z.array(phiFinding.extend({ kind: z.string() }).meta({ id: 'IngestPhiFinding' })),
      blocked: z.boolean(),
    }),
    decisions: z
      .object({
        from: z.string().nullable().meta({ description: 'the ingest whose review they were' }),
        kept: z.object({ phi: z.number(), held: z.number() }),
        dropped: z.array(
          z.object({
            action: z.enum(['drop', 'confirm', 'release', 'exclude']),
            target: z.string().meta({
              description: 'TABLE.COLUMN, a finding TABLE.COLUMN:KIND, or a held file path',
            }),
          }),
        ),
        open: z.object({ findings: z.number(), held: z.number() }),
      })
      .meta({
        id: 'IngestCarriedDecisions',
        description:
          'the earlier review carried onto the draft: decisions kept, decisions dropped (what they decided is gone), and what is new, open',
      }),
    publication: z.object({
      version: z.string(),
      level: z.enum(['major', 'minor', 'patch']),
      publishable: z.boolean(),
      problems: z.array(publicationProblem),
    }),
    next: z.string(),
  })
  .meta({ id: 'IngestSummary' });

const upload = z
  .object({
    id: z.string(),
    status: z.enum(['uploading', 'running', 'done', 'refused', 'failed']),
    files: z.object({ declared: z.number(), received: z.number() }),
    bytes: z.object({ declared: z.number(), received: z.number() }),
    progress: z
      .object({
        phase: z.enum(['checking', 'tables', 'files', 'scanning', 'done']),
        done: z.number().meta({ description: 'items of the phase done (tables or files)' }),
        total: z.number(),
        bytes: z.number().meta({ description: 'bytes stored so far' }),
        elapsedMs: z.number().meta({ description: 'since the run began' }),
        phaseElapsedMs: z.number().meta({ description: 'since its phase began' }),
        bytesPerSecond: z.number().nullable(),
        secondsLeft: z
          .number()
          .nullable()
          .meta({ description: "the phase's items left at its pace so far; null until known" }),
      })
      .meta({ id: 'IngestProgress' })
      .nullable(),
    summary: summary.nullable(),
    problems: z.array(z.object({ path: z.string(), message: z.string() })),
    error: z.string().nullable(),
  })
  .meta({ id: 'IngestUpload' });

const uploadFile = z
  .object({
    index: z
      .number()
      .meta({ description: 'its place in the declared list, which names it in URLs' }),
    path: z.string(),
    size: z.number(),
    sha256: z.string().nullable().meta({
      description:
        'the SHA-256 declared for it: once it is complete, the one its bytes were checked against',
    }),
    received: z.number().meta({ description: 'its bytes the server holds; send from here' }),
  })
  .meta({ id: 'IngestUploadFile' });

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/u, 'a SHA-256 in lower-case hex');

const idParams = z.object({ id: z.string().regex(/^upl_[0-9a-f]{20}$/u, 'an upload id') });

/**
 * Remote ingest: a curator declares a delivery's files, sends each (whole, or in chunks that
 * resume where the server's bytes end), runs the ingest and follows it, or cancels it before it
 * runs. The files are held in a staging folder only until the run ends or the upload is
 * cancelled. URLs name files by their index, never their path, which may hold identifiers and
 * would be written to the audit log with the URL.
 */
export function ingestUploadRoutes(uploads: IngestUploadService): FastifyPluginAsyncZod {
  return async (app) => {
    // A delivery's files arrive as the raw bytes of the body, streamed to the staging folder.
    app.addContentTypeParser(FILE_TYPES, (_request, payload, done) => {
      done(null, payload);
    });

    app.post(
      '/api/v1/ingests',
      {
        config: { permission: 'catalog.curate', action: 'ingest.upload_create' },
        // A long delivery's list of files.
        bodyLimit: 64 * 1024 * 1024,
        schema: {
          operationId: 'createIngestUpload',
          summary:
            "Declare a delivery's files (delivery.yaml among them) with their sizes, and SHA-256 if known, before sending each; files are then named by their place in this list",
          tags: ['ingest'],
          body: z.object({
            files: z
              .array(
                z.object({
                  path: z.string().min(1).max(UPLOAD_PATH_MAX),
                  size: z.number().int().min(0),
                  sha256: sha256Hex.optional().meta({
                    description:
                      'checked when the file is complete; a client hashing as it sends gives it with the last chunk instead',
                  }),
                }),
              )
              .min(1)
              .max(UPLOAD_MAX_FILES),
          }),
          response: { ...problemResponses, 201: upload },
        },
      },
      async (request, reply) => {
        const made = await uploads.create(actorOf(request.ctx.principal), request.body.files);
        return reply.status(201).send(made);
      },
    );

    app.get(
      '/api/v1/ingests/:id/files',
      {
        config: { permission: 'catalog.curate', action: 'ingest.upload_files' },
        schema: {
          operationId: 'listIngestUploadFiles',
          summary:
            'The declared files of an upload being sent, with the bytes of each the server holds: a client resumes by sending the rest (none once the upload runs)',
          tags: ['ingest'],
          params: idParams,
          response: { ...problemResponses, 200: z.object({ files: z.array(uploadFile) }) },
        },
      },
      async (request) => ({
        files: await uploads.files(actorOf(request.ctx.principal), request.params.id),
      }),
    );

    app.put(
      '/api/v1/ingests/:id/files/:index',
      {
        config: { permission: 'catalog.curate', action: 'ingest.upload_file' },
        // Bounded by the size declared for the file, checked as the bytes arrive.
        bodyLimit: Number.MAX_SAFE_INTEGER,
        schema: {
          operationId: 'putIngestUploadFile',
          summary:
            "Bytes of one declared file, named by its place in the declared list: without offset the whole file (exactly its size), with an offset a chunk starting where the server's bytes of it end (409 otherwise, 413 past its size; a refused chunk changes nothing). A file complete must have its SHA-256, given with the send that completes it or declared: a send completing a file with neither is refused (400) and its bytes discarded; bytes of another SHA-256 are discarded, the whole file (409 against one given with the send: send the file again from its start; 400 against one declared)",
          tags: ['ingest'],
          consumes: FILE_TYPES,
          params: idParams.extend({
            index: z.coerce.number().int().min(0).max(UPLOAD_MAX_FILES),
          }),
          querystring: z.object({
            offset: z.coerce.number().int().min(0).optional().meta({
              description: 'where the chunk starts: the bytes of the file the server holds',
            }),
            sha256: sha256Hex.optional().meta({
              description:
                "the SHA-256 of the whole file, checked if this send completes it (in place of one declared before): a client hashing as it sends gives it with the file's last chunk",
            }),
          }),
          body: z.unknown().meta({ description: 'the bytes of the file, or of the chunk' }),
          response: { ...problemResponses, 200: upload },
        },
      },
      async (request, reply) => {
        try {
          return await uploads.putFile(
            actorOf(request.ctx.principal),
            request.params.id,
            request.params.index,
            request.query.offset ?? null,
            isAsyncIterable(request.body) ? request.body : Readable.from([]),
            request.query.sha256 ?? null,
          );
        } catch (error) {
          // A body refused before its end (too long, the upload cancelled) leaves the connection
          // unreadable: the client is told not to send another request on it.
          if (!request.raw.complete) {
            void reply.header('connection', 'close');
          }
          throw error;
        }
      },
    );

    app.post(
      '/api/v1/ingests/:id/run',
      {
        config: { permission: 'catalog.curate', action: 'ingest.upload_run' },
        schema: {
          operationId: 'runIngestUpload',
          summary:
            'Ingest the uploaded delivery in the background; its files are deleted when the run ends',
          tags: ['ingest'],
          params: idParams,
          response: { ...problemResponses, 202: upload },
        },
      },
      async (request, reply) =>
        reply
          .status(202)
          .send(await uploads.run(actorOf(request.ctx.principal), request.params.id)),
    );

    app.get(
      '/api/v1/ingests/:id',
      {
        config: { permission: 'catalog.curate', action: 'ingest.upload_read' },
        schema: {
          operationId: 'getIngestUpload',
          summary:
            "Where an upload stands: files received, the run's progress, the draft made or every problem",
          tags: ['ingest'],
          params: idParams,
          response: { ...problemResponses, 200: upload },
        },
      },
      async (request) => uploads.get(actorOf(request.ctx.principal), request.params.id),
    );

    app.delete(
      '/api/v1/ingests/:id',
      {
        config: { permission: 'catalog.curate', action: 'ingest.upload_cancel' },
        schema: {
          operationId: 'cancelIngestUpload',
          summary:
            'Cancel an upload not yet running (its files are deleted at once), or forget a finished one; a running ingest cannot be cancelled',
          tags: ['ingest'],
          params: idParams,
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        await uploads.cancel(actorOf(request.ctx.principal), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
