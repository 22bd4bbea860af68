import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Time-based one-time passwords (RFC 6238 over HOTP, RFC 4226): HMAC-SHA1, 30-second steps, six
 * digits — what authenticator apps expect from an `otpauth://` URI. Secrets are 20 random bytes,
 * shown to the user in base32 (RFC 4648, no padding).
 */
export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding. */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31] ?? '';
      bits -= 5;
    }
  }
  if (bits > 0) {
    out += BASE32[(value << (5 - bits)) & 31] ?? '';
  }
  return out;
}

/** Decodes base32 (case and spaces ignored); null when a character is not base32. */
export function base32Decode(text: string): Buffer | null {
  const clean = text.replace(/[\s=]/gu, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) {
      return null;
    }
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new TOTP secret. */
export function generateTotpSecret(): Buffer {
  return randomBytes(20);
}

/** HOTP (RFC 4226 section 5.3): the code for `counter`. */
export function hotp(
  secret: Uint8Array,
  counter: number,
  digits = TOTP_DIGITS,
  algorithm = 'sha1',
): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, secret).update(message).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The TOTP time step of a moment (RFC 6238 section 4.2). */
export function totpStep(atMs: number): number {
  return Math.floor(atMs / 1000 / TOTP_STEP_SECONDS);
}

/**
 * Checks a code against the current step and one step either side (clock drift), never accepting
 * a step at or before `lastUsedStep` (a code is single-use, RFC 6238 section 5.2). Returns the
 * step it matched, to be stored as the new `lastUsedStep`, or null.
 */
export function verifyTotp(
  secret: Uint8Array,
  code: string,
  atMs: number,
  lastUsedStep: number | null,
): number | null {
  const given = code.replace(/\s/gu, '');
  if (!/^\d{6}$/u.test(given)) {
    return null;
  }
  const now = totpStep(atMs);
  let matched: number | null = null;
  for (const step of [now - 1, now, now + 1]) {
    const expected = hotp(secret, step);
    // Compare every candidate in constant time, so timing does not tell which step matched.
    if (
      timingSafeEqual(Buffer.from(expected), Buffer.from(given)) &&
      (lastUsedStep === null || step > lastUsedStep)
    ) {
      matched = step;
    }
  }
  return matched;
}

/** The `otpauth://` URI authenticator apps scan (Key Uri Format, Google Authenticator wiki). */
export function totpUri(secret: Uint8Array, account: string, issuer = 'Lantern'): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = new URLSearchParams({
    secret: base32Encode(secret),
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_STEP_SECONDS),
  });
  return `otpauth://totp/${label}?${params.toString()}`;
}
