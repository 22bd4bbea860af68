/**
 * The instance proxy's transport (issue 8): forwards a researcher's HTTP request or websocket to
 * the notebook server of an instance, over whatever its backend's endpoint opens (a UNIX socket, a
 * URL, a Slurm job's relay: notebook-connector.ts), and streams the answer back. On the way in it swaps the researcher's credentials for Jupyter's token (the
 * browser never sees it) and says Host: localhost (Jupyter refuses other Hosts); on the way out it
 * drops Jupyter's cookies and cuts any response over the egress guard's size limit.
 *
 * Who may reach which instance is not decided here: the HTTP layer authenticates and asks an
 * InstanceResolver, and hands this module the instance it answered.
 */
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import { actorOf, type Principal } from '@lantern/core';
import { Pool, type buildConnector, type Dispatcher } from 'undici';
import type { NotebookEndpoint } from '../compute-backend.js';
import { connectorOf, createConnectionOf, type NotebookConnector } from '../notebook-connector.js';
import { DEFAULT_RESPONSE_LIMIT_BYTES, ResponseSizeLimit } from './egress-guard.js';
import { WebSocketFrameScanner } from './websocket-frames.js';

/** An instance the caller may reach: where its notebook listens, its token, and its project. */
export interface ResolvedInstance {
  endpoint: NotebookEndpoint;
  /** Jupyter's token, sent as `Authorization: token …`. */
  token: string;
  projectId: string;
}

/**
 * Finds a running instance for a caller: null when it does not exist, is not running, or the
 * caller is not a member of its project (all three answered alike, 404).
 */
export type InstanceResolver = (
  instanceId: string,
  principal: Principal,
) => Promise<ResolvedInstance | null>;

/** The resolver until the instance service provides one: no instances, everything 404. */
export const noInstances: InstanceResolver = () => Promise.resolve(null);

/** How long a resolver's answer is kept by cachedResolver. */
export const RESOLVER_CACHE_MS = 5_000;

/**
 * Keeps a resolver's positive answers for `ttlMs` per caller and instance, so that a notebook's
 * bursts of small requests do not each look the instance up; refusals are never kept (an instance
 * that has just started is reachable at once). An instance stopped within ttlMs answers 503 from
 * its endpoint meanwhile, and a removed member keeps access for at most that long.
 */
export class CachedResolver {
  private readonly answers = new Map<string, { target: ResolvedInstance; until: number }>();

  constructor(
    private readonly resolver: InstanceResolver,
    private readonly ttlMs = RESOLVER_CACHE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The kept answer for this caller and instance while it is fresh, else undefined (then
   * `resolve` asks). Synchronous: a request to an instance known to be the caller's waits for
   * nothing.
   */
  recall(instanceId: string, principal: Principal): ResolvedInstance | undefined {
    const cached = this.answers.get(answerKey(instanceId, principal));
    return cached !== undefined && cached.until > this.now() ? cached.target : undefined;
  }

  /** The instance for this caller (an InstanceResolver), from memory while fresh. */
  readonly resolve: InstanceResolver = async (instanceId, principal) => {
    const key = answerKey(instanceId, principal);
    const cached = this.answers.get(key);
    const time = this.now();
    if (cached !== undefined && cached.until > time) {
      return cached.target;
    }
    this.answers.delete(key);
    const target = await this.resolver(instanceId, principal);
    if (target !== null) {
      this.answers.set(key, { target, until: time + this.ttlMs });
      if (this.answers.size > 10_000) {
        const oldest = this.answers.keys().next().value;
        if (oldest !== undefined) {
          this.answers.delete(oldest);
        }
      }
    }
    return target;
  };
}

function answerKey(instanceId: string, principal: Principal): string {
  return `${actorOf(principal)}\u0000${instanceId}`;
}

/** Every method Jupyter's REST API and pages use: what the proxy forwards. */
export const PROXIED_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
] as const satisfies readonly Dispatcher.HttpMethod[];

export type ProxiedMethod = (typeof PROXIED_METHODS)[number];

