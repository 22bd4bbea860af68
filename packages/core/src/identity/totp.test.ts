import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, totpStep, totpUri, verifyTotp } from './totp.js';

const RFC_SECRET = Buffer.from('12345678901234567890', 'ascii');

describe('HOTP (RFC 4226)', () => {
  it('matches the test values of Appendix D', () => {
    const expected = [
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ];
    expect(expected.map((_, counter) => hotp(RFC_SECRET, counter))).toEqual(expected);
  });
});

describe('TOTP (RFC 6238)', () => {
  it('matches the SHA-1 test vectors of Appendix B (8 digits)', () => {
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors) {
      expect(hotp(RFC_SECRET, totpStep(seconds * 1000), 8)).toBe(code);
    }
  });

  it('accepts the current step and one either side, and never the same step twice', () => {
    const now = 1_800_000_000_000;
    const step = totpStep(now);
    const current = hotp(RFC_SECRET, step);
    expect(verifyTotp(RFC_SECRET, current, now, null)).toBe(step);
    expect(verifyTotp(RFC_SECRET, hotp(RFC_SECRET, step - 1), now, null)).toBe(step - 1);
    expect(verifyTotp(RFC_SECRET, hotp(RFC_SECRET, step + 1), now, null)).toBe(step + 1);
    expect(verifyTotp(RFC_SECRET, hotp(RFC_SECRET, step - 2), now, null)).toBeNull();
    expect(verifyTotp(RFC_SECRET, current, now, step)).toBeNull();
    expect(verifyTotp(RFC_SECRET, ` ${current.slice(0, 3)} ${current.slice(3)} `, now, null)).toBe(
      step,
    );
    expect(verifyTotp(RFC_SECRET, 'abcdef', now, null)).toBeNull();
    expect(verifyTotp(RFC_SECRET, '12345', now, null)).toBeNull();
  });

  it('builds the otpauth URI authenticator apps scan', () => {
    expect(totpUri(RFC_SECRET, 'ada@example.org')).toBe(
      'otpauth://totp/Lantern:ada%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Lantern&algorithm=SHA1&digits=6&period=30',
    );
  });
});

describe('base32 (RFC 4648)', () => {
  it('encodes the test vectors of section 10, without padding', () => {
    const vectors = ['', 'MY', 'MZXQ', 'MZXW6', 'MZXW6YQ', 'MZXW6YTB', 'MZXW6YTBOI'];
    expect(
      ['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map((s) => base32Encode(Buffer.from(s))),
    ).toEqual(vectors);
  });

  it('decodes what it encodes, ignoring case, spaces and padding, and refuses other characters', () => {
    expect(base32Decode('mzxw 6ytb oi======')?.toString()).toBe('foobar');
    expect(base32Decode('MZXW1')).toBeNull();
  });
});
