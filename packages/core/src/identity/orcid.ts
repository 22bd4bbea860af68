/**
 * ORCID iDs: 16 characters in four groups of four, the last a check character computed with
 * ISO 7064 MOD 11-2 over the first fifteen digits ("X" stands for 10). See
 * https://support.orcid.org/hc/en-us/articles/360006897674 (structure of the ORCID identifier).
 */
const ORCID = /^(?:https?:\/\/orcid\.org\/)?(\d{4})-(\d{4})-(\d{4})-(\d{3}[\dX])$/u;

/** The ISO 7064 MOD 11-2 check character of a string of digits. */
export function orcidCheckCharacter(digits: string): string {
  let total = 0;
  for (const digit of digits) {
    total = (total + Number(digit)) * 2;
  }
  const result = (12 - (total % 11)) % 11;
  return result === 10 ? 'X' : String(result);
}

/**
 * The canonical form (`0000-0002-1825-0097`) of an ORCID iD given bare or as its URL, or null when
 * it is malformed or its check character is wrong.
 */
export function parseOrcid(input: string): string | null {
  const match = ORCID.exec(
    input.trim().toUpperCase().replace('HTTPS://ORCID.ORG/', '').replace('HTTP://ORCID.ORG/', ''),
  );
  if (match === null) {
    return null;
  }
  const digits = match.slice(1).join('');
  if (orcidCheckCharacter(digits.slice(0, 15)) !== digits.slice(15)) {
    return null;
  }
  return match.slice(1).join('-');
}
