import type { TestServer } from './test-server.js';

/** Who a test request is from: a session cookie, a token, or nobody. */
export interface As {
  cookie?: string | undefined;
  token?: string | undefined;
}

/** One request to a test server, JSON in, as the SDK sends it (with the CSRF header). */
export async function request(
  server: TestServer,
  method: string,
  path: string,
  as: As = {},
  body?: unknown,
): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: {
      'x-lantern-csrf': '1',
      ...(as.cookie === undefined ? {} : { cookie: as.cookie }),
      ...(as.token === undefined ? {} : { authorization: `Bearer ${as.token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}
