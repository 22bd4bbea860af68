/**
 * Writing a whole-slide image as a tiled pyramidal TIFF in Aperio SVS's layout, as OpenSlide reads
 * it: level 0 first with an ImageDescription "Aperio Image Library …|AppMag = 40|MPP = 0.2520|…",
 * then the thumbnail (stripped), the smaller levels (tiled), the label (NewSubfileType 1,
 * "label WxH") and the macro (NewSubfileType 9, "macro WxH").
 *
 * Memory stays flat in the slide's height: the caller makes level 0 one tile at a time, row by row
 * (a callback), each tile is compressed and appended to the file at once, and each smaller level is
 * made from the tiles of the one above, averaging 2 x 2 pixels into a strip one tile high that is
 * cut into tiles when it is full. Tiles are JPEG (JFIF, YCbCr 4:4:4, each tile a whole baseline
 * stream, encoded by libjpeg-turbo in WebAssembly) or Deflate (lossless; zlib, no predictor).
 */
import { deflateSync } from 'node:zlib';
import { encodeJpegRgb } from '../jpeg/libjpeg-turbo.js';
import { TIFF_TAG } from './tiff.js';
import {
  FileTiffSink,
  TiffWriteError,
  TiffWriter,
  type TiffSink,
  type TiffWriteEntry,
  type TiffWriteResult,
} from './write-tiff.js';

/** An 8-bit RGB image, rows top down. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export type SlideTileCompression = 'jpeg' | 'deflate';

export interface SlideWriteOptions {
  /** Level 0's size in pixels. */
  width: number;
  height: number;
  /** Default 256. */
  tileSize?: 256 | 512;
  /** Default 'jpeg'. */
  compression?: SlideTileCompression;
  /** JPEG quality, 1 to 100. Default 80. */
  jpegQuality?: number;
  /** Microns per pixel at level 0. */
  mpp: number;
  /** The objective's magnification. Default 40 below 0.4 microns per pixel, else 20. */
  appMag?: number;
  /** More `key = value` fields of Aperio's description (ScanScope ID, Date, …), in order. */
  fields?: readonly (readonly [string, string])[];
  /** The slide's paper label, photographed; it may carry names and accession numbers. */
  label?: RgbImage;
  /** The whole glass at low magnification. */
  macro?: RgbImage;
  /** Default: the smallest level. */
  thumbnail?: RgbImage;
  /** Default 'auto': BigTIFF only when offsets would pass 4 GiB. */
  bigTiff?: boolean | 'auto';
  /** Default true. */
  littleEndian?: boolean;
}

/**
 * Gives level 0's tile at column `x`, row `y`: `tileSize` x `tileSize` x 3 RGB bytes (pixels past
 * the slide's right or bottom edge are stored but never shown). Called row by row, left to right.
 */
export type SlideTileSource = (x: number, y: number) => Uint8Array | Promise<Uint8Array>;

export interface SlideWriteResult extends TiffWriteResult {
  levels: { width: number; height: number; tilesAcross: number; tilesDown: number }[];
}

/** The version Aperio's header names; the description says who wrote the file. */
const APERIO_HEADER = 'Aperio Image Library v12.0.15 (written by Lantern)';

/** The levels' sizes: halved (rounding up) until a level fits in one tile. */
export function pyramidLevels(
  width: number,
  height: number,
  tileSize: number,
): { width: number; height: number }[] {
  const levels = [{ width, height }];
  let last = levels[0] ?? { width, height };
  while (last.width > tileSize || last.height > tileSize) {
    last = { width: Math.ceil(last.width / 2), height: Math.ceil(last.height / 2) };
    levels.push(last);
  }
  return levels;
}

/** Writes a slide to the file at `path` (created or replaced). */
export async function writeSlideFile(
  path: string,
  options: SlideWriteOptions,
  tile: SlideTileSource,
): Promise<SlideWriteResult> {
  const sink = await FileTiffSink.create(path);
  try {
    return await writeSlide(sink, options, tile);
  } finally {
    await sink.close();
  }
}

