/**
 * Whether a notebook server answers: Jupyter's `api/status` under the instance's base URL, with
 * its token, wherever it listens (a UNIX socket, a URL, a Slurm job's relay). A backend says
 * `running` only once this is true. Also the small HTTP client the culler asks a notebook with.
 * Connections are opened by notebook-connector.ts, as the proxy's are.
 */
import { request } from 'node:http';
import type { NotebookEndpoint } from './compute-backend.js';
import { connectorOf, createConnectionOf } from './notebook-connector.js';

export interface SocketResponse {
  status: number;
  body: string;
}

/** The most of a response body kept: status answers are small, and nothing else is read here. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * One HTTP request over a UNIX socket (Host: localhost, which Jupyter requires), its body read up
 * to 1 MiB. Rejects if the socket does not answer within `timeoutMs`.
 */
export function requestOverSocket(
  socketPath: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<SocketResponse> {
  return requestNotebook({ socketPath }, method, path, options);
}

/**
 * One HTTP request to a notebook server wherever it listens (a UNIX socket on this host, a URL
 * such as a Pod's, a relay), Host: localhost, its body read up to 1 MiB; rejects without an answer
 * in `timeoutMs`.
 */
export function requestNotebook(
  endpoint: NotebookEndpoint,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<SocketResponse> {
  const connector = connectorOf(endpoint);
  const place = connector.place;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        createConnection: createConnectionOf(connector),
        method,
        path,
        headers: { host: 'localhost', ...options.headers },
        timeout: options.timeoutMs ?? 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_BODY_BYTES) {
            res.destroy(new Error(`the answer of ${path} is over ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer on ${place} in time`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** True when Jupyter at `endpoint` answers `<baseUrl>api/status` with 200 for this token. */
export async function notebookAnswers(
  endpoint: NotebookEndpoint,
  baseUrl: string,
  token: string,
): Promise<boolean> {
  try {
    const res = await requestNotebook(endpoint, 'GET', `${baseUrl}api/status`, {
      headers: { authorization: `token ${token}` },
      timeoutMs: 3_000,
    });
    return res.status === 200;
  } catch {
    return false;
  }
}
