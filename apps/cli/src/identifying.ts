/**
 * Which fields of a delivered file look like they identify a person, judged by their names, so that
 * `lantern inspect` can flag them to a curator before the file goes anywhere. A name flags; a
 * value is never shown whole (see maskValue). This is a prompt to look, not de-identification: a
 * column called `notes` can hold a name and is not flagged.
 */

/** Words that are an identifier when they are a whole word of the field's name. */
const IDENTIFYING_WORDS = new Set([
  'name',
  'firstname',
  'lastname',
  'surname',
  'fullname',
  'forename',
  'mrn',
  'ssn',
  'nhs',
  'dob',
  'birthdate',
  'birthday',
  'zip',
  'postcode',
]);

/** Parts that flag a name wherever they are in it ("telephone", "emailAddress", "date_of_birth"). */
const IDENTIFYING_PARTS = ['phone', 'email', 'e-mail', 'address', 'birth', 'passport'];

/**
 * Is `name` the name of an identifying field? Words are split at `_`, `-`, `.`, spaces and
 * camelCase humps: `patient_name`, `PatientName` and `DOB` are; `patient_ngsci_id` and
 * `rename_count` are not.
 */
export function isIdentifyingName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/gu, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/u)
    .filter((word) => word !== '');
  const lower = name.toLowerCase();
  return (
    words.some((word) => IDENTIFYING_WORDS.has(word)) ||
    IDENTIFYING_PARTS.some((part) => lower.includes(part))
  );
}

/**
 * A value with every letter and digit but the first replaced by `*`, punctuation and spaces kept:
 * enough to see what kind of value it is ("J*** ***", "1***-**-**", "j***@*******.***"), not whose.
 */
export function maskValue(value: string): string {
  let seen = false;
  return Array.from(value, (char) => {
    if (!/[\p{L}\p{N}]/u.test(char)) {
      return char;
    }
    if (!seen) {
      seen = true;
      return char;
    }
    return '*';
  }).join('');
}
