/**
 * The platform's side of python/ngsci (issue 8): one UNIX socket per instance, at
 * `<data dir>/platform/<instance id>/platform.sock`, whose folder the sandbox binds at
 * `/run/lantern`. It is the only way out of an instance. Every call carries the instance's own
 * token as a bearer token, checked against the instance the socket belongs to, so one instance
 * can never speak for another even if it reached its socket. Where no socket can be shared (a
 * Kubernetes Pod), the same calls are answered over HTTP at `/platform/v1/…` by
 * `answerPlatformCall` (http/instances/platform.routes.ts), the instance named by the
 * `X-NG-Instance-Id` header and its token checked the same way. On either path each call is
 * recorded (`PlatformApi.recordCall`: the audit log) before it is answered, and a call whose record
 * cannot be written is answered 503 and nothing else. The contract is ngsci's docstring:
 *
 *   GET  /v1/instance                      -> {"id": ...}
 *   GET  /v1/datasets                      -> {"datasets": [{"slug", "version", "path"}, ...]}
 *   POST /v1/instance/stop                 -> 202 {"state": "stopping"}
 *   POST /v1/contest-entries?filename=F&description=D   body: the file's bytes
 *                                          -> {"result": "SUCCESS" | "FAILURE", "message": ...}
 *   GET  /v1/releases/limits               -> {"maxFiles", "maxFileBytes", "maxBytes"}
 *   POST /v1/releases?purpose=P            body: a ZIP archive of the files (member names = names)
 *                                          -> 201 {"id": ..., "state": "pending", "files": n}
 *                                             or 4xx {"detail": why}
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { AppError } from '@lantern/core';
import type { ReleaseLimits } from '@lantern/core/releases';
import {
  generateRequestId,
  instanceRequestContext,
  runWithRequestContext,
} from '../../request-context.js';

/** What the socket asks of the instance service. */
export interface PlatformApi {
  /** Whether `token` is the live platform token of `instanceId`. */
  authenticate(instanceId: string, token: string): Promise<boolean>;
  datasets(instanceId: string): Promise<{ slug: string; version: string; path: string }[]>;
  /** Asks for the instance's stop; its state after. */
  stopFromInside(instanceId: string): Promise<string>;
  /** A contest entry of `bytes` bytes; the result and its message. */
  submitContestEntry(
    instanceId: string,
    entry: { filename: string; description: string; bytes: number },
  ): Promise<{ accepted: boolean; message: string }>;
  /**
   * A release request of the files in `archive` (a ZIP) for the instance's project and user;
   * throws an AppError (answered with its status and message) when it is refused.
   */
  requestRelease(
    instanceId: string,
    request: { purpose: string; archive: Uint8Array },
  ): Promise<{ id: string; state: string; files: number }>;
  /** What a release request may hold: files, bytes a file, bytes in all. */
  readonly releaseLimits: ReleaseLimits;
  /** The largest release archive read; a larger one is refused (413) unread. */
  readonly maxReleaseArchiveBytes: number;
  /**
   * Records a call and its answer's status before the answer is sent (the audit log); throws when
   * the record cannot be written, and the answer is then withheld.
   */
  recordCall(call: PlatformCall): Promise<void>;
  /** Logs what failed while answering a call; the caller is told only that it failed. */
  logFailure(error: unknown, call: { instanceId: string; path: string }): void;
}

/** A platform call as it is recorded. */
export interface PlatformCall {
  /** The instance named (its socket's, or X-NG-Instance-Id's), null when none was. */
  instanceId: string | null;
  /** How it came: the instance's UNIX socket, or HTTP at /platform/v1 (a Pod, a Slurm relay). */
  via: PlatformTransport;
  method: string;
  /** The platform's path, `/v1/…`, without the query. */
  path: string;
  status: number;
}

export type PlatformTransport = 'socket' | 'http';

/** ngsci refuses larger entries before sending them; the socket does too. */
const MAX_ENTRY_BYTES = 256 * 1024 * 1024;
/** A UNIX socket's path holds at most 107 bytes and its NUL (unix(7)). */
const MAX_SOCKET_PATH = 107;

