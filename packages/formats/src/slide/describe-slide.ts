/**
 * What `lantern inspect` says about a whole-slide image: its pyramid (levels and tile sizes),
 * microns per pixel, the associated images (a label or macro photographs the slide's paper label,
 * which can carry a name or an accession number), and the fields of the file that identify a
 * person or a case, with their values masked: Aperio's description fields (Filename, Date, Time,
 * User, ScanScope ID, …) and TIFF's own DateTime, Artist, HostComputer, DocumentName, PageName.
 */
import { maskValue } from '../identifying.js';
import type { IdentifyingField } from '../ecg/ecg.js';
import { TIFF_TAG } from './tiff.js';
import {
  openSlideFile,
  type AssociatedImage,
  type Slide,
  type SlideMpp,
  type SlideReadOptions,
} from './slide.js';

export interface SlideDescription {
  format: 'wsi-tiff';
  vendor: 'aperio' | 'generic';
  bigTiff: boolean;
  byteOrder: 'little-endian' | 'big-endian';
  /** Level 0's size. */
  width: number;
  height: number;
  levels: {
    width: number;
    height: number;
    tileWidth: number;
    tileHeight: number;
    downsample: number;
    compression: string;
  }[];
  mpp: SlideMpp | null;
  /** Not levels: label, macro, thumbnail. A label or macro may show identifying text. */
  associatedImages: AssociatedImage[];
  /** Fields that identify a person or a case, values masked. */
  identifying: IdentifyingField[];
}

/** Aperio description fields that name a file, a person, a scanner or a time (all masked). */
const APERIO_IDENTIFYING = new Set([
  'Filename',
  'Date',
  'Time',
  'Time Zone',
  'User',
  'ScanScope ID',
  'ImageID',
  'Barcode',
  'Slide',
  'SlideID',
  'Rack',
  'DSR ID',
]);

/** The longest TIFF identifying field read (its value masked); longer ones are listed unread. */
const MAX_FIELD_BYTES = 4096;

const TIFF_IDENTIFYING: readonly [number, string][] = [
  [TIFF_TAG.DocumentName, 'DocumentName'],
  [TIFF_TAG.PageName, 'PageName'],
  [TIFF_TAG.DateTime, 'DateTime'],
  [TIFF_TAG.Artist, 'Artist'],
  [TIFF_TAG.HostComputer, 'HostComputer'],
];

/** Describes a slide already opened. */
export async function describeSlide(slide: Slide): Promise<SlideDescription> {
  const identifying: IdentifyingField[] = [];
  if (slide.aperio !== null) {
    for (const [key, value] of slide.aperio.fields) {
      if (APERIO_IDENTIFYING.has(key) && value !== '') {
        identifying.push({ field: `ImageDescription/${key}`, value: maskValue(value) });
      }
    }
  } else if (slide.description !== null && slide.description.trim() !== '') {
    // Free text of unknown shape: it may say anything, so it counts as identifying whole.
    identifying.push({ field: 'ImageDescription', value: maskValue(slide.description.trim()) });
  }
  for (const ifd of slide.tiff.ifds) {
    for (const [tag, keyword] of TIFF_IDENTIFYING) {
      const entry = ifd.entries.get(tag);
      if (entry === undefined) {
        continue;
      }
      const field = ifd.index === 0 ? keyword : `IFD ${ifd.index}/${keyword}`;
      // Such fields are short; a long one is listed unread, so that reads cannot add up.
      if (entry.count > MAX_FIELD_BYTES) {
        identifying.push({ field, value: '*'.repeat(11) });
        continue;
      }
      const value = await slide.tiff.string(ifd, tag);
      if (value !== null && value.trim() !== '') {
        identifying.push({ field, value: maskValue(value.trim()) });
      }
    }
  }
  const base = slide.levels[0];
  return {
    format: 'wsi-tiff',
    vendor: slide.vendor,
    bigTiff: slide.tiff.isBigTiff,
    byteOrder: slide.tiff.isLittleEndian ? 'little-endian' : 'big-endian',
    width: base?.width ?? 0,
    height: base?.height ?? 0,
    levels: slide.levels.map((level) => ({
      width: level.width,
      height: level.height,
      tileWidth: level.tileWidth,
      tileHeight: level.tileHeight,
      downsample: level.downsample,
      compression: level.compression,
    })),
    mpp: slide.mpp,
    associatedImages: [...slide.associatedImages],
    identifying,
  };
}

/** Opens, describes and closes the slide at `path`; `name` defaults to its base name. */
export async function describeSlideFile(
  path: string,
  options: Partial<SlideReadOptions> = {},
): Promise<SlideDescription> {
  const { slide, close } = await openSlideFile(path, options);
  try {
    return await describeSlide(slide);
  } finally {
    await close();
  }
}