const PROXIED = new Set<string>(PROXIED_METHODS);

export function isProxiedMethod(method: string): method is ProxiedMethod {
  return PROXIED.has(method);
}

/** The path Jupyter serves an instance under (its base_url). */
export function instanceBasePath(instanceId: string): string {
  return `/instances/${encodeURIComponent(instanceId)}/`;
}

/**
 * Hop-by-hop headers (RFC 9110 section 7.6.1) and the researcher's credentials and origin, none of
 * which may reach Jupyter. Origin and Referer are checked by Lantern before forwarding; Jupyter
 * would compare them with Host: localhost and refuse.
 */
const NOT_FORWARDED_IN = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'cookie',
  'authorization',
  'origin',
  'referer',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'x-lantern-csrf',
  'accept-encoding',
  // Node's server has answered it (100 Continue) before the request reached the proxy.
  'expect',
]);

/** Hop-by-hop headers of Jupyter's answer, and its cookies (its credentials stay with Lantern). */
const NOT_FORWARDED_OUT = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
]);

/** The headers Jupyter gets for a request: the client's, less NOT_FORWARDED_IN, plus its own. */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  token: string,
  upgrade: boolean,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined && !NOT_FORWARDED_IN.has(name)) {
      headers[name] = value;
    }
  }
  headers['host'] = 'localhost';
  headers['authorization'] = `token ${token}`;
  // Sizes are judged on what Jupyter sends; uncompressed, the limit means what it says.
  headers['accept-encoding'] = 'identity';
  if (upgrade) {
    headers['connection'] = 'Upgrade';
    headers['upgrade'] = incoming.upgrade ?? 'websocket';
  }
  return headers;
}

/**
 * The headers of Jupyter's answer the client gets, less NOT_FORWARDED_OUT, as Node's flat list of
 * names and values (`writeHead` takes it as it is), from the answer's raw headers (Node's client
 * gives them as strings, undici's as bytes) and followed by `extra`.
 */
function downstreamHeaders(raw: readonly (string | Buffer)[], extra: readonly string[]): string[] {
  const headers: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = latin1(raw[i]).toLowerCase();
    const value = latin1(raw[i + 1]);
    if (name === 'location') {
      // Jupyter knows itself as http://localhost; the browser knows Lantern.
      headers.push(name, value.replace(/^https?:\/\/localhost(:\d+)?(?=\/)/u, ''));
    } else if (!NOT_FORWARDED_OUT.has(name)) {
      headers.push(name, value);
    }
  }
  headers.push(...extra);
  return headers;
}

/** The length Jupyter's answer declares (NaN when none), from its raw headers. */
function declaredLength(raw: readonly Buffer[]): number {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (latin1(raw[i]).toLowerCase() === 'content-length') {
      return Number(latin1(raw[i + 1]));
    }
  }
  return NaN;
}

/** A raw header as text: HTTP/1.1 field values are bytes, read as Latin-1 as Node's parser does. */
function latin1(raw: string | Buffer | undefined): string {
  return raw === undefined ? '' : typeof raw === 'string' ? raw : raw.toString('latin1');
}

/** What became of one forwarded HTTP exchange. */
export type ForwardOutcome =
  | { kind: 'done'; status: number; bytes: number }
  /** The response declared or reached more than the limit: refused (403) or cut mid-way. */
  | { kind: 'too-large'; status: number; bytes: number; cut: boolean }
  /** Jupyter could not be reached or broke off; the client got 502 if nothing was sent yet. */
  | { kind: 'upstream-failed'; error: Error }
  /** The client went away first. */
  | { kind: 'client-gone' };

export interface InstanceProxyOptions {
  /** Responses over this many bytes are stopped (egress guard). */
  responseLimitBytes?: number;
}

/** What undici's pools put in each request's Host; Jupyter's own is sent instead (`host`). */
const NOTEBOOK_ORIGIN = 'http://localhost';

