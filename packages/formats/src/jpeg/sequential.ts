/**
 * DCT JPEG (ISO/IEC 10918-1), non-hierarchical: sequential (processes 1, 2 and 4: SOF0 baseline
 * and SOF1 extended) and progressive (processes 10 and 12: SOF2, whose scans `./progressive.ts`
 * decodes into coefficient buffers, transformed here once all are read) with Huffman coding, and
 * both with arithmetic coding (processes 3, 5, 11 and 13: SOF9, SOF10; `./arithmetic.ts`), 8 or
 * 12 bits a sample; DICOM's JPEG Baseline and JPEG Extended transfer syntaxes
 * 1.2.840.10008.1.2.4.50 and .51, and the retired ones of the other processes (.52 to .56). Written here because no 12-bit
 * build of libjpeg is on npm, and 12-bit is what CT, MR and NM modalities write into .51.
 *
 * Which decoder does what: `decodeJpegSequential` gives sequential Huffman-coded frames (SOF0,
 * SOF1, 8 or 12 bits) to this package's C decoder in WebAssembly (`./sequential-wasm.ts`, its IJG
 * flavour: the same samples as this module computes, about twice as fast) and decodes the rest
 * here: progressive, arithmetic-coded, and what that decoder leaves (DAC segments);
 * `decodeJpegSequentialInJs` is this module alone. 8-bit frames that DICOM's decodeFrame and the
 * slide readers decode as libjpeg-turbo does go through `./libjpeg-turbo.ts` instead.
 *
 * Samples come out as the IJG library's decoder gives them (dcmtk's dcmdjpeg, libjpeg, Pillow):
 * its accurate integer IDCT (jidctint.c, `jpeg_idct_islow`, with 1 fractional bit between the
 * passes at 12 bits and 2 at 8), its fancy (triangle) upsampling of 2:1 chroma (jdsample.c) and
 * its YCbCr to RGB tables (jdcolor.c) when the caller says the components are YCbCr. Any sampling
 * factors of 1 to 4 whose ratios are whole; interleaved and single-component scans; restart
 * intervals; frames of 0 lines defined by DNL (`./lines.ts`); DQT tables of 8 and 16 bits; tables
 * redefined between scans (a progressive frame's
 * components keep the quantization table they had in their first scan, as libjpeg does). A
 * progression that leaves some coefficients' low bits unsent decodes with those bits zero, where
 * libjpeg would also smooth the blocks' low frequencies (jdcoefct.c); encoders send them all.
 *
 * It reads hostile streams: every marker length is checked against the stream, a scan that ends
 * before its blocks (Huffman data read past its marker; arithmetic data past the stream's end, since
 * arithmetic data ended by a marker is complete: `./arithmetic.ts`), a code no table holds, or a
 * coefficient past the 64th is a `SequentialJpegError`, as is a progression that breaks T.81 G.1.1.1 (a band or bit position out of
 * order, which libjpeg only warns of); and the frame header must agree with what the caller's
 * container declares before anything is allocated, so the work is bounded by that size.
 */
import {
  ArithmeticDecoder,
  defaultConditioning,
  readConditioning,
  type ArithmeticConditioning,
} from './arithmetic.js';
import {
  BitReader,
  buildHuffmanTable,
  decodeDifference,
  decodeSymbol,
  LOOKAHEAD,
  receiveExtend,
} from './huffman.js';
import type { HuffmanTable } from './huffman.js';
import { frameLines, readDefinedLines } from './lines.js';
import {
  decodeAcFirst,
  decodeAcRefine,
  decodeDcFirst,
  decodeDcRefine,
  type EndOfBandRun,
  type ProgressiveBand,
} from './progressive.js';
import { decodeSequentialWasm } from './sequential-wasm.js';

/** The stream is not sequential DCT JPEG this decoder reads (the message says what and where). */
export class SequentialJpegError extends Error {
  override readonly name = 'SequentialJpegError';
}

const fail = (message: string) => new SequentialJpegError(message);

const LOOKAHEAD_MASK = (1 << LOOKAHEAD) - 1;

/** A decoded frame: interleaved samples, rows top down; 8-bit as bytes, 12-bit as 16-bit words. */
export interface DecodedSequentialJpeg {
  width: number;
  height: number;
  components: number;
  precision: number;
  samples: Uint8Array | Uint16Array;
}

/** What the caller's container says the frame is, and what its three components hold. */
export interface SequentialJpegExpectation {
  width: number;
  height: number;
  components: number;
  /** 'ycbcr': three components converted to RGB (DICOM YBR_FULL, YBR_FULL_422); else as coded. */
  colour: 'ycbcr' | 'none';
}

/** A frame component (T.81 B.2.2) and the plane its blocks are decoded into. */
interface Component {
  id: number;
  h: number;
  v: number;
  quantTable: number;
  /** Blocks across and down that carry the component's samples (A.2.2, non-interleaved scans). */
  blocksWide: number;
  blocksHigh: number;
  /** Samples across and down the component's image (A.1.1: ceil(X * h / Hmax)). */
  sampleWidth: number;
  sampleHeight: number;
  /** The plane's stride and rows: whole MCUs of blocks, so interleaved scans fill it. */
  stride: number;
  plane: Uint16Array;
  /** The same plane two samples a word, so that a flat block is filled in half the stores. */
  planePairs: Uint32Array;
  /** Sequential: whether a scan has coded it. */
  isDecoded: boolean;
  /** Progressive: its blocks' coefficients, 64 a block in zig-zag order, blocks as the plane's. */
  coefficients: Int32Array | null;
  /** Progressive: the quantization table of its first scan. */
  quant: Int32Array | null;
  /** Progressive: each coefficient's lowest bit sent so far (Al), -1 before its first scan. */
  bitsSent: Int8Array;
}

interface Frame {
  isProgressive: boolean;
  /** Arithmetic coding (SOF9, SOF10; `./arithmetic.ts`) rather than Huffman's. */
  isArithmetic: boolean;
  /** The header declared 0 lines: a DNL segment must follow the first scan (`./lines.ts`). */
  isDnlPending: boolean;
  precision: number;
  width: number;
  height: number;
  components: Component[];
  hMax: number;
  vMax: number;
  mcusWide: number;
  mcusHigh: number;
}

/** T.81 Figure A.6: the zig-zag order's position k is the natural order's ZIGZAG[k]. */
const ZIGZAG = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
  13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52,
  45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

/**
 * Decodes a whole DCT JPEG stream (SOF0, SOF1, SOF2, SOF9 or SOF10). The frame header must agree
 * with `expected` (width, height, components), or the stream is refused before anything is
 * allocated. Sequential Huffman-coded frames go to the WebAssembly decoder (`./sequential-wasm.ts`,
 * the same samples, faster); what it leaves (progressive, arithmetic) to this module's.
 */
