/**
 * The entropy decoding of progressive DCT JPEG with Huffman coding (ISO/IEC 10918-1 Annex G,
 * processes 10 and 12: SOF2, 8 or 12 bits): each scan codes one band of coefficients (spectral
 * selection, Ss to Se) of every block, to some bits (successive approximation: Al the low bits
 * left out, Ah those already sent), into coefficient buffers that `./sequential.ts` dequantizes
 * and transforms once every scan is read. Each function decodes one block of one scan as the IJG
 * library's jdphuff.c does (G.1.2.1 to G.1.2.3), coefficients kept in zig-zag order.
 */
import {
  decodeDifference,
  decodeSymbol,
  readBit,
  readBits,
  receiveExtend,
  type BitReader,
  type Fail,
} from './huffman.js';
import type { HuffmanTable } from './huffman.js';

/** A scan's band and bits (T.81 B.2.3): what its blocks code. */
export interface ProgressiveBand {
  /** Spectral selection start and end (zig-zag positions; 0 and 0 for a DC scan). */
  ss: number;
  se: number;
  /** Successive approximation: the bit position sent before (0 in a first scan) and now. */
  ah: number;
  al: number;
}

/**
 * The run of blocks left with no more coefficients in the band (EOBRUN, G.1.2.2), carried from
 * block to block through an AC scan and cleared at each restart.
 */
export interface EndOfBandRun {
  blocks: number;
}

/**
 * A DC first scan's block (G.1.2.1): the difference from the component's previous DC, whose
 * sum is stored shifted left by Al. Returns the new prediction.
 */
export function decodeDcFirst(
  reader: BitReader,
  table: HuffmanTable,
  coefficients: Int32Array,
  at: number,
  prediction: number,
  band: ProgressiveBand,
  maxSize: number,
  fail: Fail,
): number {
  const dc = (prediction + decodeDifference(reader, table, maxSize, fail)) | 0;
  coefficients[at] = dc << band.al;
  return dc;
}

/** A DC refinement scan's block (G.1.2.1): one more bit of the DC, at position Al. */
export function decodeDcRefine(
  reader: BitReader,
  coefficients: Int32Array,
  at: number,
  band: ProgressiveBand,
): void {
  if (readBit(reader) !== 0) {
    coefficients[at] = (coefficients[at] ?? 0) | (1 << band.al);
  }
}

/**
 * Decodes one block of an AC scan into `coefficients` from `at` (its 64, zig-zag order), with the
 * end-of-band run carried from the block before.
 */
export type AcBlockDecoder = (
  reader: BitReader,
  table: HuffmanTable,
  coefficients: Int32Array,
  at: number,
  band: ProgressiveBand,
  run: EndOfBandRun,
  fail: Fail,
) => void;

/**
 * An AC first scan's block (G.1.2.2): runs of zeros and values shifted left by Al, up to the
 * band's end or an end-of-band run that spans this block and the next ones.
 */
export const decodeAcFirst: AcBlockDecoder = (reader, table, coefficients, at, band, run, fail) => {
  if (run.blocks > 0) {
    run.blocks -= 1;
    return;
  }
  for (let k = band.ss; k <= band.se; k += 1) {
    const symbol = decodeSymbol(reader, table, fail);
    const zeros = symbol >> 4;
    const size = symbol & 15;
    if (size === 0) {
      if (zeros < 15) {
        run.blocks = endOfBandRun(reader, zeros) - 1;
        return;
      }
      k += 15; // sixteen zeros (ZRL)
      continue;
    }
    k += zeros;
    if (k > band.se) {
      throw fail(`the scan codes a coefficient past its band's end (${band.se})`);
    }
    coefficients[at + k] = receiveExtend(reader, size) << band.al;
  }
};

/**
 * An AC refinement scan's block (G.1.2.3): a correction bit for each coefficient already
 * non-zero, in band order, and new coefficients of magnitude 1 << Al placed after runs of those
 * still zero; an end-of-band run leaves only correction bits for the blocks it spans.
 */
export const decodeAcRefine: AcBlockDecoder = (
  reader,
  table,
  coefficients,
  at,
  band,
  run,
  fail,
) => {
  const plus = 1 << band.al;
  const minus = -1 << band.al;
  let k = band.ss;
  if (run.blocks === 0) {
    for (; k <= band.se; k += 1) {
      const symbol = decodeSymbol(reader, table, fail);
      let zeros = symbol >> 4;
      const size = symbol & 15;
      let value = 0;
      if (size !== 0) {
        if (size !== 1) {
          throw fail(`the refinement scan codes a new coefficient of ${size} bits, not 1`);
        }
        value = readBit(reader) !== 0 ? plus : minus;
      } else if (zeros !== 15) {
        run.blocks = endOfBandRun(reader, zeros);
        break;
      }
      // Past `zeros` coefficients still zero (correcting the non-zero ones met), to the place of
      // the new one; ZRL (zeros 15, no value) passes sixteen.
      for (; k <= band.se; k += 1) {
        const index = at + k;
        const coefficient = coefficients[index] ?? 0;
        if (coefficient !== 0) {
          refine(reader, coefficients, index, coefficient, plus, minus);
        } else {
          zeros -= 1;
          if (zeros < 0) {
            break;
          }
        }
      }
      if (value !== 0) {
        if (k > band.se) {
          throw fail(`the scan codes a coefficient past its band's end (${band.se})`);
        }
        coefficients[at + k] = value;
      }
    }
  }
  if (run.blocks > 0) {
    // In an end-of-band run: the correction bits of the rest of the band.
    for (; k <= band.se; k += 1) {
      const index = at + k;
      const coefficient = coefficients[index] ?? 0;
      if (coefficient !== 0) {
        refine(reader, coefficients, index, coefficient, plus, minus);
      }
    }
    run.blocks -= 1;
  }
};

/** A correction bit for a coefficient already non-zero: when set, one more bit of magnitude. */
function refine(
  reader: BitReader,
  coefficients: Int32Array,
  index: number,
  coefficient: number,
  plus: number,
  minus: number,
): void {
  if (readBit(reader) !== 0 && (coefficient & plus) === 0) {
    coefficients[index] = coefficient + (coefficient >= 0 ? plus : minus);
  }
}

/** EOBn (G.1.2.2): 2^n blocks, n more bits adding to it; this block counted. */
function endOfBandRun(reader: BitReader, n: number): number {
  return (1 << n) + (n === 0 ? 0 : readBits(reader, n));
}
