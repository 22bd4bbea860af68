import { hash as digest } from 'node:crypto';
import { AUDIT_SCHEMA_VERSION, GENESIS_HASH, type SealedAuditEvent } from './event.js';

type Hashable = Omit<SealedAuditEvent, 'hash'>;

const quote = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value));

/**
 * The canonical encoding of an event that its hash covers: RFC 8785 canonical JSON of every field
 * but the hash itself, members in code-unit order. `details` is already canonical JSON and is
 * embedded verbatim, so hashing never parses it again (this is what lets verification run at
 * hundreds of thousands of events per second).
 */
export function encodeAuditEvent(event: Hashable): string {
  return (
    `{"action":${quote(event.action)},"actor":${quote(event.actor)},` +
    `"clientIp":${quote(event.clientIp)},"details":${event.details},` +
    `"outcome":${quote(event.outcome)},"prevHash":${quote(event.prevHash)},` +
    `"projectId":${quote(event.projectId)},"requestId":${quote(event.requestId)},` +
    `"seq":${String(event.seq)},"target":${quote(event.target)},` +
    `"time":${quote(event.time.toISOString())},"v":${String(event.schemaVersion)}}`
  );
}

/** SHA-256 (hex) of the canonical encoding. */
export function hashAuditEvent(event: Hashable): string {
  return hashEncoded(encodeAuditEvent(event));
}

/** SHA-256 (hex) of an encoding, one-shot (crypto.hash: about twice createHash's speed). */
export function hashEncoded(encoded: string | Uint8Array): string {
  return digest('sha256', encoded, 'hex');
}

/**
 * An event as the verifier needs it: the chain fields, and the canonical encoding of everything
 * the hash covers. The encoding may come from encodeAuditEvent or from the database (see the audit
 * repository), which must produce the same bytes.
 */
export interface EncodedAuditEvent {
  seq: number;
  prevHash: string;
  hash: string;
  encoded: string | Uint8Array;
}

/**
 * Links a batch of unsealed events onto the chain whose head is (`headSeq`, `headHash`): assigns
 * consecutive seqs and computes each hash over the previous one.
 */
export function sealAuditEvents(
  head: { seq: number; hash: string },
  events: readonly Omit<Hashable, 'seq' | 'prevHash' | 'schemaVersion'>[],
): SealedAuditEvent[] {
  let seq = head.seq;
  let prevHash = head.hash;
  return events.map((event) => {
    seq += 1;
    const unsealed: Hashable = { ...event, seq, prevHash, schemaVersion: AUDIT_SCHEMA_VERSION };
    const hash = hashAuditEvent(unsealed);
    prevHash = hash;
    return { ...unsealed, hash };
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
 * constant memory. Catches an edited row (its hash no longer matches its content), a deleted row
 * (a gap in seq, or a link that skips), an inserted row and reordered rows (a link that does not
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
    return this.pushEncoded({
      seq: event.seq,
      prevHash: event.prevHash,
      hash: event.hash,
      encoded: encodeAuditEvent(event),
    });
  }

  /** Feeds the next event, already encoded. */
  pushEncoded(event: EncodedAuditEvent): boolean {
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

  private check(event: EncodedAuditEvent): ChainFault | null {
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
    if (event.prevHash !== this.prevHash) {
      return {
        kind: 'broken_link',
        seq,
        detail: `seq ${seq} does not follow the previous event (an event was inserted, deleted or reordered)`,
      };
    }
    if (hashEncoded(event.encoded) !== event.hash) {
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