/** Writes a slide into `sink`. */
export async function writeSlide(
  sink: TiffSink,
  options: SlideWriteOptions,
  tile: SlideTileSource,
): Promise<SlideWriteResult> {
  const tileSize = options.tileSize ?? 256;
  const compression = options.compression ?? 'jpeg';
  const quality = options.jpegQuality ?? 80;
  checkOptions(options, tileSize, quality);
  const writer = await TiffWriter.create(sink, {
    littleEndian: options.littleEndian ?? true,
    bigTiff: options.bigTiff ?? 'auto',
  });
  const sizes = pyramidLevels(options.width, options.height, tileSize);
  const levels = sizes.map((size) => new LevelBuilder(size.width, size.height, tileSize));
  let thumbnail = options.thumbnail ?? null;

  const encode = (rgb: Uint8Array) =>
    compression === 'jpeg'
      ? encodeJpegRgb(rgb, tileSize, tileSize, quality)
      : new Uint8Array(deflateSync(rgb));

  /** Stores one tile of `level` and averages it into the level below, finishing its rows. */
  const emit = async (level: number, x: number, y: number, rgb: Uint8Array): Promise<void> => {
    const builder = levels[level];
    if (builder === undefined) {
      return;
    }
    if (rgb.length !== tileSize * tileSize * 3) {
      throw new TiffWriteError(
        'invalid_image',
        `tile (${x}, ${y}) of level ${level} has ${rgb.length} bytes, not ${tileSize} x ${tileSize} x 3`,
      );
    }
    const encoded = encode(rgb);
    builder.offsets.push(await writer.writeData(encoded));
    builder.byteCounts.push(encoded.length);
    if (level === levels.length - 1 && options.thumbnail === undefined) {
      thumbnail = crop(rgb, tileSize, builder.width, builder.height);
    }
    const below = levels[level + 1];
    if (below === undefined) {
      return;
    }
    below.addHalf(rgb, x, y, builder);
    const rowDone = x === builder.tilesAcross - 1;
    if (rowDone && (y % 2 === 1 || y === builder.tilesDown - 1)) {
      const row = y >> 1;
      for (let across = 0; across < below.tilesAcross; across += 1) {
        await emit(level + 1, across, row, below.tile(across));
      }
      below.clearStrip();
    }
  };

  const base = levels[0];
  if (base === undefined) {
    throw new TiffWriteError('invalid_image', 'a slide has a level 0');
  }
  for (let y = 0; y < base.tilesDown; y += 1) {
    for (let x = 0; x < base.tilesAcross; x += 1) {
      await emit(0, x, y, await tile(x, y));
    }
  }

  const compressionCode = compression === 'jpeg' ? 7 : 8;
  const levelEntries = levels.map((level, index) =>
    tiledEntries(level, index, compressionCode, options, tileSize, quality),
  );
  const [first, ...rest] = levelEntries;
  writer.addImage(first ?? []);
  if (thumbnail !== null) {
    writer.addImage(
      await strippedImage(
        writer,
        thumbnail,
        0,
        `${base.width}x${base.height} -> ${thumbnail.width}x${thumbnail.height}`,
      ),
    );
  }
  for (const entries of rest) {
    writer.addImage(entries);
  }
  for (const [image, subfileType, kind] of [
    [options.label, 1, 'label'],
    [options.macro, 9, 'macro'],
  ] as const) {
    if (image !== undefined) {
      writer.addImage(
        await strippedImage(writer, image, subfileType, `${kind} ${image.width}x${image.height}`),
      );
    }
  }
  const result = await writer.finish();
  return {
    ...result,
    levels: levels.map((level) => ({
      width: level.width,
      height: level.height,
      tilesAcross: level.tilesAcross,
      tilesDown: level.tilesDown,
    })),
  };
}

function checkOptions(options: SlideWriteOptions, tileSize: number, quality: number): void {
  const { width, height, mpp } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new TiffWriteError('invalid_image', `a slide cannot be ${width} x ${height}`);
  }
  if (tileSize !== 256 && tileSize !== 512) {
    throw new TiffWriteError('invalid_image', `tiles are 256 or 512 pixels, not ${tileSize}`);
  }
  if (!(mpp > 0) || !Number.isFinite(mpp)) {
    throw new TiffWriteError('invalid_image', `microns per pixel cannot be ${mpp}`);
  }
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new TiffWriteError('invalid_image', `JPEG quality is 1 to 100, not ${quality}`);
  }
  for (const [key, value] of options.fields ?? []) {
    if (/[|\r\n=]/u.test(key) || /[|\r\n]/u.test(value)) {
      throw new TiffWriteError(
        'invalid_image',
        `the field "${key}" cannot hold | = or a line break`,
      );
    }
  }
}

