/**
 * Decoding one TIFF tile to 8-bit RGB: uncompressed, LZW (TIFF 6.0 section 13), Deflate (Adobe's
 * 8 and the older 32946) with or without the horizontal predictor, and JPEG (TIFF Technical Note 2,
 * abbreviated streams whose tables are in the JPEGTables tag, as libtiff and Aperio write them;
 * decoded by libjpeg-turbo in WebAssembly, as OpenSlide's libjpeg does).
 * Output is bounded by the tile's declared size, which the caller has already limited.
 */
import { inflateSync } from 'node:zlib';
import { readJpegFrameHeader } from '../dicom/jpeg.js';
import { FormatError } from '../format-error.js';
import { decodeJpegSamples } from '../jpeg/libjpeg-turbo.js';

/** TIFF compression schemes by code (TIFF 6.0, TIFF Technical Note 2, Aperio). */
export const TIFF_COMPRESSION_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'none'],
  [5, 'lzw'],
  [6, 'old-jpeg'],
  [7, 'jpeg'],
  [8, 'deflate'],
  [32773, 'packbits'],
  [32946, 'deflate'],
  [33003, 'aperio-jpeg2000-ycbcr'],
  [33005, 'aperio-jpeg2000-rgb'],
  [34712, 'jpeg2000'],
  [50001, 'webp'],
  [50000, 'zstd'],
]);

/** Compression codes `decodeTilePixels` decodes. */
export const DECODED_COMPRESSIONS: ReadonlySet<number> = new Set([1, 5, 7, 8, 32946]);

export function compressionName(code: number): string {
  return TIFF_COMPRESSION_NAMES.get(code) ?? `unknown-${code}`;
}

/** What decoding a tile needs to know about its image (its IFD). */
export interface TileLayout {
  width: number;
  height: number;
  compression: number;
  /** TIFF PhotometricInterpretation: 0 WhiteIsZero, 1 BlackIsZero, 2 RGB, 6 YCbCr. */
  photometric: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  /** 1 none, 2 horizontal differencing. */
  predictor: number;
  /** The JPEGTables tag's stream (SOI, tables, EOI), if any. */
  jpegTables: Uint8Array | null;
}

/** Decodes a tile's bytes (at `offset` in file `name`) to width x height x 3 RGB samples. */
export function decodeTilePixels(
  bytes: Uint8Array,
  layout: TileLayout,
  location: { name: string; offset: number },
): Uint8Array {
  const fail = (code: 'invalid_tiff' | 'unsupported_tiff', detail: string) =>
    new FormatError(code, detail, { file: location.name, offset: location.offset });
  if (layout.bitsPerSample !== 8) {
    throw fail('unsupported_tiff', `${layout.bitsPerSample}-bit samples are not decoded`);
  }
  if (layout.compression === 7) {
    return decodeJpegTile(bytes, layout, fail);
  }
  if (layout.photometric !== 0 && layout.photometric !== 1 && layout.photometric !== 2) {
    throw fail(
      'unsupported_tiff',
      `photometric interpretation ${layout.photometric} is not decoded without JPEG`,
    );
  }
  const expected = layout.width * layout.height * layout.samplesPerPixel;
  let samples: Uint8Array;
  switch (layout.compression) {
    case 1:
      samples = bytes;
      break;
    case 5:
      samples = decodeLzw(bytes, expected);
      break;
    case 8:
    case 32946:
      try {
        samples = new Uint8Array(inflateSync(bytes, { maxOutputLength: Math.max(expected, 1) }));
      } catch (error) {
        throw fail(
          'invalid_tiff',
          `the Deflate tile cannot be inflated to ${expected} bytes (${error instanceof Error ? error.message : String(error)})`,
        );
      }
      break;
    default:
      throw fail(
        'unsupported_tiff',
        `compression ${layout.compression} (${compressionName(layout.compression)}) is not decoded`,
      );
  }
  if (samples.length < expected) {
    throw fail('invalid_tiff', `the tile has ${samples.length} bytes of samples, not ${expected}`);
  }
  if (layout.predictor === 2) {
    undoHorizontalDifferencing(samples, layout.width, layout.height, layout.samplesPerPixel);
  } else if (layout.predictor !== 1) {
    throw fail('unsupported_tiff', `predictor ${layout.predictor} is not decoded`);
  }
  return toRgb(samples, layout.width * layout.height, layout.samplesPerPixel, layout.photometric);
}

