import { hash as digest } from 'node:crypto';
import { GENESIS_HASH, type SealedAuditEvent } from './event.js';

/**
 * What an event's hash covers: the previous event's hash (64 hex digits), the event's seq, and its
 * body, one per line. The body is canonical JSON, so no newline can occur before it, and the
 * framing is unambiguous. Verifying needs no parsing, only this concatenation and one SHA-256.
 */
export function frameAuditEvent(event: Omit<SealedAuditEvent, 'hash'>): string {
  return `${event.prevHash}\n${String(event.seq)}\n${event.body}`;
}

/** SHA-256 (hex) of the framed event (crypto.hash: one call, about twice createHash's speed). */
export function hashAuditEvent(event: Omit<SealedAuditEvent, 'hash'>): string {
  return digest('sha256', frameAuditEvent(event), 'hex');
}

/**
 * An event as verification reads it: seq, stored hash, and the framed text its hash must cover,
 * as the database frames the stored columns (so the verifier hashes without building strings).
 */
export interface FramedAuditEvent {
  seq: number;
  hash: string;
  framed: string;
}

const HASH_LENGTH = GENESIS_HASH.length;
const NEWLINE = 10;

/**
 * Links a batch of bodies onto the chain whose head is `head`: assigns consecutive seqs and
 * computes each hash over the previous one.
 */
export function sealAuditEvents(
  head: { seq: number; hash: string },
  bodies: readonly string[],
): SealedAuditEvent[] {
  let seq = head.seq;
  let prevHash = head.hash;
  return bodies.map((body) => {
    seq += 1;
    const hash = hashAuditEvent({ seq, prevHash, body });
    const sealed = { seq, prevHash, hash, body };
    prevHash = hash;
    return sealed;
  });
}

/** Why verification stopped at a seq. */
export type ChainFault =
  | { kind: 'missing'; seq: number; detail: string }
  | { kind: 'out_of_order'; seq: number; detail: string }
  | { kind: 'broken_link'; seq: number; detail: string }
  | { kind: 'edited'; seq: number; detail: string };

export type ChainVerdict =
  | { ok: true; checked: number; head: { seq: number; hash: string } }
  | { ok: false; checked: number; fault: ChainFault };

/**
 * Recomputes a chain fed in seq order, one event at a time, so a log of any length is verified in
 * constant memory. Catches an edited event (its hash no longer matches its content), a deleted one
 * (a gap in seq, or a link that skips), an inserted one and reordered ones (a link that does not
 * match the previous event's hash).
 */
export class AuditChainVerifier {
  private expectedSeq: number;
  private prevHash: string;
  private checkedCount = 0;
  private fault: ChainFault | null = null;

  constructor(start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH }) {
    this.expectedSeq = start.seq + 1;
    this.prevHash = start.hash;
  }

  /** Feeds the next event; returns false once a fault was found (further input is ignored). */
  push(event: SealedAuditEvent): boolean {
    return this.pushFramed({ seq: event.seq, hash: event.hash, framed: frameAuditEvent(event) });
  }

  /** Feeds the next event, framed; as push. */
  pushFramed(event: FramedAuditEvent): boolean {
    if (this.fault !== null) {
      return false;
    }
    this.fault = this.check(event);
    if (this.fault !== null) {
      return false;
    }
    this.checkedCount += 1;
    this.expectedSeq = event.seq + 1;
    this.prevHash = event.hash;
    return true;
  }

  private check(event: FramedAuditEvent): ChainFault | null {
    const seq = this.expectedSeq;
    if (event.seq > seq) {
      const missing = event.seq - 1 === seq ? `seq ${seq} is` : `seqs ${seq}..${event.seq - 1} are`;
      return { kind: 'missing', seq, detail: `${missing} missing (deleted)` };
    }
    if (event.seq < seq) {
      return {
        kind: 'out_of_order',
        seq: event.seq,
        detail: `seq ${event.seq} appears after seq ${seq - 1} (duplicated or reordered)`,
      };
    }
    const { framed } = event;
    if (
      !framed.startsWith(this.prevHash) ||
      framed.charCodeAt(HASH_LENGTH) !== NEWLINE ||
      !framed.startsWith(`${String(seq)}\n`, HASH_LENGTH + 1)
    ) {
      return {
        kind: 'broken_link',
        seq,
        detail: `seq ${seq} does not follow the previous event (an event was inserted, deleted or reordered)`,
      };
    }
    if (digest('sha256', framed, 'hex') !== event.hash) {
      return {
        kind: 'edited',
        seq,
        detail: `seq ${seq} does not match its hash (the event was edited)`,
      };
    }
    return null;
  }

  /** The verdict so far. */
  result(): ChainVerdict {
    if (this.fault !== null) {
      return { ok: false, checked: this.checkedCount, fault: this.fault };
    }
    return {
      ok: true,
      checked: this.checkedCount,
      head: { seq: this.expectedSeq - 1, hash: this.prevHash },
    };
  }
}