/**
 * How each notebook's connections are kept: as many as requests in flight (a pool smaller than
 * that closes a connection after each request and opens another), kept alive between requests,
 * one request at a time on each (no pipelining: Jupyter answers in order, but a slow answer would
 * hold up the ones behind it), and no time limits of undici's own (Node's client had none:
 * a notebook may take its time over a long computation's answer).
 */
const POOL_OPTIONS = {
  connections: null,
  pipelining: 1,
  headersTimeout: 0,
  bodyTimeout: 0,
} as const satisfies Pool.Options;

/** Forwards requests and websockets to notebook servers; one per server process. */
export class InstanceProxy {
  readonly responseLimitBytes: number;
  /**
   * Kept-alive connections to each notebook, one undici pool per connector key: undici's client
   * costs less per small request than Node's `http.request` and Agent (no ClientRequest and
   * IncomingMessage streams, no Agent bookkeeping; bench/compute, session 9). A pool is dropped once it has
   * neither connections nor requests, so that stopped instances leave nothing behind.
   */
  private readonly pools = new Map<string, Pool>();
  private readonly tunnels = new Set<Duplex>();
  /**
   * Each endpoint's connector, made once: a resolver's answer (and so its endpoint object) is kept
   * for a while (cachedResolver), and making one parses the endpoint's URL.
   */
  private readonly connectors = new WeakMap<NotebookEndpoint, NotebookConnector>();

  constructor(options: InstanceProxyOptions = {}) {
    this.responseLimitBytes = options.responseLimitBytes ?? DEFAULT_RESPONSE_LIMIT_BYTES;
  }