export function decodeJpegSequential(
  stream: Uint8Array,
  expected: SequentialJpegExpectation,
): DecodedSequentialJpeg {
  const colour = expected.colour === 'ycbcr' ? 'ycbcr' : 'as-coded';
  return (
    decodeSequentialWasm(stream, expected, { colour, flavour: 'ijg' }, SequentialJpegError) ??
    decodeJpegSequentialInJs(stream, expected)
  );
}

/** `decodeJpegSequential` by this module's decoder alone, whatever the stream's process. */
export function decodeJpegSequentialInJs(
  stream: Uint8Array,
  expected: SequentialJpegExpectation,
): DecodedSequentialJpeg {
  if (stream.length < 4 || stream[0] !== 0xff || stream[1] !== 0xd8) {
    throw fail('the stream does not start with SOI');
  }
  const quantTables: (Int32Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  const conditioning = defaultConditioning();
  let frame: Frame | null = null;
  let restartInterval = 0;
  let at = 2;
  for (;;) {
    if (at + 2 > stream.length) {
      throw fail(`the stream ends at byte ${at} without EOI`);
    }
    if (stream[at] !== 0xff) {
      throw fail(`byte ${at} is not a marker`);
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
      throw fail(`the marker at byte ${at} has no length`);
    }
    const length = ((stream[at + 2] ?? 0) << 8) | (stream[at + 3] ?? 0);
    const end = at + 2 + length;
    if (length < 2 || end > stream.length) {
      throw fail(`the segment at byte ${at} declares ${length} bytes, past the stream's end`);
    }
    const segment = stream.subarray(at + 4, end);
    if ((marker >= 0xc0 && marker <= 0xc2) || marker === 0xc9 || marker === 0xca) {
      if (frame !== null) {
        throw fail('the stream has two frame headers');
      }
      frame = readFrame(segment, at, expected, marker);
    } else if (marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xcc) {
      throw fail(
        `the frame is of process 0x${marker.toString(16).toUpperCase()}, not non-hierarchical DCT (0xC0 to 0xC2, 0xC9, 0xCA)`,
      );
    } else if (marker === 0xcc) {
      readConditioning(segment, at, conditioning, fail);
    } else if (marker === 0xc4) {
      readHuffmanTables(segment, at, dcTables, acTables);
    } else if (marker === 0xdb) {
      readQuantizationTables(segment, at, quantTables);
    } else if (marker === 0xdd) {
      if (length !== 4) {
        throw fail(`the restart interval at byte ${at} is not 2 bytes`);
      }
      restartInterval = ((segment[0] ?? 0) << 8) | (segment[1] ?? 0);
    } else if (marker === 0xda) {
      if (frame === null) {
        throw fail(`the scan at byte ${at} comes before the frame header`);
      }
      const scan = readScan(segment, at, frame, quantTables, dcTables, acTables);
      at = decodeScan(stream, end, frame, scan, restartInterval, conditioning);
      if (frame.isDnlPending) {
        at = readDefinedLines(stream, at, frame.height, fail);
        frame.isDnlPending = false;
      }
      continue;
    } else if (marker === 0xdc) {
      throw fail(
        `the stream has a DNL marker at byte ${at}, not after the first scan of a frame of 0 lines`,
      );
    } else if (marker >= 0xd0 && marker <= 0xd8) {
      throw fail(`marker 0xFF${marker.toString(16).toUpperCase()} at byte ${at} is out of place`);
    }
    at = end;
  }
  if (frame === null) {
    throw fail('the stream has no frame header');
  }
  const missing = frame.components.find((component) =>
    frame.isProgressive ? (component.bitsSent[0] ?? -1) < 0 : !component.isDecoded,
  );
  if (missing !== undefined) {
    throw fail(`component ${missing.id} is in no scan${frame.isProgressive ? ' of its DC' : ''}`);
  }
  if (frame.isProgressive) {
    transformCoefficients(frame);
  }
  return present(frame, expected.colour);
}

function readFrame(
  segment: Uint8Array,
  at: number,
  expected: SequentialJpegExpectation,
  process: number,
): Frame {
  const isProgressive = process === 0xc2 || process === 0xca;
  const count = segment[5] ?? 0;
  if (segment.length < 6 || count < 1 || count > 4 || segment.length !== 6 + 3 * count) {
    throw fail(`the frame header at byte ${at} is malformed`);
  }
  const precision = segment[0] ?? 0;
  const lines = frameLines(((segment[1] ?? 0) << 8) | (segment[2] ?? 0), expected.height, fail);
  const height = lines.height;
  const width = ((segment[3] ?? 0) << 8) | (segment[4] ?? 0);
  // Baseline (SOF0) is 8-bit only, but libjpeg reads 12-bit SOF0 frames as extended, and so
  // does this decoder.
  if (precision !== 8 && precision !== 12) {
    throw fail(`the frame's precision is ${precision} bits, not 8 or 12`);
  }
  if (width !== expected.width || height !== expected.height || count !== expected.components) {
    throw fail(
      `the frame is ${width} x ${height} x ${count}, not ${expected.width} x ${expected.height} x ${expected.components}`,
    );
  }
  const specs: { id: number; h: number; v: number; quantTable: number }[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = segment[6 + 3 * i] ?? 0;
    const sampling = segment[7 + 3 * i] ?? 0;
    const quantTable = segment[8 + 3 * i] ?? 0;
    const h = sampling >> 4;
    const v = sampling & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4 || quantTable > 3) {
      throw fail(
        `component ${i} of the frame at byte ${at} is sampled ${h} x ${v}, table ${quantTable}`,
      );
    }
    if (specs.some((spec) => spec.id === id)) {
      throw fail(`the frame at byte ${at} names component ${id} twice`);
    }
    specs.push({ id, h, v, quantTable });
  }
  const hMax = Math.max(...specs.map((spec) => spec.h));
  const vMax = Math.max(...specs.map((spec) => spec.v));
  const mcusWide = Math.ceil(width / (8 * hMax));
  const mcusHigh = Math.ceil(height / (8 * vMax));
  const components = specs.map((spec): Component => {
    if (hMax % spec.h !== 0 || vMax % spec.v !== 0) {
      throw fail(
        `component ${spec.id} is sampled ${spec.h} x ${spec.v} of ${hMax} x ${vMax}, not a whole fraction`,
      );
    }
    const sampleWidth = Math.ceil((width * spec.h) / hMax);
    const sampleHeight = Math.ceil((height * spec.v) / vMax);
    const stride = mcusWide * spec.h * 8;
    const blocks = (stride / 8) * mcusHigh * spec.v;
    const plane = new Uint16Array(blocks * 64);
    // Every property written out, in one order: with a spread of `spec`, the optimized scan loop
    // met components of a shape it did not know and bailed out once a frame (`--trace-deopt`).
    return {
      id: spec.id,
      h: spec.h,
      v: spec.v,
      quantTable: spec.quantTable,
      blocksWide: Math.ceil(sampleWidth / 8),
      blocksHigh: Math.ceil(sampleHeight / 8),
      sampleWidth,
      sampleHeight,
      stride,
      plane,
      planePairs: new Uint32Array(plane.buffer),
      isDecoded: false,
      coefficients: isProgressive ? new Int32Array(blocks * 64) : null,
      quant: null,
      bitsSent: new Int8Array(64).fill(-1),
    };
  });
  return {
    isProgressive,
    isArithmetic: process >= 0xc9,
    isDnlPending: lines.isDefinedByDnl,
    precision,
    width,
    height,
    components,
    hMax,
    vMax,
    mcusWide,
    mcusHigh,
  };
}