function decodeJpegTile(
  bytes: Uint8Array,
  layout: TileLayout,
  fail: (code: 'invalid_tiff' | 'unsupported_tiff', detail: string) => FormatError,
): Uint8Array {
  const stream = spliceJpegTables(bytes, layout.jpegTables);
  const header = readJpegFrameHeader(stream);
  if (header === null) {
    throw fail('invalid_tiff', 'the JPEG tile has no frame header (SOF)');
  }
  if (header.width !== layout.width || header.height !== layout.height) {
    throw fail(
      'invalid_tiff',
      `the JPEG tile is ${header.width} x ${header.height}, the IFD says ${layout.width} x ${layout.height}`,
    );
  }
  if (header.precision !== 8 || ![0xc0, 0xc1, 0xc2].includes(header.process)) {
    throw fail(
      'unsupported_tiff',
      `JPEG process 0x${header.process.toString(16).toUpperCase()} with ${header.precision}-bit samples is not decoded`,
    );
  }
  if (header.components !== 1 && header.components !== 3) {
    throw fail('unsupported_tiff', `JPEG tiles of ${header.components} components are not decoded`);
  }
  const pixels = layout.width * layout.height;
  let decoded: Uint8Array;
  try {
    decoded = decodeJpegSamples(
      stream,
      { width: layout.width, height: layout.height, components: header.components },
      // YCbCr tiles are converted; Aperio's RGB tiles hold RGB as it is (no transform).
      layout.photometric === 6 ? 'ycbcr' : 'rgb',
    ).samples;
  } catch (error) {
    throw fail(
      'invalid_tiff',
      `the JPEG tile cannot be decoded (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return toRgb(decoded, pixels, header.components, header.components === 1 ? 1 : 2);
}

/**
 * An abbreviated JPEG stream made whole: the JPEGTables stream without its EOI, then the tile's
 * stream without its SOI (TIFF Technical Note 2, "JPEGTables").
 */
export function spliceJpegTables(tile: Uint8Array, tables: Uint8Array | null): Uint8Array {
  if (
    tables === null ||
    tables.length < 4 ||
    tile.length < 2 ||
    tile[0] !== 0xff ||
    tile[1] !== 0xd8
  ) {
    return tile;
  }
  const end =
    tables[tables.length - 2] === 0xff && tables[tables.length - 1] === 0xd9
      ? tables.length - 2
      : tables.length;
  const whole = new Uint8Array(end + tile.length - 2);
  whole.set(tables.subarray(0, end), 0);
  whole.set(tile.subarray(2), end);
  return whole;
}

/**
 * TIFF LZW (TIFF 6.0 section 13): MSB-first codes of 9 to 12 bits, Clear 256, EndOfInformation
 * 257, the code width growing one code early as libtiff writes it. Output stops at `expected`
 * bytes, so that a hostile stream cannot grow it.
 */
export function decodeLzw(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < 256; i += 1) {
    prefix[i] = -1;
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let next = 258;
  let width = 9;
  let previous = -1;
  let bit = 0;
  let written = 0;
  const totalBits = input.length * 8;
  const write = (code: number): boolean => {
    const size = length[code] ?? 0;
    if (written + size > expected) {
      return false;
    }
    let at = written + size - 1;
    let walk = code;
    while (walk >= 0 && at >= written) {
      out[at] = suffix[walk] ?? 0;
      walk = prefix[walk] ?? -1;
      at -= 1;
    }
    written += size;
    return true;
  };
  const add = (from: number, last: number) => {
    if (next < 4096) {
      prefix[next] = from;
      suffix[next] = last;
      first[next] = first[from] ?? 0;
      length[next] = (length[from] ?? 0) + 1;
      next += 1;
    }
  };
  while (bit + width <= totalBits && written < expected) {
    let code = 0;
    for (let i = 0; i < width; i += 1) {
      const byte = input[(bit + i) >> 3] ?? 0;
      code = (code << 1) | ((byte >> (7 - ((bit + i) & 7))) & 1);
    }
    bit += width;
    if (code === 257) {
      break;
    }
    if (code === 256) {
      next = 258;
      width = 9;
      previous = -1;
      continue;
    }
    if (previous === -1) {
      if (code > 255 || !write(code)) {
        break;
      }
      previous = code;
      continue;
    }
    if (code < next) {
      if (!write(code)) {
        break;
      }
      add(previous, first[code] ?? 0);
    } else if (code === next) {
      add(previous, first[previous] ?? 0);
      if (!write(code)) {
        break;
      }
    } else {
      break; // a code not yet defined: the stream is corrupt; what was decoded stays
    }
    previous = code;
    if (next >= (1 << width) - 1 && width < 12) {
      width += 1;
    }
  }
  return out.subarray(0, written);
}

function undoHorizontalDifferencing(
  samples: Uint8Array,
  width: number,
  height: number,
  samplesPerPixel: number,
): void {
  const row = width * samplesPerPixel;
  for (let y = 0; y < height; y += 1) {
    const start = y * row;
    for (let i = start + samplesPerPixel; i < start + row; i += 1) {
      samples[i] = ((samples[i] ?? 0) + (samples[i - samplesPerPixel] ?? 0)) & 0xff;
    }
  }
}

/** Interleaved samples to RGB: grey repeated (inverted for WhiteIsZero), extra samples dropped. */
function toRgb(
  samples: Uint8Array,
  pixels: number,
  samplesPerPixel: number,
  photometric: number,
): Uint8Array {
  if (samplesPerPixel === 3 && samples.length === pixels * 3) {
    return samples;
  }
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p += 1) {
    const at = p * samplesPerPixel;
    if (samplesPerPixel < 3) {
      const grey = samples[at] ?? 0;
      const value = photometric === 0 ? 255 - grey : grey;
      rgb[p * 3] = value;
      rgb[p * 3 + 1] = value;
      rgb[p * 3 + 2] = value;
    } else {
      rgb[p * 3] = samples[at] ?? 0;
      rgb[p * 3 + 1] = samples[at + 1] ?? 0;
      rgb[p * 3 + 2] = samples[at + 2] ?? 0;
    }
  }
  return rgb;
}
