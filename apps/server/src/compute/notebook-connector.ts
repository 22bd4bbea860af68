/**
 * How the server opens a connection to a notebook server (issue 8), whichever backend runs it: a
 * UNIX socket on this host (local, single-node Slurm), a Pod's URL (Kubernetes), or the relay of
 * a Slurm job on another node (python/slurm-relay.py: TLS to a pinned certificate, then the
 * instance's relay secret as the first line, then Jupyter's own bytes). The proxy, the notebook
 * probe and the culler's client all speak HTTP over what `connectorOf` opens, so there is one way
 * to reach a notebook, not one per backend.
 */
import type { ClientRequestArgs } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import type { NotebookEndpoint, RelayEndpoint } from './compute-backend.js';

/** How long a relay's TCP connection and TLS handshake may take. */
const RELAY_CONNECT_MS = 10_000;

/**
 * Node's `oncreate`: an error (with the failed socket, which Node ignores then) or the socket,
 * which may still be connecting (a TCP or TLS socket: undici's pools wait for it, Node's client
 * writes into it at once).
 */
export type ConnectCallback = (error: Error | null, socket: Socket) => void;

/** Opens connections to one notebook; `key` names it (connections are pooled by it). */
export interface NotebookConnector {
  readonly key: string;
  /** Where, for messages: a socket path, a URL, `relay host:port`. */
  readonly place: string;
  connect(callback: ConnectCallback): void;
}

/** Thrown (given to the callback) when a relay is not the one its handle pins, or goes away. */
export class RelayConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayConnectError';
  }
}

export function connectorOf(endpoint: NotebookEndpoint): NotebookConnector {
  if ('socketPath' in endpoint) {
    const { socketPath } = endpoint;
    return {
      key: `unix:${socketPath}`,
      place: socketPath,
      connect: (callback) => callback(null, createConnection({ path: socketPath })),
    };
  }
  if ('relay' in endpoint) {
    const { relay } = endpoint;
    return {
      key: `relay:${relay.host}:${relay.port}:${relay.fingerprint256}`,
      place: `the relay at ${relay.host}:${relay.port}`,
      connect: (callback) => connectRelay(relay, callback),
    };
  }
  const url = new URL(endpoint.url);
  const secure = url.protocol === 'https:';
  const port = Number(url.port === '' ? (secure ? 443 : 80) : url.port);
  return {
    key: `${url.protocol}//${url.host}`,
    place: endpoint.url,
    connect: (callback) =>
      callback(
        null,
        secure
          ? tlsConnect({ host: url.hostname, port, servername: url.hostname })
          : createConnection({ host: url.hostname, port }),
      ),
  };
}

/**
 * A connection through an instance's relay: TLS whose certificate must have the pinned SHA-256
 * fingerprint (no CA: the server made the certificate), and only then the secret, on a line of its
 * own. Nothing is sent before the certificate is checked.
 */
function connectRelay(relay: RelayEndpoint, callback: ConnectCallback): void {
  let settled = false;
  const socket = tlsConnect({
    host: relay.host,
    port: relay.port,
    // Checked below against the pin, which is stricter than any CA.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    timeout: RELAY_CONNECT_MS,
  });
  const fail = (error: Error) => {
    if (!settled) {
      settled = true;
      socket.destroy();
      callback(error, socket);
    }
  };
  socket.once('error', fail);
  socket.once('timeout', () =>
    fail(new RelayConnectError(`the relay at ${relay.host}:${relay.port} did not answer in time`)),
  );
  socket.once('secureConnect', () => {
    const presented = socket.getPeerCertificate().fingerprint256;
    if (!sameFingerprint(presented, relay.fingerprint256)) {
      fail(
        new RelayConnectError(
          `the relay at ${relay.host}:${relay.port} presented certificate ${presented}, not the instance's ${relay.fingerprint256}`,
        ),
      );
      return;
    }
    settled = true;
    socket.removeListener('error', fail);
    socket.setTimeout(0);
    socket.write(`${relay.secret}\n`);
    callback(null, socket);
  });
}

function sameFingerprint(a: string | undefined, b: string): boolean {
  if (a === undefined) {
    return false;
  }
  const left = Buffer.from(a.toUpperCase());
  const right = Buffer.from(b.toUpperCase());
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `createConnection` for a request made without an agent (a websocket's own connection). */
export function createConnectionOf(
  connector: NotebookConnector,
): (options: ClientRequestArgs, callback: ConnectCallback) => undefined {
  return (_options, callback) => {
    connector.connect(callback);
    return undefined;
  };
}
