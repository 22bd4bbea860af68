import { sealAuditEvents } from '@lantern/core/audit';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../../testing/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  // Some traffic to chain.
  for (let i = 0; i < 12; i += 1) {
    await fetch(`${server.url}/api/v1/health`);
  }
  await server.flushAudit();
});

afterAll(async () => {
  await server.close();
});

/** Tampering as someone with database superuser rights would: with the guard trigger disabled. */
async function tamper(statement: ReturnType<typeof sql>): Promise<void> {
  await server.ctx.database.db.transaction().execute(async (trx) => {
    await sql`alter table audit_event disable trigger audit_event_no_change`.execute(trx);
    await statement.execute(trx);
    await sql`alter table audit_event enable trigger audit_event_no_change`.execute(trx);
  });
}

describe(`audit events in the transaction of their change, on ${TEST_DIALECT}`, () => {
  it('commits an event with its change and drops it when the change rolls back', async () => {
    const { db } = server.ctx.database;
    const audit = server.ctx.services.audit;
    await db.transaction().execute(async (trx) => {
      await audit.record(trx, { action: 'test.committed', details: { n: 1 } });
    });
    await expect(
      db.transaction().execute(async (trx) => {
        await audit.record(trx, { action: 'test.rolled_back', details: { n: 2 } });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await server.flushAudit();
    expect(await audit.list({ limit: 10, action: 'test.committed' })).toHaveLength(1);
    expect(await audit.list({ limit: 10, action: 'test.rolled_back' })).toHaveLength(0);
    expect(await audit.verify()).toMatchObject({ ok: true });
  });
});

describe(`audit chain verification on ${TEST_DIALECT}`, () => {
  it('verifies the chain the server wrote', async () => {
    const verdict = await server.ctx.services.audit.verify();
    expect(verdict.ok).toBe(true);
    expect(verdict.checked).toBeGreaterThanOrEqual(12);
  });

  it('names the first bad seq after an edit, and after the edit is undone verifies again', async () => {
    const original = await server.ctx.database.db
      .selectFrom('audit_event')
      .select('body')
      .where('seq', '=', 5)
      .executeTakeFirstOrThrow();
    await tamper(
      sql`update audit_event set body = replace(body, '"status":200', '"status":500') where seq = 5`,
    );
    expect(await server.ctx.services.audit.verify()).toMatchObject({
      ok: false,
      checked: 4,
      fault: { kind: 'edited', seq: 5 },
    });
    await tamper(sql`update audit_event set body = ${original.body} where seq = 5`);
    expect(await server.ctx.services.audit.verify()).toMatchObject({ ok: true });
  });

  it('names the seq of a deleted event', async () => {
    const row = await server.ctx.database.db
      .selectFrom('audit_event')
      .selectAll()
      .where('seq', '=', 7)
      .executeTakeFirstOrThrow();
    await tamper(sql`delete from audit_event where seq = 7`);
    expect(await server.ctx.services.audit.verify()).toMatchObject({
      ok: false,
      fault: { kind: 'missing', seq: 7 },
    });
    await server.ctx.database.db
      .insertInto('audit_event')
      .values({ seq: row.seq, prev_hash: row.prev_hash, hash: row.hash, body: row.body })
      .execute();
    expect(await server.ctx.services.audit.verify()).toMatchObject({ ok: true });
  });

  it('names the seq after an inserted event, even one hashed onto its predecessor', async () => {
    const { db } = server.ctx.database;
    const before = await db
      .selectFrom('audit_event')
      .select(['seq', 'hash'])
      .where('seq', '=', 8)
      .executeTakeFirstOrThrow();
    const [forged] = sealAuditEvents(before, ['{"action":"forged"}']);
    if (forged === undefined) {
      throw new Error('nothing forged');
    }
    // Make room after seq 8, highest first so the primary key never collides.
    const head = (await server.ctx.services.audit.status()).head?.seq ?? 0;
    for (let seq = head; seq > 8; seq -= 1) {
      await tamper(sql`update audit_event set seq = ${seq + 1} where seq = ${seq}`);
    }
    await db
      .insertInto('audit_event')
      .values({ seq: forged.seq, prev_hash: forged.prevHash, hash: forged.hash, body: forged.body })
      .execute();
    expect(await server.ctx.services.audit.verify()).toMatchObject({
      ok: false,
      fault: { kind: 'broken_link', seq: 10 },
    });
  });

  it('names the seq where events were reordered', async () => {
    // Swap the contents of seq 3 and 4 by renumbering through a free seq.
    await tamper(sql`update audit_event set seq = -4 where seq = 4`);
    await tamper(sql`update audit_event set seq = 4 where seq = 3`);
    await tamper(sql`update audit_event set seq = 3 where seq = -4`);
    expect(await server.ctx.services.audit.verify()).toMatchObject({
      ok: false,
      fault: { seq: 3 },
    });
  });
});
