/**
 * Detectors of identifiers in one piece of text, a whole cell or a sentence of a note: each finds
 * the spans of one kind of identifier by its shape (an e-mail, a NANP telephone number, an SSN in
 * an assigned range, a street address with its suffix) or by its context (a date after "DOB", a
 * number after "MRN", a name after "Dr."), and says how sure it is.
 *
 * Every pattern runs in time linear in the text: quantifiers are bounded or range over classes
 * that the next token cannot also match, and nothing nests an unbounded quantifier in another.
 * Cheap checks (is there a digit, an "@", a capital letter?) skip the patterns that cannot match.
 */
import { type PhiKind } from './phi-finding.js';
import { isDistinctiveName, isFamilyName, isGivenName, isNameLookalike } from './name-lexicon.js';

/** One identifier in a text: its kind, where it is (UTF-16 offsets, end excluded), how sure. */
export interface PhiMatch {
  kind: PhiKind;
  start: number;
  end: number;
  /** From 0 to 1. */
  confidence: number;
  /** Which detector found it, in words. */
  reason: string;
}

const MONTH =
  'Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?';
const DATE =
  `\\d{4}-\\d{1,2}-\\d{1,2}|\\d{1,2}[/.-]\\d{1,2}[/.-](?:\\d{4}|\\d{2})` +
  `|(?:${MONTH})\\.? \\d{1,2}(?:st|nd|rd|th)?,? \\d{4}|\\d{1,2} (?:${MONTH})\\.?,? \\d{4}`;

const EMAIL =
  /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63}){1,8}/gu;
