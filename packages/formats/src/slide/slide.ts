/**
 * A whole-slide image in a tiled pyramidal TIFF or BigTIFF, generic (as libvips' `tiffsave
 * --pyramid` writes it) or Aperio SVS: its levels (the tiled directories, largest first), microns
 * per pixel, and associated images (label, macro, thumbnail) kept apart so that they can be left
 * out. Any tile of any level is read alone, from its offset: a level is never loaded.
 *
 * Aperio's conventions are OpenSlide's reading of them: the ImageDescription starts "Aperio" and
 * carries `key = value` fields after `|`, among them `MPP`; the second directory, when it is not
 * tiled, is the thumbnail; the label and macro are stripped directories whose description names
 * them (their NewSubfileType is 1 and 9).
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { openRandomAccessFile, type RandomAccessFile } from '../tables/parquet.js';
import { compressionName, decodeTilePixels, type TileLayout } from './tile-codecs.js';
import {
  isTiff,
  TIFF_TAG,
  TiffFile,
  type TiffEntry,
  type TiffIfd,
  type TiffLimits,
} from './tiff.js';

/** Limits of a slide reader: the TIFF limits, and the largest tile. */
export interface SlideLimits extends TiffLimits {
  /** The largest tile, compressed or decoded, in bytes. Default 64 MiB. */
  maxTileBytes?: number;
}

export const SLIDE_DEFAULT_LIMITS = { maxTileBytes: 64 * 1024 * 1024 } as const;

/** The longest ImageDescription read from an IFD other than the first. */
const MAX_ASSOCIATED_DESCRIPTION_BYTES = 64 * 1024;

export interface SlideReadOptions extends SlideLimits {
  /** The file's name, for error messages. */
  name: string;
}

/** One level of the pyramid. */
export interface SlideLevel {
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  /** Tiles across and down. */
  tilesAcross: number;
  tilesDown: number;
  /** Level 0's size over this level's (the mean of both axes, as OpenSlide computes it). */
  downsample: number;
  compression: string;
  /** The TIFF directory it is, from 0. */
  ifdIndex: number;
}

export type AssociatedImageKind = 'label' | 'macro' | 'thumbnail' | 'other';

/** An image in the file that is not a level of the pyramid. */
export interface AssociatedImage {
  kind: AssociatedImageKind;
  width: number;
  height: number;
  compression: string;
  ifdIndex: number;
}

/** Microns per pixel along x and y, and where the file said it. */
export interface SlideMpp {
  x: number;
  y: number;
  source: 'aperio' | 'tiff-resolution';
}

/** One tile as stored: its compressed bytes and how to decode them. */
export interface SlideTile {
  level: number;
  x: number;
  y: number;
  /** Where the bytes are in the file. */
  offset: number;
  bytes: Uint8Array;
  /** The TIFF Compression code and its name ("jpeg", "lzw", …). */
  compression: { code: number; name: string };
  /** The tile's full size (edge tiles are padded to it, as TIFF stores them). */
  width: number;
  height: number;
}

interface LevelLayout extends TileLayout {
  tileOffsets: TiffEntry;
  tileByteCounts: TiffEntry;
}

/** Aperio's ImageDescription: its first line(s) before `|`, and its `key = value` fields. */
export interface AperioDescription {
  header: string;
  fields: ReadonlyMap<string, string>;
}

/** Parses an Aperio ImageDescription ("Aperio Image Library v… |AppMag = 20|MPP = 0.2520|…"). */
export function parseAperioDescription(description: string): AperioDescription | null {
  if (!description.startsWith('Aperio')) {
    return null;
  }
  const [header = '', ...rest] = description.split('|');
  const fields = new Map<string, string>();
  for (const part of rest) {
    const equals = part.indexOf('=');
    if (equals > 0) {
      fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
    }
  }
  return { header: header.trim(), fields };
}

/** A whole-slide image opened for reading tiles. */
export class Slide {
  readonly tiff: TiffFile;
  readonly vendor: 'aperio' | 'generic';
  readonly levels: readonly SlideLevel[];
  readonly associatedImages: readonly AssociatedImage[];
  readonly mpp: SlideMpp | null;
  /** Level 0's ImageDescription (raw; may identify: see describeSlide). */
  readonly description: string | null;
  readonly aperio: AperioDescription | null;
  private readonly layouts: readonly LevelLayout[];
  private readonly maxTileBytes: number;

