/**
 * De-identification of whole-slide images (issue 6, step 4): a tiled pyramidal TIFF or BigTIFF
 * (Aperio SVS or generic) is rewritten as a new TIFF that holds only the pyramid's levels and the
 * thumbnail (which shows tissue only). The label (a photograph of the paper label: the patient's
 * name, the accession, a barcode) and the macro (the whole glass, label included) are left out of
 * the new file, so their bytes are not in it at all, and so is any other image the reader cannot
 * tell is tissue.
 *
 * Tiles and strips are copied as they are stored (compressed bytes, JPEGTables with them: never
 * decoded or re-encoded), one at a time, so memory stays flat however large the slide. Each kept
 * directory keeps only the tags that describe its image (a safe list); DateTime, Artist,
 * HostComputer, DocumentName, PageName, EXIF and XMP blocks and any tag not on the list are
 * dropped. Aperio's ImageDescription is rebuilt from its safe fields: the header, the dimensions and
 * tile line, AppMag, MPP and the scanner's optical settings; Date is shifted by the patient's offset
 * (or dropped when it cannot be read); Filename, User, ScanScope ID, Barcode and every field not
 * known to be safe go. A generic slide's descriptions (OME-XML, a writer's notes) go whole.
 */
import { unlink } from 'node:fs/promises';
import {
  FileTiffSink,
  HashingTiffSink,
  openRandomAccessFile,
  Slide,
  SLIDE_DEFAULT_LIMITS,
  TIFF_TAG,
  TiffWriter,
  type RandomAccessFile,
  type SlideLimits,
  type TiffFile,
  type TiffIfd,
  type TiffSink,
  type TiffWriteEntry,
  type TiffWriteType,
} from '@lantern/formats';
import { civilFromDays, daysFromCivil, shiftDateValue } from '../date-shift.js';

export interface SlideDeidOptions {
  /** The file's name, for error messages. */
  readonly name: string;
  /** The patient's date offset in whole days. */
  readonly shiftDays: number;
  /** Reader limits for hostile input (the slide reader's). */
  readonly limits?: SlideLimits;
}

/** One level as written. */
export interface SlideDeidLevel {
  width: number;
  height: number;
  tilesAcross: number;
  tilesDown: number;
}

export interface SlideDeidResult {
  /** SHA-256 of the file written, hex. */
  readonly sha256: string;
  readonly bytesWritten: number;
  readonly bigTiff: boolean;
  readonly levels: readonly SlideDeidLevel[];
  /** Whether a thumbnail was kept. */
  readonly thumbnail: boolean;
  /**
   * What was left out: associated images by kind ('label', 'macro', 'other'), TIFF tags by name
   * ('DateTime', 'tag 34665'), and description fields as 'ImageDescription:User' (each once).
   */
  readonly removed: readonly string[];
}

export const SLIDE_DEID_ERROR_CODES = [
  /** An option that cannot be applied: a fractional day offset. */
  'invalid_option',
] as const;

export type SlideDeidErrorCode = (typeof SLIDE_DEID_ERROR_CODES)[number];

/** A slide that cannot be de-identified with the options given (bad bytes are FormatErrors). */
export class SlideDeidError extends Error {
  readonly code: SlideDeidErrorCode;
  readonly file: string;
  readonly detail: string;

  constructor(code: SlideDeidErrorCode, file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'SlideDeidError';
    this.code = code;
    this.file = file;
    this.detail = detail;
  }
}

/** How a tag on the safe list is copied. */
type TagCopy = 'numbers' | 'raw' | 'ascii';

/**
 * The tags a kept directory keeps (TIFF 6.0 baseline and extensions, TIFF Technical Note 2's
 * JPEGTables, the SGI ImageDepth/TileDepth Aperio writes, the ICC profile); all describe pixels.
 * The image's data tags are rewritten, and ImageDescription is rebuilt, apart from this list.
 */