export class PlatformSocketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlatformSocketError';
  }
}

/** The platform sockets this process serves, one per live instance. */
export class PlatformSockets {
  readonly root: string;
  private readonly servers = new Map<string, Server>();

  constructor(
    dataDir: string,
    private readonly api: PlatformApi,
  ) {
    this.root = join(dataDir, 'platform');
  }

  /** Where the socket of `instanceId` is (served or not). */
  socketPathOf(instanceId: string): string {
    return join(this.root, instanceId, 'platform.sock');
  }

  /** Serves the socket of `instanceId` (again, after a restart); a no-op when served already. */
  async open(instanceId: string): Promise<string> {
    const path = this.socketPathOf(instanceId);
    if (this.servers.has(instanceId)) {
      return path;
    }
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new PlatformSocketError(
        `the platform socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter data directory`,
      );
    }
    // Traversable by the sandbox user, not listable: each sandbox binds only its own folder.
    await mkdir(this.root, { recursive: true });
    await chmod(this.root, 0o711);
    const folder = join(this.root, instanceId);
    await mkdir(folder, { recursive: true });
    await chmod(folder, 0o755);
    // A socket file left by a process that ended is in the way of listen(2).
    await rm(path, { force: true });
    const server = createServer((req, res) => {
      // Only the instance's sandbox reaches its socket: the calls are the instance's own.
      const context = instanceRequestContext(instanceId, {
        requestId: generateRequestId(req),
        clientIp: null,
        projectId: null,
      });
      void runWithRequestContext(context, () =>
        answerPlatformCall(this.api, { instanceId, via: 'socket', path: req.url ?? '/' }, req, res),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The sandbox's user connects; the token, not the file's mode, is the lock.
    await chmod(path, 0o666);
    this.servers.set(instanceId, server);
    return path;
  }

  /** Stops serving the socket of `instanceId` and removes it and its folder. */
  async close(instanceId: string): Promise<void> {
    const server = this.servers.get(instanceId);
    this.servers.delete(instanceId);
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await rm(dirname(this.socketPathOf(instanceId)), { recursive: true, force: true });
  }

  /** Stops serving every socket (the instances live on; a restarted server serves them again). */
  async closeAll(): Promise<void> {
    const servers = [...this.servers.values()];
    this.servers.clear();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }
}

/** A platform call's answer, before it is sent. */
export interface PlatformAnswer {
  status: number;
  body: unknown;
}

/**
 * Answers one platform call for `call.instanceId` (its path and query in `call.path`, as `/v1/…`;
 * an empty id names no instance): the bearer token must be the instance's; then the route of
 * ngsci's contract, or 404. The call is recorded (`api.recordCall`) before any of the answer is
 * sent; if the record cannot be written, the caller gets 503 and none of the answer. The one way
 * both the socket and /platform/v1 answer, so that neither answers unrecorded.
 */
export async function answerPlatformCall(
  api: PlatformApi,
  call: { instanceId: string; via: PlatformTransport; path: string },
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { instanceId, path } = call;
  let answer: PlatformAnswer;
  try {
    answer = await platformAnswer(api, instanceId, req, path);
  } catch (error) {
    // An AppError's message is written for the caller; anything else stays in the server's log.
    if (!(error instanceof AppError)) {
      api.logFailure(error, call);
    }
    answer = {
      status: 500,
      body: {
        detail:
          error instanceof AppError
            ? `the platform failed: ${error.message}`
            : 'the platform failed; the server has logged why',
      },
    };
  }
  try {
    await api.recordCall({
      instanceId: instanceId === '' ? null : instanceId,
      via: call.via,
      method: req.method ?? '',
      path: path.split('?')[0] ?? path,
      status: answer.status,
    });
  } catch (error) {
    api.logFailure(error, call);
    send(res, 503, { detail: 'the audit log cannot be written; the call was not answered' });
    return;
  }
  send(res, answer.status, answer.body);
}

/** What a platform call answers. */
async function platformAnswer(
  api: PlatformApi,
  instanceId: string,
  req: IncomingMessage,
  path: string,
): Promise<PlatformAnswer> {
  const token = /^Bearer (\S+)$/u.exec(req.headers.authorization ?? '')?.[1];
  if (token === undefined || !(await api.authenticate(instanceId, token))) {
    req.resume();
    return {
      status: 401,
      body: { detail: 'this call needs the instance token (LANTERN_PLATFORM_TOKEN)' },
    };
  }
  const url = new URL(path, 'http://platform');
  const route = `${req.method ?? ''} ${url.pathname}`;
  switch (route) {
    case 'GET /v1/instance':
      req.resume();
      return { status: 200, body: { id: instanceId } };
    case 'GET /v1/datasets':
      req.resume();
      return { status: 200, body: { datasets: await api.datasets(instanceId) } };
    case 'POST /v1/instance/stop':
      req.resume();
      return { status: 202, body: { state: await api.stopFromInside(instanceId) } };
    case 'POST /v1/contest-entries': {
      const bytes = await countBody(req, MAX_ENTRY_BYTES);
      if (bytes === null) {
        return {
          status: 413,
          body: { result: 'FAILURE', message: `an entry holds at most ${MAX_ENTRY_BYTES} bytes` },
        };
      }
      const result = await api.submitContestEntry(instanceId, {
        filename: url.searchParams.get('filename') ?? '',
        description: url.searchParams.get('description') ?? '',
        bytes,
      });
      return {
        status: result.accepted ? 201 : 409,
        body: { result: result.accepted ? 'SUCCESS' : 'FAILURE', message: result.message },
      };
    }
    case 'GET /v1/releases/limits': {
      req.resume();
      const limits = api.releaseLimits;
      return {
        status: 200,
        body: {
          maxFiles: limits.maxFiles,
          maxFileBytes: limits.maxFileBytes,
          maxBytes: limits.maxRequestBytes,
        },
      };
    }
    case 'POST /v1/releases': {
      const archive = await readBody(req, api.maxReleaseArchiveBytes);
      if (archive === null) {
        return {
          status: 413,
          body: { detail: `a release archive holds at most ${api.maxReleaseArchiveBytes} bytes` },
        };
      }
      try {
        const made = await api.requestRelease(instanceId, {
          purpose: url.searchParams.get('purpose') ?? '',
          archive,
        });
        return { status: 201, body: made };
      } catch (error) {
        // A refusal (its reason is written for the requester); anything else fails as any call.
        if (error instanceof AppError && error.status < 500) {
          return { status: error.status, body: { detail: error.message } };
        }
        throw error;
      }
    }
    default:
      req.resume();
      return { status: 404, body: { detail: `the platform has no ${route}` } };
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * How much of a body past its limit is read on and thrown away, so that a client that sends the
 * whole body before it reads the answer (Python's http.client, curl) reads the 413 rather than a
 * broken connection; one that sends more still has its connection cut.
 */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;

/** Reads the body through, counting its bytes; null past `limit` (see eachChunk). */
async function countBody(req: IncomingMessage, limit: number): Promise<number | null> {
  let bytes = 0;
  const whole = await eachChunk(req, limit, (chunk) => {
    bytes += chunk.length;
  });
  return whole ? bytes : null;
}

/** Reads the body whole; null past `limit` (see eachChunk). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  const whole = await eachChunk(req, limit, (chunk) => chunks.push(chunk));
  return whole ? Buffer.concat(chunks) : null;
}

/**
 * Hands each chunk of the body to `take`; false past `limit` bytes. From there nothing more is
 * taken: a body that declares more than `limit` + DRAIN_MAX_BYTES, or sends more, has its
 * connection cut at once; a smaller one is read to its end and thrown away, for its 413.
 */
function eachChunk(
  req: IncomingMessage,
  limit: number,
  take: (chunk: Buffer) => void,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const cut = () => {
      req.destroy();
      resolve(false);
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit + DRAIN_MAX_BYTES) {
      cut();
      return;
    }
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit + DRAIN_MAX_BYTES) {
        cut();
      } else if (bytes <= limit) {
        take(chunk);
      }
    });
    req.on('end', () => resolve(bytes <= limit));
    req.on('error', reject);
  });
}
