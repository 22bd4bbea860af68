/**
 * UID remapping for de-identification (PS3.15 E.1.1 action U): a source UID becomes a new UID that
 * reveals nothing of it, the same one every time (so that references between files, and between
 * deliveries, still resolve), by a keyed HMAC. The new UID is PS3.5 B.2's "2.25." form: the decimal
 * of a 128-bit number, here the first 128 bits of HMAC-SHA-256(key, source UID).
 */
import { createHmac, createSecretKey } from 'node:crypto';

/** Maps a source UID to its replacement, the same one for the same source. */
export type UidRemapper = (uid: string) => string;

/** PS3.5 9.1: components of digits without leading zeros, separated by dots, at most 64 chars. */
const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/** Is the text a well-formed UID (PS3.5 9.1)? */
export function isUid(text: string): boolean {
  return text.length > 0 && text.length <= 64 && UID_PATTERN.test(text);
}

/**
 * The default remapper: HMAC-SHA-256 keyed by a per-deployment secret, its first 16 bytes read as
 * an unsigned big-endian integer, written `2.25.<decimal>` (at most 44 characters).
 */
export function hmacUidRemapper(key: Uint8Array | string): UidRemapper {
  if (key.length === 0) {
    throw new RangeError('the UID remapping key is empty');
  }
  // The key prepared once (a string key is its UTF-8 bytes, as createHmac takes it), not per UID.
  const secret = createSecretKey(typeof key === 'string' ? Buffer.from(key, 'utf8') : key);
  return (uid: string): string => {
    const digest = createHmac('sha256', secret).update(uid, 'latin1').digest();
    return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString(10)}`;
  };
}