const URL = /(?<![\p{L}\p{N}])(?:(?:https?|ftp):\/\/|www\.)[^\s<>"'`]{2,2048}/giu;
const IPV4 =
  /(?<![\p{N}.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\p{N}|\.\d)/gu;
const IPV6_FULL = /(?<![\p{L}\p{N}:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![\p{L}\p{N}:])/giu;
const IPV6_SHORT =
  /(?<![\p{L}\p{N}:])(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?(?![\p{L}\p{N}:])/giu;
const SSN = /(?<![\p{N}-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\p{N}-])/gu;
const PHONE_NANP =
  /(?<![\p{N}+])(?:\+?1[ .-]?)?(?:\((\d{3})\) ?|(\d{3})[ .-])(\d{3})[ .-](\d{4})(?!\p{N})/gu;
const PHONE_E164 = /(?<![\p{L}\p{N}])\+[1-9](?:[ .-]?\(?\d\)?){7,14}(?!\p{N})/gu;
const STREET_SUFFIX =
  'Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Ter' +
  '|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Crescent|Close|Row|Alley|Plaza';
const STREET = new RegExp(
  `(?<![\\p{L}\\p{N}])\\d{1,6}[A-Za-z]? (?:[NSEW]\\.? |North |South |East |West )?` +
    `(?:\\p{Lu}[\\p{L}'’-]{0,30}\\.? |\\d{1,3}(?:st|nd|rd|th) ){1,4}(?:${STREET_SUFFIX})\\.?(?!\\p{L})` +
    `(?:,? (?:Apt|Unit|Suite|Ste|#)\\.? ?[\\p{L}\\p{N}-]{1,6})?`,
  'gu',
);
const PO_BOX = /(?<!\p{L})P\.? ?O\.? ?Box \d{1,6}(?!\p{N})/giu;
const ZIP_PLUS_4 = /(?<![\p{N}-])\d{5}-\d{4}(?![\p{N}-])/gu;
const STATE_ZIP =
  /(?<!\p{L})(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR),? \d{5}(?:-\d{4})?(?!\p{N})/gu;
const BIRTH_DATE = new RegExp(
  `(?<!\\p{L})(?:DOB|D\\.O\\.B\\.?|date of birth|birth ?date|born(?: on)?|birthday)[\\s:=-]{0,4}(${DATE})(?!\\p{N})`,
  'giud',
);
const RECORD_NUMBER = new RegExp(
  '(?<!\\p{L})(?:MRN|MR ?#|MR No\\.?|medical record(?: number| no\\.?| #)?|record (?:number|no\\.?|#)' +
    '|chart (?:number|no\\.?|#)|hospital (?:number|no\\.?|#)|patient (?:id|number|no\\.?|#)|pt id' +
    '|acct\\.?(?: no\\.?| #)?|account (?:number|no\\.?|#)|accession(?: number| no\\.?| #)?|acc (?:no\\.?|#))' +
    '[\\s:=.#-]{0,4}([A-Z]{0,4}-?\\d{5,12})(?![\\p{L}\\p{N}])',
  'giud',
);
const CODE_PREFIX = '(?<!(?:SNOMED|SCTID|LOINC|NDC|CPT|RxNorm|ICD-?(?:9|10)?(?:-CM)?)[\\s:#]{0,3})';
const UNIT =
  '(?!\\s?(?:[mµunk]?g|m?[lL]|[mµ]?mol|mEq|meq|I?U|iu|units?|cells|copies|%|/)(?![\\p{L}]))';
const DIGIT_RUN = new RegExp(
  `${CODE_PREFIX}(?<![\\p{L}\\p{N}.,/:#+-])\\d{7,10}(?![\\p{L}\\p{N}]|[.,/:-]\\d)${UNIT}`,
  'gu',
);
const HOSPITAL_NUMBER = /(?<![\p{L}\p{N}])[A-Z]{1,4}-?\d{6,10}(?![\p{L}\p{N}])/gu;
/** A capitalised word: names, titles, credentials. Apostrophes and hyphens inside (O'Brien). */
const CAPITALISED_WORD = /(?<![\p{L}\p{M}'’-])\p{Lu}[\p{L}\p{M}'’-]{0,40}/gu;

const TITLES = new Set(['Dr', 'Mr', 'Mrs', 'Ms', 'Miss', 'Mx', 'Prof', 'Dra', 'Sra', 'Sr', 'Mme']);
const CREDENTIAL = /^,? (?:MD|M\.D\.|DO|RN|NP|PA-C|PA|PhD|MBBS|FRCP|FACC|DNP)(?![\p{L}])/u;
/** Capitalised words after a title that are not a name ("Dr. on call"). */
const NOT_NAMES = new Set(['The', 'On', 'Call', 'Patient', 'Office', 'Note', 'Notes', 'And']);

/** What a text holds, found in one pass, so that patterns that cannot match are skipped. */
interface TextTraits {
  digits: number;
  hasAt: boolean;
  hasColon: boolean;
  hasUpper: boolean;
  hasDot: boolean;
}

function traitsOf(text: string): TextTraits {
  const traits = { digits: 0, hasAt: false, hasColon: false, hasUpper: false, hasDot: false };
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code >= 0x30 && code <= 0x39) {
      traits.digits += 1;
    } else if (code === 0x40) {
      traits.hasAt = true;
    } else if (code === 0x3a) {
      traits.hasColon = true;
    } else if (code === 0x2e) {
      traits.hasDot = true;
    } else if ((code >= 0x41 && code <= 0x5a) || code > 0x7f) {
      traits.hasUpper = true;
    }
  }
  return traits;
}

/** Every identifier in `text`, overlaps resolved (a phone inside a URL is the URL), by offset. */
export function findPhiInText(text: string): PhiMatch[] {
  const traits = traitsOf(text);
  const matches: PhiMatch[] = [];
  if (traits.hasAt) {
    collect(text, EMAIL, matches, (match) =>
      /\.\p{L}{2,24}$/u.test(match[0]) ? accept('email', match, 0.95, 'e-mail address') : null,
    );
  }
  if (traits.hasDot || traits.hasColon) {
    collect(text, URL, matches, (match) => {
      const trimmed = match[0].replace(/[.,;:!?)\]]+$/u, '');
      return span('url', match.index, match.index + trimmed.length, 0.9, 'URL');
    });
  }
  if (traits.digits >= 4 && traits.hasDot) {
    collect(text, IPV4, matches, (match) => accept('ip', match, 0.85, 'IPv4 address'));
  }
  if (traits.hasColon) {
    collect(text, IPV6_FULL, matches, (match) => accept('ip', match, 0.85, 'IPv6 address'));
    collect(text, IPV6_SHORT, matches, (match) =>
      /\d/u.test(match[0]) && match[0].length >= 6
        ? accept('ip', match, 0.7, 'IPv6 address')
        : null,
    );
  }
  if (traits.digits >= 5) {
    collectNumbers(text, matches);
  }
  if (traits.digits >= 1) {
    collectAddresses(text, matches);
  }
  if (traits.hasUpper) {
    collectNames(text, matches);
  }
  return resolveOverlaps(matches);
}

function collectNumbers(text: string, matches: PhiMatch[]): void {
  collect(text, SSN, matches, (match) => {
    const [, area = '', separator, group = '', serial = ''] = match;
    if (!isAssignableSsn(area, group, serial)) {
      return null;
    }
    return separator === '-'
      ? accept('ssn', match, 0.9, 'social security number (###-##-####)')
      : accept('ssn', match, 0.6, 'social security number (### ## ####)');
  });
  collect(text, PHONE_NANP, matches, (match) => {
    const area = match[1] ?? match[2] ?? '';
    const exchange = match[3] ?? '';
    return isNanpCode(area) && isNanpCode(exchange)
      ? accept('phone', match, 0.9, 'telephone number (NANP)')
      : null;
  });
  collect(text, PHONE_E164, matches, (match) => {
    const digits = match[0].replace(/\D/gu, '').length;
    return digits >= 8 && digits <= 15
      ? accept('phone', match, 0.85, 'telephone number (E.164)')
      : null;
  });
  collect(text, BIRTH_DATE, matches, (match) =>
    group('birth-date', match, 0.95, 'date after "date of birth"'),
  );
  collect(text, RECORD_NUMBER, matches, (match) =>
    group('mrn', match, 0.95, 'number after "MRN", "account", "accession" or the like'),
  );
  collect(text, HOSPITAL_NUMBER, matches, (match) =>
    accept('mrn', match, 0.75, 'hospital-number shape (letters and 6-10 digits)'),
  );
  collect(text, DIGIT_RUN, matches, (match) =>
    accept('mrn', match, 0.6, 'a run of 7-10 digits, no unit or code system'),
  );
}

function collectAddresses(text: string, matches: PhiMatch[]): void {
  collect(text, STREET, matches, (match) =>
    accept('address', match, 0.85, 'street address (number, street, suffix)'),
  );
  collect(text, PO_BOX, matches, (match) => accept('address', match, 0.9, 'PO box'));
  if (text.length >= 10) {
    collect(text, ZIP_PLUS_4, matches, (match) => accept('address', match, 0.8, 'ZIP+4 code'));
  }
  collect(text, STATE_ZIP, matches, (match) => accept('address', match, 0.8, 'state and ZIP code'));
}

interface Word {
  text: string;
  start: number;
  end: number;
}

/**
 * Names by their company: a title before a capitalised word ("Dr. Okafor"), a lexicon family name
 * and given name around a comma ("Okafor, Grace"), a lexicon given name before a family name
 * ("Grace Okafor", "Grace A. Okafor"), or two capitalised words before a credential ("Jane Roe
 * MD"). A lone lexicon word in free text is not enough.
 */
function collectNames(text: string, matches: PhiMatch[]): void {
  const words: Word[] = [];
  for (const match of text.matchAll(CAPITALISED_WORD)) {
    const word = match[0].replace(/[-'’]+$/u, '');
    words.push({ text: word, start: match.index, end: match.index + word.length });
  }
  for (let index = 0; index + 1 < words.length; index += 1) {
    const word = words[index];
    const next = words[index + 1];
    if (word === undefined || next === undefined) {
      continue;
    }
    const gap = text.slice(word.end, next.start);
    const found = nameAt(text, words, index, word, next, gap);
    if (found !== null) {
      matches.push(found);
    }
  }
}

function nameAt(
  text: string,
  words: readonly Word[],
  index: number,
  word: Word,
  next: Word,
  gap: string,
): PhiMatch | null {
  if (TITLES.has(word.text) && /^\.? $/u.test(gap) && !NOT_NAMES.has(next.text)) {
    const last = extendRight(text, words, index + 1, () => true);
    return span('name', next.start, last.end, 0.85, 'capitalised word after a title');
  }
  if (gap === ', ' && isFamilyName(word.text) && isGivenName(next.text)) {
    const last = extendRight(text, words, index + 1, isGivenName);
    const credential = CREDENTIAL.test(text.slice(last.end));
    const weak = isNameLookalike(word.text) && isNameLookalike(next.text) && !credential;
    return span('name', word.start, last.end, weak ? 0.5 : 0.9, 'family name, given name');
  }
  const family = isMiddleInitial(text, next) ? words[index + 2] : next;
  if (gap === ' ' && family !== undefined && isGivenName(word.text) && isFamilyName(family.text)) {
    const credential = CREDENTIAL.test(text.slice(family.end));
    if (isDistinctiveName(word.text) || isDistinctiveName(family.text) || credential) {
      const first = extendLeft(text, words, index);
      return span('name', first.start, family.end, 0.85, 'given name and family name');
    }
  }
  if (gap === ' ' && CREDENTIAL.test(text.slice(next.end)) && !TITLES.has(next.text)) {
    return span('name', word.start, next.end, 0.8, 'name before a credential (MD, RN, …)');
  }
  return null;
}

/** Is `word` one capital letter and a full stop, then a space ("J. " in "Maria J. García")? */
function isMiddleInitial(text: string, word: Word): boolean {
  return word.end - word.start === 1 && text.startsWith('. ', word.end);
}

/** The last word of a run of words joined by single spaces that `isPart` accepts. */
function extendRight(
  text: string,
  words: readonly Word[],
  index: number,
  isPart: (word: string) => boolean,
): Word {
  let last = words[index] as Word;
  for (let next = index + 1; next < words.length && next <= index + 2; next += 1) {
    const word = words[next];
    if (word === undefined || text.slice(last.end, word.start) !== ' ' || !isPart(word.text)) {
      break;
    }
    last = word;
  }
  return last;
}

/** The first of the given names joined by single spaces that end at `words[index]`. */
function extendLeft(text: string, words: readonly Word[], index: number): Word {
  let first = words[index] as Word;
  for (let previous = index - 1; previous >= 0 && previous >= index - 2; previous -= 1) {
    const word = words[previous];
    if (
      word === undefined ||
      text.slice(word.end, first.start) !== ' ' ||
      !isGivenName(word.text)
    ) {
      break;
    }
    first = word;
  }
  return first;
}

/** SSA never assigns area 000, 666 or 900-999, group 00 or serial 0000. */
function isAssignableSsn(area: string, group: string, serial: string): boolean {
  const areaNumber = Number(area);
  return (
    areaNumber !== 0 &&
    areaNumber !== 666 &&
    areaNumber < 900 &&
    group !== '00' &&
    serial !== '0000'
  );
}

/** NANP area codes and exchanges begin with 2-9 (ATIS-0300051). */
function isNanpCode(code: string): boolean {
  return code.length === 3 && code.charCodeAt(0) >= 0x32 && code.charCodeAt(0) <= 0x39;
}

function collect(
  text: string,
  pattern: RegExp,
  matches: PhiMatch[],
  judge: (match: RegExpExecArray) => PhiMatch | null,
): void {
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const found = judge(match);
    if (found !== null) {
      matches.push(found);
    }
  }
}

function span(
  kind: PhiKind,
  start: number,
  end: number,
  confidence: number,
  reason: string,
): PhiMatch {
  return { kind, start, end, confidence, reason };
}

function accept(
  kind: PhiKind,
  match: RegExpExecArray,
  confidence: number,
  reason: string,
): PhiMatch {
  return span(kind, match.index, match.index + match[0].length, confidence, reason);
}

/** The span of a pattern's first group (the identifier after its keyword). */
function group(
  kind: PhiKind,
  match: RegExpExecArray,
  confidence: number,
  reason: string,
): PhiMatch | null {
  const indices = match.indices?.[1];
  return indices === undefined ? null : span(kind, indices[0], indices[1], confidence, reason);
}

/** Which kind wins when two spans overlap: the more specific shape. */
const PRIORITY: Record<PhiKind, number> = {
  url: 9,
  email: 8,
  ssn: 7,
  'birth-date': 6,
  phone: 5,
  ip: 4,
  address: 3,
  mrn: 2,
  name: 1,
};

/** Keeps, of overlapping spans, the one of the more specific kind, then the surer, then longer. */
function resolveOverlaps(matches: PhiMatch[]): PhiMatch[] {
  if (matches.length < 2) {
    return matches;
  }
  const ranked = [...matches].sort(
    (a, b) =>
      PRIORITY[b.kind] - PRIORITY[a.kind] ||
      b.confidence - a.confidence ||
      b.end - b.start - (a.end - a.start),
  );
  const kept: PhiMatch[] = [];
  for (const match of ranked) {
    if (!kept.some((other) => other.start < match.end && match.start < other.end)) {
      kept.push(match);
    }
  }
  return kept.sort((a, b) => a.start - b.start);
}