const SAFE_TAGS: ReadonlyMap<number, TagCopy> = new Map([
  [TIFF_TAG.NewSubfileType, 'numbers'],
  [TIFF_TAG.ImageWidth, 'numbers'],
  [TIFF_TAG.ImageLength, 'numbers'],
  [TIFF_TAG.BitsPerSample, 'numbers'],
  [TIFF_TAG.Compression, 'numbers'],
  [TIFF_TAG.PhotometricInterpretation, 'numbers'],
  [266, 'numbers'], // FillOrder
  [TIFF_TAG.Make, 'ascii'],
  [TIFF_TAG.Model, 'ascii'],
  [274, 'numbers'], // Orientation
  [TIFF_TAG.SamplesPerPixel, 'numbers'],
  [TIFF_TAG.RowsPerStrip, 'numbers'],
  [TIFF_TAG.XResolution, 'raw'],
  [TIFF_TAG.YResolution, 'raw'],
  [TIFF_TAG.PlanarConfiguration, 'numbers'],
  [TIFF_TAG.ResolutionUnit, 'numbers'],
  [TIFF_TAG.Software, 'ascii'],
  [TIFF_TAG.Predictor, 'numbers'],
  [TIFF_TAG.TileWidth, 'numbers'],
  [TIFF_TAG.TileLength, 'numbers'],
  [TIFF_TAG.ExtraSamples, 'numbers'],
  [TIFF_TAG.SampleFormat, 'numbers'],
  [TIFF_TAG.JPEGTables, 'raw'],
  [529, 'raw'], // YCbCrCoefficients
  [TIFF_TAG.YCbCrSubSampling, 'numbers'],
  [531, 'numbers'], // YCbCrPositioning
  [532, 'raw'], // ReferenceBlackWhite
  [32997, 'numbers'], // ImageDepth (SGI)
  [32998, 'numbers'], // TileDepth (SGI)
  [34675, 'raw'], // InterColorProfile (ICC)
]);

/** Tags rewritten from the image's data: never copied. */
const DATA_TAGS: ReadonlySet<number> = new Set([
  TIFF_TAG.TileOffsets,
  TIFF_TAG.TileByteCounts,
  TIFF_TAG.StripOffsets,
  TIFF_TAG.StripByteCounts,
  TIFF_TAG.ImageDescription,
]);

const TAG_NAMES: ReadonlyMap<number, string> = new Map([
  ...Object.entries(TIFF_TAG).map(([name, tag]) => [tag, name] as const),
  [33432, 'Copyright'],
  [34665, 'ExifIFD'],
  [34853, 'GPSInfo'],
  [700, 'XMP'],
  [33723, 'IPTC'],
  [34377, 'Photoshop'],
  [37724, 'ImageSourceData'],
]);

/** Field types (TIFF 6.0 section 2) the writer writes raw, by code. */
const RAW_TYPES: ReadonlyMap<number, TiffWriteType> = new Map([
  [1, 'byte'],
  [5, 'rational'],
  [7, 'undefined'],
]);

/**
 * Aperio description fields that say how the slide was scanned and nothing of whom: each with the
 * form its value must have, or the field goes. Date and the dimensions line are handled apart.
 */
const NUMBER = /^[-+]?\d{1,12}(\.\d{1,12})?$/u;
const SAFE_APERIO_FIELDS: ReadonlyMap<string, RegExp> = new Map([
  ['AppMag', NUMBER],
  ['MPP', NUMBER],
  ['StripeWidth', NUMBER],
  ['OriginalWidth', NUMBER],
  ['OriginalHeight', NUMBER],
  ['Left', NUMBER],
  ['Top', NUMBER],
  ['LineCameraSkew', NUMBER],
  ['LineAreaXOffset', NUMBER],
  ['LineAreaYOffset', NUMBER],
  ['Focus Offset', NUMBER],
  ['Exposure Time', NUMBER],
  ['Exposure Scale', NUMBER],
  ['Gamma', NUMBER],
  ['Filtered', NUMBER],
  ['Time', /^\d{1,2}:\d{2}(:\d{2})?$/u],
  ['Time Zone', /^GMT[+-]\d{1,2}(:?\d{2})?$/u],
]);

