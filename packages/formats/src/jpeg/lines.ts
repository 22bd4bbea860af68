/**
 * The number of lines of a JPEG frame (ISO/IEC 10918-1 B.2.2, B.2.5), shared by the lossless
 * (`./lossless.ts`) and DCT (`./sequential.ts`) decoders: a frame header may declare 0 lines, and
 * a DNL segment right after the first scan then says how many there are. These decoders take the
 * height their caller's container declares (DICOM's Rows) in its place, decode the first scan to
 * it, and require the DNL segment to say the same, so nothing is allocated that the container does
 * not bound. (libjpeg, and so dcmdjpeg and libjpeg-turbo, refuse such frames: "DNL not
 * supported".)
 */
import type { Fail } from './huffman.js';

/** A frame's height, and whether a DNL segment must confirm it after the first scan. */
export interface FrameLines {
  height: number;
  isDefinedByDnl: boolean;
}

/**
 * The height of a frame whose header declares `declared` lines: those, or, when 0, the caller's
 * `expected` height (a frame of 0 lines with nothing expected is refused).
 */
export function frameLines(declared: number, expected: number | undefined, fail: Fail): FrameLines {
  if (declared !== 0) {
    return { height: declared, isDefinedByDnl: false };
  }
  if (expected === undefined || expected === 0) {
    throw fail('the frame declares 0 lines (to be defined by DNL) and no height is expected');
  }
  return { height: expected, isDefinedByDnl: true };
}

/**
 * The DNL segment that must follow the first scan of a frame of 0 declared lines, at `at` (where
 * the scan's data ends): it must declare `height` lines. Returns where the stream goes on after it.
 */
export function readDefinedLines(
  stream: Uint8Array,
  at: number,
  height: number,
  fail: Fail,
): number {
  if (stream[at] !== 0xff || stream[at + 1] !== 0xdc) {
    throw fail(
      `the frame declares 0 lines and its first scan is not followed by DNL (FFDC) at byte ${at}`,
    );
  }
  const length = ((stream[at + 2] ?? 0) << 8) | (stream[at + 3] ?? 0);
  if (length !== 4 || at + 6 > stream.length) {
    throw fail(`the DNL segment at byte ${at} is not 4 bytes long, or is cut short`);
  }
  const lines = ((stream[at + 4] ?? 0) << 8) | (stream[at + 5] ?? 0);
  if (lines !== height) {
    throw fail(`the DNL segment at byte ${at} declares ${lines} lines, not ${height}`);
  }
  return at + 6;
}
