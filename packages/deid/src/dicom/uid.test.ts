import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacUidRemapper, isUid } from './uid.js';

/** The mapping computed here with createHmac on the raw key, independently of uid.ts. */
function expected(key: Uint8Array | string, uid: string): string {
  const digest = createHmac('sha256', key).update(uid, 'latin1').digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString()}`;
}

describe('hmacUidRemapper', () => {
  const uids = ['1.2.840.10008.5.1.4.1.1.1', '1.2.826.0.1.3680043.10.1234.5.6', '0'];

  it('maps as HMAC-SHA-256 of the raw key, whether the key is bytes or text (UTF-8)', () => {
    const text = 'clé de test';
    const bytes = new TextEncoder().encode(text);
    const fromText = hmacUidRemapper(text);
    const fromBytes = hmacUidRemapper(bytes);
    for (const uid of uids) {
      expect(fromText(uid)).toBe(expected(text, uid));
      expect(fromBytes(uid)).toBe(expected(bytes, uid));
      expect(fromBytes(uid)).toBe(fromText(uid));
      expect(isUid(fromText(uid))).toBe(true);
    }
  });

  it('gives the same UID on every call and another under another key', () => {
    const remap = hmacUidRemapper('one key');
    expect(remap(uids[0] ?? '')).toBe(remap(uids[0] ?? ''));
    expect(hmacUidRemapper('another key')(uids[0] ?? '')).not.toBe(remap(uids[0] ?? ''));
  });

  it('refuses an empty key', () => {
    expect(() => hmacUidRemapper('')).toThrow(RangeError);
    expect(() => hmacUidRemapper(new Uint8Array(0))).toThrow(RangeError);
  });
});
