/**
 * Arithmetic-coded DCT JPEG (ISO/IEC 10918-1 Annex D, F.1.4.4, F.2.4 and G.1.3: SOF9 sequential and
 * SOF10 progressive), the entropy decoding that `./sequential.ts` uses in place of Huffman's for
 * such frames: the QM-coder's binary decisions (D.2) with the probability estimation of Table D.2,
 * and the statistics (contexts) of DC differences, AC coefficients and their refinements, decoding
 * to what libjpeg's jdarith.c does (djpeg of libjpeg-turbo is the reference in the tests).
 *
 * A scan's data has no bound of its own in arithmetic coding: after a marker the decoder reads zeros
 * (D.2.6), as the encoder drops its trailing zero bytes. So a stream that ends without a marker is
 * refused as cut short, but one cut and given a marker back decodes, with zeros at its end. That
 * cannot be refused as Huffman data read past its marker is (libjpeg's "premature end of data
 * segment"): a scan's prefix followed by zeros is a complete code of other samples, and complete
 * scans meet their marker with blocks still to decode: a black lower half, or a restart interval's
 * last MCU, is coded in bits that are all zeros (fixtures/jpeg-extended; a 4096² image with 64
 * rows of noise met it with 258,019 of its 262,144 blocks left). libjpeg's jdarith.c reads on
 * without a warning too. What bounds a damaged scan is the frame: its blocks, no more.
 */
import type { Fail } from './huffman.js';
import type { ProgressiveBand } from './progressive.js';

/**
 * T.81 Table D.2, by state: Qe, the next state after an LPS (Next_Index_LPS) and after an MPS
 * (Next_Index_MPS), and whether an LPS exchanges the MPS's sense (Switch_MPS); and a last state,
 * 113, of a fixed probability of one half (T.851 Table 5), for signs and DC refinements.
 */
const QE = Uint16Array.from([
  0x5a1d, 0x2586, 0x1114, 0x080b, 0x03d8, 0x01da, 0x00e5, 0x006f, 0x0036, 0x001a, 0x000d, 0x0006,
  0x0003, 0x0001, 0x5a7f, 0x3f25, 0x2cf2, 0x207c, 0x17b9, 0x1182, 0x0cef, 0x09a1, 0x072f, 0x055c,
  0x0406, 0x0303, 0x0240, 0x01b1, 0x0144, 0x00f5, 0x00b7, 0x008a, 0x0068, 0x004e, 0x003b, 0x002c,
  0x5ae1, 0x484c, 0x3a0d, 0x2ef1, 0x261f, 0x1f33, 0x19a8, 0x1518, 0x1177, 0x0e74, 0x0bfb, 0x09f8,
  0x0861, 0x0706, 0x05cd, 0x04de, 0x040f, 0x0363, 0x02d4, 0x025c, 0x01f8, 0x01a4, 0x0160, 0x0125,
  0x00f6, 0x00cb, 0x00ab, 0x008f, 0x5b12, 0x4d04, 0x412c, 0x37d8, 0x2fe8, 0x293c, 0x2379, 0x1edf,
  0x1aa9, 0x174e, 0x1424, 0x119c, 0x0f6b, 0x0d51, 0x0bb6, 0x0a40, 0x5832, 0x4d1c, 0x438e, 0x3bdd,
  0x34ee, 0x2eae, 0x299a, 0x2516, 0x5570, 0x4ca9, 0x44d9, 0x3e22, 0x3824, 0x32b4, 0x2e17, 0x56a8,
  0x4f46, 0x47e5, 0x41cf, 0x3c3d, 0x375e, 0x5231, 0x4c0f, 0x4639, 0x415e, 0x5627, 0x50e7, 0x4b85,
  0x5597, 0x504f, 0x5a10, 0x5522, 0x59eb, 0x5a1d,
]);
const NEXT_LPS = Uint8Array.from([
  1, 14, 16, 18, 20, 23, 25, 28, 30, 33, 35, 9, 10, 12, 15, 36, 38, 39, 40, 42, 43, 45, 46, 48, 49,
  51, 52, 54, 56, 57, 59, 60, 62, 63, 32, 33, 37, 64, 65, 67, 68, 69, 70, 72, 73, 74, 75, 77, 78,
  79, 48, 50, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 61, 61, 65, 80, 81, 82, 83, 84, 86, 87, 87,
  72, 72, 74, 74, 75, 77, 77, 80, 88, 89, 90, 91, 92, 93, 86, 88, 95, 96, 97, 99, 99, 93, 95, 101,
  102, 103, 104, 99, 105, 106, 107, 103, 105, 108, 109, 110, 111, 110, 112, 112, 113,
]);
const NEXT_MPS = Uint8Array.from([
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
  28, 29, 30, 31, 32, 33, 34, 35, 9, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,
  53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 32, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76,
  77, 78, 79, 48, 81, 82, 83, 84, 85, 86, 87, 71, 89, 90, 91, 92, 93, 94, 86, 96, 97, 98, 99, 100,
  93, 102, 103, 104, 99, 106, 107, 103, 109, 107, 111, 109, 111, 113,
]);
/** The states whose LPS exchanges the MPS's sense (Switch_MPS = 1). */
const SWITCHES = new Set([0, 14, 36, 64, 80, 88, 95, 105, 110, 112]);

