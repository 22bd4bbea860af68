/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme): object members sorted by their UTF-16
 * code units, no insignificant whitespace, numbers and strings serialised as ECMAScript's
 * JSON.stringify does (which is exactly what JCS prescribes for them).
 */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Encodes `value` canonically. Throws on values JSON cannot represent (NaN, functions, bigint). */
export function canonicalJson(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError(`canonicalJson: ${String(value)} is not a JSON number`);
      }
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item: unknown) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
      }
      if (value instanceof Date) {
        return JSON.stringify(value.toISOString());
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined)
        // Default sort compares UTF-16 code units, as RFC 8785 section 3.2.3 requires.
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new TypeError(`canonicalJson: a ${typeof value} is not JSON`);
  }
  // Unreachable while `typeof` has the eight answers above; a ninth would land here.
  throw new TypeError('canonicalJson: value is not JSON');
}