  private constructor(fields: {
    tiff: TiffFile;
    levels: SlideLevel[];
    layouts: LevelLayout[];
    associatedImages: AssociatedImage[];
    mpp: SlideMpp | null;
    description: string | null;
    aperio: AperioDescription | null;
    maxTileBytes: number;
  }) {
    this.tiff = fields.tiff;
    this.levels = fields.levels;
    this.layouts = fields.layouts;
    this.associatedImages = fields.associatedImages;
    this.mpp = fields.mpp;
    this.description = fields.description;
    this.aperio = fields.aperio;
    this.vendor = fields.aperio === null ? 'generic' : 'aperio';
    this.maxTileBytes = fields.maxTileBytes;
  }

  /** Reads the directories of a TIFF and sorts them into levels and associated images. */
  static async open(file: RandomAccessFile, options: SlideReadOptions): Promise<Slide> {
    const maxTileBytes = options.maxTileBytes ?? SLIDE_DEFAULT_LIMITS.maxTileBytes;
    const tiff = await TiffFile.open(file, options);
    const found: { level: Omit<SlideLevel, 'downsample'>; layout: LevelLayout }[] = [];
    const associatedImages: AssociatedImage[] = [];
    let firstDescription: string | null = null;
    for (const ifd of tiff.ifds) {
      // Only level 0's description may be long (OME-XML); the others are read to tell a label or
      // macro, so that a chain of IFDs sharing one huge description cannot make reads add up.
      const descriptionEntry = ifd.entries.get(TIFF_TAG.ImageDescription);
      const description =
        ifd.index === 0 || (descriptionEntry?.count ?? 0) <= MAX_ASSOCIATED_DESCRIPTION_BYTES
          ? await tiff.string(ifd, TIFF_TAG.ImageDescription)
          : null;
      if (ifd.index === 0) {
        firstDescription = description;
      }
      const subfileType = (await tiff.number(ifd, TIFF_TAG.NewSubfileType, 0)) ?? 0;
      if ((subfileType & 4) !== 0) {
        continue; // a transparency mask (TIFF 6.0 NewSubfileType bit 2): not an image
      }
      const width = await requireDimension(tiff, ifd, TIFF_TAG.ImageWidth, 'ImageWidth');
      const height = await requireDimension(tiff, ifd, TIFF_TAG.ImageLength, 'ImageLength');
      const compression = (await tiff.number(ifd, TIFF_TAG.Compression, 1)) ?? 1;
      const named = associatedKindFromDescription(description);
      const isTiled = ifd.entries.has(TIFF_TAG.TileWidth);
      if (named !== null || !isTiled) {
        associatedImages.push({
          kind:
            named ??
            ((firstDescription?.startsWith('Aperio') === true && ifd.index === 1) ||
            (subfileType & 1) !== 0
              ? 'thumbnail'
              : 'other'),
          width,
          height,
          compression: compressionName(compression),
          ifdIndex: ifd.index,
        });
        continue;
      }
      const layout = await readLevelLayout(tiff, ifd, width, height, compression, maxTileBytes);
      found.push({
        level: {
          width,
          height,
          tileWidth: layout.width,
          tileHeight: layout.height,
          tilesAcross: Math.ceil(width / layout.width),
          tilesDown: Math.ceil(height / layout.height),
          compression: compressionName(compression),
          ifdIndex: ifd.index,
        },
        layout,
      });
    }
    if (found.length === 0) {
      throw tiff.error('invalid_tiff', 'the TIFF has no tiled image: it is not a tiled slide', 0);
    }
    found.sort((a, b) => b.level.width - a.level.width || b.level.height - a.level.height);
    const base = found[0]?.level ?? { width: 1, height: 1 };
    const aperio = firstDescription === null ? null : parseAperioDescription(firstDescription);
    return new Slide({
      tiff,
      levels: found.map(({ level }) => ({
        ...level,
        downsample: (base.width / level.width + base.height / level.height) / 2,
      })),
      layouts: found.map(({ layout }) => layout),
      associatedImages,
      mpp: await readMpp(tiff, tiff.ifds[found[0]?.level.ifdIndex ?? 0], aperio),
      description: firstDescription,
      aperio,
      maxTileBytes,
    });
  }

  /** The name errors give. */
  get name(): string {
    return this.tiff.name;
  }

