/**
 * The instance proxy against a REAL notebook: Debian's jupyter_server started by the local backend
 * in its bubblewrap sandbox (as the compute tests start it), with a dataset view mounted, behind a
 * test server whose resolver gives the instance to its owner only. Through `/instances/<id>/…`:
 * the notebook's REST API, a kernel websocket that runs a cell (JupyterKernel, through the proxy), refusals (401 unauthenticated,
 * 404 for another user and for an unknown instance, a cross-site write or websocket), every route
 * the egress guard blocks (403, each an audit event with the path) and the size limit, refused
 * when declared and cut off mid-stream when not (the limit from LANTERN_PROXY_MAX_RESPONSE_BYTES);
 * and the activity it reports for the idle culler: requests and websocket messages, not pings.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Duplex } from 'node:stream';
import { parseAuditBody } from '@lantern/core/audit';
import type { InstanceType } from '@lantern/core/instances';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { BackendHandle, BackendState } from '../../compute/compute-backend.js';
import { DatasetViews } from '../../compute/dataset-view.js';
import { LocalComputeBackend } from '../../compute/local/local-backend.js';
import type { ResolvedInstance } from '../../compute/proxy/instance-proxy.js';
import { LocalObjectStore } from '../../storage/object-store.js';
import { refuseAuditEventsOf } from '../../testing/audit.js';
import { JupyterKernel } from '../../testing/jupyter-kernel.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../../testing/users.js';

const PASSWORD = 'seven quiet rivers under the hill';
const INSTANCE = 'inst-proxy-test';
const STREAMING = 'inst-streaming';
const COUNTED = 'inst-counted';
/** An instance whose notebook's socket nobody listens on. */
const SILENT = 'inst-silent';
const SLUG = 'lantern-test-measurements';
const VERSION = '1.0';
/** Small enough for a test file to pass it, large enough for every Jupyter API answer used. */
const LIMIT = 256 * 1024;
const TYPE: InstanceType = {
  name: 'cpu.test',
  title: 'Test CPU',
  vcpus: 1,
  memoryMib: 1024,
  gpu: null,
  diskGib: 1,
  priceCentsPerHour: 0,
};
const CSV = `patient_ngsci_id,value\n${Array.from({ length: 50 }, (_, i) => `p${i},${i}`).join('\n')}\n`;

let work: string;
let backend: LocalComputeBackend;
let handle: BackendHandle;
let jupyterToken: string;
let server: TestServer;
let owner: SignedInUser;
let stranger: SignedInUser;
let streamer: Server;
/** A notebook stand-in that counts what reaches it: the audit tests' witness. */
let counted: Server;
const reached = { requests: 0, upgrades: 0 };
/** Called when the streaming notebook's endless answer (`/endless`) is closed. */
let onEndlessClosed = (): void => undefined;
/** The instances the proxy reported activity for, one entry per report, in order. */
const activity: string[] = [];
const reportsFor = (instanceId: string) => activity.filter((id) => id === instanceId).length;
/** What the resolver answers, and for whom. */
const instances = new Map<string, { ownerId: string; target: ResolvedInstance }>();

