import type { ServerResponse } from 'node:http';
import {
  AppError,
  ERROR_CODES,
  problemSchema,
  problemType,
  type FieldError,
  type Problem,
} from '@lantern/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';

/** Spread into every route's `response` schema, so the OpenAPI document (and the SDK) know errors. */
export const problemResponses = { '4xx': problemSchema, '5xx': problemSchema } as const;

/** Fastify's own error codes, mapped to ours (never by message text). */
const FASTIFY_CODES: Readonly<Record<string, AppError['code']>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_VALIDATION: 'validation_failed',
};

/** Turns anything thrown into an AppError. Unknown errors become `internal` with no detail leaked. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) {
    return error;
  }
  if (isFastifyError(error) && error.validation !== undefined) {
    const context = error.validationContext ?? 'request';
    const errors: FieldError[] = error.validation.map((issue) => {
      const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
      return {
        path: path === '' ? context : `${context}.${path}`,
        message: issue.message ?? 'invalid value',
      };
    });
    const named = errors.map((e) => e.path).join(', ');
    return new AppError(
      'validation_failed',
      `invalid ${named}: ${errors[0]?.message ?? 'invalid value'}`,
      { errors },
    );
  }
  if (isFastifyError(error)) {
    const code = FASTIFY_CODES[error.code];
    if (code === 'invalid_json') {
      // The parser's message names the position of the fault in the caller's own body.
      return new AppError('invalid_json', `request body is not valid JSON: ${error.message}`);
    }
    if (code !== undefined) {
      return new AppError(code, error.message);
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return new AppError('bad_request', error.message);
    }
  }
  return new AppError(
    'internal',
    'an internal error occurred; it was logged with this request id',
    { cause: error },
  );
}

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && 'code' in error && typeof error.code === 'string';
}

/** The `application/problem+json` body for `error`, as a string. */
export function problemJson(request: Pick<FastifyRequest, 'url' | 'id'>, error: AppError): string {
  const problem: Problem = {
    type: problemType(error.code),
    title: ERROR_CODES[error.code].title,
    status: error.status,
    code: error.code,
    detail: error.message,
    instance: request.url.split('?')[0] ?? request.url,
    requestId: request.id,
    ...(error.errors === undefined ? {} : { errors: error.errors }),
  };
  return JSON.stringify(problem);
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/**
 * Writes `error` as `application/problem+json` straight onto Node's response, for answers made
 * outside Fastify's reply (the instance proxy's, which streams Jupyter's answers itself).
 */
export function writeProblem(
  res: ServerResponse,
  request: Pick<FastifyRequest, 'url' | 'id'>,
  error: AppError,
): void {
  const body = problemJson(request, error);
  res.writeHead(error.status, {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'x-request-id': request.id,
  });
  res.end(body);
}

/** Sends `error` as `application/problem+json`. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  error: AppError,
): FastifyReply {
  // Every 429 (whatever its code) says when to try again.
  if (error.status === 429 && !reply.hasHeader('retry-after')) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 1))));
  }
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(problemJson(request, error));
}

/** One error handler and one not-found handler for the whole server. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    if (appError.code === 'internal') {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ code: appError.code }, appError.message);
    }
    if (appError.isDenial) {
      request.ctx.denied = true;
    }
    return sendProblem(request, reply, appError);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new AppError(
        'not_found',
        `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`,
      ),
    ),
  );
}

/**
 * JSON bodies, parsed so that a malformed body is answered with where it went wrong, and with
 * prototype-poisoning keys (`__proto__`, `constructor.prototype`) refused outright.
 */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(
        new AppError('invalid_json', 'request body is empty but content-type is application/json'),
        undefined,
      );
      return;
    }
    try {
      done(
        null,
        secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }),
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'unparseable';
      done(new AppError('invalid_json', `request body is not valid JSON: ${reason}`), undefined);
    }
  });
}
