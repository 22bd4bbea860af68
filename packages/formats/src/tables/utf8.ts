/**
 * Streaming UTF-8 validation that names the byte where a file stops being UTF-8: `TextDecoder`'s
 * fatal mode says only that something somewhere was wrong. The well-formed byte sequences are those
 * of the Unicode Standard, Table 3-7 (no overlong forms, no surrogates, nothing past U+10FFFF), and
 * a sequence may be split across chunks.
 */
export class Utf8Validator {
  /** Continuation bytes still expected for the sequence in progress. */
  private need = 0;
  /** The range the next continuation byte must fall in (Table 3-7 narrows it after E0, ED, F0, F4). */
  private lower = 0x80;
  private upper = 0xbf;
  /** Where the sequence in progress began. */
  private sequenceStart = 0;
  /** The offset of the next byte to check. */
  private offset = 0;

  /**
   * Checks the next bytes of the stream. Returns the offset (in the whole stream) where the first
   * ill-formed sequence begins, or -1 when all is well so far. After a failure the validator is
   * spent.
   */
  check(chunk: Uint8Array): number {
    const base = this.offset;
    let { need, lower, upper } = this;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] ?? 0;
      if (need === 0) {
        if (byte < 0x80) {
          continue;
        }
        this.sequenceStart = base + i;
        lower = 0x80;
        upper = 0xbf;
        if (byte >= 0xc2 && byte <= 0xdf) {
          need = 1;
        } else if (byte === 0xe0) {
          need = 2;
          lower = 0xa0;
        } else if (byte === 0xed) {
          need = 2;
          upper = 0x9f;
        } else if (byte >= 0xe1 && byte <= 0xef) {
          need = 2;
        } else if (byte === 0xf0) {
          need = 3;
          lower = 0x90;
        } else if (byte >= 0xf1 && byte <= 0xf3) {
          need = 3;
        } else if (byte === 0xf4) {
          need = 3;
          upper = 0x8f;
        } else {
          return this.sequenceStart;
        }
      } else {
        if (byte < lower || byte > upper) {
          return this.sequenceStart;
        }
        lower = 0x80;
        upper = 0xbf;
        need--;
      }
    }
    this.need = need;
    this.lower = lower;
    this.upper = upper;
    this.offset = base + chunk.length;
    return -1;
  }

  /** At the end of the stream: the offset of a sequence cut short, or -1. */
  finish(): number {
    return this.need === 0 ? -1 : this.sequenceStart;
  }
}