  /**
   * The tile at column `x`, row `y` of level `level` (0 the largest), as stored: compressed bytes
   * and their compression. Reads the tile's offset and byte count, then the tile; nothing else.
   */
  async readTile(level: number, x: number, y: number): Promise<SlideTile> {
    const info = this.levels[level];
    const layout = this.layouts[level];
    if (info === undefined || layout === undefined) {
      throw new RangeError(`${this.name} has ${this.levels.length} levels, not a level ${level}`);
    }
    if (
      !Number.isInteger(x) ||
      !Number.isInteger(y) ||
      x < 0 ||
      y < 0 ||
      x >= info.tilesAcross ||
      y >= info.tilesDown
    ) {
      throw new RangeError(
        `level ${level} of ${this.name} is ${info.tilesAcross} x ${info.tilesDown} tiles, it has no tile (${x}, ${y})`,
      );
    }
    const index = y * info.tilesAcross + x;
    const offset = await this.tiff.numberAt(layout.tileOffsets, index);
    const byteCount = await this.tiff.numberAt(layout.tileByteCounts, index);
    if (byteCount > this.maxTileBytes) {
      throw this.tiff.error(
        'limit_exceeded',
        `tile (${x}, ${y}) of level ${level} declares ${byteCount} bytes, more than ${this.maxTileBytes}`,
        layout.tileByteCounts.valueOffset + index * layout.tileByteCounts.typeSize,
      );
    }
    if (offset + byteCount > this.tiff.byteLength) {
      throw this.tiff.error(
        'truncated',
        `tile (${x}, ${y}) of level ${level} is ${byteCount} bytes at byte ${offset}, past the end of the file (${this.tiff.byteLength} bytes)`,
        layout.tileOffsets.valueOffset + index * layout.tileOffsets.typeSize,
      );
    }
    return {
      level,
      x,
      y,
      offset,
      bytes: await this.tiff.readBytes(offset, byteCount),
      compression: { code: layout.compression, name: compressionName(layout.compression) },
      width: layout.width,
      height: layout.height,
    };
  }

  /** A tile's pixels, decoded to 8-bit RGB (width x height x 3, rows top down). */
  async readTilePixels(
    level: number,
    x: number,
    y: number,
  ): Promise<{ width: number; height: number; rgb: Uint8Array }> {
    const tile = await this.readTile(level, x, y);
    const layout = this.layouts[level];
    if (layout === undefined) {
      throw new RangeError(`${this.name} has no level ${level}`);
    }
    const rgb = decodeTilePixels(tile.bytes, layout, { name: this.name, offset: tile.offset });
    return { width: tile.width, height: tile.height, rgb };
  }
}

