import { ApiError } from '@lantern/sdk';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ LANTERN_BODY_LIMIT_BYTES: '2048' });
});

afterAll(async () => {
  await server.close();
});

const eventsFor = (requestId: string) => server.auditEventsFor(requestId);

describe(`HTTP API on ${TEST_DIALECT}`, () => {
  describe('GET /api/v1/health', () => {
    it('reports each component with a reason', async () => {
      const report = await server.client.getHealth();
      expect(report.checks.database).toMatchObject({ ok: true, dialect: TEST_DIALECT });
      expect(report.checks.objectStore).toMatchObject({ ok: true, kind: 'local' });
      expect(report.checks.compute.backend).toBe('local');
      expect(report.checks.compute.detail).not.toBe('');
      expect(report.checks.audit.ok).toBe(true);
      expect(['ok', 'degraded']).toContain(report.status);
      expect(report.status === 'ok').toBe(report.checks.compute.ok);
    });

    it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
      const safe = await fetch(`${server.url}/api/v1/health`, {
        headers: { 'x-request-id': 'trace-123' },
      });
      expect(safe.headers.get('x-request-id')).toBe('trace-123');
      const unsafe = await fetch(`${server.url}/api/v1/health`, {
        headers: { 'x-request-id': 'bad id\twith spaces' },
      });
      expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('GET /api/v1/openapi.json', () => {
    it('describes every API route from its schemas', async () => {
      const res = await fetch(`${server.url}/api/v1/openapi.json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as {
        openapi: string;
        paths: Record<string, Record<string, { operationId?: string }>>;
      };
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.paths['/api/v1/health']?.['get']?.operationId).toBe('getHealth');
      expect(doc.paths['/api/v1/audit/events']?.['get']?.operationId).toBe('listAuditEvents');
      expect(doc.paths['/api/v1/audit/verify']?.['post']?.operationId).toBe('verifyAuditChain');
      expect(Object.keys(doc.paths).every((p) => p.startsWith('/api/v1/'))).toBe(true);
    });

    it('describes each answer of a launch, restart and stop, with the instance and where to poll it', async () => {
      const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as {
        paths: Record<
          string,
          Record<
            string,
            {
              responses: Record<
                string,
                {
                  description: string;
                  headers?: Record<string, { description?: string }>;
                  content?: Record<string, { schema: { $ref?: string } }>;
                }
              >;
            }
          >
        >;
      };
      const answers = [
        ['/api/v1/projects/{id}/instances', 'post', ['201', '202'], true],
        ['/api/v1/instances/{id}/restart', 'post', ['200', '202'], true],
        ['/api/v1/instances/{id}/stop', 'post', ['202'], false],
      ] as const;
      for (const [path, method, statuses, polled] of answers) {
        for (const status of statuses) {
          const response = doc.paths[path]?.[method]?.responses[status];
          const where = `${method} ${path} ${status}`;
          expect(response?.description, where).toBeDefined();
          expect(response?.description, where).not.toBe('Default Response');
          expect(response?.content?.['application/json']?.schema.$ref, where).toBe(
            '#/components/schemas/Instance',
          );
          if (polled) {
            expect(response?.headers?.['location']?.description, where).toMatch(
              /^Where to poll the instance/u,
            );
          }
        }
      }
    });
  });

  describe('errors are application/problem+json with a stable code', () => {
    it('answers an unknown API route with 404', async () => {
      for (const [method, path] of [
        ['GET', '/api/v1/no-such-thing'],
        ['POST', '/api/v1/no-such-thing'],
        ['DELETE', '/api/v1/health'],
      ] as const) {
        const res = await fetch(`${server.url}${path}`, { method });
        expect(res.status).toBe(404);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body).toMatchObject({
          status: 404,
          code: 'not_found',
          type: 'urn:lantern:problem:not_found',
        });
        expect(body['requestId']).toBe(res.headers.get('x-request-id'));
      }
    });

    it('answers malformed JSON with 400 saying where', async () => {
      const res = await fetch(`${server.url}/api/v1/audit/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"from": 1,',
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { code: string; detail: string };
      expect(body.code).toBe('invalid_json');
      expect(body.detail).toMatch(/not valid JSON: .*position|not valid JSON: .*JSON/);
    });

    it('refuses prototype poisoning in JSON bodies', async () => {
      const res = await fetch(`${server.url}/api/v1/audit/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"__proto__": {"admin": true}}',
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('invalid_json');
    });

    it('answers invalid parameters with 400 naming each field', async () => {
      const res = await fetch(`${server.url}/api/v1/audit/events?limit=abc&before=-3`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as {
        code: string;
        detail: string;
        errors: { path: string }[];
      };
      expect(body.code).toBe('validation_failed');
      expect(body.errors.map((e) => e.path).sort()).toEqual([
        'querystring.before',
        'querystring.limit',
      ]);
      expect(body.detail).toContain('querystring.limit');
    });

    it('answers an oversize body with 413', async () => {
      const res = await fetch(`${server.url}/api/v1/audit/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ padding: 'x'.repeat(4096) }),
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { code: string }).code).toBe('payload_too_large');
    });

    it('answers an unsupported media type with 415', async () => {
      const res = await fetch(`${server.url}/api/v1/audit/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-evil' },
        body: 'x',
      });
      expect(res.status).toBe(415);
      expect(((await res.json()) as { code: string }).code).toBe('unsupported_media_type');
    });

    it('denies a route the caller lacks the permission for with 401, through the SDK too', async () => {
      const error = await server.client.listAuditEvents().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 401, code: 'unauthenticated' });
      await expect(server.client.verifyAuditChain()).rejects.toMatchObject({ status: 401 });
    });
  });

  describe('every request writes an audit event', () => {
    it('records an allowed request', async () => {
      const res = await fetch(`${server.url}/api/v1/health`, {
        headers: { 'x-request-id': 'audit-allowed-1' },
      });
      expect(res.status).toBe(200);
      const [event, ...more] = await eventsFor('audit-allowed-1');
      expect(more).toHaveLength(0);
      expect(event).toMatchObject({
        action: 'health.read',
        outcome: 'allowed',
        actor: 'anonymous',
      });
      expect(event?.clientIp).toBe('127.0.0.1');
      expect(event?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(event?.details).toMatchObject({
        method: 'GET',
        route: '/api/v1/health',
        status: 200,
      });
    });

    it('records a denied request', async () => {
      await fetch(`${server.url}/api/v1/audit/events`, {
        headers: { 'x-request-id': 'audit-denied-1' },
      });
      const [event] = await eventsFor('audit-denied-1');
      expect(event).toMatchObject({ action: 'audit.list', outcome: 'denied' });
      expect(event?.details).toMatchObject({ status: 401 });
    });

    it('records failed requests: unknown route, malformed body, invalid parameters', async () => {
      await fetch(`${server.url}/api/v1/nothing-here`, {
        method: 'PUT',
        headers: { 'x-request-id': 'audit-failed-1' },
      });
      await fetch(`${server.url}/api/v1/audit/verify`, {
        method: 'POST',
        headers: { 'x-request-id': 'audit-failed-2', 'content-type': 'application/json' },
        body: '{',
      });
      await fetch(`${server.url}/api/v1/audit/events?limit=0`, {
        headers: { 'x-request-id': 'audit-failed-3' },
      });
      expect(await eventsFor('audit-failed-1')).toMatchObject([
        { action: 'http.not_found', outcome: 'failed' },
      ]);
      expect(await eventsFor('audit-failed-2')).toMatchObject([
        { action: 'audit.verify', outcome: 'failed' },
      ]);
      expect(await eventsFor('audit-failed-3')).toMatchObject([
        { action: 'audit.list', outcome: 'failed' },
      ]);
    });

    it('records a URL that cannot be decoded, answered as a problem', async () => {
      const res = await fetch(`${server.url}/api/v1/%zz`, {
        headers: { 'x-request-id': 'audit-bad-url-1' },
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ code: 'bad_request', requestId: 'audit-bad-url-1' });
      expect(await eventsFor('audit-bad-url-1')).toMatchObject([
        { action: 'http.bad_request', outcome: 'failed', actor: 'anonymous' },
      ]);
    });

    it('keeps the chain intact under many concurrent requests', async () => {
      const before = (await server.ctx.services.audit.status()).head?.seq ?? 0;
      const responses = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          fetch(`${server.url}/api/v1/health`, { headers: { 'x-request-id': `burst-${i}` } }),
        ),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      await server.flushAudit();
      const after = (await server.ctx.services.audit.status()).head?.seq ?? 0;
      expect(after - before).toBeGreaterThanOrEqual(60);
      const verdict = await server.ctx.services.audit.verify();
      expect(verdict).toMatchObject({ ok: true });
    });
  });

  describe('the audit log is append-only', () => {
    it('refuses updates, deletes and truncation of sealed events', async () => {
      await fetch(`${server.url}/api/v1/health`);
      await server.flushAudit();
      const db = server.ctx.database.db;
      await expect(
        db.updateTable('audit_event').set({ body: '{}' }).where('seq', '=', 1).execute(),
      ).rejects.toThrow(/append-only/);
      await expect(db.deleteFrom('audit_event').where('seq', '=', 1).execute()).rejects.toThrow(
        /append-only/,
      );
      await expect(sql`truncate audit_event`.execute(db)).rejects.toThrow(/append-only/);
      expect(await server.ctx.services.audit.verify()).toMatchObject({ ok: true });
    });
  });
});

describe('routes', () => {
  it('each declare one permission from the closed list', () => {
    const listed = server.app.routes
      .map((r) => `${r.method} ${r.url} ${r.permission ?? 'NONE'}`)
      .sort();
    expect(listed).toEqual(
      [
        'DELETE /api/v1/auth/sessions/:id account',
        'DELETE /api/v1/auth/token public',
        'DELETE /api/v1/auth/tokens/:id account',
        'GET /* public',
        'GET /api/* public',
        'GET /api/v1/admin/outbox outbox.read',
        'GET /api/v1/admission/me account',
        'HEAD /api/v1/admission/me account',
        'PUT /api/v1/admission/me/evidence account',
        'PUT /api/v1/admission/me/certificate-file account',
        'GET /api/v1/admission/me/certificate-file account',
        'HEAD /api/v1/admission/me/certificate-file account',
        'GET /api/v1/admission/applicants/:id/certificate-file admission.review',
        'HEAD /api/v1/admission/applicants/:id/certificate-file admission.review',
        'GET /api/v1/admission/queue admission.review',
        'HEAD /api/v1/admission/queue admission.review',
        'POST /api/v1/admission/decisions admission.review',
        'HEAD /api/v1/admin/outbox outbox.read',
        'GET /api/v1/audit/events audit.read',
        'GET /api/v1/auth/session public',
        'GET /api/v1/auth/sessions account',
        'GET /api/v1/auth/token public',
        'GET /api/v1/auth/tokens account',
        'GET /api/v1/health public',
        'GET /api/v1/openapi.json public',
        'HEAD /* public',
        'HEAD /api/* public',
        'HEAD /api/v1/audit/events audit.read',
        'HEAD /api/v1/auth/session public',
        'HEAD /api/v1/auth/sessions account',
        'HEAD /api/v1/auth/token public',
        'HEAD /api/v1/auth/tokens account',
        'HEAD /api/v1/health public',
        'HEAD /api/v1/openapi.json public',
        'POST /api/v1/audit/verify audit.verify',
        'POST /api/v1/auth/register public',
        'POST /api/v1/auth/verify-email public',
        'POST /api/v1/auth/verify-email/resend public',
        'POST /api/v1/auth/password-reset public',
        'POST /api/v1/auth/set-password public',
        'POST /api/v1/auth/sign-out-everywhere account',
        'POST /api/v1/auth/sign-in public',
        'POST /api/v1/auth/sign-out public',
        'POST /api/v1/auth/tokens account',
        'GET /api/v1/terms public',
        'HEAD /api/v1/terms public',
        'GET /api/v1/terms/versions/:version public',
        'HEAD /api/v1/terms/versions/:version public',
        'GET /api/v1/terms/standing account',
        'HEAD /api/v1/terms/standing account',
        'POST /api/v1/terms/accept account',
        'GET /api/v1/admin/terms terms.manage',
        'HEAD /api/v1/admin/terms terms.manage',
        'POST /api/v1/admin/terms terms.manage',
        'GET /api/v1/auth/second-factor account',
        'HEAD /api/v1/auth/second-factor account',
        'POST /api/v1/auth/second-factor/enrolment account',
        'POST /api/v1/auth/second-factor/enrolment/confirm account',
        'POST /api/v1/auth/second-factor/recovery-codes account',
        'POST /api/v1/auth/second-factor/disable account',
        'GET /api/v1/admin/users user.manage',
        'HEAD /api/v1/admin/users user.manage',
        'GET /api/v1/admin/users/:id user.manage',
        'HEAD /api/v1/admin/users/:id user.manage',
        'POST /api/v1/admin/users/:id/suspend user.manage',
        'POST /api/v1/admin/users/:id/reinstate user.manage',
        'PUT /api/v1/admin/users/:id/roles user.manage',
        'GET /api/v1/dataset-categories public',
        'HEAD /api/v1/dataset-categories public',
        'POST /api/v1/dataset-categories catalog.manage',
        'GET /api/v1/datasets public',
        'HEAD /api/v1/datasets public',
        'POST /api/v1/datasets catalog.curate',
        'GET /api/v1/datasets/:slug public',
        'HEAD /api/v1/datasets/:slug public',
        'PUT /api/v1/datasets/:slug catalog.curate',
        'GET /api/v1/datasets/:slug/versions/:version public',
        'HEAD /api/v1/datasets/:slug/versions/:version public',
        'GET /api/v1/datasets/:slug/versions/:version/schematic.svg public',
        'HEAD /api/v1/datasets/:slug/versions/:version/schematic.svg public',
        'POST /api/v1/datasets/:slug/versions/:version/retire catalog.curate',
        'POST /api/v1/datasets/:slug/draft catalog.curate',
        'PUT /api/v1/datasets/:slug/draft/documentation catalog.curate',
        'PUT /api/v1/datasets/:slug/draft/dictionary catalog.curate',
        'PUT /api/v1/datasets/:slug/draft/tables/:table catalog.curate',
        'PUT /api/v1/datasets/:slug/draft/tables/:table/keys catalog.curate',
        'DELETE /api/v1/datasets/:slug/draft/tables/:table catalog.curate',
        'GET /api/v1/datasets/:slug/draft/publication catalog.curate',
        'HEAD /api/v1/datasets/:slug/draft/publication catalog.curate',
        'POST /api/v1/datasets/:slug/draft/publish catalog.curate',
        'GET /api/v1/datasets/:slug/draft/phi catalog.curate',
        'HEAD /api/v1/datasets/:slug/draft/phi catalog.curate',
        'GET /api/v1/datasets/:slug/draft/examples catalog.curate',
        'HEAD /api/v1/datasets/:slug/draft/examples catalog.curate',
        'POST /api/v1/datasets/:slug/draft/phi/decisions catalog.curate',
        'GET /api/v1/datasets/:slug/draft/held catalog.curate',
        'HEAD /api/v1/datasets/:slug/draft/held catalog.curate',
        'GET /api/v1/datasets/:slug/draft/held/:file/preview catalog.curate',
        'HEAD /api/v1/datasets/:slug/draft/held/:file/preview catalog.curate',
        'POST /api/v1/datasets/:slug/draft/held/decisions catalog.curate',
        'POST /api/v1/ingests catalog.curate',
        'GET /api/v1/ingests/:id/files catalog.curate',
        'HEAD /api/v1/ingests/:id/files catalog.curate',
        'PUT /api/v1/ingests/:id/files/:index catalog.curate',
        'POST /api/v1/ingests/:id/run catalog.curate',
        'GET /api/v1/ingests/:id catalog.curate',
        'HEAD /api/v1/ingests/:id catalog.curate',
        'DELETE /api/v1/ingests/:id catalog.curate',
        'POST /api/v1/datasets/:slug/reports catalog.report',
        'GET /api/v1/reports/mine account',
        'HEAD /api/v1/reports/mine account',
        'GET /api/v1/catalog/reports catalog.curate',
        'HEAD /api/v1/catalog/reports catalog.curate',
        'POST /api/v1/catalog/reports/:id/answer catalog.curate',
        'GET /api/v1/datasets/:slug/versions/:version/fixed-reports public',
        'HEAD /api/v1/datasets/:slug/versions/:version/fixed-reports public',
        'PUT /api/v1/admin/users/:id/delegate-partners user.manage',
        'POST /api/v1/admin/users/:id/second-factor/reset user.manage',
        'POST /api/v1/projects project.work',
        'GET /api/v1/projects project.work',
        'HEAD /api/v1/projects project.work',
        'GET /api/v1/projects/:id project.work',
        'HEAD /api/v1/projects/:id project.work',
        'PATCH /api/v1/projects/:id project.work',
        'POST /api/v1/projects/:id/datasets project.work',
        'POST /api/v1/projects/:id/invitations project.work',
        'DELETE /api/v1/projects/:id/invitations/:invitationId project.work',
        'POST /api/v1/invitations/accept account',
        'PUT /api/v1/projects/:id/members/:userId project.work',
        'DELETE /api/v1/projects/:id/members/:userId project.work',
        'POST /api/v1/projects/:id/leave project.work',
        'POST /api/v1/projects/:id/transfer project.work',
        'POST /api/v1/projects/:id/archive project.work',
        'GET /api/v1/access-requests access.review',
        'HEAD /api/v1/access-requests access.review',
        'POST /api/v1/access-requests/:id/decision access.review',
        'GET /api/v1/instance-types project.work',
        'HEAD /api/v1/instance-types project.work',
        'GET /api/v1/projects/:id/instances project.work',
        'HEAD /api/v1/projects/:id/instances project.work',
        'POST /api/v1/projects/:id/instances project.work',
        'GET /api/v1/instances/:id project.work',
        'HEAD /api/v1/instances/:id project.work',
        'GET /api/v1/instances/:id/usage project.work',
        'HEAD /api/v1/instances/:id/usage project.work',
        'POST /api/v1/instances/:id/stop project.work',
        'POST /api/v1/instances/:id/restart project.work',
        'PUT /api/v1/admin/projects/:id/paid-instances compute.manage',
        'GET /api/v1/projects/:id/spend project.work',
        'HEAD /api/v1/projects/:id/spend project.work',
        'GET /api/v1/projects/:id/releases project.work',
        'HEAD /api/v1/projects/:id/releases project.work',
        'GET /api/v1/releases release.review',
        'HEAD /api/v1/releases release.review',
        // Members and reviewers: the service tells them apart (anyone else: 404).
        'GET /api/v1/releases/:id account',
        'HEAD /api/v1/releases/:id account',
        'GET /api/v1/releases/:id/files/:fileId/preview account',
        'HEAD /api/v1/releases/:id/files/:fileId/preview account',
        'GET /api/v1/releases/:id/files/:fileId/image account',
        'GET /api/v1/releases/:id/files/:fileId/content project.work',
        'POST /api/v1/releases/:id/decision release.review',
        'POST /api/v1/releases/:id/withdraw project.work',
        'GET /instances/:id public',
        'HEAD /instances/:id public',
        ...['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map(
          (method) => `${method} /instances/:id/* project.work`,
        ),
        'GET /platform/v1/* public',
        'POST /platform/v1/* public',
      ].sort(),
    );
  });
});
