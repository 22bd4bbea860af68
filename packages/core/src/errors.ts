/**
 * The one error model of Lantern (after tRPC's TRPCError): a closed set of codes, each mapped to an
 * HTTP status in exactly one place. Anything thrown becomes an AppError at the edge, and clients
 * receive it as `application/problem+json` (RFC 9457) with the stable `code`.
 */

/** Every error code a client can receive, with its HTTP status and a short human title. */
export const ERROR_CODES = {
  bad_request: { status: 400, title: 'Bad request' },
  invalid_json: { status: 400, title: 'Malformed JSON body' },
  validation_failed: { status: 400, title: 'Request validation failed' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  second_factor_required: { status: 401, title: 'Second factor required' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  rate_limited: { status: 429, title: 'Too many requests' },
  /** A person's one free instance is live already (issue 8): about them, until they stop it. */
  free_instance_quota: { status: 429, title: 'Free instance quota reached' },
  /** The server starts as many instances as it may at once (issue 8): about the server, now. */
  too_many_starts: { status: 429, title: 'Too many instances starting' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One field that failed validation: where it is (`body.limit`, `query.after`) and why. */
export interface FieldError {
  path: string;
  message: string;
}

/** The body of every error response (RFC 9457 problem details, extended with `code`). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  requestId?: string;
  errors?: FieldError[];
}

export interface AppErrorOptions {
  errors?: FieldError[];
  cause?: unknown;
  /** With a 429 (`rate_limited`, `free_instance_quota`, `too_many_starts`): when to try again (sent as Retry-After). */
  retryAfterSeconds?: number;
}

/** The only error type services throw on purpose. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Is this error one a client should see as a denial (audit outcome `denied`)? */
  get isDenial(): boolean {
    return this.code === 'unauthenticated' || this.code === 'forbidden';
  }
}

/** The problem `type` URI for a code; stable, so clients may switch on either. */
export function problemType(code: ErrorCode): string {
  return `urn:lantern:problem:${code}`;
}

/** Is `value` one of the closed set of error codes? */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
