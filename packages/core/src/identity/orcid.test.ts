import { describe, expect, it } from 'vitest';
import { orcidCheckCharacter, parseOrcid } from './orcid.js';

describe('ORCID iDs', () => {
  it('accepts valid iDs, bare or as URLs, in canonical form', () => {
    expect(parseOrcid('0000-0002-1825-0097')).toBe('0000-0002-1825-0097');
    expect(parseOrcid('https://orcid.org/0000-0001-5109-3700')).toBe('0000-0001-5109-3700');
    expect(parseOrcid(' 0000-0002-1694-233x ')).toBe('0000-0002-1694-233X');
  });

  it('refuses a wrong check character or a malformed iD', () => {
    expect(parseOrcid('0000-0002-1825-0098')).toBeNull();
    expect(parseOrcid('0000-0002-1825-009')).toBeNull();
    expect(parseOrcid('0000000218250097')).toBeNull();
    expect(parseOrcid('https://evil.example/0000-0002-1825-0097')).toBeNull();
  });

  it('computes ISO 7064 MOD 11-2', () => {
    expect(orcidCheckCharacter('000000021825009')).toBe('7');
    expect(orcidCheckCharacter('000000021694233')).toBe('X');
  });
});