/** Reads the tables of a DQT segment (T.81 B.2.4.1), 8 or 16 bits each, in zig-zag order. */
function readQuantizationTables(
  segment: Uint8Array,
  at: number,
  tables: (Int32Array | undefined)[],
): void {
  let offset = 0;
  while (offset < segment.length) {
    const precisionAndId = segment[offset] ?? 0;
    const wide = precisionAndId >> 4;
    const id = precisionAndId & 15;
    const size = wide === 0 ? 64 : 128;
    if (wide > 1 || id > 3 || offset + 1 + size > segment.length) {
      throw fail(`the quantization table at byte ${at} is malformed`);
    }
    const table = new Int32Array(64);
    for (let k = 0; k < 64; k += 1) {
      table[k] =
        wide === 0
          ? (segment[offset + 1 + k] ?? 0)
          : ((segment[offset + 1 + 2 * k] ?? 0) << 8) | (segment[offset + 2 + 2 * k] ?? 0);
    }
    tables[id] = table;
    offset += 1 + size;
  }
}

/** Reads the tables of a DHT segment (T.81 B.2.4.2): DC (class 0) and AC (class 1), ids 0 to 3. */
function readHuffmanTables(
  segment: Uint8Array,
  at: number,
  dcTables: (HuffmanTable | undefined)[],
  acTables: (HuffmanTable | undefined)[],
): void {
  let offset = 0;
  while (offset < segment.length) {
    const classAndId = segment[offset] ?? 0;
    const tableClass = classAndId >> 4;
    const id = classAndId & 15;
    if (tableClass > 1 || id > 3) {
      throw fail(`the Huffman table at byte ${at} is of class ${tableClass}, id ${id}`);
    }
    const counts = segment.subarray(offset + 1, offset + 17);
    let total = 0;
    for (const count of counts) {
      total += count;
    }
    if (counts.length !== 16 || total > 256 || offset + 17 + total > segment.length) {
      throw fail(`the Huffman table at byte ${at} is malformed`);
    }
    const symbols = segment.slice(offset + 17, offset + 17 + total);
    const table = buildHuffmanTable(counts, symbols, tableClass === 0 ? 'dc' : 'ac', at, fail);
    (tableClass === 0 ? dcTables : acTables)[id] = table;
    offset += 17 + total;
  }
}

/**
 * A scan header (T.81 B.2.3): its components and, for each, its tables as they are now (those
 * its kind of scan uses: a progressive DC refinement uses none), and its band and bits.
 */
interface Scan {
  components: Component[];
  dc: HuffmanTable[];
  ac: HuffmanTable[];
  /** The table selectors (Td, Ta): with arithmetic coding, of conditioning and statistics. */
  dcIds: number[];
  acIds: number[];
  quant: Int32Array[];
  band: ProgressiveBand;
}

function readScan(
  segment: Uint8Array,
  at: number,
  frame: Frame,
  quantTables: readonly (Int32Array | undefined)[],
  dcTables: readonly (HuffmanTable | undefined)[],
  acTables: readonly (HuffmanTable | undefined)[],
): Scan {
  const count = segment[0] ?? 0;
  if (count < 1 || count > frame.components.length || segment.length !== 4 + 2 * count) {
    throw fail(`the scan header at byte ${at} is malformed`);
  }
  const approximation = segment[3 + 2 * count] ?? 0;
  const band = {
    ss: segment[1 + 2 * count] ?? 0,
    se: segment[2 + 2 * count] ?? 0,
    ah: approximation >> 4,
    al: approximation & 15,
  };
  if (frame.isProgressive) {
    checkBand(band, count, at);
  }
  const usesDc = !frame.isProgressive || (band.ss === 0 && band.ah === 0);
  const usesAc = !frame.isProgressive || band.ss !== 0;
  const scan: Scan = { components: [], dc: [], ac: [], dcIds: [], acIds: [], quant: [], band };
  let blocksPerMcu = 0;
  for (let i = 0; i < count; i += 1) {
    const id = segment[1 + 2 * i] ?? -1;
    const component = frame.components.find((c) => c.id === id);
    if (component === undefined || scan.components.includes(component)) {
      throw fail(`the scan at byte ${at} names an unknown or repeated component`);
    }
    if (component.isDecoded) {
      throw fail(`the scan at byte ${at} codes component ${id} a second time`);
    }
    const selectors = segment[2 + 2 * i] ?? 0;
    const dcId = selectors >> 4;
    const acId = selectors & 15;
    const dc = frame.isArithmetic ? EMPTY_TABLE : (dcTables[dcId] ?? EMPTY_TABLE);
    const ac = frame.isArithmetic ? EMPTY_TABLE : (acTables[acId] ?? EMPTY_TABLE);
    const quant = component.quant ?? quantTables[component.quantTable];
    if (
      frame.isArithmetic
        ? dcId > 3 || acId > 3
        : (usesDc && dc === EMPTY_TABLE) || (usesAc && ac === EMPTY_TABLE)
    ) {
      throw fail(
        `the scan at byte ${at} uses a ${frame.isArithmetic ? 'conditioning' : 'Huffman'} table never defined`,
      );
    }
    if (quant === undefined) {
      throw fail(`the scan at byte ${at} uses a quantization table never defined`);
    }
    if (frame.isProgressive) {
      component.quant = quant;
      checkProgression(component, band, at);
    }
    blocksPerMcu += component.h * component.v;
    scan.components.push(component);
    scan.dc.push(dc);
    scan.ac.push(ac);
    scan.dcIds.push(dcId);
    scan.acIds.push(acId);
    scan.quant.push(quant);
  }
  if (count > 1 && blocksPerMcu > 10) {
    throw fail(`the scan at byte ${at} has ${blocksPerMcu} blocks a unit, more than 10 (B.2.3)`);
  }
  // Ss, Se, Ah and Al are 0, 63, 0, 0 in sequential scans; like libjpeg (which only warns), the
  // decoder reads the scan as sequential whatever they say, as some writers get them wrong.
  return scan;
}