const FIXED_STATE = 113;
/** Statistics bins (F.1.4.4.1.3, F.1.4.4.2): 49 for DC and 245 for AC are used. */
const DC_BINS = 64;
const AC_BINS = 256;

/** What a DAC segment (B.2.4.3) sets for each table: DC's L and U, AC's Kx (defaults 0, 1, 5). */
export interface ArithmeticConditioning {
  dcLower: Uint8Array;
  dcUpper: Uint8Array;
  acSplit: Uint8Array;
}

/** The conditioning tables before any DAC segment (F.1.4.4.1.4, F.1.4.4.2.1). */
export function defaultConditioning(): ArithmeticConditioning {
  return {
    dcLower: new Uint8Array(4),
    dcUpper: new Uint8Array(4).fill(1),
    acSplit: new Uint8Array(4).fill(5),
  };
}

/** Reads a DAC segment's conditioning values into `conditioning` (`at`: its offset). */
export function readConditioning(
  segment: Uint8Array,
  at: number,
  conditioning: ArithmeticConditioning,
  fail: Fail,
): void {
  if (segment.length % 2 !== 0) {
    throw fail(`the arithmetic conditioning (DAC) at byte ${at} is malformed`);
  }
  for (let i = 0; i < segment.length; i += 2) {
    const classAndId = segment[i] ?? 0;
    const value = segment[i + 1] ?? 0;
    const id = classAndId & 15;
    const isAc = classAndId >> 4 === 1;
    if (classAndId >> 4 > 1 || id > 3) {
      throw fail(
        `the arithmetic conditioning at byte ${at} is of class ${classAndId >> 4}, id ${id}`,
      );
    }
    if (isAc ? value < 1 || value > 63 : (value & 15) > value >> 4) {
      throw fail(`the arithmetic conditioning at byte ${at} sets ${value} for table ${id}`);
    }
    if (isAc) {
      conditioning.acSplit[id] = value;
    } else {
      conditioning.dcLower[id] = value & 15;
      conditioning.dcUpper[id] = value >> 4;
    }
  }
}

/**
 * The QM-coder's decoder (D.2) over one scan's entropy-coded data, with the scan's statistics
 * (one area per DC and AC conditioning table its components name, as libjpeg keeps them: shared
 * by components that name the same table) and each component's DC prediction and context.
 *
 * The registers: C holds the interval's base and the bits read ahead of it (`ct` of them, the cut
 * between the two moving as bits are used), A the interval's size; both stay below 2^25.
 */
export class ArithmeticDecoder {
  private c = 0;
  private a = 0;
  private ct = -16;
  /** Where the marker that ended the data is (its 0xFF), or -1 while none has been met. */
  private markerAt = -1;
  private isPastEnd = false;
  private readonly fixed = Uint8Array.of(FIXED_STATE);
  private readonly dcStats: Uint8Array[];
  private readonly acStats: Uint8Array[];
  /** Each scan component's DC context (F.1.4.4.1.2): 0, 4, 8, 12 or 16. */
  private readonly dcContexts: Int32Array;

  constructor(
    private readonly stream: Uint8Array,
    private at: number,
    components: number,
    private readonly fail: Fail,
  ) {
    this.dcStats = Array.from({ length: 4 }, () => new Uint8Array(DC_BINS));
    this.acStats = Array.from({ length: 4 }, () => new Uint8Array(AC_BINS));
    this.dcContexts = new Int32Array(components);
  }