/** Aperio's header ("Aperio Image Library v10.0.50"), kept when it says no more than that. */
const APERIO_HEADER = /^Aperio [A-Za-z ]{0,40}v?[\d.]{1,20}( \([A-Za-z ]{0,40}\))?$/u;
const APERIO_HEADER_FALLBACK = 'Aperio Image Library';
/** A codec as Aperio names it: "JPEG/RGB Q=30", "J2K/YUV16 Q=70". */
const CODEC = String.raw`(JPEG|J2K|JP2K|LZW|Deflate|None|Raw)(/[A-Z0-9]{1,8})?( Q=\d{1,3})?`;
/**
 * A directory's dimensions line, level 0's "46000x32914 [42673,5576 2220x2967] (240x240) JPEG/RGB
 * Q=30" or another level's or the thumbnail's "46000x32914 -> 11500x8228 - JPEG/RGB Q=30": sizes,
 * positions and a codec, nothing else.
 */
const APERIO_DIMENSIONS_LINE = new RegExp(
  String.raw`^\d{1,7}x\d{1,7}( \[\d{1,7},\d{1,7} \d{1,7}x\d{1,7}\])?( \(\d{1,5}x\d{1,5}\))?( -> \d{1,7}x\d{1,7})?( -)?( ${CODEC})?$`,
  'u',
);

/**
 * Rewrites the slide at `source` (a path, or a file opened for random access) into the file at
 * `out` (created or replaced), de-identified; on failure nothing is left at `out`.
 */
export async function deidentifySlide(
  source: string | RandomAccessFile,
  out: string,
  options: SlideDeidOptions,
): Promise<SlideDeidResult> {
  if (!Number.isInteger(options.shiftDays)) {
    throw new SlideDeidError(
      'invalid_option',
      options.name,
      `the day offset must be a whole number of days, not ${options.shiftDays}`,
    );
  }
  if (typeof source !== 'string') {
    return deidentifyOpenSlide(source, out, options);
  }
  const file = await openRandomAccessFile(source);
  try {
    return await deidentifyOpenSlide(file, out, options);
  } finally {
    await file.close();
  }
}

async function deidentifyOpenSlide(
  file: RandomAccessFile,
  out: string,
  options: SlideDeidOptions,
): Promise<SlideDeidResult> {
  const slide = await Slide.open(file, { ...options.limits, name: options.name });
  const maxStripBytes = options.limits?.maxTileBytes ?? SLIDE_DEFAULT_LIMITS.maxTileBytes;
  const fileSink = await FileTiffSink.create(out);
  // Hashed as it is written, in file order (the writer is given the file's plan): every byte once,
  // and the file never read back.
  const sink = new HashingTiffSink(fileSink);
  let written: Omit<SlideDeidResult, 'sha256'>;
  try {
    written = await writeDeidentified(slide, sink, options.shiftDays, maxStripBytes);
  } catch (error) {
    await fileSink.close().catch(() => undefined);
    await unlink(out).catch(() => undefined);
    throw error;
  }
  await fileSink.close();
  return { ...written, sha256: sink.sha256() };
}

/** A directory of the source kept: its entries but its data's, and where its data is. */
interface KeptImage {
  entries: TiffWriteEntry[];
  data: { kind: 'tiles'; level: number } | { kind: 'strips'; ifd: TiffIfd };
  /** Each tile's or strip's length, as the source declares it. */
  lengths: number[];
}

/**
 * Copies the kept directories of `slide` into `sink`, data first, directories last. The copy is
 * laid out before any byte is written (tiles and strips are copied as stored, so their lengths
 * are the source's byte counts): the header goes first, final, and the file is written in order.
 */
