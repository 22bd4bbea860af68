/**
 * Lossless JPEG (ISO/IEC 10918-1 process 14, Annex H; DICOM's JPEG Lossless transfer syntaxes
 * 1.2.840.10008.1.2.4.57 and .70): Huffman-coded differences from one of seven predictors, 2 to 16
 * bits a sample, a point transform, restart intervals, one interleaved scan or one scan per
 * component, frames of 0 lines defined by DNL (`./lines.ts`). Written here because the JavaScript decoder on npm walks its Huffman trees a bit at a
 * time (most of the DICOM benchmark's time went there); this one decodes from a lookup table of
 * 9-bit prefixes, with the canonical code's limits (T.81 F.2.2.3) for longer codes (`./huffman.ts`,
 * shared with the sequential DCT decoder).
 *
 * `decodeJpegLossless` gives frames whose size the caller knows to this package's C decoder in
 * WebAssembly (`./sequential-wasm.ts`: the same samples and refusals, checked on damaged streams
 * too, about 1.6 times as fast); `decodeJpegLosslessInJs` is this module alone.
 *
 * It reads hostile streams: every marker length is checked against the stream, a scan that ends
 * before its samples (or a code that no table holds) is a `LosslessJpegError`, and the caller bounds
 * the image's size before decoding (`width x height x components` comes from the frame header, which
 * the caller compares with its container first).
 */

import {
  BitReader,
  LOOKAHEAD,
  buildHuffmanTable,
  decodeDifference,
  decodeLongDifference,
  type HuffmanTable,
} from './huffman.js';
import { frameLines, readDefinedLines } from './lines.js';
import { decodeSequentialWasm } from './sequential-wasm.js';

/** The stream is not lossless JPEG this decoder reads (the message says what and where). */
export class LosslessJpegError extends Error {
  override readonly name = 'LosslessJpegError';
}

const fail = (message: string) => new LosslessJpegError(message);

const LOOKAHEAD_MASK = (1 << LOOKAHEAD) - 1;

/** A decoded frame: interleaved samples, rows top down; 8 bits or fewer as bytes, else 16-bit. */
export interface DecodedLosslessJpeg {
  width: number;
  height: number;
  components: number;
  precision: number;
  samples: Uint8Array | Uint16Array;
}

/** The frame header's facts this decoder needs (T.81 B.2.2). */
interface Frame {
  precision: number;
  height: number;
  /** The header declared 0 lines: a DNL segment must follow the first scan (`./lines.ts`). */
  isDnlPending: boolean;
  width: number;
  /** Component identifiers, in frame order. */
  ids: number[];
}

/**
 * Decodes a whole lossless JPEG stream. `expected`, when given, is what the container says the
 * frame is; a frame header that disagrees is refused before anything is allocated.
 */
export function decodeJpegLossless(
  stream: Uint8Array,
  expected?: { width: number; height: number; components: number },
): DecodedLosslessJpeg {
  if (expected !== undefined) {
    // The C decoder in WebAssembly (`./sequential-wasm.ts`): the same samples and errors, faster.
    const options = { colour: 'as-coded', flavour: 'lossless' } as const;
    const decoded = decodeSequentialWasm(stream, expected, options, LosslessJpegError);
    if (decoded !== null) {
      return decoded;
    }
  }
  return decodeJpegLosslessInJs(stream, expected);
}

/** `decodeJpegLossless` by this module's decoder alone. */
export function decodeJpegLosslessInJs(
  stream: Uint8Array,
  expected?: { width: number; height: number; components: number },
): DecodedLosslessJpeg {
  if (stream.length < 4 || stream[0] !== 0xff || stream[1] !== 0xd8) {
    throw new LosslessJpegError('the stream does not start with SOI');
  }
  const tables: (HuffmanTable | undefined)[] = [];
  let frame: Frame | null = null;
  let work: Uint16Array | null = null;
  let restartInterval = 0;
  let scans = 0;
  let at = 2;
  for (;;) {
    if (at + 2 > stream.length) {
      throw new LosslessJpegError(`the stream ends at byte ${at} without EOI`);
    }
    if (stream[at] !== 0xff) {
      throw new LosslessJpegError(`byte ${at} is not a marker`);
    }
    const marker = stream[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd9) {
      break;
    }
    if (at + 4 > stream.length) {
      throw new LosslessJpegError(`the marker at byte ${at} has no length`);
    }
    const length = ((stream[at + 2] ?? 0) << 8) | (stream[at + 3] ?? 0);
    const end = at + 2 + length;
    if (length < 2 || end > stream.length) {
      throw new LosslessJpegError(
        `the segment at byte ${at} declares ${length} bytes, past the stream's end`,
      );
    }
    const segment = stream.subarray(at + 4, end);
    if (marker === 0xc3) {
      if (frame !== null) {
        throw new LosslessJpegError('the stream has two frame headers');
      }
      frame = readFrame(segment, at, expected?.height);
      if (
        expected !== undefined &&
        (frame.width !== expected.width ||
          frame.height !== expected.height ||
          frame.ids.length !== expected.components)
      ) {
        throw new LosslessJpegError(
          `the frame is ${frame.width} x ${frame.height} x ${frame.ids.length}, not ${expected.width} x ${expected.height} x ${expected.components}`,
        );
      }
      work = new Uint16Array(frame.width * frame.height * frame.ids.length);
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xcc) {
      throw new LosslessJpegError(
        `the frame is of process 0x${marker.toString(16).toUpperCase()}, not lossless (0xC3)`,
      );
    } else if (marker === 0xc4) {
      readHuffmanTables(segment, at, tables);
    } else if (marker === 0xdd) {
      if (length !== 4) {
        throw new LosslessJpegError(`the restart interval at byte ${at} is not 2 bytes`);
      }
      restartInterval = ((segment[0] ?? 0) << 8) | (segment[1] ?? 0);
    } else if (marker === 0xda) {
      if (frame === null || work === null) {
        throw new LosslessJpegError(`the scan at byte ${at} comes before the frame header`);
      }
      const scan = readScan(segment, at, frame, tables);
      at = decodeScan(stream, end, frame, scan, restartInterval, work);
      scans += 1;
      if (frame.isDnlPending) {
        at = readDefinedLines(stream, at, frame.height, fail);
        frame.isDnlPending = false;
      }
      continue;
    }
    at = end;
  }
  if (frame === null || work === null || scans === 0) {
    throw new LosslessJpegError('the stream has no frame or no scan');
  }
  return present(frame, work);
}

