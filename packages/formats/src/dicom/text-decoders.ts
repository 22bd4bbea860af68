/**
 * The two decoders DICOM text is read with (PS3.5 6.1.2.3: ISO_IR 192 is UTF-8, the rest is read as
 * ISO 8859-1), made once and shared: a decoder called without `stream` keeps nothing between
 * calls, and making one costs more than decoding a whole header's values.
 */
import { TextDecoder } from 'node:util';

const UTF8 = new TextDecoder('utf-8');
const LATIN1 = new TextDecoder('latin1');

/** The shared decoder of UTF-8 text, or of ISO 8859-1 text. */
export function textDecoder(isUtf8: boolean): TextDecoder {
  return isUtf8 ? UTF8 : LATIN1;
}
