import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * An HTTP proxy between `lantern ingest --server` and a real server, for the tests of resumable
 * uploads: it forwards every request as it is, counts the body bytes of each chunk sent
 * (`PUT /api/v1/ingests/{id}/files/{index}?offset=N`, with `&sha256=…` on a file's last), can slow
 * them down (so that a test can stop the command half-way), and can drop one chunk's connection
 * after some bytes or answer one with a 503 (so that a test sees the command retry). Nothing of
 * the server is replaced.
 */

/** One chunk as it went through: which file, from which byte, and how many bytes were forwarded. */
export interface ForwardedChunk {
  index: number;
  offset: number;
  bytes: number;
  /** Its connection was dropped by dropChunkAfter. */
  cut: boolean;
}

export interface UploadProxy {
  url: string;
  chunks: ForwardedChunk[];
  /** Body bytes of chunks forwarded so far. */
  forwarded(): number;
  /** Bytes per second of each chunk's body from now on; Infinity for no limit. */
  throttle(bytesPerSecond: number): void;
  /** The connection of the first chunk to forward `afterBytes` of its body is dropped there. */
  dropChunkAfter(afterBytes: number): void;
  /** The next chunk is answered 503 without reaching the server. */
  failNextChunk(): void;
  /** Chunks answered 503 so far. */
  failed(): number;
  close(): Promise<void>;
}

// A file's last chunk carries its SHA-256 too.
const CHUNK_URL =
  /^\/api\/v1\/ingests\/upl_[0-9a-f]{20}\/files\/(\d+)\?offset=(\d+)(?:&sha256=[0-9a-f]{64})?$/u;

/** Starts a proxy to `target` (http://host:port) on a free port of 127.0.0.1. */
export async function startUploadProxy(target: string): Promise<UploadProxy> {
  const upstream = new URL(target);
  const chunks: ForwardedChunk[] = [];
  let rate = Number.POSITIVE_INFINITY;
  let drop: number | null = null;
  let fail = false;
  let failed = 0;

  const server: Server = createServer((incoming, outgoing) => {
    const match = incoming.method === 'PUT' ? CHUNK_URL.exec(incoming.url ?? '') : null;
    if (match !== null && fail) {
      fail = false;
      failed += 1;
      incoming.resume();
      outgoing.writeHead(503, { 'content-type': 'application/problem+json', connection: 'close' });
      outgoing.end(
        JSON.stringify({
          type: 'urn:lantern:problem:unavailable',
          title: 'Unavailable',
          status: 503,
          code: 'unavailable',
          detail: 'the test proxy answered 503',
        }),
      );
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer: IncomingMessage) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on('error', () => outgoing.destroy());
    // The command gone (killed, or its connection dropped): the server sees its request end too.
    incoming.on('close', () => {
      if (!incoming.complete) {
        forward.destroy();
      }
    });
    if (match === null) {
      incoming.pipe(forward);
      return;
    }
    const chunk: ForwardedChunk = {
      index: Number(match[1]),
      offset: Number(match[2]),
      bytes: 0,
      cut: false,
    };
    chunks.push(chunk);
    const counter = new Transform({
      transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
        if (chunk.cut) {
          // Cut: nothing more of it goes on, while its connection is being closed.
          done();
          return;
        }
        let part = data;
        // The first chunk to reach the bytes asked is cut there, whichever file it is of.
        if (drop !== null && chunk.bytes + data.length > drop) {
          part = data.subarray(0, Math.max(0, drop - chunk.bytes));
          drop = null;
          chunk.cut = true;
        }
        chunk.bytes += part.length;
        const cut = chunk.cut;
        const pass = () => {
          done(null, part);
          if (cut) {
            // What was forwarded goes on; then the connection is cut both ways, as a network
            // gone would: the server's request ends too (the command may have sent all its body).
            setImmediate(() => {
              forward.destroy();
              incoming.socket.destroy();
            });
          }
        };
        if (Number.isFinite(rate)) {
          // Paced, not waited on by any assertion: the chunk leaves at the rate asked.
          setTimeout(pass, (part.length * 1000) / rate);
        } else {
          pass();
        }
      },
    });
    incoming.pipe(counter).pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('the upload proxy listens on no TCP port');
  }
  return {
    url: `http://127.0.0.1:${address.port}`,
    chunks,
    forwarded: () => chunks.reduce((sum, c) => sum + c.bytes, 0),
    throttle: (bytesPerSecond) => {
      rate = bytesPerSecond;
    },
    dropChunkAfter: (afterBytes) => {
      drop = afterBytes;
    },
    failNextChunk: () => {
      fail = true;
    },
    failed: () => failed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