function readFrame(segment: Uint8Array, at: number, expectedHeight: number | undefined): Frame {
  const count = segment[5] ?? 0;
  if (segment.length < 6 || count < 1 || count > 4 || segment.length !== 6 + 3 * count) {
    throw new LosslessJpegError(`the frame header at byte ${at} is malformed`);
  }
  const precision = segment[0] ?? 0;
  const lines = frameLines(((segment[1] ?? 0) << 8) | (segment[2] ?? 0), expectedHeight, fail);
  const height = lines.height;
  const width = ((segment[3] ?? 0) << 8) | (segment[4] ?? 0);
  if (precision < 2 || precision > 16) {
    throw new LosslessJpegError(`the frame's precision is ${precision} bits, not 2 to 16`);
  }
  if (width === 0) {
    throw new LosslessJpegError(`the frame is ${width} x ${height}`);
  }
  const ids: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const sampling = segment[7 + 3 * i] ?? 0;
    if (sampling !== 0x11) {
      throw new LosslessJpegError(
        `component ${i} is sampled ${sampling >> 4} x ${sampling & 15}; only 1 x 1 is read`,
      );
    }
    ids.push(segment[6 + 3 * i] ?? 0);
  }
  return { precision, height, width, isDnlPending: lines.isDefinedByDnl, ids };
}

/** Reads the tables of a DHT segment into `tables` (DC class only: lossless codes differences). */
function readHuffmanTables(
  segment: Uint8Array,
  at: number,
  tables: (HuffmanTable | undefined)[],
): void {
  let offset = 0;
  while (offset < segment.length) {
    const classAndId = segment[offset] ?? 0;
    if (classAndId >> 4 !== 0 || (classAndId & 15) > 3) {
      throw new LosslessJpegError(
        `the Huffman table at byte ${at} is of class ${classAndId >> 4}, id ${classAndId & 15}`,
      );
    }
    const counts = segment.subarray(offset + 1, offset + 17);
    let total = 0;
    for (const count of counts) {
      total += count;
    }
    if (counts.length !== 16 || total > 17 || offset + 17 + total > segment.length) {
      throw new LosslessJpegError(`the Huffman table at byte ${at} is malformed`);
    }
    const symbols = segment.slice(offset + 17, offset + 17 + total);
    for (const symbol of symbols) {
      if (symbol > 16) {
        throw new LosslessJpegError(
          `the Huffman table at byte ${at} codes a ${symbol}-bit difference`,
        );
      }
    }
    tables[classAndId & 15] = buildHuffmanTable(counts, symbols, 'dc', at, fail);
    offset += 17 + total;
  }
}

/** A scan header (T.81 B.2.3): its components' frame indices and tables, predictor, transform. */
interface Scan {
  components: number[];
  tables: HuffmanTable[];
  predictor: number;
  pointTransform: number;
}

function readScan(
  segment: Uint8Array,
  at: number,
  frame: Frame,
  tables: readonly (HuffmanTable | undefined)[],
): Scan {
  const count = segment[0] ?? 0;
  if (count < 1 || count > frame.ids.length || segment.length !== 4 + 2 * count) {
    throw new LosslessJpegError(`the scan header at byte ${at} is malformed`);
  }
  const components: number[] = [];
  const scanTables: HuffmanTable[] = [];
  for (let i = 0; i < count; i += 1) {
    const index = frame.ids.indexOf(segment[1 + 2 * i] ?? -1);
    const table = tables[(segment[2 + 2 * i] ?? 0) >> 4];
    if (index < 0 || components.includes(index)) {
      throw new LosslessJpegError(`the scan at byte ${at} names an unknown or repeated component`);
    }
    if (table === undefined) {
      throw new LosslessJpegError(`the scan at byte ${at} uses a Huffman table never defined`);
    }
    components.push(index);
    scanTables.push(table);
  }
  const predictor = segment[1 + 2 * count] ?? 0;
  const pointTransform = (segment[3 + 2 * count] ?? 0) & 15;
  if (predictor < 1 || predictor > 7) {
    throw new LosslessJpegError(`the scan at byte ${at} has predictor ${predictor}, not 1 to 7`);
  }
  if (pointTransform >= frame.precision) {
    throw new LosslessJpegError(`the scan at byte ${at} shifts by ${pointTransform} bits`);
  }
  return { components, tables: scanTables, predictor, pointTransform };
}

