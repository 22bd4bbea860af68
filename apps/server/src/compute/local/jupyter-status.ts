/**
 * Asks a notebook server on a UNIX socket whether it answers: `GET <base_url>api/status` with its
 * token (Jupyter Server's REST API). Host `localhost`, as jupyter_server refuses non-local Host
 * headers.
 */
import { request } from 'node:http';

/** The HTTP status of `api/status`, or null when nothing answers on the socket (yet). */
export function jupyterStatus(
  socketPath: string,
  baseUrl: string,
  token: string,
  timeoutMs = 2000,
): Promise<number | null> {
  return new Promise((resolve) => {
    const req = request(
      {
        socketPath,
        path: `${baseUrl}api/status`,
        method: 'GET',
        headers: { Host: 'localhost', Authorization: `token ${token}` },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? null));
        res.on('error', () => resolve(null));
      },
    );
    req.on('timeout', () => req.destroy());
    // No socket yet (ENOENT), nobody listening (ECONNREFUSED), a timeout: not answering.
    req.on('error', () => resolve(null));
    req.end();
  });
}
