/**
 * Password rules of NIST SP 800-63B-4 (section 3.1.1.2): length, not composition. A password used
 * as the only factor must have at least 15 characters; every printable character and space is
 * allowed, Unicode included (normalised to NFKC before hashing and comparing); no rules about
 * character classes; no periodic expiry; and a password that is known to be common or breached, or
 * that is made of the account's own words, is refused with a reason.
 */

export const PASSWORD_MIN_LENGTH = 15;
/** 63B-4 asks verifiers to accept at least 64; the cap only keeps hashing cost bounded. */
export const PASSWORD_MAX_LENGTH = 256;

export type PasswordProblem =
  | { code: 'too_short'; message: string }
  | { code: 'too_long'; message: string }
  | { code: 'control_characters'; message: string }
  | { code: 'common'; message: string }
  | { code: 'contextual'; message: string };

export interface PasswordContext {
  email?: string;
  name?: string;
  /** Lower-cased, NFKC-normalised common and breached passwords (shipped with the server). */
  commonPasswords: ReadonlySet<string>;
}

/** The form in which passwords are hashed and compared. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Counts user-perceived characters the way 63B-4 counts length (code points, after NFKC). */
function length(text: string): number {
  let n = 0;
  for (const _ of text) {
    n += 1;
  }
  return n;
}

const SERVICE_WORDS = ['lantern', 'ngsci', 'nightingale'];

/** Every reason `password` is refused (empty when it is acceptable). */
export function checkPassword(password: string, context: PasswordContext): PasswordProblem[] {
  const normalized = normalizePassword(password);
  const problems: PasswordProblem[] = [];
  const n = length(normalized);
  if (n < PASSWORD_MIN_LENGTH) {
    problems.push({
      code: 'too_short',
      message: `use at least ${PASSWORD_MIN_LENGTH} characters (a few unrelated words make a good one)`,
    });
  }
  if (n > PASSWORD_MAX_LENGTH) {
    problems.push({ code: 'too_long', message: `use at most ${PASSWORD_MAX_LENGTH} characters` });
  }
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/u.test(normalized)) {
    problems.push({
      code: 'control_characters',
      message: 'remove control characters (tabs, line breaks)',
    });
  }
  const lower = normalized.toLowerCase();
  if (context.commonPasswords.has(lower) || isRepetitive(lower)) {
    problems.push({
      code: 'common',
      message: 'this password is too common or has appeared in breaches; choose another',
    });
  }
  const words = contextWords(context);
  if (
    words.some((word) => lower.includes(word)) &&
    strippedLength(lower, words) < PASSWORD_MIN_LENGTH
  ) {
    problems.push({
      code: 'contextual',
      message: 'do not build the password from your name, email or the service name',
    });
  }
  return problems;
}

/** One character or a short run repeated (aaaaaaaaaaaaaaa, abcabcabcabcabc). */
function isRepetitive(text: string): boolean {
  const chars = [...text];
  for (let period = 1; period <= 3; period += 1) {
    if (chars.length >= period * 3 && chars.every((c, i) => c === chars[i % period])) {
      return true;
    }
  }
  return false;
}

function contextWords(context: PasswordContext): string[] {
  const words = new Set(SERVICE_WORDS);
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (local !== undefined && local.length >= 3) {
    words.add(local);
  }
  for (const part of context.name?.toLowerCase().split(/\s+/u) ?? []) {
    if (part.length >= 3) {
      words.add(part);
    }
  }
  return [...words];
}

/** How long the password is once the account's own words are taken out. */
function strippedLength(text: string, words: readonly string[]): number {
  let rest = text;
  for (const word of words) {
    rest = rest.split(word).join('');
  }
  return length(rest);
}
