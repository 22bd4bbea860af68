import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { base32Encode } from './totp.js';

/**
 * Opaque secrets handed to users — session cookies, API tokens, verification and invitation links,
 * recovery codes. 32 random bytes, shown once; only their SHA-256 is stored, so a database leak
 * does not hand out working credentials. (Unlike passwords they carry full entropy, so a fast hash
 * is enough; passwords get argon2id.)
 */
export type SecretKind = 'session' | 'api_token' | 'email_link' | 'invitation';

const PREFIX: Readonly<Record<SecretKind, string>> = {
  session: 'lns_',
  api_token: 'lnt_',
  email_link: 'lne_',
  invitation: 'lni_',
};

/** A new secret of `kind`: a recognisable prefix (for secret scanners) and 52 base32 characters. */
export function generateSecret(kind: SecretKind): string {
  return `${PREFIX[kind]}${base32Encode(randomBytes(32)).toLowerCase()}`;
}

/** What is stored for a secret: SHA-256 hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Does `secret` look like a secret of `kind` (before any lookup)? */
export function isSecretOfKind(secret: string, kind: SecretKind): boolean {
  return (
    secret.startsWith(PREFIX[kind]) && /^[a-z2-7]{52}$/u.test(secret.slice(PREFIX[kind].length))
  );
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/**
 * Ten recovery codes for a second factor: 10 characters each from an alphabet without look-alikes,
 * grouped 5-5 for reading aloud. Stored hashed, each usable once.
 */
export function generateRecoveryCodes(count = 10): string[] {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return Array.from({ length: count }, () => {
    // randomInt draws without modulo bias.
    const chars = Array.from({ length: 10 }, () => alphabet[randomInt(alphabet.length)] ?? '');
    return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
  });
}

/** The stored form of a recovery code as typed (case, spaces and dash ignored). */
export function hashRecoveryCode(code: string): string {
  return hashSecret(code.toLowerCase().replace(/[\s-]/gu, ''));
}
