import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createPseudonymizer,
  encodePseudonym,
  fileExtension,
  isPseudonym,
  PseudonymError,
  publishedFilePath,
} from './pseudonym.js';

const KEY = new Uint8Array(32).map((_, i) => i * 7 + 1);
const OTHER_KEY = new Uint8Array(32).map((_, i) => i * 11 + 3);
const PARTNER = 'Example Health System';

describe('pseudonyms', () => {
  it('are HMAC-SHA256 of the length-prefixed namespace and identifier, encoded in 20 characters', () => {
    // The construction, recomputed here from node:crypto alone.
    const hmac = createHmac('sha256', KEY);
    for (const part of [
      'lantern',
      'pseudonym/v1',
      'example health system',
      'patient',
      '07550110',
    ]) {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(Buffer.byteLength(part));
      hmac.update(length).update(part);
    }
    const expected = encodePseudonym(hmac.digest());
    const id = createPseudonymizer(KEY, PARTNER).patient('07550110');
    expect(id).toBe(expected);
    expect(isPseudonym(id)).toBe(true);
  });

  it('encode a digest as a safe first letter and Crockford base32', () => {
    expect(encodePseudonym(new Uint8Array(32))).toBe(`b${'0'.repeat(19)}`);
    expect(encodePseudonym(new Uint8Array(32).fill(255))).toBe(`b${'z'.repeat(19)}`);
  });

  it('are stable across calls and pseudonymizers, and ignore white space around the source id', () => {
    const first = createPseudonymizer(KEY, PARTNER);
    const second = createPseudonymizer(KEY, '  example   health SYSTEM ');
    expect(first.patient('07550110')).toBe(second.patient(' 07550110 '));
    expect(first.study('ecg_id', 'ECG121494121')).toBe(second.study('ecg_id', 'ECG121494121'));
  });

  it('differ by key, partner, kind and source id, and are unlinkable across keys', () => {
    const ids = new Set<string>();
    const a = createPseudonymizer(KEY, PARTNER);
    const b = createPseudonymizer(OTHER_KEY, PARTNER);
    const c = createPseudonymizer(KEY, 'Another Hospital');
    for (let i = 0; i < 2000; i++) {
      const source = String(1_000_000 + i);
      for (const id of [
        a.patient(source),
        b.patient(source),
        c.patient(source),
        a.study('ecg_id', source),
        a.study('xray_id', source),
      ]) {
        expect(isPseudonym(id)).toBe(true);
        ids.add(id);
      }
    }
    expect(ids.size).toBe(10_000);
    // Unlinkable: under another key, the characters agree no more than chance (1 in 32) would.
    let agreeing = 0;
    for (let i = 0; i < 2000; i++) {
      const [x, y] = [a.patient(String(i)), b.patient(String(i))];
      for (let j = 1; j < 20; j++) {
        agreeing += x[j] === y[j] ? 1 : 0;
      }
    }
    expect(agreeing / (2000 * 19)).toBeLessThan(0.04);
  });

  it('refuse a short key and an empty identifier, and never show the key', () => {
    expect(() => createPseudonymizer(new Uint8Array(16), PARTNER)).toThrow(PseudonymError);
    const pseudonymizer = createPseudonymizer(KEY, PARTNER);
    expect(() => pseudonymizer.patient('  ')).toThrow(/empty identifier/u);
    expect(JSON.stringify(pseudonymizer)).toBe('{}');
  });

  it('never begin like a number or a month, whatever the digest', () => {
    const pseudonymizer = createPseudonymizer(KEY, PARTNER);
    for (let i = 0; i < 5000; i++) {
      const id = pseudonymizer.patient(`p${i}`);
      expect(id).toMatch(/^[bceghkpqrtvwxyz]/u);
      expect(Number.isNaN(Number(id))).toBe(true);
    }
  });
});

describe('published file paths', () => {
  it('name a file by its id and count, keeping a short extension only', () => {
    const id = 'k3m9x0a1b2c3d4e5f6g7';
    expect(
      publishedFilePath({ folder: 'ecgs', id, ordinal: 1, sourcePath: '21/ECG121494121.npz' }),
    ).toBe(`ecgs/k3/${id}_1.npz`);
    expect(
      publishedFilePath({
        folder: 'xrays',
        id,
        ordinal: 2,
        sourcePath: 'SMITH_J/1.2.840.113619.2.55.3.4',
      }),
    ).toBe(`xrays/k3/${id}_2`);
  });

  it('reads extensions', () => {
    expect(fileExtension('a/b/scan.DCM')).toBe('dcm');
    expect(fileExtension('a/vol.nii.gz')).toBe('nii.gz');
    expect(fileExtension('a/archive.12345.gz')).toBe('gz');
    expect(fileExtension('a/no-extension')).toBe('');
    expect(fileExtension('a/.jsmith')).toBe('');
    expect(fileExtension('a.b/file')).toBe('');
    expect(fileExtension('a/name.averyverylongextension')).toBe('');
  });
});
