import { encodeAuditBody, frameAuditEvent, parseAuditBody } from '@lantern/core/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../../testing/test-server.js';
import { auditRepository } from './audit.repository.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const TRICKY = [
  'plain',
  'quote " backslash \\ slash /',
  'controls \b\f\n\r\t \u0001 \u001f del \u007f',
  'unicode é ß 中文 \u2028 \u2029 emoji 😀',
  '',
];

describe(`audit repository on ${TEST_DIALECT}`, () => {
  it('stores bodies byte for byte and derives its filter columns from them', async () => {
    const db = server.ctx.database.db;
    const inputs = TRICKY.map((text, i) => ({
      time: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, i * 7)),
      actor: `user:${text}`,
      action: `test.${i}`,
      target: i % 2 === 0 ? null : text,
      projectId: i === 1 ? text : null,
      clientIp: i === 2 ? null : '::1',
      requestId: `tricky-${i}`,
      outcome: 'allowed' as const,
      details: { text, n: i, nested: { list: [text, null, 1.5] } },
    }));
    await auditRepository.enqueue(db, inputs.map(encodeAuditBody));
    await server.flushAudit();
    for (const [i, input] of inputs.entries()) {
      const [event] = await auditRepository.list(db, { limit: 5, requestId: `tricky-${i}` });
      expect(event?.body).toBe(encodeAuditBody(input));
      expect(parseAuditBody(event?.body ?? '')).toMatchObject({
        actor: input.actor,
        details: input.details,
      });
      const columns = await db
        .selectFrom('audit_event')
        .select(['actor', 'project_id'])
        .where('seq', '=', event?.seq ?? -1)
        .executeTakeFirstOrThrow();
      expect(columns).toEqual({
        actor: input.actor,
        project_id: input.projectId,
      });
    }
    expect(await auditRepository.list(db, { limit: 10, projectId: TRICKY[1] })).toHaveLength(1);
    expect(await server.ctx.services.audit.verify()).toMatchObject({ ok: true });
  });

  it('reads the chain in seq ranges, framed by the database exactly as frameAuditEvent frames', async () => {
    const db = server.ctx.database.db;
    const head = (await auditRepository.head(db))?.seq ?? 0;
    expect(head).toBeGreaterThanOrEqual(TRICKY.length);
    const framed = await auditRepository.framedChainRange(db, 0, head);
    const events = (await auditRepository.list(db, { limit: 1000 })).reverse();
    expect(framed.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
    for (const [i, event] of events.entries()) {
      expect(framed[i]).toEqual({
        seq: event.seq,
        hash: event.hash,
        framed: frameAuditEvent(event),
      });
    }
    expect((await auditRepository.framedChainRange(db, 1, 3)).map((e) => e.seq)).toEqual([2, 3]);
  });
});
