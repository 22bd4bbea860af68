import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { AuditChainVerifier, sealAuditEvents } from './chain.js';
import { encodeAuditBody, GENESIS_HASH, parseAuditBody, type SealedAuditEvent } from './event.js';

function makeChain(length: number): SealedAuditEvent[] {
  const bodies = Array.from({ length }, (_, i) =>
    encodeAuditBody({
      time: new Date(Date.UTC(2026, 11, 4, 12, 0, i)),
      actor: i % 2 === 0 ? 'anonymous' : 'user:u_1',
      action: 'health.read',
      target: null,
      projectId: i === 3 ? 'p_1' : null,
      clientIp: '127.0.0.1',
      requestId: `req-${i}`,
      outcome: 'allowed',
      details: { status: 200, i },
    }),
  );
  return sealAuditEvents({ seq: 0, hash: GENESIS_HASH }, bodies);
}

function verify(events: readonly SealedAuditEvent[]) {
  const verifier = new AuditChainVerifier();
  for (const event of events) {
    if (!verifier.push(event)) {
      break;
    }
  }
  return verifier.result();
}

describe('audit event body and hash', () => {
  it('stores the event as canonical JSON with its schema version', () => {
    const [event] = makeChain(1);
    expect(event?.body).toBe(
      '{"action":"health.read","actor":"anonymous","clientIp":"127.0.0.1","details":{"i":0,"status":200},' +
        '"outcome":"allowed","projectId":null,"requestId":"req-0","target":null,"time":"2026-12-04T12:00:00.000Z","v":1}',
    );
    expect(parseAuditBody(event?.body ?? '')).toMatchObject({
      actor: 'anonymous',
      details: { i: 0 },
    });
  });

  it('hashes SHA-256 over previous hash, seq and body, chained from the genesis hash', () => {
    const [first, second] = makeChain(2);
    expect(first?.prevHash).toBe(GENESIS_HASH);
    expect(first?.hash).toBe(
      createHash('sha256')
        .update(`${GENESIS_HASH}\n1\n${first?.body ?? ''}`)
        .digest('hex'),
    );
    expect(second?.prevHash).toBe(first?.hash);
  });
});

describe('AuditChainVerifier', () => {
  it('accepts an intact chain and reports its head', () => {
    const chain = makeChain(10);
    const result = verify(chain);
    expect(result).toEqual({ ok: true, checked: 10, head: { seq: 10, hash: chain[9]?.hash } });
  });

  it('accepts an empty chain', () => {
    expect(verify([])).toEqual({ ok: true, checked: 0, head: { seq: 0, hash: GENESIS_HASH } });
  });

  it('catches an edited event and names its seq', () => {
    const chain = makeChain(10).map((e) =>
      e.seq === 4 ? { ...e, body: e.body.replace('"user:u_1"', '"user:someone-else"') } : e,
    );
    expect(verify(chain)).toMatchObject({
      ok: false,
      checked: 3,
      fault: { kind: 'edited', seq: 4 },
    });
  });

  it('catches edited details, outcome and time, and an edited hash', () => {
    for (const edit of [
      (e: SealedAuditEvent) => ({ ...e, body: e.body.replace('"status":200', '"status":403') }),
      (e: SealedAuditEvent) => ({ ...e, body: e.body.replace('"allowed"', '"denied"') }),
      (e: SealedAuditEvent) => ({ ...e, body: e.body.replace(':00:05.000Z', ':00:05.001Z') }),
      (e: SealedAuditEvent) => ({ ...e, body: e.body.replace('{"action"', '{ "action"') }),
      (e: SealedAuditEvent) => ({
        ...e,
        hash: e.hash.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
      }),
    ]) {
      const chain = makeChain(8).map((e) => (e.seq === 6 ? edit(e) : e));
      expect(verify(chain)).toMatchObject({ ok: false, fault: { kind: 'edited', seq: 6 } });
    }
  });

  it('catches a deleted event as a gap', () => {
    const chain = makeChain(10).filter((e) => e.seq !== 5);
    expect(verify(chain)).toMatchObject({
      ok: false,
      checked: 4,
      fault: { kind: 'missing', seq: 5 },
    });
  });

  it('catches a deleted event whose successors were renumbered', () => {
    const chain = makeChain(10)
      .filter((e) => e.seq !== 5)
      .map((e) => (e.seq > 5 ? { ...e, seq: e.seq - 1 } : e));
    expect(verify(chain)).toMatchObject({ ok: false, fault: { kind: 'broken_link', seq: 5 } });
  });

  it('catches an inserted event, even one hashed correctly onto its predecessor', () => {
    const chain = makeChain(10);
    const before = chain[3];
    if (before === undefined) {
      throw new Error('no event');
    }
    const [forged] = sealAuditEvents(before, [
      encodeAuditBody({
        time: new Date(),
        actor: 'anonymous',
        action: 'forged',
        target: null,
        projectId: null,
        clientIp: null,
        requestId: null,
        outcome: 'allowed',
        details: {},
      }),
    ]);
    if (forged === undefined) {
      throw new Error('no forged event');
    }
    const tampered = [
      ...chain.slice(0, 4),
      forged,
      ...chain.slice(4).map((e) => ({ ...e, seq: e.seq + 1 })),
    ];
    expect(verify(tampered)).toMatchObject({
      ok: false,
      checked: 5,
      fault: { kind: 'broken_link', seq: 6 },
    });
  });

  it('catches reordered events', () => {
    const chain = makeChain(10);
    const [a, b] = [chain[6], chain[7]];
    if (a === undefined || b === undefined) {
      throw new Error('no events');
    }
    const swapped = [
      ...chain.slice(0, 6),
      { ...b, seq: a.seq },
      { ...a, seq: b.seq },
      ...chain.slice(8),
    ];
    expect(verify(swapped)).toMatchObject({
      ok: false,
      checked: 6,
      fault: { kind: 'broken_link', seq: 7 },
    });
  });

  it('catches events served out of order (a duplicated seq)', () => {
    const chain = makeChain(5);
    const third = chain[2];
    if (third === undefined) {
      throw new Error('no event');
    }
    expect(verify([...chain.slice(0, 4), third])).toMatchObject({
      ok: false,
      fault: { kind: 'out_of_order', seq: 3 },
    });
  });

  it('continues a chain from a known head', () => {
    const chain = makeChain(6);
    const head = chain[2];
    if (head === undefined) {
      throw new Error('no event');
    }
    const verifier = new AuditChainVerifier(head);
    for (const e of chain.slice(3)) {
      verifier.push(e);
    }
    expect(verifier.result()).toMatchObject({ ok: true, checked: 3 });
  });
});