/** One level being written: its tiles' offsets, and the strip the level above averages into. */
class LevelBuilder {
  readonly width: number;
  readonly height: number;
  readonly tileSize: number;
  readonly tilesAcross: number;
  readonly tilesDown: number;
  readonly offsets: number[] = [];
  readonly byteCounts: number[] = [];
  /** One row of tiles, `tilesAcross * tileSize` wide, made lazily (level 0 has none). */
  private strip: Uint8Array | null = null;

  constructor(width: number, height: number, tileSize: number) {
    this.width = width;
    this.height = height;
    this.tileSize = tileSize;
    this.tilesAcross = Math.ceil(width / tileSize);
    this.tilesDown = Math.ceil(height / tileSize);
  }

  private stripBytes(): Uint8Array {
    this.strip ??= new Uint8Array(this.tilesAcross * this.tileSize * this.tileSize * 3);
    return this.strip;
  }

  /** Averages tile (x, y) of the level above (2 x 2 pixels to 1) into this level's strip. */
  addHalf(rgb: Uint8Array, x: number, y: number, above: LevelBuilder): void {
    const size = this.tileSize;
    const half = size / 2;
    const strip = this.stripBytes();
    const stride = this.tilesAcross * size * 3;
    const validWidth = Math.min(size, above.width - x * size);
    const validHeight = Math.min(size, above.height - y * size);
    const outWidth = Math.ceil(validWidth / 2);
    const outHeight = Math.ceil(validHeight / 2);
    const left = x * half;
    const top = (y % 2) * half;
    for (let j = 0; j < outHeight; j += 1) {
      const y0 = 2 * j;
      const y1 = Math.min(y0 + 1, validHeight - 1);
      for (let i = 0; i < outWidth; i += 1) {
        const x0 = 2 * i;
        const x1 = Math.min(x0 + 1, validWidth - 1);
        const a = (y0 * size + x0) * 3;
        const b = (y0 * size + x1) * 3;
        const c = (y1 * size + x0) * 3;
        const d = (y1 * size + x1) * 3;
        const out = (top + j) * stride + (left + i) * 3;
        for (let k = 0; k < 3; k += 1) {
          strip[out + k] =
            ((rgb[a + k] ?? 0) + (rgb[b + k] ?? 0) + (rgb[c + k] ?? 0) + (rgb[d + k] ?? 0) + 2) >>
            2;
        }
      }
    }
  }

  /** Tile `x` of the strip (black past the level's edge, where no reader looks). */
  tile(x: number): Uint8Array {
    const size = this.tileSize;
    const strip = this.stripBytes();
    const stride = this.tilesAcross * size * 3;
    const out = new Uint8Array(size * size * 3);
    for (let row = 0; row < size; row += 1) {
      out.set(
        strip.subarray(row * stride + x * size * 3, row * stride + (x + 1) * size * 3),
        row * size * 3,
      );
    }
    return out;
  }

  clearStrip(): void {
    this.strip?.fill(0);
  }
}