async function settle(): Promise<BackendState> {
  for (;;) {
    const state = await backend.poll(handle);
    if (state.state !== 'starting') {
      return state;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A request to the proxy as a browser on Lantern's pages would send it (same-origin writes). */
function call(
  method: string,
  path: string,
  as: SignedInUser | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: {
      origin: server.url,
      ...(as === null ? {} : { cookie: as.cookie }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const base = `/instances/${INSTANCE}/`;

/** A GET with the path sent exactly as written (a WHATWG URL would resolve `%2E%2E` first). */
function rawGet(
  path: string,
  as: SignedInUser,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; requestId: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(server.url);
    const req = httpRequest({ hostname, port, path, headers: { cookie: as.cookie, ...headers } });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          requestId: String(res.headers['x-request-id']),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A GET by the owner with its X-Request-Id chosen. */
function rawGetWith(
  path: string,
  requestId: string,
): Promise<{ status: number; body: string; requestId: string }> {
  return rawGet(path, owner, { 'x-request-id': requestId });
}

/** A GET of the streaming endpoint's `path` by the owner: what arrived, and whether it all did. */
function streamFrom(
  path: string,
): Promise<{ received: number; requestId: string; ended: boolean }> {
  return new Promise((resolve) => {
    const req = httpRequest(`${server.url}/instances/${STREAMING}/${path}`, {
      headers: { cookie: owner.cookie },
    });
    req.on('response', (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      const done = (ended: boolean) =>
        resolve({ received: bytes, requestId: String(res.headers['x-request-id']), ended });
      res.on('end', () => done(res.complete));
      res.on('error', () => done(false));
      res.on('aborted', () => done(false));
    });
    req.end();
  });
}

async function actionsOf(requestId: string | null): Promise<string[]> {
  expect(requestId).not.toBeNull();
  return (await server.auditEventsFor(requestId ?? '')).map((e) => e.action);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-proxy-'));
  // bwrap opens the binds as the sandbox user: the folders on the way must be traversable.
  await chmod(work, 0o711);
  const dataDir = join(work, 'data');
  for (const dir of [dataDir, join(work, 'home'), join(work, 'project'), join(work, 'platform')]) {
    await mkdir(dir, { mode: 0o711 });
  }
  await chmod(join(work, 'home'), 0o777);
  await chmod(join(work, 'project'), 0o777);
  const store = new LocalObjectStore(dataDir);
  await store.init();
  const stored = await store.put(Readable.from([Buffer.from(CSV)]));
  const viewPath = await new DatasetViews(dataDir, store).materialise({
    slug: SLUG,
    version: VERSION,
    files: [{ path: 'tables/measurements.csv', objectKey: stored.key, size: stored.size }],
  });

  backend = new LocalComputeBackend({ dataDir, stopGraceMs: 2000 });
  jupyterToken = randomBytes(24).toString('hex');
  handle = await backend.start({
    instanceId: INSTANCE,
    type: TYPE,
    baseUrl: base,
    token: jupyterToken,
    datasets: [{ slug: SLUG, version: VERSION, hostPath: viewPath }],
    projectPath: join(work, 'project'),
    homePath: join(work, 'home'),
    platformSocket: join(work, 'platform', 'platform.sock'),
    platformToken: randomBytes(24).toString('hex'),
  });

  // A notebook endpoint that streams without Content-Length, as a URL: the size limit's cut (four
  // times the limit), exactly the limit (`/within`), an answer broken off mid-body (`/broken`),
  // and one that never ends (`/endless`).
  streamer = createServer((req, res) => {
    req.resume();
    if (req.url?.endsWith('/endless') === true) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(100, 0x61));
      res.on('close', () => onEndlessClosed());
      return;
    }
    if (req.url?.endsWith('/broken') === true) {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(100, 0x61), () => res.destroy());
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const total = req.url?.endsWith('/within') === true ? LIMIT : 4 * LIMIT;
    let sent = 0;
    const more = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
  });
  await new Promise<void>((resolve) => streamer.listen(0, '127.0.0.1', resolve));

  counted = createServer((req, res) => {
    reached.requests += 1;
    req.resume();
    const body = req.url?.endsWith('/big') === true ? Buffer.alloc(LIMIT + 1, 0x62) : 'small';
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  counted.on('upgrade', (_req, socket: Duplex) => {
    reached.upgrades += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => counted.listen(0, '127.0.0.1', resolve));

  server = await startTestServer(
    { LANTERN_PROXY_MAX_RESPONSE_BYTES: String(LIMIT) },
    undefined,
    {},
    (ctx) => {
      ctx.instanceProxy.recordActivity = (instanceId) => {
        activity.push(instanceId);
        return Promise.resolve();
      };
      ctx.instanceProxy.resolve = (instanceId, principal) => {
        const found = instances.get(instanceId);
        return Promise.resolve(
          found !== undefined && principal.kind === 'user' && principal.userId === found.ownerId
            ? found.target
            : null,
        );
      };
    },
  );
  expect(server.ctx.instanceProxy.responseLimitBytes).toBe(LIMIT);
  owner = await createSignedInUser(server, {
    email: 'owner@example.org',
    roles: ['researcher'],
    password: PASSWORD,
  });
  stranger = await createSignedInUser(server, {
    email: 'stranger@example.org',
    roles: ['researcher'],
    password: PASSWORD,
  });

  const state = await settle();
  if (state.state !== 'running') {
    throw new Error(`the notebook did not start: ${JSON.stringify(state)}`);
  }
  instances.set(INSTANCE, {
    ownerId: owner.id,
    target: { endpoint: state.endpoint, token: jupyterToken, projectId: 'p_proxy' },
  });
  const port = (streamer.address() as AddressInfo).port;
  instances.set(COUNTED, {
    ownerId: owner.id,
    target: {
      endpoint: { url: `http://127.0.0.1:${(counted.address() as AddressInfo).port}` },
      token: 'unused',
      projectId: 'p_proxy',
    },
  });
  instances.set(SILENT, {
    ownerId: owner.id,
    target: {
      endpoint: { socketPath: join(work, 'nobody-listens.sock') },
      token: 'unused',
      projectId: 'p_proxy',
    },
  });
  instances.set(STREAMING, {
    ownerId: owner.id,
    target: {
      endpoint: { url: `http://127.0.0.1:${port}` },
      token: 'unused',
      projectId: 'p_proxy',
    },
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => streamer?.close(resolve));
  await new Promise((resolve) => counted?.close(resolve));
  if (handle !== undefined) {
    await backend.stop(handle);
  }
  await rm(work, { recursive: true, force: true });
});

describe(`the instance proxy to a real Jupyter, on ${TEST_DIALECT}`, () => {
  it("serves the notebook API to its owner, with Jupyter's token added and its cookies kept back, auditing the session once", async () => {
    const status = await call('GET', `${base}api/status`, owner);
    expect(status.status).toBe(200);
    expect(await status.json()).toHaveProperty('kernels');
    expect(status.headers.get('set-cookie')).toBeNull();
    expect(await actionsOf(status.headers.get('x-request-id'))).toEqual([
      'instance.session_opened',
    ]);
    // Each forwarded request is activity for the idle culler.
    expect(reportsFor(INSTANCE)).toBeGreaterThan(0);

    // A notebook written and read back through the contents API (a streamed request body).
    const notebook = {
      type: 'notebook',
      content: { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 },
    };
    const put = await call('PUT', `${base}api/contents/project/analysis.ipynb`, owner, notebook);
    expect(put.status).toBe(201);
    const read = await call('GET', `${base}api/contents/project/analysis.ipynb`, owner);
    expect(read.status).toBe(200);
    const body = await read.text();
    expect(JSON.parse(body)).toMatchObject({ name: 'analysis.ipynb', type: 'notebook' });
    expect(body).not.toContain(jupyterToken);
    // Later requests of the same session are not audited one by one.
    expect(await actionsOf(read.headers.get('x-request-id'))).toEqual([]);

    // Redirects point back through Lantern, never at Jupyter's own address.
    const bare = await fetch(`${server.url}/instances/${INSTANCE}`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe(base);
  });

  it('runs a cell over the kernel websocket through the proxy, and passes its close code', async () => {
    // The kernel created and its websocket opened through the proxy, as a browser on Lantern's
    // pages would (session cookie, same Origin).
    const kernel = await JupyterKernel.openAt(`${server.url}${base}`, {
      cookie: owner.cookie,
      origin: server.url,
    });

    // Opening is activity; a ping from the client (as a browser's pong) is not.
    const afterOpen = reportsFor(INSTANCE);
    expect(afterOpen).toBeGreaterThan(0);
    await kernel.ping();
    expect(reportsFor(INSTANCE)).toBe(afterOpen);

    const run = await kernel.execute(
      `import csv\nrows = list(csv.DictReader(open('/home/ngsci/datasets/${SLUG}/${VERSION}/tables/measurements.csv')))\nprint(sum(int(r['value']) for r in rows))`,
    );
    expect(run).toEqual({ status: 'ok', output: '1225\n', result: null });
    // The execute_request the client sent is a message: activity.
    expect(reportsFor(INSTANCE)).toBeGreaterThan(afterOpen);

    expect(await kernel.disconnect(4321, 'done here')).toBe(4321);

    await server.flushAudit();
    const events = await server.ctx.services.audit.list({ limit: 50 });
    const socketEvents = events
      .map((e) => parseAuditBody(e.body))
      .filter((e) => e.details['path'] === `/api/kernels/${kernel.id}/channels`);
    expect(socketEvents.map((e) => e.action).sort()).toEqual([
      'instance.websocket_closed',
      'instance.websocket_opened',
    ]);
    await kernel.close();
  });

  it('serves an API token holder too, the token never reaching Jupyter', async () => {
    const minted = await fetch(`${server.url}/api/v1/auth/tokens`, {
      method: 'POST',
      headers: { cookie: owner.cookie, 'x-lantern-csrf': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'notebook', scope: ['project.work'], expiresInDays: 1 }),
    });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    // A write with a token needs no Origin: no browser sends it.
    const created = await fetch(`${server.url}${base}api/contents/project`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'directory' }),
    });
    expect(created.status).toBe(201);
    // Jupyter would refuse a Bearer it does not know (403): it got its own token instead.
    const status = await fetch(`${server.url}${base}api/status`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(status.status).toBe(200);
    const wrong = await fetch(`${server.url}${base}api/status`, {
      headers: { authorization: 'Bearer lnt_not_a_token' },
    });
    expect(wrong.status).toBe(401);
  });

  it('refuses the unauthenticated (401), another user and an unknown instance alike (404)', async () => {
    const anonymous = await call('GET', `${base}api/status`, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    const notYours = await call('GET', `${base}api/status`, stranger);
    const unknown = await call('GET', '/instances/inst-nowhere/api/status', owner);
    expect(notYours.status).toBe(404);
    expect(unknown.status).toBe(404);
    const bodies = [
      (await notYours.json()) as { detail: string },
      (await unknown.json()) as { detail: string },
    ];
    expect(bodies[0]?.detail.replace(INSTANCE, 'X')).toBe(
      bodies[1]?.detail.replace('inst-nowhere', 'X'),
    );
    const events = await server.auditEventsFor(notYours.headers.get('x-request-id') ?? '');
    expect(events).toMatchObject([{ action: 'instance.proxy', outcome: 'denied' }]);

    // Websockets too: nobody, and another user.
    for (const [as, status] of [
      [null, 401],
      [stranger, 404],
    ] as const) {
      const refused = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}${base}api/events/subscribe`, {
          headers: as === null ? {} : { cookie: as.cookie },
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('opened')));
      });
      expect(refused).toBe(status);
    }
  });

  it("serves the same through the declared Fastify route (an injected request), after the lifecycle's checks", async () => {
    // Requests on the server's sockets take the lean path; the route Fastify declares serves the
    // rest through the same proxyRequest, after its hooks authenticated and authorized.
    const inject = (cookie: string | null) =>
      server.app.fastify.inject({
        method: 'GET',
        url: `${base}api/status`,
        headers: cookie === null ? {} : { cookie },
      });
    const served = await inject(owner.cookie);
    expect(served.statusCode).toBe(200);
    expect(served.json()).toHaveProperty('kernels');
    expect(served.headers['set-cookie']).toBeUndefined();
    expect((await inject(null)).statusCode).toBe(401);
    const notYours = await inject(stranger.cookie);
    expect(notYours.statusCode).toBe(404);
    const events = await server.auditEventsFor(String(notYours.headers['x-request-id']));
    expect(events).toMatchObject([
      { action: 'instance.proxy', outcome: 'denied', details: { route: '/instances/:id/*' } },
    ]);
  });

  it('audits a refusal with the peer address, not an X-Forwarded-For no trusted proxy vouches for', async () => {
    const res = await call('GET', `${base}api/status`, stranger, undefined, {
      'x-forwarded-for': '203.0.113.9',
    });
    expect(res.status).toBe(404);
    const events = await server.auditEventsFor(res.headers.get('x-request-id') ?? '');
    expect(events).toMatchObject([
      {
        action: 'instance.proxy',
        outcome: 'denied',
        details: { route: '/instances/:id/*', status: 404, via: 'session' },
      },
    ]);
    expect(events[0]?.clientIp).toMatch(/127\.0\.0\.1$/u);
  });

  it('refuses writes and websockets from other sites (CSRF)', async () => {
    const crossSite = await call(
      'POST',
      `${base}api/kernels`,
      owner,
      { name: 'python3' },
      {
        origin: 'https://elsewhere.example',
      },
    );
    expect(crossSite.status).toBe(403);
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}${base}api/events/subscribe`, {
        headers: { cookie: owner.cookie, origin: 'https://elsewhere.example' },
      });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('opened')));
    });
    expect(refused).toBe(403);
  });

  it('blocks every route that would carry data out, each with a 403 saying why and an audit event with the path', async () => {
    const dataset = `api/contents/datasets/${SLUG}/${VERSION}/tables/measurements.csv`;
    for (const [path, reason] of [
      [`files/datasets/${SLUG}/${VERSION}/tables/measurements.csv`, 'files'],
      ['api/contents/project/analysis.ipynb?download=1', 'download'],
      ['nbconvert/html/project/analysis.ipynb', 'nbconvert'],
      [dataset, 'dataset-contents'],
      [`api/contents/project/%2E%2E/${dataset.slice('api/contents/'.length)}`, 'unclear-path'],
    ] as const) {
      const res = await rawGet(`${base}${path}`, owner);
      expect(res.status, path).toBe(403);
      const problem = JSON.parse(res.body) as { code: string; detail: string };
      expect(problem.code).toBe('forbidden');
      expect(problem.detail).toMatch(
        reason === 'unclear-path' ? /the proxy does not forward it/ : /Nothing leaves an instance/,
      );
      const events = await server.auditEventsFor(res.requestId);
      expect(events, path).toMatchObject([
        {
          action: 'instance.egress_blocked',
          outcome: 'denied',
          target: INSTANCE,
          projectId: 'p_proxy',
          details: { path: `/${path.split('?')[0] ?? ''}`, reason },
        },
      ]);
    }
    // What is mounted can still be listed, without content.
    const listing = await call(
      'GET',
      `${base}api/contents/datasets/${SLUG}/${VERSION}/tables?content=0`,
      owner,
    );
    expect(listing.status).toBe(200);
    const directory = await call(
      'GET',
      `${base}api/contents/datasets/${SLUG}/${VERSION}/tables?type=directory`,
      owner,
    );
    expect(
      ((await directory.json()) as { content: { name: string }[] }).content.map((f) => f.name),
    ).toEqual(['measurements.csv']);
  });

  it('refuses a response that declares more than the limit, before sending any of it', async () => {
    const big = { type: 'file', format: 'text', content: 'x'.repeat(LIMIT + 1) };
    const put = await call('PUT', `${base}api/contents/project/big.txt`, owner, big);
    expect(put.status).toBe(201);
    const res = await call('GET', `${base}api/contents/project/big.txt`, owner);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { detail: string }).detail).toMatch(
      /larger than the proxy's limit/,
    );
    const events = await server.auditEventsFor(res.headers.get('x-request-id') ?? '');
    expect(events).toMatchObject([
      { action: 'instance.egress_blocked', details: { reason: 'response-size' } },
    ]);
  });

  it('cuts off a streamed response at the limit and records the cut', async () => {
    const { received, requestId, ended } = await streamFrom('stream');
    expect(ended).toBe(false);
    expect(received).toBeLessThanOrEqual(LIMIT);
    await server.flushAudit();
    const events = await server.ctx.services.audit.list({ limit: 50 });
    const cut = events
      .map((e) => parseAuditBody(e.body))
      .find((e) => e.action === 'instance.egress_blocked' && e.target === STREAMING);
    expect(cut?.details['detail']).toMatch(/^cut off after \d+ bytes of a 200 response$/);
    expect(requestId).not.toBe('');
  });

  it('passes a streamed response of exactly the limit whole', async () => {
    expect(await streamFrom('within')).toMatchObject({ received: LIMIT, ended: true });
  });

  it('breaks off its answer when the notebook breaks off mid-body', async () => {
    const { received, ended } = await streamFrom('broken');
    expect(ended).toBe(false);
    expect(received).toBeLessThanOrEqual(100);
  });

  it('answers HEAD with the headers of the answer and no body', async () => {
    const res = await call('HEAD', `/instances/${STREAMING}/within`, owner);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(await res.text()).toBe('');
  });

  it("ends the notebook's request when the client goes away mid-answer", async () => {
    const closed = new Promise<void>((resolve) => (onEndlessClosed = resolve));
    const req = httpRequest(`${server.url}/instances/${STREAMING}/endless`, {
      headers: { cookie: owner.cookie },
    });
    req.on('response', (res) => res.once('data', () => req.destroy()));
    req.on('error', () => undefined);
    req.end();
    // Resolves only once the proxy has closed its request to the notebook.
    await closed;
  });

  it('answers 503 when the notebook cannot be reached, naming only the instance', async () => {
    const res = await call('GET', `/instances/${SILENT}/api/status`, owner);
    expect(res.status).toBe(503);
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem).toMatchObject({
      code: 'unavailable',
      detail: `instance ${SILENT} does not answer`,
    });
    expect(JSON.stringify(problem)).not.toContain('nobody-listens');
  });

  describe('no answer without its audit record', () => {
    const MARKER = 'proxy-audit-refused';
    const counted = `/instances/${COUNTED}/`;

    /** A websocket handshake's status (101 when it opened). */
    const handshake = (path: string, requestId: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}${path}`, {
          headers: { cookie: owner.cookie, origin: server.url, 'x-request-id': requestId },
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('error', () => resolve(0));
      });

    it('forwards nothing, HTTP or websocket, when the session cannot be recorded (503)', async () => {
      const restore = await refuseAuditEventsOf(server, MARKER);
      try {
        const res = await call('GET', `${counted}small`, owner, undefined, {
          'x-request-id': `${MARKER}-1`,
        });
        expect(res.status).toBe(503);
        expect(((await res.json()) as { code: string }).code).toBe('unavailable');
        expect(await handshake(`${counted}api/events/subscribe`, `${MARKER}-2`)).toBe(503);
        expect(reached).toEqual({ requests: 0, upgrades: 0 });
      } finally {
        await restore();
      }
      // Recorded, the same request is forwarded: the session is opened now, not before.
      const res = await call('GET', `${counted}small`, owner, undefined, {
        'x-request-id': 'proxy-audit-written-1',
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('small');
      expect(reached.requests).toBe(1);
      expect(await actionsOf('proxy-audit-written-1')).toEqual(['instance.session_opened']);
    });

    it("opens no websocket whose opening cannot be recorded, and sends no block's 403 unrecorded (503)", async () => {
      const before = { ...reached };
      const restore = await refuseAuditEventsOf(server, MARKER);
      try {
        // The session is open (the test above): the websocket's own record is refused.
        expect(await handshake(`${counted}api/events/subscribe`, `${MARKER}-3`)).toBe(503);
        // Blocked by the egress guard: the 403 would say so, but only once recorded.
        const blocked = await rawGetWith(`${counted}files/x.csv`, `${MARKER}-4`);
        expect(blocked.status).toBe(503);
        expect(await handshake(`${counted}files/x.csv`, `${MARKER}-5`)).toBe(503);
        // Jupyter's answer declares more than the limit: the block is refused unrecorded too, and
        // none of the answer is sent.
        const big = await rawGetWith(`${counted}big`, `${MARKER}-6`);
        expect(big.status).toBe(503);
        expect(big.body).not.toContain('bbbb');
        expect(reached).toEqual({ requests: before.requests + 1, upgrades: before.upgrades });
      } finally {
        await restore();
      }
      const recorded = await rawGetWith(`${counted}big`, 'proxy-audit-written-2');
      expect(recorded.status).toBe(403);
      expect(await actionsOf('proxy-audit-written-2')).toEqual(['instance.egress_blocked']);
    });
  });
});
