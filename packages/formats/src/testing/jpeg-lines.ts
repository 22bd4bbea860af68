import { changeDicomDataset, writeDicom } from '../dicom/write.js';
import { TAG } from '../dicom/dictionary.js';
import type { DicomFile } from '../dicom/parse.js';

/**
 * Test helper (not built into dist): a JPEG stream as an encoder that writes DNL would write it
 * (ISO/IEC 10918-1 B.2.5): the frame header's number of lines set to 0, and a DNL segment
 * declaring `lines` (by default the header's) right after the first scan's entropy-coded data
 * (its restart markers included). The coded data is unchanged, so the samples are too.
 */
export function withDnl(stream: Uint8Array, lines?: number): Uint8Array {
  const copy = Uint8Array.from(stream);
  let at = 2;
  let height = 0;
  while (copy[at + 1] !== 0xda) {
    const marker = copy[at + 1] ?? 0;
    if (marker >= 0xc0 && marker <= 0xc3) {
      height = ((copy[at + 5] ?? 0) << 8) | (copy[at + 6] ?? 0);
      copy.set([0, 0], at + 5);
    }
    at += 2 + (((copy[at + 2] ?? 0) << 8) | (copy[at + 3] ?? 0));
  }
  at += 2 + (((copy[at + 2] ?? 0) << 8) | (copy[at + 3] ?? 0));
  // The scan's data runs to the first marker other than RSTn (0xFF00 is a stuffed 0xFF).
  while (copy[at] !== 0xff || copy[at + 1] === 0 || ((copy[at + 1] ?? 0) & 0xf8) === 0xd0) {
    at += 1;
  }
  const declared = lines ?? height;
  return Uint8Array.from([
    ...copy.subarray(0, at),
    ...[0xff, 0xdc, 0x00, 0x04, declared >> 8, declared & 0xff],
    ...copy.subarray(at),
  ]);
}

/** A DICOM file like `file` whose first (only) frame is `stream`, as Part 10 bytes. */
export function withFrame(file: DicomFile, stream: Uint8Array): Uint8Array {
  const dataset = changeDicomDataset(file.dataset, {
    set: [{ tag: TAG.PixelData, vr: 'OB', value: { fragments: [stream] } }],
  });
  return writeDicom({ dataset, transferSyntaxUid: file.transferSyntax.uid });
}

/**
 * An 8-bit sequential stream's coded data in a 12-bit frame: the frame header made SOF1 (baseline
 * is 8 bits only) of precision 12, nothing else changed. It is a valid 12-bit stream (8-bit
 * quantization tables and any Huffman tables are allowed there, ISO/IEC 10918-1 B.2.4.1, B.2.4.2)
 * whose samples are the 8-bit IDCT's values level-shifted by 2048 instead of 128 (A.3.1), so
 * cjpeg, which writes 8 bits only, can make 12-bit streams of every shape it makes.
 */
export function withTwelveBits(stream: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(stream);
  let at = 2;
  while (copy[at] === 0xff && copy[at + 1] !== 0xda) {
    const marker = copy[at + 1] ?? 0;
    if (marker === 0xc0 || marker === 0xc1) {
      copy[at + 1] = 0xc1;
      copy[at + 4] = 12;
      return copy;
    }
    at += 2 + (((copy[at + 2] ?? 0) << 8) | (copy[at + 3] ?? 0));
  }
  throw new Error('the stream has no sequential frame header before its first scan');
}
