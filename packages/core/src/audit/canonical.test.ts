import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical.js';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts members by UTF-16 code units, recursively, without whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('orders non-ASCII keys by code unit, not by locale', () => {
    // U+00E9 (é) sorts after "z"; U+1F600 is a surrogate pair starting 0xD83D, before U+FB01.
    expect(canonicalJson({ é: 1, z: 2, '\u{1F600}': 3, '\uFB01': 4 })).toBe(
      '{"z":2,"é":1,"😀":3,"ﬁ":4}',
    );
  });

  it('serialises numbers in shortest round-trip form, as RFC 8785 section 3.2.2.3 says', () => {
    expect(canonicalJson([1.0, 0.1, 1e21, -0, 1e-7, 123456789012])).toBe(
      '[1,0.1,1e+21,0,1e-7,123456789012]',
    );
  });

  it('escapes strings as JSON.stringify does', () => {
    expect(canonicalJson({ s: 'line\nbreak "quoted" \u0001' })).toBe(
      '{"s":"line\\nbreak \\"quoted\\" \\u0001"}',
    );
  });

  it('drops undefined members and turns undefined array items into null', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, 1] })).toBe('{"b":[null,1]}');
  });

  it('gives the same text for the same value whatever the insertion order', () => {
    expect(canonicalJson({ x: 1, y: { p: true, q: false } })).toBe(
      canonicalJson({ y: { q: false, p: true }, x: 1 }),
    );
  });

  it('refuses values JSON cannot represent', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/not a JSON number/);
    expect(() => canonicalJson({ n: Infinity })).toThrow(/not a JSON number/);
    expect(() => canonicalJson({ b: 1n })).toThrow(/bigint is not JSON/);
  });
});