/** Stands for a Huffman table a scan does not name, so that scans keep one shape. */
const EMPTY_TABLE: HuffmanTable = {
  lookup: new Uint16Array(0),
  maxCode: new Int32Array(0),
  offset: new Int32Array(0),
  symbols: new Uint8Array(0),
  fast: new Int32Array(0),
};

/**
 * A progressive scan's band and bits as T.81 G.1.1.1.1 and B.2.3 allow them (what libjpeg's
 * jdphuff.c refuses): a DC scan (Ss 0) is of DC alone, an AC band lies in 1 to 63 and is of one
 * component, and a refinement (Ah not 0) sends the one bit below the last.
 */
function checkBand(band: ProgressiveBand, components: number, at: number): void {
  const { ss, se, ah, al } = band;
  if (ss === 0 ? se !== 0 : se < ss || se > 63 || components !== 1) {
    throw fail(
      `the progressive scan at byte ${at} selects coefficients ${ss} to ${se} of ${components} components (G.1.1.1.1)`,
    );
  }
  if ((ah !== 0 && al !== ah - 1) || al > 13) {
    throw fail(
      `the progressive scan at byte ${at} approximates bits ${ah} to ${al} (Ah, Al; G.1.1.1.2)`,
    );
  }
}

/**
 * The scan's band follows what the component's earlier scans sent (libjpeg's coef_bits, of which
 * it only warns): AC after the DC's first scan, a first scan of a coefficient before its
 * refinements, each refinement from the bit the one before left (Ah the last Al).
 */
function checkProgression(component: Component, band: ProgressiveBand, at: number): void {
  const bits = component.bitsSent;
  if (band.ss !== 0 && (bits[0] ?? -1) < 0) {
    throw fail(`the scan at byte ${at} codes component ${component.id}'s AC before its DC`);
  }
  for (let k = band.ss; k <= band.se; k += 1) {
    const sent = bits[k] ?? -1;
    if (band.ah !== Math.max(sent, 0) || (band.ah === 0 && sent === 0)) {
      throw fail(
        `the scan at byte ${at} sends bit ${band.al} of coefficient ${k} of component ${component.id}, after bit ${sent} (Ah ${band.ah})`,
      );
    }
    bits[k] = band.al;
  }
}

/** Decodes the block at `column`, `row` of the scan's `k`th component. */
type BlockDecoder = (k: number, component: Component, column: number, row: number) => void;

/** The entropy-coded data of a scan, Huffman's (`BitReader`) or arithmetic (`ArithmeticDecoder`). */
interface ScanReader {
  /** Skips the restart marker RSTn expected next, and starts the decoding anew. */
  restart(expected: number): void;
  /** Whether the data read ran past its end (a scan cut short). */
  overran(): boolean;
  /** Where the scan's data ends: the next marker. */
  end(): number;
}

/**
 * Decodes one scan's blocks: a sequential scan's into their components' planes (dequantized and
 * inverse transformed as each block ends), a progressive scan's into their coefficients; returns
 * where the scan's data ends. A scan of one component codes its blocks in raster order, the blocks
 * that carry samples only (A.2.2); an interleaved scan codes whole MCUs.
 */
function decodeScan(
  stream: Uint8Array,
  start: number,
  frame: Frame,
  scan: Scan,
  restartInterval: number,
  conditioning: ArithmeticConditioning,
): number {
  const predictions = new Int32Array(scan.components.length);
  const run: EndOfBandRun = { blocks: 0 };
  const single = scan.components.length === 1 ? scan.components[0] : undefined;
  const unitsWide = single === undefined ? frame.mcusWide : single.blocksWide;
  const unitsHigh = single === undefined ? frame.mcusHigh : single.blocksHigh;
  let reader: ScanReader;
  let decodeBlock: BlockDecoder;
  if (frame.isArithmetic) {
    const decoder = new ArithmeticDecoder(stream, start, scan.components.length, fail);
    reader = decoder;
    decodeBlock = arithmeticBlocks(decoder, frame, scan, predictions, conditioning);
  } else {
    const bits = new BitReader(stream, start, fail);
    reader = bits;
    decodeBlock = frame.isProgressive
      ? progressiveBlocks(bits, frame, scan, predictions, run)
      : sequentialBlocks(bits, frame, scan, predictions);
  }
  let restarts = 0;
  // Units left before the next restart marker (counted down rather than divided for each unit).
  let untilRestart = restartInterval;
  for (let uy = 0; uy < unitsHigh; uy += 1) {
    for (let ux = 0; ux < unitsWide; ux += 1) {
      if (restartInterval !== 0) {
        if (untilRestart === 0) {
          reader.restart(restarts % 8);
          restarts += 1;
          predictions.fill(0);
          run.blocks = 0;
          untilRestart = restartInterval;
        }
        untilRestart -= 1;
      }
      if (single !== undefined) {
        decodeBlock(0, single, ux, uy);
      } else {
        for (let k = 0; k < scan.components.length; k += 1) {
          const c = scan.components[k] as Component;
          for (let by = 0; by < c.v; by += 1) {
            for (let bx = 0; bx < c.h; bx += 1) {
              decodeBlock(k, c, ux * c.h + bx, uy * c.v + by);
            }
          }
        }
      }
    }
    if (reader.overran()) {
      throw fail(`the scan data ends in row ${uy} of ${unitsHigh} of its units`);
    }
  }
  if (!frame.isProgressive) {
    for (const component of scan.components) {
      component.isDecoded = true;
    }
  }
  return reader.end();
}