function tiledEntries(
  level: LevelBuilder,
  index: number,
  compression: number,
  options: SlideWriteOptions,
  tileSize: number,
  quality: number,
): TiffWriteEntry[] {
  const base = pyramidLevels(options.width, options.height, tileSize)[0] ?? level;
  const codec = compression === 7 ? `JPEG/RGB Q=${quality}` : 'Deflate/RGB';
  const magnification = options.appMag ?? (options.mpp < 0.4 ? 40 : 20);
  const description =
    index === 0
      ? [
          `${APERIO_HEADER}\r\n${level.width}x${level.height} [0,0 ${level.width}x${level.height}] (${tileSize}x${tileSize}) ${codec}`,
          `AppMag = ${magnification}`,
          `MPP = ${options.mpp.toFixed(4)}`,
          ...(options.fields ?? []).map(([key, value]) => `${key} = ${value}`),
        ].join('|')
      : `${APERIO_HEADER}\r\n${base.width}x${base.height} -> ${level.width}x${level.height} - ${codec}`;
  // TIFF's resolution too, in pixels per centimetre, so that generic readers find the scale.
  const pixelsPerCm = 10_000 / (options.mpp * (base.width / level.width));
  return [
    { tag: TIFF_TAG.NewSubfileType, type: 'long', values: [0] },
    { tag: TIFF_TAG.ImageWidth, type: 'long', values: [level.width] },
    { tag: TIFF_TAG.ImageLength, type: 'long', values: [level.height] },
    { tag: TIFF_TAG.BitsPerSample, type: 'short', values: [8, 8, 8] },
    { tag: TIFF_TAG.Compression, type: 'short', values: [compression] },
    { tag: TIFF_TAG.PhotometricInterpretation, type: 'short', values: [compression === 7 ? 6 : 2] },
    { tag: TIFF_TAG.ImageDescription, type: 'ascii', values: description },
    { tag: TIFF_TAG.SamplesPerPixel, type: 'short', values: [3] },
    { tag: TIFF_TAG.XResolution, type: 'rational', values: [pixelsPerCm] },
    { tag: TIFF_TAG.YResolution, type: 'rational', values: [pixelsPerCm] },
    { tag: TIFF_TAG.PlanarConfiguration, type: 'short', values: [1] },
    { tag: TIFF_TAG.ResolutionUnit, type: 'short', values: [3] },
    { tag: TIFF_TAG.TileWidth, type: 'short', values: [tileSize] },
    { tag: TIFF_TAG.TileLength, type: 'short', values: [tileSize] },
    { tag: TIFF_TAG.TileOffsets, type: 'offset', values: level.offsets },
    { tag: TIFF_TAG.TileByteCounts, type: 'offset', values: level.byteCounts },
    ...(compression === 7
      ? [{ tag: TIFF_TAG.YCbCrSubSampling, type: 'short', values: [1, 1] } as const]
      : []),
  ];
}

/** An associated image: one Deflate strip, written now, and its directory's entries. */
async function strippedImage(
  writer: TiffWriter,
  image: RgbImage,
  subfileType: number,
  what: string,
): Promise<TiffWriteEntry[]> {
  if (image.rgb.length !== image.width * image.height * 3 || image.width < 1 || image.height < 1) {
    throw new TiffWriteError(
      'invalid_image',
      `the ${what.split(' ')[0] ?? 'image'} has ${image.rgb.length} bytes for ${image.width} x ${image.height} RGB`,
    );
  }
  const strip = new Uint8Array(deflateSync(image.rgb));
  // OpenSlide names an associated image by the first word of the description's second line,
  // splitting at \r and \n alike: a bare \n keeps that line the name's.
  const offset = await writer.writeData(strip);
  return [
    { tag: TIFF_TAG.NewSubfileType, type: 'long', values: [subfileType] },
    { tag: TIFF_TAG.ImageWidth, type: 'long', values: [image.width] },
    { tag: TIFF_TAG.ImageLength, type: 'long', values: [image.height] },
    { tag: TIFF_TAG.BitsPerSample, type: 'short', values: [8, 8, 8] },
    { tag: TIFF_TAG.Compression, type: 'short', values: [8] },
    { tag: TIFF_TAG.PhotometricInterpretation, type: 'short', values: [2] },
    { tag: TIFF_TAG.ImageDescription, type: 'ascii', values: `${APERIO_HEADER}\n${what}` },
    { tag: TIFF_TAG.StripOffsets, type: 'offset', values: [offset] },
    { tag: TIFF_TAG.SamplesPerPixel, type: 'short', values: [3] },
    { tag: TIFF_TAG.RowsPerStrip, type: 'long', values: [image.height] },
    { tag: TIFF_TAG.StripByteCounts, type: 'offset', values: [strip.length] },
    { tag: TIFF_TAG.PlanarConfiguration, type: 'short', values: [1] },
  ];
}

/** The top-left `width` x `height` of a square tile. */
function crop(rgb: Uint8Array, tileSize: number, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row += 1) {
    out.set(rgb.subarray(row * tileSize * 3, (row * tileSize + width) * 3), row * width * 3);
  }
  return { width, height, rgb: out };
}