async function writeDeidentified(
  slide: Slide,
  sink: TiffSink,
  shiftDays: number,
  maxStripBytes: number,
): Promise<Omit<SlideDeidResult, 'sha256'>> {
  const tiff = slide.tiff;
  const removed = new Set<string>();
  const levelByIfd = new Map(slide.levels.map((level, index) => [level.ifdIndex, index]));
  const thumbnailIfd = slide.associatedImages.find((image) => image.kind === 'thumbnail')?.ifdIndex;
  for (const image of slide.associatedImages) {
    if (image.kind !== 'thumbnail') {
      removed.add(image.kind);
    }
  }
  const kept: KeptImage[] = [];
  for (const ifd of tiff.ifds) {
    const level = levelByIfd.get(ifd.index);
    if (level === undefined && ifd.index !== thumbnailIfd) {
      continue; // label, macro, other images and masks: never copied
    }
    const entries = await safeEntries(tiff, ifd, removed);
    const description = await rebuildDescription(slide, ifd, shiftDays, removed);
    if (description !== null) {
      entries.push({ tag: TIFF_TAG.ImageDescription, type: 'ascii', values: description });
    }
    kept.push(
      level === undefined
        ? { entries, data: { kind: 'strips', ifd }, lengths: await stripLengths(tiff, ifd) }
        : { entries, data: { kind: 'tiles', level }, lengths: await tileLengths(slide, level) },
    );
  }
  const writer = await TiffWriter.create(sink, {
    littleEndian: tiff.isLittleEndian,
    bigTiff: tiff.isBigTiff ? true : 'auto',
    plan: {
      dataLengths: kept.flatMap((image) => image.lengths),
      images: kept.map((image) => [
        ...image.entries,
        ...dataEntries(
          image.data.kind,
          image.lengths.map(() => 0),
          image.lengths,
        ),
      ]),
    },
  });
  const images: TiffWriteEntry[][] = [];
  for (const image of kept) {
    const data =
      image.data.kind === 'tiles'
        ? await copyTiles(slide, image.data.level, writer)
        : await copyStrips(tiff, image.data.ifd, writer, maxStripBytes);
    images.push([...image.entries, ...data]);
  }
  for (const entries of images) {
    writer.addImage(entries);
  }
  const result = await writer.finish();
  return {
    bytesWritten: result.byteLength,
    bigTiff: result.bigTiff,
    levels: slide.levels.map(({ width, height, tilesAcross, tilesDown }) => ({
      width,
      height,
      tilesAcross,
      tilesDown,
    })),
    thumbnail: thumbnailIfd !== undefined,
    removed: [...removed],
  };
}

/** The entries of `ifd` on the safe list, as the writer takes them; the others named in `removed`. */
async function safeEntries(
  tiff: TiffFile,
  ifd: TiffIfd,
  removed: Set<string>,
): Promise<TiffWriteEntry[]> {
  const entries: TiffWriteEntry[] = [];
  for (const entry of ifd.entries.values()) {
    if (DATA_TAGS.has(entry.tag)) {
      continue;
    }
    const copy = SAFE_TAGS.get(entry.tag);
    const written = copy === undefined ? null : await copyEntry(tiff, ifd, entry.tag, copy);
    if (written === null) {
      removed.add(TAG_NAMES.get(entry.tag) ?? `tag ${entry.tag}`);
    } else {
      entries.push(written);
    }
  }
  return entries;
}

/** One safe tag as the writer takes it; null when its type is not one it can be written in. */
async function copyEntry(
  tiff: TiffFile,
  ifd: TiffIfd,
  tag: number,
  copy: TagCopy,
): Promise<TiffWriteEntry | null> {
  const entry = ifd.entries.get(tag);
  if (entry === undefined) {
    return null;
  }
  switch (copy) {
    case 'ascii': {
      const text = await tiff.string(ifd, tag);
      return entry.type === 2 && text !== null ? { tag, type: 'ascii', values: text } : null;
    }
    case 'raw': {
      // Same byte order in and out, so the stored bytes are the value.
      const type = RAW_TYPES.get(entry.type);
      const bytes = await tiff.bytes(ifd, tag);
      return type === undefined || bytes === null ? null : { tag, type, values: bytes };
    }
    case 'numbers': {
      const values = await tiff.numbers(ifd, tag);
      const integral = values?.every((value) => Number.isInteger(value) && value >= 0) ?? false;
      if (values === null || !integral) {
        return null;
      }
      const type = entry.type === 3 ? 'short' : entry.type === 1 ? 'byte' : 'long';
      return { tag, type, values };
    }
    default:
      return copy satisfies never;
  }
}

