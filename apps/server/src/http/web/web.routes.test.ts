import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_CONTENT_SECURITY_POLICY, webRoutes } from './web.routes.js';

// The browser app's files as the server gives them: every one under a deny-by-default Content
// Security Policy that lets the app run its own module workers (the ingest page's hashing, issue
// 6), and a worker's script as JavaScript (a module worker of another type does not start). The
// built app is served the same way in apps/web/e2e/ingest-web.e2e.test.ts.
let webDir: string;
let app: FastifyInstance;

beforeAll(async () => {
  webDir = await mkdtemp(join(tmpdir(), 'lantern-web-routes-'));
  await mkdir(join(webDir, 'assets'));
  await writeFile(join(webDir, 'index.html'), '<!doctype html><title>Lantern</title>');
  await writeFile(join(webDir, 'assets', 'upload-hash.worker-AbC123.js'), 'self.postMessage(1);');
  app = Fastify();
  await app.register(webRoutes(webDir));
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await rm(webDir, { recursive: true, force: true });
});

describe('the web app’s files', () => {
  it('go under a policy that denies by default and allows the app’s own workers', async () => {
    const directives = new Map(
      APP_CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('worker-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    for (const url of ['/', '/datasets/ingest', '/assets/upload-hash.worker-AbC123.js']) {
      const response = await app.inject({ url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-security-policy']).toBe(APP_CONTENT_SECURITY_POLICY);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serve a worker’s script as JavaScript', async () => {
    const response = await app.inject({ url: '/assets/upload-hash.worker-AbC123.js' });
    expect(response.headers['content-type']).toMatch(/^(text|application)\/javascript\b/u);
    expect(response.body).toBe('self.postMessage(1);');
  });
});
