import { describe, expect, it } from 'vitest';
import {
  generateRecoveryCodes,
  generateSecret,
  hashRecoveryCode,
  hashSecret,
  isSecretOfKind,
  sameDigest,
} from './secrets.js';

describe('secrets', () => {
  it('are prefixed by kind, random, and stored only as SHA-256', () => {
    const a = generateSecret('api_token');
    const b = generateSecret('api_token');
    expect(a).toMatch(/^lnt_[a-z2-7]{52}$/);
    expect(a).not.toBe(b);
    expect(isSecretOfKind(a, 'api_token')).toBe(true);
    expect(isSecretOfKind(a, 'session')).toBe(false);
    expect(isSecretOfKind('lnt_short', 'api_token')).toBe(false);
    expect(hashSecret(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(sameDigest(hashSecret(a), hashSecret(a))).toBe(true);
    expect(sameDigest(hashSecret(a), hashSecret(b))).toBe(false);
    expect(sameDigest('', '')).toBe(false);
  });

  it('make recovery codes that are easy to type and stored in a forgiving form', () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) {
      expect(code).toMatch(/^[a-km-np-z2-9]{5}-[a-km-np-z2-9]{5}$/);
    }
    const [first = ''] = codes;
    expect(hashRecoveryCode(first.toUpperCase().replace('-', ' '))).toBe(hashRecoveryCode(first));
  });
});