/**
 * The ImageDescription a kept directory gets: for Aperio, the header and the dimensions line when
 * they have their usual form (else a plain header, or nothing), and on level 0 the safe fields;
 * null for a generic slide. Removed fields are named in `removed`.
 */
async function rebuildDescription(
  slide: Slide,
  ifd: TiffIfd,
  shiftDays: number,
  removed: Set<string>,
): Promise<string | null> {
  if (!ifd.entries.has(TIFF_TAG.ImageDescription)) {
    return null;
  }
  const text =
    ifd.index === 0 ? slide.description : await slide.tiff.string(ifd, TIFF_TAG.ImageDescription);
  if (slide.vendor !== 'aperio' || text === null) {
    removed.add('ImageDescription');
    return null;
  }
  const [head = '', ...fields] = text.split('|');
  const [headerLine = '', ...restLines] = head.split(/\r?\n/u).map((line) => line.trim());
  const header = APERIO_HEADER.test(headerLine) ? headerLine : APERIO_HEADER_FALLBACK;
  if (header !== headerLine) {
    removed.add('ImageDescription:header');
  }
  const dimensions = restLines.join(' ').trim();
  const lines = [header];
  if (APERIO_DIMENSIONS_LINE.test(dimensions)) {
    lines.push(dimensions);
  } else if (dimensions !== '') {
    removed.add('ImageDescription:dimensions');
  }
  const kept = [lines.join('\r\n')];
  for (const field of fields) {
    const equals = field.indexOf('=');
    const key = equals > 0 ? field.slice(0, equals).trim() : field.trim();
    const value = equals > 0 ? field.slice(equals + 1).trim() : '';
    const safe = key === 'Date' ? shiftAperioDate(value, shiftDays) : safeFieldValue(key, value);
    if (safe === null) {
      removed.add(`ImageDescription:${key}`);
    } else {
      kept.push(`${key} = ${safe}`);
    }
  }
  return kept.join('|');
}

function safeFieldValue(key: string, value: string): string | null {
  const form = SAFE_APERIO_FIELDS.get(key);
  return form?.test(value) === true ? value : null;
}

/**
 * Aperio's scan date, "MM/DD/YY" (years 2000 to 2099, as Aperio's scanners write them) or
 * "MM/DD/YYYY", moved by `days` in the same form; null when it is neither or would leave the range.
 */
