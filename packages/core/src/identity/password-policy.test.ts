import { describe, expect, it } from 'vitest';
import { checkPassword, normalizePassword, PASSWORD_MIN_LENGTH } from './password-policy.js';

const commonPasswords = new Set(['correcthorsebatterystaple', 'passwordpassword1']);
const codes = (password: string, extra: { email?: string; name?: string } = {}) =>
  checkPassword(password, { commonPasswords, ...extra }).map((p) => p.code);

describe('password policy (NIST SP 800-63B-4)', () => {
  it('asks for length, not composition', () => {
    expect(codes('all lower case words here')).toEqual([]);
    expect(codes('x'.repeat(PASSWORD_MIN_LENGTH - 1).replace(/^x/, 'y'))).toEqual(['too_short']);
    expect(codes('Sh0rt!')).toEqual(['too_short']);
  });

  it('counts characters, not bytes, and allows any Unicode and spaces', () => {
    expect(codes('café crème brûlée')).toEqual([]);
    expect(codes('日本語のパスワードです長い')).toEqual(['too_short']);
    expect(codes('日本語のパスワードですとても長い')).toEqual([]);
  });

  it('refuses common, breached and repetitive passwords', () => {
    expect(codes('CorrectHorseBatteryStaple')).toEqual(['common']);
    expect(codes('aaaaaaaaaaaaaaaaaaaa')).toEqual(['common']);
    expect(codes('abcabcabcabcabcabc')).toEqual(['common']);
  });

  it("refuses passwords built from the account's own words", () => {
    expect(codes('ada.lovelace2026!!', { email: 'ada.lovelace@example.org' })).toEqual([
      'contextual',
    ]);
    expect(codes('lanternlantern123', {})).toEqual(['contextual']);
    expect(codes('ada lovelace and seven more words', { name: 'Ada Lovelace' })).toEqual([]);
  });

  it('refuses control characters and overlong passwords', () => {
    expect(codes('a perfectly long pass\nword')).toEqual(['control_characters']);
    expect(codes('x y '.repeat(100))).toEqual(['too_long']);
  });

  it('normalises to NFKC', () => {
    expect(normalizePassword('ﬁne')).toBe('fine');
    expect(normalizePassword('e\u0301')).toBe('é');
  });
});