/**
 * Decodes one scan's samples (before the point transform's shift) into `work`, interleaved at the
 * frame's component stride; returns where the scan's data ends. Predictions follow H.1.2.1: the
 * first sample of the image and of each restart interval is 2^(P - Pt - 1), the rest of that first
 * row predicts from the left, the first sample of a row from above.
 */
function decodeScan(
  stream: Uint8Array,
  start: number,
  frame: Frame,
  scan: Scan,
  restartInterval: number,
  work: Uint16Array,
): number {
  const { width, height } = frame;
  const stride = frame.ids.length;
  const row = width * stride;
  const { components, tables, predictor } = scan;
  const initial = 1 << (frame.precision - scan.pointTransform - 1);
  if (restartInterval !== 0 && restartInterval % width !== 0) {
    throw new LosslessJpegError(
      `the restart interval (${restartInterval}) is not a whole number of rows of ${width}`,
    );
  }
  const rowsPerInterval = restartInterval === 0 ? height : restartInterval / width;
  const reader = new BitReader(stream, start, fail);
  let restarts = 0;
  for (let y = 0; y < height; y += 1) {
    let first = y === 0;
    if (y !== 0 && y % rowsPerInterval === 0) {
      reader.restart(restarts % 8);
      restarts += 1;
      first = true;
    }
    const base = y * row;
    for (let k = 0; k < components.length; k += 1) {
      const c = components[k] ?? 0;
      const table = tables[k] as HuffmanTable;
      const i = base + c;
      const prediction = first ? initial : (work[i - row] ?? 0);
      work[i] = (prediction + decodeDifference(reader, table, 16, fail)) & 0xffff;
    }
    // The rest of the row: from the left in a first row and with predictor 1 (which the .70
    // transfer syntax requires), a loop of its own as it is most rows of most files.
    const isFromLeft = first || predictor === 1;
    // The reader's bits in locals along the row (faster than its fields), handed back to
    // it to fill them and for the codes its lookup does not hold.
    let bits = reader.bits;
    let count = reader.count;
    for (let x = 1; x < width; x += 1) {
      for (let k = 0; k < components.length; k += 1) {
        const table = tables[k] as HuffmanTable;
        const i = base + x * stride + (components[k] ?? 0);
        const a = work[i - stride] ?? 0;
        const prediction = isFromLeft
          ? a
          : predict(predictor, a, work[i - row] ?? 0, work[i - row - stride] ?? 0);
        if (count < LOOKAHEAD) {
          reader.count = count;
          reader.fill();
          bits = reader.bits;
          count = reader.count;
        }
        const entry = table.fast[(bits >>> (count - LOOKAHEAD)) & LOOKAHEAD_MASK] ?? 0;
        let difference: number;
        if (entry !== 0) {
          count -= entry & 15;
          difference = entry >> 8;
        } else {
          reader.count = count;
          difference = decodeLongDifference(reader, table, 16, fail);
          bits = reader.bits;
          count = reader.count;
        }
        work[i] = (prediction + difference) & 0xffff;
      }
    }
    reader.count = count;
    if (reader.overran()) {
      throw new LosslessJpegError(`the scan data ends in row ${y} of ${height}`);
    }
  }
  // Restore the point transform's low bits as zeros, per component of this scan.
  const shift = scan.pointTransform;
  if (shift !== 0) {
    for (let i = 0; i < work.length; i += stride) {
      for (const c of components) {
        work[i + c] = ((work[i + c] ?? 0) << shift) & 0xffff;
      }
    }
  }
  return reader.end();
}

/** T.81 Table H.1's predictors (Ra left, Rb above, Rc above left). */
function predict(predictor: number, a: number, b: number, c: number): number {
  switch (predictor) {
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return c;
    case 4:
      return a + b - c;
    case 5:
      return a + ((b - c) >> 1);
    case 6:
      return b + ((a - c) >> 1);
    default:
      return (a + b) >> 1;
  }
}

function present(frame: Frame, work: Uint16Array): DecodedLosslessJpeg {
  const shape = { width: frame.width, height: frame.height, components: frame.ids.length };
  if (frame.precision > 8) {
    return { ...shape, precision: frame.precision, samples: work };
  }
  const samples = new Uint8Array(work.length);
  samples.set(work);
  return { ...shape, precision: frame.precision, samples };
}