  /**
   * Forwards one HTTP request (`path` is the full path and query Jupyter gets) and streams the
   * answer into `res`, both bodies streamed. When the client must be answered before anything of
   * Jupyter's answer was sent (it declared more than the limit, or Jupyter cannot be reached),
   * `refuse` is called with the outcome and writes that answer itself (it may first record why:
   * the exchange is settled once its promise is).
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: ResolvedInstance,
    path: string,
    refuse: (outcome: ForwardOutcome) => void | Promise<void>,
    extraHeaders: readonly string[] = [],
  ): Promise<ForwardOutcome> {
    return new Promise<ForwardOutcome>((resolve) => {
      const exchange = new ForwardedExchange(
        res,
        this.responseLimitBytes,
        extraHeaders,
        refuse,
        resolve,
      );
      const method = req.method ?? '';
      if (!isProxiedMethod(method)) {
        // The routes take only these; anything else never reaches a notebook.
        exchange.onError(new Error(`${method} is not forwarded to notebooks`));
        return;
      }
      this.poolOf(target.endpoint).dispatch(
        {
          origin: NOTEBOOK_ORIGIN,
          method,
          path,
          headers: upstreamHeaders(req.headers, target.token, false),
          // Most of a notebook's requests have none: sent at once, without reading an empty stream.
          body: hasBody(req) ? req : null,
        },
        exchange,
      );
    });
  }

  /**
   * Forwards a websocket handshake and, once Jupyter agrees (101), relays the two connections byte
   * for byte until either closes: frames, close codes and pings pass as they are. Any other answer
   * is passed back as it is and the connection closed. Resolves once the handshake is decided:
   * true when the tunnel is open (`onClosed` is called when it ends, `onMessage` whenever the
   * client's side carries a text or binary message, never for pings and pongs).
   */
  tunnel(
    req: IncomingMessage,
    client: Duplex,
    head: Buffer,
    target: ResolvedInstance,
    path: string,
    onClosed: (bytes: { in: number; out: number }) => void,
    onMessage: () => void = () => undefined,
  ): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const upstream = this.request(target.endpoint, {
        method: 'GET',
        path,
        headers: upstreamHeaders(req.headers, target.token, true),
      });
      upstream.on('upgrade', (answer, socket, upstreamHead) => {
        client.write(
          statusLine(answer) + headerLines(downstreamHeaders(answer.rawHeaders, []), true),
        );
        if (upstreamHead.length > 0) {
          client.write(upstreamHead);
        }
        if (head.length > 0) {
          socket.write(head);
        }
        this.relay(client, socket, onClosed, onMessage);
        resolve(true);
      });
      upstream.on('response', (answer) => {
        client.write(
          statusLine(answer) + headerLines(downstreamHeaders(answer.rawHeaders, []), false),
        );
        answer.pipe(client);
        resolve(false);
      });
      upstream.on('error', () => {
        if (client.writable) {
          client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        }
        resolve(false);
      });
      // A client gone before Jupyter answered takes the handshake with it.
      client.once('close', () => upstream.destroy());
      upstream.end();
    });
  }

  /** Notebooks with a pool of connections kept (dropped once it has none and nothing in flight). */
  get pooledNotebooks(): number {
    return this.pools.size;
  }

  /** Open websocket tunnels. */
  get openTunnels(): number {
    return this.tunnels.size;
  }

  /** Closes every tunnel and idle connection (server shutdown). */
  close(): void {
    for (const socket of this.tunnels) {
      socket.destroy();
    }
    this.tunnels.clear();
    for (const pool of this.pools.values()) {
      void pool.destroy();
    }
    this.pools.clear();
  }

  private relay(
    client: Duplex,
    upstream: Duplex,
    onClosed: (bytes: { in: number; out: number }) => void,
    onMessage: () => void,
  ): void {
    const bytes = { in: 0, out: 0 };
    const scanner = new WebSocketFrameScanner();
    client.on('data', (chunk: Buffer) => {
      bytes.in += chunk.length;
      if (scanner.push(chunk) > 0) {
        onMessage();
      }
    });
    upstream.on('data', (chunk: Buffer) => (bytes.out += chunk.length));
    this.tunnels.add(client);
    this.tunnels.add(upstream);
    let closed = false;
    const close = () => {
      if (closed) {
        return;
      }
      closed = true;
      this.tunnels.delete(client);
      this.tunnels.delete(upstream);
      client.destroy();
      upstream.destroy();
      onClosed(bytes);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', close);
      socket.on('close', close);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private connectorOf(endpoint: NotebookEndpoint): NotebookConnector {
    let connector = this.connectors.get(endpoint);
    if (connector === undefined) {
      connector = connectorOf(endpoint);
      this.connectors.set(endpoint, connector);
    }
    return connector;
  }

  /** The pool of connections to an endpoint's notebook, made on first use. */
  private poolOf(endpoint: NotebookEndpoint): Pool {
    const connector = this.connectorOf(endpoint);
    const kept = this.pools.get(connector.key);
    if (kept !== undefined) {
      return kept;
    }
    const pool = new Pool(NOTEBOOK_ORIGIN, {
      ...POOL_OPTIONS,
      connect: connectOnceOpen(connector),
    });
    const dropIfIdle = () => {
      const { connected, size } = pool.stats;
      if (connected === 0 && size === 0 && this.pools.get(connector.key) === pool) {
        this.pools.delete(connector.key);
        void pool.close();
      }
    };
    pool.on('disconnect', dropIfIdle);
    pool.on('connectionError', dropIfIdle);
    this.pools.set(connector.key, pool);
    return pool;
  }

  /** A websocket handshake to the notebook, on a connection of its own that becomes the tunnel. */
  private request(
    endpoint: NotebookEndpoint,
    options: { method: string; path: string; headers: Record<string, string | string[]> },
  ) {
    return httpRequest({
      ...options,
      createConnection: createConnectionOf(this.connectorOf(endpoint)),
    });
  }
}

/**
 * undici's `connect` for a connector: its connection, handed over once open (undici writes the
 * request as soon as it has a socket, and takes a failure to connect as the requests' error).
 */
function connectOnceOpen(connector: NotebookConnector): buildConnector.connector {
  return (_options, callback) => {
    connector.connect((error, socket) => {
      if (error !== null) {
        callback(error, null);
      } else if (!socket.connecting) {
        callback(null, socket);
      } else {
        const fail = (failure: Error) => callback(failure, null);
        socket.once('error', fail);
        socket.once('connect', () => {
          socket.off('error', fail);
          callback(null, socket);
        });
      }
    });
  };
}

/**
 * One forwarded exchange, as undici's dispatch handler: Jupyter's answer goes to the client as it
 * comes, its body counted against the size limit chunk by chunk and cut (the connection broken
 * mid-body: its headers are gone) at the first chunk that would take it over, with backpressure
 * both ways (undici pauses the notebook's socket when the client's is full). Settles once with the
 * exchange's outcome.
 */
class ForwardedExchange implements Dispatcher.DispatchHandlers {
  private readonly limit: ResponseSizeLimit;
  private status = 502;
  private settled = false;
  /** `refuse` is answering the client: undici's error for the aborted request is no news. */
  private refusing = false;
  private abortUpstream: ((reason?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;

  constructor(
    private readonly res: ServerResponse,
    limitBytes: number,
    private readonly extraHeaders: readonly string[],
    private readonly refuse: (outcome: ForwardOutcome) => void | Promise<void>,
    private readonly resolve: (outcome: ForwardOutcome) => void,
  ) {
    this.limit = new ResponseSizeLimit(limitBytes);
    res.on('close', () => {
      if (!res.writableFinished) {
        // The client went away: the notebook's request goes with it.
        this.settle({ kind: 'client-gone' });
        this.abortUpstream?.();
      }
    });
    res.on('drain', () => this.resumeUpstream?.());
    res.on('finish', () =>
      this.settle({ kind: 'done', status: this.status, bytes: this.limit.bytes }),
    );
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.settled) {
      abort();
    }
  }

  onHeaders(status: number, headers: Buffer[], resume: () => void): boolean {
    if (status < 200) {
      // An informational answer (103 Early Hints): not passed on, as Node's client did not; the
      // final answer follows on the same exchange.
      return true;
    }
    this.status = status;
    this.resumeUpstream = resume;
    const declared = declaredLength(headers);
    if (Number.isFinite(declared) && declared > this.limit.limitBytes) {
      this.refuseThenSettle({ kind: 'too-large', status, bytes: 0, cut: false });
      this.abortUpstream?.();
      return false;
    }
    this.res.writeHead(status, downstreamHeaders(headers, this.extraHeaders));
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (!this.limit.admit(chunk.length)) {
      this.settle({ kind: 'too-large', status: this.status, bytes: this.limit.bytes, cut: true });
      this.abortUpstream?.();
      this.res.destroy();
      return false;
    }
    return this.res.write(chunk);
  }

  onComplete(): void {
    this.res.end();
  }

  /** Jupyter could not be reached, or broke off mid-answer (or the request was aborted here). */
  onError(error: Error): void {
    if (this.settled || this.refusing) {
      return;
    }
    if (!this.res.headersSent) {
      this.refuseThenSettle({ kind: 'upstream-failed', error });
    } else {
      this.res.destroy();
      this.settle({ kind: 'upstream-failed', error });
    }
  }

  private settle(outcome: ForwardOutcome): void {
    if (!this.settled) {
      this.settled = true;
      this.resolve(outcome);
    }
  }

  /** `refuse` answers the client, and the exchange is settled once it has (or failed to). */
  private refuseThenSettle(outcome: ForwardOutcome): void {
    this.refusing = true;
    Promise.resolve()
      .then(() => this.refuse(outcome))
      .catch(() => {
        this.res.destroy();
      })
      .finally(() => this.settle(outcome));
  }
}

/** Whether a request has a body: a Transfer-Encoding, or a Content-Length other than 0 (RFC 9112 section 6.3). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function statusLine(answer: IncomingMessage): string {
  return `HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}\r\n`;
}

/** A raw header block for the client's socket (after a handshake, nothing else writes it). */
function headerLines(headers: readonly string[], upgrade: boolean): string {
  let lines = '';
  for (let i = 0; i + 1 < headers.length; i += 2) {
    lines += `${headers[i] ?? ''}: ${headers[i + 1] ?? ''}\r\n`;
  }
  lines += upgrade ? 'Connection: Upgrade\r\nUpgrade: websocket\r\n' : 'Connection: close\r\n';
  return `${lines}\r\n`;
}