  /** One binary decision with the statistics bin `stats[bin]` (D.2.4, D.2.5, D.2.6). */
  decide(stats: Uint8Array, bin: number): number {
    while (this.a < 0x8000) {
      this.ct -= 1;
      if (this.ct < 0) {
        this.c = (this.c << 8) | this.nextByte();
        this.ct += 8;
        if (this.ct < 0) {
          this.ct += 1;
          if (this.ct === 0) {
            this.a = 0x8000; // two bytes read: the interval starts whole
          }
        }
      }
      this.a <<= 1;
    }
    const state = stats[bin] ?? 0;
    const index = state & 0x7f;
    const qe = QE[index] ?? 0;
    let sense = state >> 7;
    const afterMps = (state & 0x80) | (NEXT_MPS[index] ?? 0);
    const afterLps = (state & 0x80) ^ ((SWITCHES.has(index) ? 0x80 : 0) | (NEXT_LPS[index] ?? 0));
    const rest = this.a - qe;
    this.a = rest;
    const cut = rest << this.ct;
    if (this.c >= cut) {
      // The lower sub-interval: the LPS, unless it is the larger (conditional exchange).
      this.c -= cut;
      if (rest < qe) {
        stats[bin] = afterMps;
      } else {
        stats[bin] = afterLps;
        sense ^= 1;
      }
      this.a = qe;
    } else if (rest < 0x8000) {
      if (rest < qe) {
        stats[bin] = afterLps;
        sense ^= 1;
      } else {
        stats[bin] = afterMps;
      }
    }
    return sense;
  }

  /** The next byte of data: 0xFF00 is 0xFF; at a marker, and after it, zeros (D.2.6). */
  private nextByte(): number {
    const stream = this.stream;
    if (this.markerAt >= 0) {
      return 0;
    }
    if (this.at >= stream.length) {
      this.isPastEnd = true;
      return 0;
    }
    const byte = stream[this.at] ?? 0;
    if (byte !== 0xff) {
      this.at += 1;
      return byte;
    }
    let next = this.at + 1;
    while (stream[next] === 0xff) {
      next += 1;
    }
    if (next >= stream.length) {
      this.isPastEnd = true;
      return 0;
    }
    if (stream[next] === 0) {
      this.at = next + 1;
      return 0xff;
    }
    this.markerAt = this.at;
    return 0;
  }

  /** Whether the data ran past the stream's end without a marker (a stream cut short). */
  overran(): boolean {
    return this.isPastEnd;
  }

  /** The next marker from where the data stopped being read, skipping the data not needed. */
  private nextMarker(): number {
    const stream = this.stream;
    let at = this.markerAt >= 0 ? this.markerAt : this.at;
    while (at + 1 < stream.length) {
      const next = stream[at + 1] ?? 0;
      if (stream[at] === 0xff && next !== 0 && next !== 0xff) {
        return at;
      }
      at += 1;
    }
    throw this.fail('the stream ends inside a scan, without EOI');
  }

  /**
   * Past the restart marker RSTn expected next: the decoder starts anew, its statistics and the DC
   * predictions' contexts too (F.2.4.4 via D.2.7).
   */
  restart(expected: number): void {
    const at = this.nextMarker();
    if (this.stream[at + 1] !== 0xd0 + expected) {
      throw this.fail(`restart marker RST${expected} is missing at byte ${at}`);
    }
    this.at = at + 2;
    this.markerAt = -1;
    this.c = 0;
    this.a = 0;
    this.ct = -16;
    for (const stats of [...this.dcStats, ...this.acStats]) {
      stats.fill(0);
    }
    this.dcContexts.fill(0);
  }

  /** Where the scan's data ends: the marker after it. */
  end(): number {
    return this.nextMarker();
  }

  /**
   * A DC difference (F.2.4.1, Figures F.19 and F.21 to F.24) of the `k`th scan component, whose
   * DC table is `table`; its context for the next one follows from its size.
   */
  decodeDcDifference(k: number, table: number, conditioning: ArithmeticConditioning): number {
    const stats = this.dcStats[table] ?? new Uint8Array(DC_BINS);
    const context = this.dcContexts[k] ?? 0;
    if (this.decide(stats, context) === 0) {
      this.dcContexts[k] = 0;
      return 0;
    }
    const sign = this.decide(stats, context + 1);
    // Table F.4: the first magnitude decision at SP or SN, then X1 (20), X2 (21), …
    const magnitude = this.decodeMagnitude(stats, context + 2 + sign, 20, 21);
    const lower = (1 << (conditioning.dcLower[table] ?? 0)) >> 1;
    const upper = (1 << (conditioning.dcUpper[table] ?? 1)) >> 1;
    this.dcContexts[k] =
      magnitude.category < lower ? 0 : magnitude.category > upper ? 12 + 4 * sign : 4 + 4 * sign;
    return sign === 0 ? magnitude.value : -magnitude.value;
  }

