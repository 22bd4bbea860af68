/**
 * Whether a notebook server answers on its UNIX socket: Jupyter's `api/status` under the
 * instance's base URL, with its token. A backend says `running` only once this is true.
 */
import { request } from 'node:http';

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
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
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
    req.on('timeout', () => req.destroy(new Error(`no answer on ${socketPath} in time`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** True when Jupyter at `socketPath` answers `<baseUrl>api/status` with 200 for this token. */
export async function notebookAnswers(
  socketPath: string,
  baseUrl: string,
  token: string,
): Promise<boolean> {
  try {
    const res = await requestOverSocket(socketPath, 'GET', `${baseUrl}api/status`, {
      headers: { authorization: `token ${token}` },
      timeoutMs: 3_000,
    });
    return res.status === 200;
  } catch {
    return false;
  }
}
