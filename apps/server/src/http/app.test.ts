import { readFile } from 'node:fs/promises';
import { AppError } from '@lantern/core';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../testing/test-server.js';

describe('the server', () => {
  it('answers an unexpected error with 500 problem+json and no stack, and audits it as failed', async () => {
    const server = await startTestServer({}, (fastify) => {
      fastify.get(
        '/api/v1/test/explode',
        { config: { permission: 'public', action: 'test.explode' } },
        async () => {
          throw new Error('secret internal detail at /srv/lantern/db.ts:42');
        },
      );
    });
    try {
      const res = await fetch(`${server.url}/api/v1/test/explode`, {
        headers: { 'x-request-id': 'explode-1' },
      });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).not.toContain('secret internal detail');
      expect(text).not.toMatch(/at .*\.ts:\d+/);
      expect(JSON.parse(text)).toMatchObject({ code: 'internal', requestId: 'explode-1' });
      const events = await server.auditEventsFor('explode-1');
      expect(events).toMatchObject([{ action: 'test.explode', outcome: 'failed' }]);
    } finally {
      await server.close();
    }
  });

  it('passes an AppError code through unchanged', async () => {
    const server = await startTestServer({}, (fastify) => {
      fastify.get(
        '/api/v1/test/conflict',
        { config: { permission: 'public', action: 'test.conflict' } },
        async () => {
          throw new AppError('conflict', 'that name is taken');
        },
      );
    });
    try {
      const res = await fetch(`${server.url}/api/v1/test/conflict`);
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({
        code: 'conflict',
        detail: 'that name is taken',
        title: 'Conflict',
      });
    } finally {
      await server.close();
    }
  });

  it('refuses to start when a route declares no permission', async () => {
    await expect(
      startTestServer({}, (fastify) => {
        fastify.get('/api/v1/test/open-door', async () => 'oops');
      }),
    ).rejects.toThrow('routes without a declared permission: GET /api/v1/test/open-door');
  });

  it('serves the same OpenAPI document the SDK was generated from (run `npm run generate:sdk` if not)', async () => {
    const server = await startTestServer();
    try {
      const live = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
      const committed = JSON.parse(
        await readFile(new URL('../../../../packages/sdk/openapi.json', import.meta.url), 'utf8'),
      ) as unknown;
      expect(live).toEqual(committed);
    } finally {
      await server.close();
    }
  });
});
