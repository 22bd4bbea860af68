/**
 * The Huffman-coded entropy data of JPEG (ISO/IEC 10918-1 Annex C, F.2.2, F.2.2.3), shared by the
 * lossless (`./lossless.ts`) and sequential DCT (`./sequential.ts`) decoders: canonical tables with
 * a lookup of 9-bit prefixes and the code limits of F.2.2.3 for longer codes, and a reader of
 * entropy-coded bytes that un-stuffs 0xFF00, stops at markers and counts every bit it makes up past
 * the data, so that a scan cut short is detected rather than trusted.
 *
 * Each decoder has its own error class; these helpers throw what `fail` makes.
 */

/** Makes the calling decoder's error for a message. */
export type Fail = (message: string) => Error;

/** A Huffman table (T.81 C, F.2.2.3) with a lookup of 9-bit prefixes. */
export interface HuffmanTable {
  /** `length << 8 | symbol` for each 9-bit prefix that starts a code of at most 9 bits, else 0. */
  lookup: Uint16Array;
  /** The largest code of each length (-1 when none), 1 to 16; 17 ends the search. */
  maxCode: Int32Array;
  /** Index into `symbols` of the first code of each length, minus that code. */
  offset: Int32Array;
  symbols: Uint8Array;
  /**
   * Each 9-bit prefix that holds a whole code and the value's bits after it (T.81 F.2.2.1), so that
   * the short codes of small values, most of a scan, are decoded in one lookup (as libjpeg-turbo's
   * jdhuff.c and stb_image do): `value << 8 | run << 4 | bits taken`, else 0. In a DC table (SSSS
   * symbols: DC and lossless differences) the run is 0 and a difference of 0 is `bits taken`
   * alone; an SSSS of 16 (a lossless difference of 32768, no bits after it) is left to the slow
   * path. In an AC table (RRRRSSSS) the run is RRRR; a symbol of no bits (SSSS 0) has value 0,
   * which no coefficient has: ZRL (RRRR 15) keeps its run, every other is the end of the block
   * (run 0), as a sequential scan reads them.
   */
  fast: Int32Array;
}

/** The class of a Huffman table (T.81 B.2.4.2's Tc): what its symbols code. */
export type HuffmanClass = 'dc' | 'ac';

export const LOOKAHEAD = 9;
const LOOKAHEAD_MASK = (1 << LOOKAHEAD) - 1;

/**
 * Canonical codes (T.81 C.2, F.2.2.3) and the 9-bit prefix lookup, from a DHT's 16 counts and its
 * symbols. A table whose counts overflow the code space is refused (`at` is the DHT's offset).
 */
export function buildHuffmanTable(
  counts: Uint8Array,
  symbols: Uint8Array,
  tableClass: HuffmanClass,
  at: number,
  fail: Fail,
): HuffmanTable {
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  const maxCode = new Int32Array(18).fill(-1);
  const offset = new Int32Array(18);
  let code = 0;
  let index = 0;
  for (let length = 1; length <= 16; length += 1) {
    const count = counts[length - 1] ?? 0;
    offset[length] = index - code;
    for (let i = 0; i < count; i += 1) {
      if (length <= LOOKAHEAD) {
        const shift = LOOKAHEAD - length;
        const entry = (length << 8) | (symbols[index] ?? 0);
        lookup.fill(entry, code << shift, (code + 1) << shift);
      }
      code += 1;
      index += 1;
    }
    if (count > 0) {
      maxCode[length] = code - 1;
    }
    if (code > 1 << length) {
      throw fail(`the Huffman table at byte ${at} has more codes than fit`);
    }
    code <<= 1;
  }
  maxCode[17] = 0x7fffffff; // ends the slow path's search
  return { lookup, maxCode, offset, symbols, fast: fastOf(lookup, tableClass) };
}

/** `HuffmanTable.fast` from the 9-bit lookup. */
function fastOf(lookup: Uint16Array, tableClass: HuffmanClass): Int32Array {
  const fast = new Int32Array(lookup.length);
  for (let prefix = 0; prefix < lookup.length; prefix += 1) {
    const entry = lookup[prefix] ?? 0;
    const length = entry >> 8;
    const symbol = entry & 0xff;
    const size = tableClass === 'dc' ? symbol : symbol & 15;
    const run = tableClass === 'dc' ? 0 : symbol >> 4;
    if (entry === 0 || size > 15 || length + size > LOOKAHEAD) {
      continue;
    }
    if (size === 0) {
      fast[prefix] = (run === 15 ? 0xf0 : 0) | length;
      continue;
    }
    const bits = (prefix >> (LOOKAHEAD - length - size)) & ((1 << size) - 1);
    const value = bits < 1 << (size - 1) ? bits - (1 << size) + 1 : bits; // EXTEND (F.2.2.1)
    fast[prefix] = (value << 8) | (run << 4) | (length + size);
  }
  return fast;
}

/**
 * Entropy-coded data, read MSB first: 0xFF00 is 0xFF; a marker stops the bytes, and zeros are fed
 * after it, counted, so that reading past the data is detected rather than trusted.
 */
export class BitReader {
  /** The low `count` bits are unread. */
  bits = 0;
  count = 0;
  /** Zero bytes fed past a marker or the stream's end, not yet known to be unread. */
  padding = 0;

  constructor(
    private readonly stream: Uint8Array,
    public at: number,
    private readonly fail: Fail,
  ) {}