/** A sequential scan's blocks (F.2.2): DC difference, AC runs to the end of block, transformed. */
function sequentialBlocks(
  reader: BitReader,
  frame: Frame,
  scan: Scan,
  predictions: Int32Array,
): BlockDecoder {
  const coefficients = new Int32Array(64);
  const workspace = new Int32Array(64);
  const maxSize = frame.precision === 8 ? 11 : 15;
  return (k, component, column, row) => {
    const quant = scan.quant[k] as Int32Array;
    const difference = decodeDifference(reader, scan.dc[k] as HuffmanTable, maxSize, fail);
    const dc = ((predictions[k] ?? 0) + difference) | 0;
    predictions[k] = dc;
    coefficients[0] = dc * (quant[0] ?? 0);
    const ac = scan.ac[k] as HuffmanTable;
    const { fast } = ac;
    // The reader's bits in locals while the block's coefficients are read, handed back to it to
    // fill them and for the codes the lookup does not hold.
    let bits = reader.bits;
    let count = reader.count;
    let last = 0;
    for (let z = 1; z < 64; z += 1) {
      if (count < LOOKAHEAD) {
        reader.count = count;
        reader.fill();
        bits = reader.bits;
        count = reader.count;
      }
      let entry = fast[(bits >>> (count - LOOKAHEAD)) & LOOKAHEAD_MASK] ?? 0;
      if (entry !== 0) {
        count -= entry & 15; // a short code and its value's bits, in one lookup
      } else {
        reader.count = count;
        entry = decodeAcSlowly(reader, ac);
        bits = reader.bits;
        count = reader.count;
      }
      const value = entry >> 8;
      if (value === 0) {
        if ((entry & 0xf0) === 0) {
          break; // end of block
        }
        z += 15; // ZRL: sixteen zeros
        continue;
      }
      z += (entry >> 4) & 15;
      if (z > 63) {
        throw fail('the scan codes a coefficient past the 64th of its block');
      }
      coefficients[ZIGZAG[z] ?? 0] = value * (quant[z] ?? 0);
      last = z;
    }
    reader.count = count;
    transformBlock(coefficients, last, workspace, component, column, row, frame.precision);
    // Back to zeros for the next block: only the coefficients up to the last one coded can be set
    // (cheaper than filling all 64, as most blocks end early).
    for (let z = 1; z <= last; z += 1) {
      coefficients[ZIGZAG[z] ?? 0] = 0;
    }
  };
}

/**
 * An AC code the 9-bit lookup does not hold, and its value's bits, as `HuffmanTable.fast` gives
 * them (no bits left to take): `value << 8 | RRRR << 4`, value 0 for ZRL and the end of block.
 */
function decodeAcSlowly(reader: BitReader, table: HuffmanTable): number {
  const symbol = decodeSymbol(reader, table, fail);
  const run = symbol >> 4;
  const size = symbol & 15;
  if (size === 0) {
    return run === 15 ? 0xf0 : 0;
  }
  return (receiveExtend(reader, size) << 8) | (run << 4);
}

/**
 * A progressive scan's blocks (G.1.2), by its kind: DC or AC, first or refinement
 * (`./progressive.ts`), into the component's coefficients.
 */
function progressiveBlocks(
  reader: BitReader,
  frame: Frame,
  scan: Scan,
  predictions: Int32Array,
  run: EndOfBandRun,
): BlockDecoder {
  const { band } = scan;
  const maxSize = frame.precision === 8 ? 11 : 15;
  if (band.ss === 0 && band.ah === 0) {
    return (k, component, column, row) => {
      predictions[k] = decodeDcFirst(
        reader,
        scan.dc[k] ?? EMPTY_TABLE,
        coefficientsOf(component),
        blockAt(component, column, row),
        predictions[k] ?? 0,
        band,
        maxSize,
        fail,
      );
    };
  }
  if (band.ss === 0) {
    return (_, component, column, row) =>
      decodeDcRefine(reader, coefficientsOf(component), blockAt(component, column, row), band);
  }
  const decodeAc = band.ah === 0 ? decodeAcFirst : decodeAcRefine;
  return (k, component, column, row) =>
    decodeAc(
      reader,
      scan.ac[k] ?? EMPTY_TABLE,
      coefficientsOf(component),
      blockAt(component, column, row),
      band,
      run,
      fail,
    );
}

/** Where a block's 64 coefficients start in its component's coefficients (progressive frames). */
function blockAt(component: Component, column: number, row: number): number {
  return ((row * component.stride) / 8 + column) * 64;
}

/** A progressive frame's component's coefficients (allocated with the frame). */
function coefficientsOf(component: Component): Int32Array {
  return component.coefficients ?? new Int32Array(0);
}

/** The band of a sequential scan: every AC coefficient, to the last bit. */
const WHOLE_BAND: ProgressiveBand = { ss: 1, se: 63, ah: 0, al: 0 };

/**
 * An arithmetic-coded scan's blocks (F.2.4, G.1.3; `./arithmetic.ts`): a sequential scan's DC
 * and AC, dequantized and transformed; a progressive scan's, by its kind, into the component's
 * coefficients.
 */
function arithmeticBlocks(
  decoder: ArithmeticDecoder,
  frame: Frame,
  scan: Scan,
  predictions: Int32Array,
  conditioning: ArithmeticConditioning,
): BlockDecoder {
  const { band } = scan;
  const dcFirst = (k: number) => {
    const dc =
      ((predictions[k] ?? 0) + decoder.decodeDcDifference(k, scan.dcIds[k] ?? 0, conditioning)) | 0;
    predictions[k] = dc;
    return dc;
  };
  if (!frame.isProgressive) {
    const coefficients = new Int32Array(64);
    const block = new Int32Array(64);
    const workspace = new Int32Array(64);
    return (k, component, column, row) => {
      coefficients.fill(0);
      coefficients[0] = dcFirst(k);
      decoder.decodeAc(coefficients, 0, scan.acIds[k] ?? 0, WHOLE_BAND, conditioning);
      const last = dequantize(coefficients, 0, scan.quant[k] as Int32Array, block);
      transformBlock(block, last, workspace, component, column, row, frame.precision);
    };
  }
  if (band.ss === 0 && band.ah === 0) {
    return (k, component, column, row) => {
      coefficientsOf(component)[blockAt(component, column, row)] = dcFirst(k) << band.al;
    };
  }
  if (band.ss === 0) {
    return (_, component, column, row) =>
      decoder.decodeDcRefine(coefficientsOf(component), blockAt(component, column, row), band);
  }
  return (k, component, column, row) =>
    decoder.decodeAc(
      coefficientsOf(component),
      blockAt(component, column, row),
      scan.acIds[k] ?? 0,
      band,
      conditioning,
    );
}

/**
 * A progressive frame's coefficients, once every scan is read: each block that carries samples
 * dequantized with its component's table and transformed into the plane, as a sequential scan's
 * blocks are.
 */
function transformCoefficients(frame: Frame): void {
  const block = new Int32Array(64);
  const workspace = new Int32Array(64);
  for (const component of frame.components) {
    const { coefficients, quant } = component;
    if (coefficients === null || quant === null) {
      continue; // not progressive, or in no scan (refused before)
    }
    for (let row = 0; row < component.blocksHigh; row += 1) {
      for (let column = 0; column < component.blocksWide; column += 1) {
        const last = dequantize(coefficients, blockAt(component, column, row), quant, block);
        transformBlock(block, last, workspace, component, column, row, frame.precision);
      }
    }
  }
}

/**
 * A block's 64 coefficients (zig-zag order, from `at`) dequantized into `block` (natural order);
 * returns the zig-zag position of the last that is not zero (0 when only DC may be).
 */
function dequantize(
  coefficients: Int32Array,
  at: number,
  quant: Int32Array,
  block: Int32Array,
): number {
  let last = 0;
  block[0] = (coefficients[at] ?? 0) * (quant[0] ?? 0);
  for (let z = 1; z < 64; z += 1) {
    const value = (coefficients[at + z] ?? 0) * (quant[z] ?? 0);
    block[ZIGZAG[z] ?? 0] = value;
    if (value !== 0) {
      last = z;
    }
  }
  return last;
}

