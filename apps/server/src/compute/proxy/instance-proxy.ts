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
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import { actorOf, type Principal } from '@lantern/core';
import type { NotebookEndpoint } from '../compute-backend.js';
import {
  ConnectorAgent,
  connectorOf,
  createConnectionOf,
  type ConnectorRequestArgs,
  type NotebookConnector,
} from '../notebook-connector.js';
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
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
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
 * names and values (`writeHead` takes it as it is), read from the answer's raw headers (its
 * `headers` object is then never built) and followed by `extra`.
 */
function downstreamHeaders(upstream: IncomingMessage, extra: readonly string[]): string[] {
  const raw = upstream.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
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
function declaredLength(upstream: IncomingMessage): number {
  const raw = upstream.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === 'content-length') {
      return Number(raw[i + 1]);
    }
  }
  return NaN;
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
  /** Idle keep-alive connections kept per instance. */
  maxFreeSockets?: number;
}

/** Forwards requests and websockets to notebook servers; one per server process. */
export class InstanceProxy {
  readonly responseLimitBytes: number;
  private readonly agent: ConnectorAgent;
  private readonly tunnels = new Set<Duplex>();
  /**
   * Each endpoint's connector, made once: a resolver's answer (and so its endpoint object) is kept
   * for a while (cachedResolver), and making one parses the endpoint's URL.
   */
  private readonly connectors = new WeakMap<NotebookEndpoint, NotebookConnector>();

  constructor(options: InstanceProxyOptions = {}) {
    this.responseLimitBytes = options.responseLimitBytes ?? DEFAULT_RESPONSE_LIMIT_BYTES;
    // Kept-alive connections to each notebook, pooled by its connector's key, as many kept as
    // Node keeps by default: a pool smaller than the requests in flight closes a connection after
    // each of them and opens another (16 kept cost a third of the rate with 64 clients).
    this.agent = new ConnectorAgent({
      keepAlive: true,
      maxFreeSockets: options.maxFreeSockets ?? 256,
    });
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
      let settled = false;
      const settle = (outcome: ForwardOutcome) => {
        if (!settled) {
          settled = true;
          resolve(outcome);
        }
      };
      let refusing = false;
      const refuseThenSettle = (outcome: ForwardOutcome) => {
        refusing = true;
        Promise.resolve()
          .then(() => refuse(outcome))
          .catch(() => {
            res.destroy();
          })
          .finally(() => settle(outcome));
      };
      const upstream = this.request(target.endpoint, {
        method: req.method ?? 'GET',
        path,
        headers: upstreamHeaders(req.headers, target.token, false),
      });
      upstream.on('response', (answer) => {
        const status = answer.statusCode ?? 502;
        const declared = declaredLength(answer);
        if (Number.isFinite(declared) && declared > this.responseLimitBytes) {
          answer.destroy();
          refuseThenSettle({ kind: 'too-large', status, bytes: 0, cut: false });
          return;
        }
        res.writeHead(status, downstreamHeaders(answer, extraHeaders));
        this.relayBody(answer, res, settle);
      });
      upstream.on('error', (error) => {
        if (settled || refusing) {
          return;
        }
        if (!res.headersSent) {
          refuseThenSettle({ kind: 'upstream-failed', error });
        } else {
          res.destroy();
          settle({ kind: 'upstream-failed', error });
        }
      });
      res.on('close', () => {
        if (!res.writableFinished) {
          upstream.destroy();
          settle({ kind: 'client-gone' });
        }
      });
      if (hasBody(req)) {
        req.pipe(upstream);
      } else {
        // Nothing to stream (most of a notebook's requests): sent at once, without a pipe's
        // listeners and ticks; Node reads the empty body itself once the answer is done.
        upstream.end();
      }
    });
  }

  /**
   * Streams Jupyter's answer body to the client, counted against the size limit chunk by chunk and
   * cut (the connection broken mid-body: its headers are gone) at the first chunk that would take
   * it over; with backpressure, as `pipe` would. Plain listeners rather than `pipeline` and a
   * Transform: per small response those cost more than forwarding it (an AbortController, the
   * end-of-stream watchers, a copy through the Transform's buffers).
   */
  private relayBody(
    answer: IncomingMessage,
    res: ServerResponse,
    done: (outcome: ForwardOutcome) => void,
  ): void {
    const status = answer.statusCode ?? 502;
    const limit = new ResponseSizeLimit(this.responseLimitBytes);
    answer.on('data', (chunk: Buffer) => {
      if (!limit.admit(chunk.length)) {
        done({ kind: 'too-large', status, bytes: limit.bytes, cut: true });
        answer.destroy();
        res.destroy();
      } else if (!res.write(chunk)) {
        answer.pause();
      }
    });
    res.on('drain', () => answer.resume());
    answer.on('end', () => res.end());
    res.on('finish', () => done({ kind: 'done', status, bytes: limit.bytes }));
    // Jupyter broke off mid-body (an error, or a close before the end).
    const fail = (error: Error) => {
      done({ kind: 'upstream-failed', error });
      res.destroy();
    };
    answer.on('error', fail);
    answer.on('close', () => {
      if (!answer.complete) {
        fail(new Error('the notebook closed its answer before the end'));
      }
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
        // A fresh connection: it becomes the tunnel and never returns to the pool.
        agent: false,
      });
      upstream.on('upgrade', (answer, socket, upstreamHead) => {
        client.write(statusLine(answer) + headerLines(downstreamHeaders(answer, []), true));
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
        client.write(statusLine(answer) + headerLines(downstreamHeaders(answer, []), false));
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
    this.agent.destroy();
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

  /** One request to the notebook, on a pooled connection unless `agent: false` (a tunnel's own). */
  private request(
    endpoint: NotebookEndpoint,
    options: { method: string; path: string; headers: OutgoingHttpHeaders; agent?: false },
  ) {
    let connector = this.connectors.get(endpoint);
    if (connector === undefined) {
      connector = connectorOf(endpoint);
      this.connectors.set(endpoint, connector);
    }
    const common = { method: options.method, path: options.path, headers: options.headers };
    if (options.agent === false) {
      return httpRequest({ ...common, createConnection: createConnectionOf(connector) });
    }
    const pooled: ConnectorRequestArgs = {
      ...common,
      agent: this.agent,
      connector,
      servername: '',
    };
    return httpRequest(pooled);
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