export function shiftAperioDate(value: string, days: number): string | null {
  const short = /^(\d{2})\/(\d{2})\/(\d{2})$/u.exec(value);
  if (short === null) {
    if (!/^\d{1,2}\/\d{1,2}\/\d{4}$/u.test(value)) {
      return null;
    }
    try {
      return shiftDateValue(value, days);
    } catch {
      return null;
    }
  }
  const month = Number(short[1]);
  const day = Number(short[2]);
  const year = 2000 + Number(short[3]);
  if (month < 1 || month > 12 || day < 1) {
    return null;
  }
  const daysInMonth =
    daysFromCivil(month === 12 ? year + 1 : year, (month % 12) + 1, 1) -
    daysFromCivil(year, month, 1);
  if (day > daysInMonth) {
    return null;
  }
  const shifted = civilFromDays(daysFromCivil(year, month, day) + days);
  if (shifted.year < 2000 || shifted.year > 2099) {
    return null;
  }
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(shifted.month)}/${two(shifted.day)}/${two(shifted.year - 2000)}`;
}

/** Copies every tile of a level, in order, and gives the level's offsets and byte counts. */
async function copyTiles(
  slide: Slide,
  level: number,
  writer: TiffWriter,
): Promise<TiffWriteEntry[]> {
  const info = slide.levels[level];
  const offsets: number[] = [];
  const byteCounts: number[] = [];
  if (info !== undefined) {
    for (let y = 0; y < info.tilesDown; y += 1) {
      for (let x = 0; x < info.tilesAcross; x += 1) {
        const tile = await slide.readTile(level, x, y);
        offsets.push(await writer.writeData(tile.bytes));
        byteCounts.push(tile.bytes.length);
      }
    }
  }
  return dataEntries('tiles', offsets, byteCounts);
}

/** Where an image's tiles or strips are in the file written, and their lengths. */
function dataEntries(
  kind: KeptImage['data']['kind'],
  offsets: number[],
  byteCounts: number[],
): TiffWriteEntry[] {
  const [offsetsTag, countsTag] =
    kind === 'tiles'
      ? [TIFF_TAG.TileOffsets, TIFF_TAG.TileByteCounts]
      : [TIFF_TAG.StripOffsets, TIFF_TAG.StripByteCounts];
  return [
    { tag: offsetsTag, type: 'offset', values: offsets },
    { tag: countsTag, type: 'offset', values: byteCounts },
  ];
}

/** The byte counts the source declares for the tiles of `level` copyTiles copies, in order. */
async function tileLengths(slide: Slide, level: number): Promise<number[]> {
  const info = slide.levels[level];
  const ifd = slide.tiff.ifds.find((candidate) => candidate.index === info?.ifdIndex);
  const counts = ifd === undefined ? null : await slide.tiff.numbers(ifd, TIFF_TAG.TileByteCounts);
  // Slide.open checked that the level has a count for each of its tiles.
  return (counts ?? []).slice(0, info === undefined ? 0 : info.tilesAcross * info.tilesDown);
}

/** The byte counts the source declares for the strips of `ifd` copyStrips copies. */
async function stripLengths(tiff: TiffFile, ifd: TiffIfd): Promise<number[]> {
  return (await tiff.numbers(ifd, TIFF_TAG.StripByteCounts)) ?? [];
}

/** Copies the strips of a stripped image (the thumbnail), each checked against the file's size. */
async function copyStrips(
  tiff: TiffFile,
  ifd: TiffIfd,
  writer: TiffWriter,
  maxStripBytes: number,
): Promise<TiffWriteEntry[]> {
  const offsetsEntry = ifd.entries.get(TIFF_TAG.StripOffsets);
  const countsEntry = ifd.entries.get(TIFF_TAG.StripByteCounts);
  if (
    offsetsEntry === undefined ||
    countsEntry === undefined ||
    offsetsEntry.count !== countsEntry.count
  ) {
    throw tiff.error(
      'invalid_tiff',
      `IFD ${ifd.index} has ${offsetsEntry?.count ?? 0} strip offsets and ${countsEntry?.count ?? 0} strip byte counts`,
      (offsetsEntry ?? countsEntry)?.entryOffset ?? ifd.offset,
    );
  }
  const offsets: number[] = [];
  const byteCounts: number[] = [];
  for (let i = 0; i < offsetsEntry.count; i += 1) {
    const offset = await tiff.numberAt(offsetsEntry, i);
    const count = await tiff.numberAt(countsEntry, i);
    if (count > maxStripBytes) {
      throw tiff.error(
        'limit_exceeded',
        `strip ${i} of IFD ${ifd.index} declares ${count} bytes, more than ${maxStripBytes}`,
        countsEntry.valueOffset + i * countsEntry.typeSize,
      );
    }
    if (offset + count > tiff.byteLength) {
      throw tiff.error(
        'truncated',
        `strip ${i} of IFD ${ifd.index} is ${count} bytes at byte ${offset}, past the end of the file (${tiff.byteLength} bytes)`,
        offsetsEntry.valueOffset + i * offsetsEntry.typeSize,
      );
    }
    const bytes = await tiff.readBytes(offset, count);
    offsets.push(await writer.writeData(bytes));
    byteCounts.push(count);
  }
  return dataEntries('strips', offsets, byteCounts);
}

/** SHA-256 of a file, read once as a stream (the writer patches the header last). */
