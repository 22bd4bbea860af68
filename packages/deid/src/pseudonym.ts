/**
 * Keyed pseudonyms (issue 6, step 2): `patient_ngsci_id` and the study ids (`ecg_id`, `xray_id`)
 * are HMAC-SHA256 (RFC 2104) of the source identifier under a per-deployment key, namespaced by
 * what the identifier is (a patient, or the kind of study) and by the partner that issued it.
 * The same MRN from the same partner is the same `patient_ngsci_id` in every delivery, dataset and
 * version, so people link across them; without the key, an id reveals nothing and cannot be
 * linked to its source, and the same MRN at two partners (two different people) gives two ids.
 *
 * Ids are 20 characters: a first letter that no spreadsheet reads as a number or a month (so
 * `3e10…` or `dec1…` never turn into numbers or dates), then 19 characters of Crockford's base32
 * in lower case (no i, l, o, u). 99 bits: collisions are out of reach at any catalogue's size.
 *
 * The key is held in a closure, never in a property, so that logging a pseudonymizer shows nothing.
 */
import { createHmac } from 'node:crypto';

/** The fewest key bytes accepted: HMAC-SHA256's own block of security (RFC 2104, section 3). */
export const MIN_KEY_BYTES = 32;

/** Pseudonyms' length in characters. */
export const PSEUDONYM_LENGTH = 20;

/** Crockford's base32 alphabet in lower case. */
const BASE32 = '0123456789abcdefghjkmnpqrstvwxyz';

/** Letters that neither begin a month's name nor can be read as a digit or an exponent. */
const FIRST_LETTERS = 'bceghkpqrtvwxyz';

/** What an id stands for: a patient, or a study of a kind named by its id column (`ecg_id`). */
export type PseudonymKind = { patient: true } | { study: string };

/** Why a key or an identifier was refused. */
export class PseudonymError extends Error {
  constructor(
    readonly code: 'key_too_short' | 'empty_identifier',
    message: string,
  ) {
    super(message);
    this.name = 'PseudonymError';
  }
}

/** The partner's name as it takes part in pseudonyms: Unicode NFC, white space collapsed, lower case. */
export function normalizePartner(partner: string): string {
  return partner.normalize('NFC').trim().replace(/\s+/gu, ' ').toLowerCase();
}

/** The pseudonyms of one partner's identifiers under one key. */
export interface Pseudonymizer {
  /** `patient_ngsci_id` for a source patient identifier (an MRN). */
  patient(sourceId: string): string;
  /** The study id (of the kind `studyIdName`, such as `ecg_id`) for a source study identifier. */
  study(studyIdName: string, sourceId: string): string;
  /**
   * A keyed digest of `parts` for another `purpose` than ids (the date shift of date-shift.ts),
   * in the same namespace of key and partner.
   */
  digest(purpose: string, parts: readonly string[]): Uint8Array;
}

/**
 * A pseudonymizer for `partner`'s identifiers under `key` (at least 32 bytes; copied, so the
 * caller may wipe its own). Source identifiers are trimmed of surrounding white space; an empty
 * one is refused, since it identifies nobody.
 */
export function createPseudonymizer(key: Uint8Array, partner: string): Pseudonymizer {
  if (key.byteLength < MIN_KEY_BYTES) {
    throw new PseudonymError(
      'key_too_short',
      `a pseudonym key has at least ${MIN_KEY_BYTES} bytes (got ${key.byteLength})`,
    );
  }
  const secret = Buffer.from(key);
  const namespace = normalizePartner(partner);
  const digest = (purpose: string, parts: readonly string[]): Uint8Array => {
    const hmac = createHmac('sha256', secret);
    for (const part of ['lantern', purpose, namespace, ...parts]) {
      // Each part is length-prefixed, so that no two lists of parts are hashed alike.
      const bytes = Buffer.from(part, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      hmac.update(length);
      hmac.update(bytes);
    }
    return hmac.digest();
  };
  const pseudonym = (kind: string, sourceId: string): string => {
    const id = sourceId.trim();
    if (id === '') {
      throw new PseudonymError('empty_identifier', 'an empty identifier has no pseudonym');
    }
    return encodePseudonym(digest('pseudonym/v1', [kind, id]));
  };
  return {
    patient: (sourceId) => pseudonym('patient', sourceId),
    study: (studyIdName, sourceId) => pseudonym(`study:${studyIdName}`, sourceId),
    digest,
  };
}

/** 20 characters from a digest: one letter of FIRST_LETTERS, then 19 base32 characters (95 bits). */
export function encodePseudonym(digest: Uint8Array): string {
  let out = FIRST_LETTERS.charAt((digest[0] ?? 0) % FIRST_LETTERS.length);
  let bits = 0;
  let value = 0;
  for (let i = 1; i < digest.length && out.length < PSEUDONYM_LENGTH; i++) {
    value = (value << 8) | (digest[i] ?? 0);
    bits += 8;
    while (bits >= 5 && out.length < PSEUDONYM_LENGTH) {
      bits -= 5;
      out += BASE32.charAt((value >>> bits) & 31);
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

/** Does `value` have the form of a pseudonym? */
export function isPseudonym(value: string): boolean {
  return /^[bceghkpqrtvwxyz][0-9a-hjkmnp-tv-z]{19}$/u.test(value);
}

/**
 * The name a native file has in the published dataset, revealing nothing of its source path
 * (which often holds an accession number or a name): `<folder>/<first 2 characters of the id>/
 * <id>_<n>.<extension>`, where `id` is the file's study id (or patient id) and `n` counts the
 * files of that id from 1 in delivery order. The extension is the source's, in lower case, kept
 * only when it is a short word with a letter (`npz`, `dcm`, `nii.gz`); a numeric tail such as a
 * DICOM UID's last component is not an extension and is dropped.
 */
export function publishedFilePath(options: {
  folder: string;
  id: string;
  ordinal: number;
  sourcePath: string;
}): string {
  const extension = fileExtension(options.sourcePath);
  const name = `${options.id}_${options.ordinal}${extension === '' ? '' : `.${extension}`}`;
  return `${options.folder}/${options.id.slice(0, 2)}/${name}`;
}

const EXTENSION = /^(?=[a-z0-9]*[a-z])[a-z0-9]{1,8}$/u;
const COMPRESSION = new Set(['gz', 'bz2', 'xz', 'zst']);

/** The extension of a path's last part, lower case, or '' (see publishedFilePath). */
export function fileExtension(path: string): string {
  const base = path.split(/[/\\]/u).pop() ?? '';
  // A leading dot starts a hidden file's name, not an extension.
  const parts = base.toLowerCase().replace(/^\.+/u, '').split('.').slice(1);
  const last = parts.pop();
  if (last === undefined || !EXTENSION.test(last)) {
    return '';
  }
  const before = parts.pop();
  if (COMPRESSION.has(last) && before !== undefined && EXTENSION.test(before)) {
    return `${before}.${last}`;
  }
  return last;
}
