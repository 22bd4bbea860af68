import { encodeAuditEvent } from '@lantern/core/audit';
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
  it('builds in SQL exactly the canonical encoding encodeAuditEvent builds', async () => {
    const db = server.ctx.database.db;
    await auditRepository.enqueue(
      db,
      TRICKY.map((text, i) => ({
        time: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, i * 7)),
        actor: `user:${text}`,
        action: `test.${i}`,
        target: i % 2 === 0 ? null : text,
        projectId: i === 1 ? text : null,
        clientIp: i === 2 ? null : '::1',
        requestId: text,
        outcome: 'allowed',
        details: { text, n: i, nested: { list: [text, null, 1.5] } },
      })),
    );
    await server.flushAudit();
    const events = await auditRepository.chainPage(db, 0, 1000);
    const encoded = await auditRepository.encodedChainRange(db, 0, 1000);
    expect(encoded.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
    for (const [i, event] of events.entries()) {
      expect(encoded[i]?.encoded).toBe(encodeAuditEvent(event));
      expect(encoded[i]).toMatchObject({ prevHash: event.prevHash, hash: event.hash });
    }
    expect(events.filter((e) => e.action.startsWith('test.'))).toHaveLength(TRICKY.length);
    expect(await server.ctx.services.audit.verify()).toMatchObject({ ok: true });
  });
});
