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