  /** At least 25 bits unread (some of them padding past the data). */
  fill(): void {
    const stream = this.stream;
    while (this.count <= 24) {
      let byte = 0;
      if (this.padding === 0 && this.at < stream.length) {
        byte = stream[this.at] ?? 0;
        if (byte === 0xff) {
          const next = stream[this.at + 1] ?? 0;
          if (next === 0) {
            this.at += 2;
          } else {
            byte = 0;
            this.padding += 1;
          }
        } else {
          this.at += 1;
        }
      } else {
        this.padding += 1;
      }
      this.bits = (this.bits << 8) | byte;
      this.count += 8;
    }
  }

  /** Whether bits past the data have been taken. */
  overran(): boolean {
    return this.padding * 8 > this.count;
  }

  /** Drops the bits left in the byte and skips the restart marker expected next (RSTn, n = 0..7). */
  restart(expected: number): void {
    if (this.overran()) {
      throw this.fail('the scan data ends before its restart marker');
    }
    const stream = this.stream;
    let at = this.at;
    while (at + 1 < stream.length && stream[at] === 0xff && stream[at + 1] === 0xff) {
      at += 1;
    }
    if (stream[at] !== 0xff || stream[at + 1] !== 0xd0 + expected) {
      throw this.fail(`restart marker RST${expected} is missing at byte ${at}`);
    }
    this.at = at + 2;
    this.bits = 0;
    this.count = 0;
    this.padding = 0;
  }

  /** Where the scan's data ends: the next marker (fill bytes and RSTn skipped past). */
  end(): number {
    const stream = this.stream;
    let at = this.at;
    while (at + 1 < stream.length) {
      if (stream[at] === 0xff) {
        const next = stream[at + 1] ?? 0;
        if (next !== 0 && next !== 0xff && (next < 0xd0 || next > 0xd7)) {
          return at;
        }
        at += next === 0xff ? 1 : 2;
      } else {
        at += 1;
      }
    }
    throw this.fail('the stream ends inside a scan, without EOI');
  }
}

/**
 * Decodes one Huffman-coded symbol (T.81 F.2.2.3): from the lookup when the code has 9 bits or
 * fewer, else by the canonical code's limits. A code no table holds is `fail`'s error.
 */
export function decodeSymbol(reader: BitReader, table: HuffmanTable, fail: Fail): number {
  reader.fill();
  const count = reader.count;
  const bits = reader.bits;
  const entry = table.lookup[(bits >>> (count - LOOKAHEAD)) & LOOKAHEAD_MASK] ?? 0;
  if (entry !== 0) {
    reader.count = count - (entry >> 8);
    return entry & 0xff;
  }
  let length = LOOKAHEAD + 1;
  let code = (bits >>> (count - length)) & ((1 << length) - 1);
  while (code > (table.maxCode[length] ?? -1)) {
    length += 1;
    code = (bits >>> (count - length)) & ((1 << length) - 1);
  }
  if (length > 16) {
    throw fail('the scan holds a code no Huffman table has');
  }
  reader.count = count - length;
  return table.symbols[(table.offset[length] ?? 0) + code] ?? 0;
}

/**
 * One difference (T.81 F.2.2.1, H.1.2.2): a Huffman-coded bit count SSSS, then that many bits as a
 * signed value; from the table's `fast` lookup when both fit 9 bits. A count above `maxSize` is
 * `fail`'s error (DC: 11 bits at 8-bit precision, 15 at 12; lossless: 16, whose difference is
 * 32768 with no bits after it, H.1.2.2).
 */
export function decodeDifference(
  reader: BitReader,
  table: HuffmanTable,
  maxSize: number,
  fail: Fail,
): number {
  reader.fill();
  const count = reader.count;
  const entry = table.fast[(reader.bits >>> (count - LOOKAHEAD)) & LOOKAHEAD_MASK] ?? 0;
  if (entry !== 0) {
    reader.count = count - (entry & 15);
    return entry >> 8;
  }
  return decodeLongDifference(reader, table, maxSize, fail);
}

/**
 * `decodeDifference` of a code and bits that the `fast` lookup does not hold (a function of its
 * own, so that the short path stays small enough for the JIT to inline into the scan loops).
 */
export function decodeLongDifference(
  reader: BitReader,
  table: HuffmanTable,
  maxSize: number,
  fail: Fail,
): number {
  const size = decodeSymbol(reader, table, fail);
  if (size > maxSize) {
    throw fail(`the scan codes a DC difference of ${size} bits`);
  }
  return size === 0 ? 0 : size === 16 ? 32768 : receiveExtend(reader, size);
}

/**
 * The `size` bits that follow a symbol, as a signed value (T.81 F.2.2.1, EXTEND): 1 to 16 bits;
 * the caller has checked `size`.
 */
export function receiveExtend(reader: BitReader, size: number): number {
  const value = readBits(reader, size);
  return value < 1 << (size - 1) ? value - (1 << size) + 1 : value;
}

/** The next `size` bits (1 to 16) as an unsigned value (T.81 F.2.2.4's RECEIVE). */
export function readBits(reader: BitReader, size: number): number {
  if (reader.count < size) {
    reader.fill();
  }
  const count = reader.count - size;
  reader.count = count;
  return (reader.bits >>> count) & ((1 << size) - 1);
}

/** The next bit (a correction, a sign, a DC refinement; G.1.2.1, G.1.2.3): `readBits` of one. */
export function readBit(reader: BitReader): number {
  if (reader.count === 0) {
    reader.fill();
  }
  const count = reader.count - 1;
  reader.count = count;
  return (reader.bits >>> count) & 1;
}