/**
 * For each zig-zag position, how many of a block's columns the coefficients up to it reach: the
 * columns past them are zero in a block coded no further, and the IDCT's first pass skips them.
 */
const COLUMNS_UP_TO = (() => {
  const columns = new Uint8Array(64);
  let widest = 0;
  for (let z = 0; z < 64; z += 1) {
    widest = Math.max(widest, ((ZIGZAG[z] ?? 0) & 7) + 1);
    columns[z] = widest;
  }
  return columns;
})();

/**
 * Writes a dequantized block (natural order) into its place in the component's plane; `last` is
 * the zig-zag position past which every coefficient is zero (0: DC alone).
 */
function transformBlock(
  coefficients: Int32Array,
  last: number,
  workspace: Int32Array,
  component: Component,
  column: number,
  row: number,
  precision: number,
): void {
  const { plane, stride } = component;
  const offset = row * 8 * stride + column * 8;
  if (last === 0) {
    fillBlock(coefficients[0] ?? 0, component.planePairs, offset, stride, precision);
  } else {
    const columns = COLUMNS_UP_TO[last] ?? 8;
    inverseDct(coefficients, columns, workspace, plane, offset, stride, precision);
  }
}

// jidctint.c's constants: FIX(x) = round(x * 2^13).
const CONST_BITS = 13;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/**
 * A block whose only coefficient is DC: what `inverseDct` gives for it, one value (jidctint.c's
 * shortcuts for zero columns and rows make it so there too).
 */
function fillBlock(
  dc: number,
  pairs: Uint32Array,
  offset: number,
  stride: number,
  precision: number,
): void {
  const pass1 = precision === 8 ? 2 : 1;
  const sample = clamp(
    (((dc << pass1) + (1 << (pass1 + 2))) >> (pass1 + 3)) + (1 << (precision - 1)),
    (1 << precision) - 1,
  );
  // Two samples a store (the same value in both halves, whatever the byte order): blocks start at
  // even samples, as strides are multiples of 8.
  const pair = (sample | (sample << 16)) >>> 0;
  for (let row = 0, at = offset >> 1; row < 8; row += 1, at += stride >> 1) {
    pairs[at] = pair;
    pairs[at + 1] = pair;
    pairs[at + 2] = pair;
    pairs[at + 3] = pair;
  }
}

/**
 * The IJG library's accurate integer inverse DCT (jidctint.c, after Loeffler, Ligtenberg and
 * Moschytz): columns into `workspace` keeping PASS1_BITS fractional bits (2 at 8 bits, 1 at 12),
 * then rows, rounded, level-shifted by 2^(P-1) and clamped to 0 .. 2^P - 1 (T.81 A.3.1). The
 * descaling is its arithmetic right shift of 32-bit integers, which the sums of coefficients an
 * encoder makes (at most 2^15 in magnitude at 12 bits, 2^11 at 8) fit, as jidctint.c's INT32
 * arithmetic assumes; hostile coefficients only make clamped nonsense, never an error. Columns
 * from `columns` on are zero, and so is what the first pass makes of them: when they are the
 * last four (most blocks), the rows are transformed with the terms of their first four alone
 * (the terms left out are products of zero, so every sum is the same).
 */
function inverseDct(
  input: Int32Array,
  columns: number,
  workspace: Int32Array,
  plane: Uint16Array,
  offset: number,
  stride: number,
  precision: number,
): void {
  const pass1 = precision === 8 ? 2 : 1;
  const shift1 = CONST_BITS - pass1;
  const round1 = 1 << (shift1 - 1);
  // The zero columns the rows read: the last four are not read by the narrow rows.
  for (let col = columns, end = columns > 4 ? 8 : 4; col < end; col += 1) {
    fillColumn(workspace, col, 0);
  }
  for (let col = 0; col < columns; col += 1) {
    const d0 = input[col] ?? 0;
    const d1 = input[8 + col] ?? 0;
    const d2 = input[16 + col] ?? 0;
    const d3 = input[24 + col] ?? 0;
    const d4 = input[32 + col] ?? 0;
    const d5 = input[40 + col] ?? 0;
    const d6 = input[48 + col] ?? 0;
    const d7 = input[56 + col] ?? 0;
    if ((d1 | d2 | d3 | d4 | d5 | d6 | d7) === 0) {
      fillColumn(workspace, col, d0 << pass1);
      continue;
    }
    // Even part.
    const z1 = (d2 + d6) * FIX_0_541196100;
    const e2 = z1 - d6 * FIX_1_847759065;
    const e3 = z1 + d2 * FIX_0_765366865;
    const e0 = (d0 + d4) << CONST_BITS;
    const e1 = (d0 - d4) << CONST_BITS;
    const t10 = e0 + e3 + round1;
    const t13 = e0 - e3 + round1;
    const t11 = e1 + e2 + round1;
    const t12 = e1 - e2 + round1;
    // Odd part.
    const y1 = d7 + d1;
    const y2 = d5 + d3;
    const y3 = d7 + d3;
    const y4 = d5 + d1;
    const z5 = (y3 + y4) * FIX_1_175875602;
    const za = y1 * -FIX_0_899976223;
    const zb = y2 * -FIX_2_562915447;
    const zc = y3 * -FIX_1_961570560 + z5;
    const zd = y4 * -FIX_0_390180644 + z5;
    const o0 = d7 * FIX_0_298631336 + za + zc;
    const o1 = d5 * FIX_2_053119869 + zb + zd;
    const o2 = d3 * FIX_3_072711026 + zb + zc;
    const o3 = d1 * FIX_1_501321110 + za + zd;
    workspace[col] = (t10 + o3) >> shift1;
    workspace[56 + col] = (t10 - o3) >> shift1;
    workspace[8 + col] = (t11 + o2) >> shift1;
    workspace[48 + col] = (t11 - o2) >> shift1;
    workspace[16 + col] = (t12 + o1) >> shift1;
    workspace[40 + col] = (t12 - o1) >> shift1;
    workspace[24 + col] = (t13 + o0) >> shift1;
    workspace[32 + col] = (t13 - o0) >> shift1;
  }
  transformRows(workspace, columns <= 4, plane, offset, stride, precision);
}

/**
 * The workspace's column `col` set to `value`: eight stores written out, as a loop's turns cost
 * V8 more than its stores.
 */
function fillColumn(workspace: Int32Array, col: number, value: number): void {
  workspace[col] = value;
  workspace[col + 8] = value;
  workspace[col + 16] = value;
  workspace[col + 24] = value;
  workspace[col + 32] = value;
  workspace[col + 40] = value;
  workspace[col + 48] = value;
  workspace[col + 56] = value;
}

