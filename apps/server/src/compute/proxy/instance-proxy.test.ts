/**
 * The instance proxy on its own in front of stand-in notebooks: what it keeps of a notebook once
 * its connections are gone (nothing), whether they were closed by the notebook or never opened,
 * and HTTP that Jupyter rarely speaks (informational answers, a client's `Expect: 100-continue`).
 * The proxy against a real Jupyter is tested in http/instances/instance-proxy.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InstanceProxy, type ResolvedInstance } from './instance-proxy.js';

let work: string;
let notebook: Server;
/** A notebook that keeps its connections: early hints before its answer, or the body's length. */
let talkative: Server;
let front: Server;
let frontUrl: string;
const proxy = new InstanceProxy();
/** Where the front server forwards, by the first path segment. */
const targets = new Map<string, ResolvedInstance>();

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-proxy-pools-'));
  // A notebook that closes its connection after each answer.
  notebook = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': 2, connection: 'close' });
    res.end('ok');
  });
  targets.set('closing', { endpoint: { url: await listen(notebook) }, token: 't', projectId: 'p' });
  talkative = createServer((req, res) => {
    let length = 0;
    req.on('data', (chunk: Buffer) => (length += chunk.length));
    req.on('end', () => {
      if (req.url?.startsWith('/hints/') === true) {
        res.writeEarlyHints({ link: '</static/style.css>; rel=preload; as=style' });
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${length}`);
    });
  });
  const talkativeUrl = await listen(talkative);
  for (const name of ['hints', 'echo']) {
    targets.set(name, { endpoint: { url: talkativeUrl }, token: 't', projectId: 'p' });
  }
  targets.set('silent', {
    endpoint: { socketPath: join(work, 'nobody-listens.sock') },
    token: 't',
    projectId: 'p',
  });
  front = createServer((req, res) => {
    const target = targets.get((req.url ?? '').split('/')[1] ?? '');
    if (target === undefined) {
      res.writeHead(404).end();
      return;
    }
    void proxy.forward(req, res, target, req.url ?? '/', () => {
      res.writeHead(502).end();
    });
  });
  frontUrl = await listen(front);
});

afterAll(async () => {
  proxy.close();
  await new Promise((resolve) => front?.close(resolve));
  await new Promise((resolve) => notebook?.close(resolve));
  await new Promise((resolve) => talkative?.close(resolve));
  await rm(work, { recursive: true, force: true });
});

describe('the instance proxy’s connections to notebooks', () => {
  it('keeps nothing of a notebook that closed its connections', async () => {
    const res = await fetch(`${frontUrl}/closing/api/status`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    await vi.waitFor(() => expect(proxy.pooledNotebooks).toBe(0));
  });

  it('keeps nothing of a notebook that cannot be reached', async () => {
    const res = await fetch(`${frontUrl}/silent/api/status`);
    expect(res.status).toBe(502);
    expect(proxy.pooledNotebooks).toBe(0);
  });

  it('passes the final answer after an informational one (103), and not the 103 itself', async () => {
    const res = await fetch(`${frontUrl}/hints/page`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('GET 0');
  });

  it("forwards the body of a client that asked to continue first, the 100 being the proxy's own", async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${frontUrl}/echo/upload`, {
        method: 'PUT',
        headers: { expect: '100-continue', 'content-length': 5 },
      });
      req.on('continue', () => req.end('12345'));
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    expect(answer).toEqual({ status: 200, body: 'PUT 5' });
  });
});
