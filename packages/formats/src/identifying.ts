/**
 * A value of a field that identifies a person, masked for display: its first character and at
 * most eleven stars, so that neither the value nor its length shows (`Doe^Jane` -> `D*******`).
 * Values of fewer than four characters are all stars. One masking for every reader and the CLI.
 */
export function maskValue(value: string): string {
  const characters = Array.from(value);
  if (characters.length < 4) {
    return '*'.repeat(characters.length);
  }
  return (characters[0] ?? '') + '*'.repeat(Math.min(characters.length - 1, 11));
}