/**
 * jidctint.c's second pass: the workspace's rows into the plane from `offset`. Rows whose last
 * four columns are zero (`isNarrow`) take the same sums without their zero terms (e1 is e0, e2 is
 * z1, y1 and y4 are d1, y2 and y3 are d3; the products of d4 to d7 gone).
 */
function transformRows(
  workspace: Int32Array,
  isNarrow: boolean,
  plane: Uint16Array,
  offset: number,
  stride: number,
  precision: number,
): void {
  const pass1 = precision === 8 ? 2 : 1;
  const shift2 = CONST_BITS + pass1 + 3;
  const round2 = 1 << (shift2 - 1);
  const center = 1 << (precision - 1);
  const max = (1 << precision) - 1;
  for (let w = 0, out = offset; w < 64; w += 8, out += stride) {
    const d0 = workspace[w] ?? 0;
    const d1 = workspace[w + 1] ?? 0;
    const d2 = workspace[w + 2] ?? 0;
    const d3 = workspace[w + 3] ?? 0;
    const d4 = isNarrow ? 0 : (workspace[w + 4] ?? 0);
    const d5 = isNarrow ? 0 : (workspace[w + 5] ?? 0);
    const d6 = isNarrow ? 0 : (workspace[w + 6] ?? 0);
    const d7 = isNarrow ? 0 : (workspace[w + 7] ?? 0);
    if ((d1 | d2 | d3 | d4 | d5 | d6 | d7) === 0) {
      // jidctint.c's shortcut for a row of DC alone: what the arithmetic below gives for it.
      const sample = clamp(((d0 + (1 << (pass1 + 2))) >> (pass1 + 3)) + center, max);
      plane[out] = sample;
      plane[out + 1] = sample;
      plane[out + 2] = sample;
      plane[out + 3] = sample;
      plane[out + 4] = sample;
      plane[out + 5] = sample;
      plane[out + 6] = sample;
      plane[out + 7] = sample;
      continue;
    }
    let t10: number, t11: number, t12: number, t13: number;
    let o0: number, o1: number, o2: number, o3: number;
    if (isNarrow) {
      const z1 = d2 * FIX_0_541196100;
      const e3 = z1 + d2 * FIX_0_765366865;
      const e0 = (d0 << CONST_BITS) + round2;
      t10 = e0 + e3;
      t13 = e0 - e3;
      t11 = e0 + z1;
      t12 = e0 - z1;
      const z5 = (d3 + d1) * FIX_1_175875602;
      const za = d1 * -FIX_0_899976223;
      const zb = d3 * -FIX_2_562915447;
      const zc = d3 * -FIX_1_961570560 + z5;
      const zd = d1 * -FIX_0_390180644 + z5;
      o0 = za + zc;
      o1 = zb + zd;
      o2 = d3 * FIX_3_072711026 + zb + zc;
      o3 = d1 * FIX_1_501321110 + za + zd;
    } else {
      const z1 = (d2 + d6) * FIX_0_541196100;
      const e2 = z1 - d6 * FIX_1_847759065;
      const e3 = z1 + d2 * FIX_0_765366865;
      const e0 = ((d0 + d4) << CONST_BITS) + round2;
      const e1 = ((d0 - d4) << CONST_BITS) + round2;
      t10 = e0 + e3;
      t13 = e0 - e3;
      t11 = e1 + e2;
      t12 = e1 - e2;
      const y1 = d7 + d1;
      const y2 = d5 + d3;
      const y3 = d7 + d3;
      const y4 = d5 + d1;
      const z5 = (y3 + y4) * FIX_1_175875602;
      const za = y1 * -FIX_0_899976223;
      const zb = y2 * -FIX_2_562915447;
      const zc = y3 * -FIX_1_961570560 + z5;
      const zd = y4 * -FIX_0_390180644 + z5;
      o0 = d7 * FIX_0_298631336 + za + zc;
      o1 = d5 * FIX_2_053119869 + zb + zd;
      o2 = d3 * FIX_3_072711026 + zb + zc;
      o3 = d1 * FIX_1_501321110 + za + zd;
    }
    plane[out] = clamp(((t10 + o3) >> shift2) + center, max);
    plane[out + 7] = clamp(((t10 - o3) >> shift2) + center, max);
    plane[out + 1] = clamp(((t11 + o2) >> shift2) + center, max);
    plane[out + 6] = clamp(((t11 - o2) >> shift2) + center, max);
    plane[out + 2] = clamp(((t12 + o1) >> shift2) + center, max);
    plane[out + 5] = clamp(((t12 - o1) >> shift2) + center, max);
    plane[out + 3] = clamp(((t13 + o0) >> shift2) + center, max);
    plane[out + 4] = clamp(((t13 - o0) >> shift2) + center, max);
  }
}

function clamp(sample: number, max: number): number {
  return sample < 0 ? 0 : sample > max ? max : sample;
}

/**
 * The frame's samples, interleaved at full size, a row at a time: each component upsampled as the
 * IJG library does (jdsample.c: its triangle filter for 2:1 across, or 2:1 both ways, when the
 * component is more than 2 samples wide; else each sample repeated), then YCbCr converted to RGB
 * when `colour` says.
 */
function present(frame: Frame, colour: 'ycbcr' | 'none'): DecodedSequentialJpeg {
  const { width, height, precision } = frame;
  const count = frame.components.length;
  const pixels = width * height;
  const only = frame.components[0];
  if (count === 1 && precision !== 8 && only !== undefined && only.stride === width) {
    // One component whose plane's rows are the image's: its first rows are the samples.
    return { width, height, components: 1, precision, samples: only.plane.subarray(0, pixels) };
  }
  const samples =
    precision === 8 ? new Uint8Array(pixels * count) : new Uint16Array(pixels * count);
  const rows = frame.components.map((component) => componentRows(frame, component));
  if (count === 1 && only !== undefined) {
    const [read] = rows as [ComponentRows];
    for (let y = 0; y < height; y += 1) {
      samples.set(read(y).subarray(0, width), y * width);
    }
    return { width, height, components: 1, precision, samples };
  }
  const isYcbcr = colour === 'ycbcr' && count === 3;
  const tables = isYcbcr ? ycbcrTables(precision) : null;
  for (let y = 0; y < height; y += 1) {
    const sources = rows.map((read) => read(y));
    const start = y * width * count;
    if (tables !== null) {
      const [luma, blue, red] = sources as [Uint16Array, Uint16Array, Uint16Array];
      convertYcbcrRow(luma, blue, red, samples, start, width, tables);
      continue;
    }
    for (let c = 0; c < count; c += 1) {
      const source = sources[c] ?? EMPTY_ROW;
      for (let x = 0, o = start + c; x < width; x += 1, o += count) {
        samples[o] = source[x] ?? 0;
      }
    }
  }
  return { width, height, components: count, precision, samples };
}