  /**
   * An AC band of a block (`band.ss` to `band.se`, zig-zag order, into `coefficients` from `at`):
   * a refinement (Ah not 0, below), or its first scan (Figure F.20), each value shifted left by
   * Al (0 in sequential scans).
   */
  decodeAc(
    coefficients: Int32Array,
    at: number,
    table: number,
    band: ProgressiveBand,
    conditioning: ArithmeticConditioning,
  ): void {
    if (band.ah !== 0) {
      this.decodeAcRefine(coefficients, at, table, band);
      return;
    }
    const stats = this.acStats[table] ?? new Uint8Array(AC_BINS);
    const split = conditioning.acSplit[table] ?? 5;
    for (let k = band.ss; k <= band.se; k += 1) {
      if (this.decide(stats, 3 * (k - 1)) !== 0) {
        return; // end of block
      }
      while (this.decide(stats, 3 * (k - 1) + 1) === 0) {
        k += 1;
        if (k > band.se) {
          throw this.fail(`the scan codes a coefficient past its band's end (${band.se})`);
        }
      }
      const sign = this.decide(this.fixed, 0);
      // Table F.5: the first decision and X1 at SN/SP, then X2 on at 189 (or 217 past Kx).
      const bin = 3 * (k - 1) + 2;
      const magnitude = this.decodeMagnitude(stats, bin, bin, k <= split ? 189 : 217);
      const value = sign === 0 ? magnitude.value : -magnitude.value;
      coefficients[at + k] = value << band.al;
    }
  }

  /** A DC refinement's bit (G.1.3.1): the next bit of the DC, at a fixed probability. */
  decodeDcRefine(coefficients: Int32Array, at: number, band: ProgressiveBand): void {
    if (this.decide(this.fixed, 0) !== 0) {
      coefficients[at] = (coefficients[at] ?? 0) | (1 << band.al);
    }
  }

  /**
   * An AC refinement (G.1.3.3): past the last coefficient already non-zero, an end-of-block
   * decision; a correction bit for each non-zero one, a new coefficient of magnitude 1 << Al where
   * a zero becomes non-zero.
   */
  private decodeAcRefine(
    coefficients: Int32Array,
    at: number,
    table: number,
    band: ProgressiveBand,
  ): void {
    const stats = this.acStats[table] ?? new Uint8Array(AC_BINS);
    const plus = 1 << band.al;
    const minus = -1 << band.al;
    let last = band.se;
    while (last > 0 && coefficients[at + last] === 0) {
      last -= 1;
    }
    for (let k = band.ss; k <= band.se; k += 1) {
      if (k > last && this.decide(stats, 3 * (k - 1)) !== 0) {
        return; // end of block
      }
      for (;;) {
        const coefficient = coefficients[at + k] ?? 0;
        if (coefficient !== 0) {
          if (this.decide(stats, 3 * (k - 1) + 2) !== 0) {
            coefficients[at + k] = coefficient + (coefficient < 0 ? minus : plus);
          }
          break;
        }
        if (this.decide(stats, 3 * (k - 1) + 1) !== 0) {
          coefficients[at + k] = this.decide(this.fixed, 0) !== 0 ? minus : plus;
          break;
        }
        k += 1;
        if (k > band.se) {
          throw this.fail(`the scan codes a coefficient past its band's end (${band.se})`);
        }
      }
    }
  }

  /**
   * A non-zero value's magnitude (Figures F.23, F.24): its category m (0, or a power of two),
   * decided at `first`, then at `x1`, then counted up in the bins from `x2` on; then its bits below
   * m, each in the bin 14 past the last category bin decided; the value is that plus one.
   */
  private decodeMagnitude(
    stats: Uint8Array,
    first: number,
    x1: number,
    x2: number,
  ): { category: number; value: number } {
    if (this.decide(stats, first) === 0) {
      return { category: 0, value: 1 };
    }
    let m = 1;
    let bin = x1;
    if (this.decide(stats, x1) !== 0) {
      m = 2;
      bin = x2;
      while (this.decide(stats, bin) !== 0) {
        m <<= 1;
        if (m === 0x8000) {
          throw this.fail('the scan codes a magnitude of more than 15 bits');
        }
        bin += 1;
      }
    }
    const category = m;
    let value = m;
    for (m >>= 1; m !== 0; m >>= 1) {
      if (this.decide(stats, bin + 14) !== 0) {
        value |= m;
      }
    }
    return { category, value: value + 1 };
  }
}