/** Opens the slide at `path`; close it when done. `name` defaults to the file's base name. */
export async function openSlideFile(
  path: string,
  options: Partial<SlideReadOptions> = {},
): Promise<{ slide: Slide; close: () => Promise<void> }> {
  const file = await openRandomAccessFile(path);
  try {
    const slide = await Slide.open(file, { ...options, name: options.name ?? basename(path) });
    return { slide, close: () => file.close() };
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** Tells whether the file at `path` starts like a TIFF (for `lantern inspect`'s detection). */
export async function isTiffFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && isTiff(head);
  } finally {
    await handle.close();
  }
}

function associatedKindFromDescription(description: string | null): AssociatedImageKind | null {
  if (description === null) {
    return null;
  }
  // Aperio: "Aperio Image Library v10.0.50\r\nlabel 415x422"; others say "Label" / "Macro" alone.
  const lines = description.split(/\r?\n/u).map((line) => line.trim().toLowerCase());
  for (const line of lines) {
    if (/^label\b/u.test(line)) {
      return 'label';
    }
    if (/^macro\b/u.test(line)) {
      return 'macro';
    }
  }
  return null;
}

async function requireDimension(
  tiff: TiffFile,
  ifd: TiffIfd,
  tag: number,
  keyword: string,
): Promise<number> {
  const value = await tiff.number(ifd, tag);
  if (value === null || !Number.isInteger(value) || value < 1) {
    throw tiff.error(
      'invalid_tiff',
      `IFD ${ifd.index} has no usable ${keyword} (${String(value)})`,
      ifd.entries.get(tag)?.entryOffset ?? ifd.offset,
    );
  }
  return value;
}

async function readLevelLayout(
  tiff: TiffFile,
  ifd: TiffIfd,
  width: number,
  height: number,
  compression: number,
  maxTileBytes: number,
): Promise<LevelLayout> {
  const tileWidth = await requireDimension(tiff, ifd, TIFF_TAG.TileWidth, 'TileWidth');
  const tileHeight = await requireDimension(tiff, ifd, TIFF_TAG.TileLength, 'TileLength');
  const samplesPerPixel = (await tiff.number(ifd, TIFF_TAG.SamplesPerPixel, 1)) ?? 1;
  const bitsPerSample = (await tiff.number(ifd, TIFF_TAG.BitsPerSample, 1)) ?? 1;
  const planar = (await tiff.number(ifd, TIFF_TAG.PlanarConfiguration, 1)) ?? 1;
  const decodedBytes = tileWidth * tileHeight * samplesPerPixel * Math.ceil(bitsPerSample / 8);
  if (decodedBytes > maxTileBytes) {
    throw tiff.error(
      'limit_exceeded',
      `IFD ${ifd.index}'s tiles are ${tileWidth} x ${tileHeight} x ${samplesPerPixel}, more than ${maxTileBytes} bytes`,
      ifd.entries.get(TIFF_TAG.TileWidth)?.entryOffset ?? ifd.offset,
    );
  }
  if (planar !== 1) {
    throw tiff.error(
      'unsupported_tiff',
      `IFD ${ifd.index} stores its samples in separate planes (PlanarConfiguration ${planar})`,
      ifd.entries.get(TIFF_TAG.PlanarConfiguration)?.entryOffset ?? ifd.offset,
    );
  }
  const tiles = Math.ceil(width / tileWidth) * Math.ceil(height / tileHeight);
  const tileOffsets = ifd.entries.get(TIFF_TAG.TileOffsets);
  const tileByteCounts = ifd.entries.get(TIFF_TAG.TileByteCounts);
  for (const [entry, keyword] of [
    [tileOffsets, 'TileOffsets'],
    [tileByteCounts, 'TileByteCounts'],
  ] as const) {
    if (entry === undefined || entry.count < tiles) {
      throw tiff.error(
        'invalid_tiff',
        `IFD ${ifd.index} is ${width} x ${height} in ${tileWidth} x ${tileHeight} tiles (${tiles}), but its ${keyword} has ${entry?.count ?? 0} values`,
        entry?.entryOffset ?? ifd.offset,
      );
    }
  }
  if (tileOffsets === undefined || tileByteCounts === undefined) {
    throw tiff.error('invalid_tiff', `IFD ${ifd.index} has no tile offsets`, ifd.offset);
  }
  return {
    width: tileWidth,
    height: tileHeight,
    compression,
    photometric: (await tiff.number(ifd, TIFF_TAG.PhotometricInterpretation, 2)) ?? 2,
    samplesPerPixel,
    bitsPerSample,
    predictor: (await tiff.number(ifd, TIFF_TAG.Predictor, 1)) ?? 1,
    jpegTables: compression === 7 ? await tiff.bytes(ifd, TIFF_TAG.JPEGTables) : null,
    tileOffsets,
    tileByteCounts,
  };
}

/** Microns per pixel: Aperio's `MPP`, else XResolution/YResolution in pixels per cm or inch. */
async function readMpp(
  tiff: TiffFile,
  ifd: TiffIfd | undefined,
  aperio: AperioDescription | null,
): Promise<SlideMpp | null> {
  const aperioMpp = Number(aperio?.fields.get('MPP') ?? Number.NaN);
  if (Number.isFinite(aperioMpp) && aperioMpp > 0) {
    return { x: aperioMpp, y: aperioMpp, source: 'aperio' };
  }
  if (ifd === undefined) {
    return null;
  }
  const unit = await tiff.number(ifd, TIFF_TAG.ResolutionUnit, 2);
  const micronsPerUnit = unit === 2 ? 25_400 : unit === 3 ? 10_000 : null;
  const x = await tiff.number(ifd, TIFF_TAG.XResolution);
  const y = await tiff.number(ifd, TIFF_TAG.YResolution);
  if (micronsPerUnit === null || x === null || !(x > 0)) {
    return null;
  }
  const yResolution = y !== null && y > 0 ? y : x;
  return { x: micronsPerUnit / x, y: micronsPerUnit / yResolution, source: 'tiff-resolution' };
}