const EMPTY_ROW = new Uint16Array(0);

/** A component's row `y` of the frame, upsampled to at least the frame's width (rows in order). */
type ComponentRows = (y: number) => Uint16Array;

/**
 * Reads a component's rows at the frame's size: a full-size component's straight from its plane,
 * a subsampled one's upsampled into a row of its own (jdsample.c's fancy filters where libjpeg
 * uses them, else each sample repeated).
 */
function componentRows(frame: Frame, component: Component): ComponentRows {
  const { plane, stride, sampleWidth, sampleHeight } = component;
  const across = frame.hMax / component.h;
  const down = frame.vMax / component.v;
  if (across === 1 && down === 1) {
    return (y) => plane.subarray(y * stride, y * stride + stride);
  }
  // Whole pairs (or groups) of the component's samples, so the filters need not stop at the width.
  const out = new Uint16Array(sampleWidth * across);
  const isFancy = across === 2 && (down === 1 || down === 2) && sampleWidth > 2;
  if (!isFancy) {
    return (y) => {
      const source = Math.floor(y / down) * stride;
      for (let i = 0, o = 0; i < sampleWidth; i += 1) {
        const value = plane[source + i] ?? 0;
        for (let k = 0; k < across; k += 1, o += 1) {
          out[o] = value;
        }
      }
      return out;
    };
  }
  if (down === 1) {
    return (y) => {
      upsampleH2v1(plane, y * stride, sampleWidth, out);
      return out;
    };
  }
  return (y) => {
    const inY = y >> 1;
    // The nearer row 3/4, the farther 1/4 (rows past the edges are the edge rows, as jdmainct.c
    // provides them).
    const farY = Math.min(Math.max((y & 1) === 0 ? inY - 1 : inY + 1, 0), sampleHeight - 1);
    upsampleH2v2(plane, inY * stride, farY * stride, sampleWidth, out);
    return out;
  };
}

/**
 * jdsample.c h2v1_fancy_upsample: each output sample 3/4 of the nearer input, 1/4 of the farther,
 * the two at the ends copied; `width` (more than 2) input samples from `near` make 2 x `width`.
 */
function upsampleH2v1(plane: Uint16Array, near: number, width: number, out: Uint16Array): void {
  let value = plane[near] ?? 0;
  let next = plane[near + 1] ?? 0;
  out[0] = value;
  out[1] = (value * 3 + next + 2) >> 2;
  for (let i = 1, o = 2; i < width - 1; i += 1, o += 2) {
    const last = value;
    value = next;
    next = plane[near + i + 1] ?? 0;
    out[o] = (value * 3 + last + 1) >> 2;
    out[o + 1] = (value * 3 + next + 2) >> 2;
  }
  const o = 2 * (width - 1);
  out[o] = (next * 3 + value + 1) >> 2;
  out[o + 1] = next;
}

/**
 * jdsample.c h2v2_fancy_upsample: each column's nearer row 3/4 and farther 1/4, then the same
 * across, in sixteenths; `width` (more than 2) input samples make 2 x `width`.
 */
function upsampleH2v2(
  plane: Uint16Array,
  near: number,
  far: number,
  width: number,
  out: Uint16Array,
): void {
  let sum = (plane[near] ?? 0) * 3 + (plane[far] ?? 0);
  let next = (plane[near + 1] ?? 0) * 3 + (plane[far + 1] ?? 0);
  out[0] = (sum * 4 + 8) >> 4;
  out[1] = (sum * 3 + next + 7) >> 4;
  for (let i = 1, o = 2; i < width - 1; i += 1, o += 2) {
    const last = sum;
    sum = next;
    next = (plane[near + i + 1] ?? 0) * 3 + (plane[far + i + 1] ?? 0);
    out[o] = (sum * 3 + last + 8) >> 4;
    out[o + 1] = (sum * 3 + next + 7) >> 4;
  }
  const o = 2 * (width - 1);
  out[o] = (next * 3 + sum + 8) >> 4;
  out[o + 1] = (next * 4 + 7) >> 4;
}

/** jdcolor.c's tables for one precision: Cr to R, Cb to B, and both halves of G (16 bits). */
interface YcbcrTables {
  crR: Int32Array;
  cbB: Int32Array;
  crG: Int32Array;
  cbG: Int32Array;
  max: number;
}

/** Made once for each precision (8 and 12 bits): they depend on nothing else. */
const YCBCR_TABLES = new Map<number, YcbcrTables>();

/**
 * YCbCr (T.871, full range) to RGB as jdcolor.c's tables do it: 16 fractional bits, the constants
 * rounded once. At 12 bits the largest sum, of both halves of G, is under 2^28, so 32-bit integers
 * and arithmetic shifts give jdcolor.c's RIGHT_SHIFT.
 */
function ycbcrTables(precision: number): YcbcrTables {
  const known = YCBCR_TABLES.get(precision);
  if (known !== undefined) {
    return known;
  }
  const max = (1 << precision) - 1;
  const center = 1 << (precision - 1);
  const fix = (x: number) => Math.floor(x * 65536 + 0.5);
  const half = 1 << 15;
  const tables: YcbcrTables = {
    crR: new Int32Array(max + 1),
    cbB: new Int32Array(max + 1),
    crG: new Int32Array(max + 1),
    cbG: new Int32Array(max + 1),
    max,
  };
  for (let i = 0; i <= max; i += 1) {
    const x = i - center;
    tables.crR[i] = (fix(1.402) * x + half) >> 16;
    tables.cbB[i] = (fix(1.772) * x + half) >> 16;
    tables.crG[i] = -fix(0.71414) * x;
    tables.cbG[i] = -fix(0.34414) * x + half;
  }
  YCBCR_TABLES.set(precision, tables);
  return tables;
}

/** One row of `width` pixels from its Y, Cb and Cr rows into interleaved RGB from `start`. */
function convertYcbcrRow(
  luma: Uint16Array,
  blue: Uint16Array,
  red: Uint16Array,
  row: Uint8Array | Uint16Array,
  start: number,
  width: number,
  { crR, cbB, crG, cbG, max }: YcbcrTables,
): void {
  for (let x = 0, o = start; x < width; x += 1, o += 3) {
    const y = luma[x] ?? 0;
    const cb = blue[x] ?? 0;
    const cr = red[x] ?? 0;
    row[o] = clamp(y + (crR[cr] ?? 0), max);
    row[o + 1] = clamp(y + (((cbG[cb] ?? 0) + (crG[cr] ?? 0)) >> 16), max);
    row[o + 2] = clamp(y + (cbB[cb] ?? 0), max);
  }
}
