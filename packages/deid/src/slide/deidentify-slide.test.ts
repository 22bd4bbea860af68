import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import {
  FileTiffSink,
  FormatError,
  openRandomAccessFile,
  openSlideFile,
  TIFF_TAG,
  TiffFile,
  TiffWriter,
  type TiffWriteEntry,
} from '@lantern/formats';
import {
  brcaSlidePath,
  generateBrcaPathDelivery,
  makeBrcaCohort,
  type BrcaPatient,
} from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deidentifySlide, shiftAperioDate, SlideDeidError } from './deidentify-slide.js';

let dir: string;
let delivery: string;
const SEED = 11;
const PATIENTS = 2;
const SMALL = { width: 512, height: 320 };
let cohort: BrcaPatient[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-slide-deid-'));
  delivery = join(dir, 'delivery');
  await generateBrcaPathDelivery({
    out: delivery,
    seed: SEED,
    patients: PATIENTS,
    slideSize: SMALL,
  });
  cohort = makeBrcaCohort({ seed: SEED, patients: PATIENTS });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every slide of the delivery with what identifies its patient. */
function slidesOf(patients: readonly BrcaPatient[]) {
  return patients.flatMap((patient) =>
    patient.biopsies.flatMap((biopsy) =>
      biopsy.slides.map((slide) => ({
        path: join(delivery, 'files', ...brcaSlidePath(biopsy.accession, slide).split('/')),
        barcode: slide.barcode,
        identifiers: [
          patient.person.mrn,
          patient.person.givenName,
          patient.person.familyName,
          patient.person.phone,
          patient.person.birthDate,
          biopsy.accession,
          slide.barcode,
          slide.scanScopeId,
          slide.scannedBy.replace(/[^A-Za-z]/gu, '').toLowerCase(),
          ...slide.scannedBy.split(/[ ,]+/u).filter((part) => part.length > 2),
        ],
      })),
    ),
  );
}

/** The stored bytes of every strip of the IFDs whose NewSubfileType is `subfileType`. */
async function stripsOf(path: string, subfileType: number): Promise<Uint8Array[]> {
  const file = await openRandomAccessFile(path);
  try {
    const tiff = await TiffFile.open(file, { name: path });
    const strips: Uint8Array[] = [];
    for (const ifd of tiff.ifds) {
      if ((await tiff.number(ifd, TIFF_TAG.NewSubfileType, 0)) !== subfileType) {
        continue;
      }
      const offsets = (await tiff.numbers(ifd, TIFF_TAG.StripOffsets)) ?? [];
      const counts = (await tiff.numbers(ifd, TIFF_TAG.StripByteCounts)) ?? [];
      for (const [i, offset] of offsets.entries()) {
        strips.push(await tiff.readBytes(offset, counts[i] ?? 0));
      }
    }
    return strips;
  } finally {
    await file.close();
  }
}

/** Every tag of every IFD of a TIFF. */
async function tagsOf(path: string): Promise<{ tiff: TiffFile; tags: number[][] }> {
  const file = await openRandomAccessFile(path);
  try {
    const tiff = await TiffFile.open(file, { name: path });
    return { tiff, tags: tiff.ifds.map((ifd) => [...ifd.entries.keys()]) };
  } finally {
    await file.close();
  }
}

/** Expects every tile of every level of `out` to be stored byte for byte as in `source`. */
async function expectSameTiles(source: string, out: string): Promise<number> {
  const a = await openSlideFile(source);
  const b = await openSlideFile(out);
  let tiles = 0;
  try {
    expect(b.slide.levels.map(({ ifdIndex: _, ...level }) => level)).toEqual(
      a.slide.levels.map(({ ifdIndex: _, ...level }) => level),
    );
    for (const [level, info] of a.slide.levels.entries()) {
      for (let y = 0; y < info.tilesDown; y += 1) {
        for (let x = 0; x < info.tilesAcross; x += 1) {
          const [from, to] = [
            await a.slide.readTile(level, x, y),
            await b.slide.readTile(level, x, y),
          ];
          expect(Buffer.from(to.bytes).equals(Buffer.from(from.bytes))).toBe(true);
          expect(to.compression).toEqual(from.compression);
          tiles += 1;
        }
      }
    }
  } finally {
    await a.close();
    await b.close();
  }
  return tiles;
}

describe('deidentifySlide on demo-brca-path slides, whose labels carry names', () => {
  it('leaves out label and macro, keeps every tile byte for byte and no identifier', async () => {
    const slides = slidesOf(cohort);
    expect(slides.length).toBeGreaterThanOrEqual(4);
    for (const [i, { path, barcode, identifiers }] of slides.entries()) {
      const out = join(dir, `deid-${i}.svs`);
      // The source names the slide's barcode in its description: the test has something to find.
      expect((await readFile(path)).includes(Buffer.from(barcode, 'latin1'))).toBe(true);
      const shiftDays = -40 - i;
      const result = await deidentifySlide(path, out, { name: `slide-${i}.svs`, shiftDays });
      const bytes = await readFile(out);
      expect(result.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(result.bytesWritten).toBe(bytes.length);
      expect(result.removed).toEqual(
        expect.arrayContaining([
          'label',
          'macro',
          'ImageDescription:Filename',
          'ImageDescription:User',
          'ImageDescription:ScanScope ID',
          'ImageDescription:Synthetic',
        ]),
      );
      expect(result.levels.map((level) => [level.width, level.height])).toEqual([
        [512, 320],
        [256, 160],
      ]);
      // No identifier in the bytes, as Latin-1 text or UTF-16.
      for (const identifier of identifiers) {
        expect([identifier, bytes.includes(Buffer.from(identifier, 'latin1'))]).toEqual([
          identifier,
          false,
        ]);
        expect(bytes.includes(Buffer.from(identifier.toUpperCase(), 'latin1'))).toBe(false);
        expect(bytes.includes(Buffer.from(identifier, 'utf16le'))).toBe(false);
      }
      // The label and macro are compressed: their stored strips are not in the output either.
      const labelStrips = [...(await stripsOf(path, 1)), ...(await stripsOf(path, 9))];
      expect(labelStrips).toHaveLength(2);
      for (const strip of labelStrips) {
        expect(bytes.includes(Buffer.from(strip.subarray(0, 64)))).toBe(false);
      }
      expect(await stripsOf(out, 1)).toEqual([]);
      expect(await stripsOf(out, 9)).toEqual([]);
      const { tags } = await tagsOf(out);
      expect(tags).toHaveLength(3); // level 0, thumbnail, level 1
      expect(await expectSameTiles(path, out)).toBe(4 + 1);

      const { slide, close } = await openSlideFile(out);
      try {
        expect(slide.associatedImages.map((image) => image.kind)).toEqual(['thumbnail']);
        expect(slide.vendor).toBe('aperio');
        expect(slide.mpp).toEqual({ x: 0.5, y: 0.5, source: 'aperio' });
        const source = await openSlideFile(path);
        try {
          const before = source.slide.aperio?.fields;
          const after = slide.aperio?.fields;
          expect([...(after?.keys() ?? [])]).toEqual(['AppMag', 'MPP', 'Date', 'Time']);
          expect(after?.get('Date')).toBe(shiftAperioDate(before?.get('Date') ?? '', shiftDays));
          expect(after?.get('Date')).not.toBe(before?.get('Date'));
          expect(after?.get('Time')).toBe(before?.get('Time'));
          expect(slide.description?.split('|')[0]).toBe(source.slide.description?.split('|')[0]);
        } finally {
          await source.close();
        }
      } finally {
        await close();
      }
    }
  });

  it('writes the same bytes from the same slide and offset', async () => {
    const [first] = slidesOf(cohort);
    const path = first?.path ?? '';
    const one = await deidentifySlide(path, join(dir, 'again-1.svs'), { name: 'a', shiftDays: 50 });
    const two = await deidentifySlide(path, join(dir, 'again-2.svs'), { name: 'a', shiftDays: 50 });
    expect(two.sha256).toBe(one.sha256);
  });

  it('gives a file OpenSlide (through libvips) opens as an Aperio slide with a thumbnail only', async () => {
    const [first] = slidesOf(cohort);
    const out = join(dir, 'vips.svs');
    await deidentifySlide(first?.path ?? '', out, { name: 'vips.svs', shiftDays: 100 });
    const properties = new Map(
      execFileSync('vipsheader', ['-a', out], { encoding: 'utf8' })
        .split('\n')
        .map((line) => [
          line.slice(0, line.indexOf(':')),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
    );
    expect(properties.get('openslide.vendor')).toBe('aperio');
    expect(properties.get('openslide.level-count')).toBe('2');
    expect(properties.get('openslide.mpp-x')).toBe('0.5');
    expect(properties.get('slide-associated-images')).toBe('thumbnail');
    expect(properties.has('aperio.User')).toBe(false);
    expect(properties.has('aperio.Filename')).toBe(false);
    // libtiff (vips' tiffload) decodes every page: level 0, the thumbnail, level 1.
    const sizes = [0, 1, 2].map((page) => {
      execFileSync('vips', ['tiffload', out, join(dir, 'page.v'), '--page', String(page)]);
      return execFileSync('vipsheader', [join(dir, 'page.v')], { encoding: 'utf8' }).split(' ')[1];
    });
    expect(sizes).toEqual(['512x320', '256x160', '256x160']);
    execFileSync('vips', ['copy', `${out}[level=1]`, join(dir, 'level1.png')]);
    expect(execFileSync('vipsheader', [join(dir, 'level1.png')], { encoding: 'utf8' })).toContain(
      '256x160',
    );
  });
});

/** A Deflate tile of one grey, `size` square. */
function greyTile(size: number, value: number): Uint8Array {
  return new Uint8Array(deflateSync(new Uint8Array(size * size * 3).fill(value)));
}

/**
 * Writes a tiled TIFF through the shipped writer with the tags a scanner's software may add:
 * DateTime, Artist, HostComputer, DocumentName, PageName, a private ASCII tag, an ICC profile and
 * Software; its one level is `tilesAcross` x `tilesDown` tiles of 256, and a label follows.
 */
async function writeTaggedTiff(
  path: string,
  options: { bigTiff: boolean; littleEndian: boolean; tilesAcross: number; tilesDown: number },
): Promise<{ label: Uint8Array }> {
  const sink = await FileTiffSink.create(path);
  try {
    const writer = await TiffWriter.create(sink, options);
    const tile = greyTile(256, 200);
    const offsets: number[] = [];
    for (let i = 0; i < options.tilesAcross * options.tilesDown; i += 1) {
      offsets.push(await writer.writeData(tile));
    }
    const label = new Uint8Array(deflateSync(Buffer.from('DOE^JANE MRN 00412233 '.repeat(40))));
    const labelOffset = await writer.writeData(label);
    const common = (width: number, height: number): TiffWriteEntry[] => [
      { tag: TIFF_TAG.ImageWidth, type: 'long', values: [width] },
      { tag: TIFF_TAG.ImageLength, type: 'long', values: [height] },
      { tag: TIFF_TAG.BitsPerSample, type: 'short', values: [8, 8, 8] },
      { tag: TIFF_TAG.Compression, type: 'short', values: [8] },
      { tag: TIFF_TAG.PhotometricInterpretation, type: 'short', values: [2] },
      { tag: TIFF_TAG.SamplesPerPixel, type: 'short', values: [3] },
      { tag: TIFF_TAG.PlanarConfiguration, type: 'short', values: [1] },
    ];
    writer.addImage([
      ...common(options.tilesAcross * 256, options.tilesDown * 256),
      { tag: TIFF_TAG.NewSubfileType, type: 'long', values: [0] },
      {
        tag: TIFF_TAG.ImageDescription,
        type: 'ascii',
        values: 'Scanned for Jane Doe, MRN 00412233, on 2021-03-04',
      },
      { tag: TIFF_TAG.DocumentName, type: 'ascii', values: 'S21-00412 DOE JANE' },
      { tag: TIFF_TAG.PageName, type: 'ascii', values: 'DOE JANE' },
      { tag: TIFF_TAG.DateTime, type: 'ascii', values: '2021:03:04 09:59:15' },
      { tag: TIFF_TAG.Artist, type: 'ascii', values: 'Okafor, Grace' },
      { tag: TIFF_TAG.HostComputer, type: 'ascii', values: 'PATHLAB-ST-MARYS-04' },
      { tag: TIFF_TAG.Software, type: 'ascii', values: 'Lantern test writer 1.0' },
      { tag: 65_000, type: 'ascii', values: 'Barcode 00412233' },
      { tag: 34_675, type: 'undefined', values: new Uint8Array(128).fill(7) },
      { tag: TIFF_TAG.XResolution, type: 'rational', values: [40_000] },
      { tag: TIFF_TAG.YResolution, type: 'rational', values: [40_000] },
      { tag: TIFF_TAG.ResolutionUnit, type: 'short', values: [3] },
      { tag: TIFF_TAG.TileWidth, type: 'short', values: [256] },
      { tag: TIFF_TAG.TileLength, type: 'short', values: [256] },
      { tag: TIFF_TAG.TileOffsets, type: 'offset', values: offsets },
      { tag: TIFF_TAG.TileByteCounts, type: 'offset', values: offsets.map(() => tile.length) },
    ]);
    writer.addImage([
      ...common(30, 20),
      { tag: TIFF_TAG.NewSubfileType, type: 'long', values: [1] },
      { tag: TIFF_TAG.ImageDescription, type: 'ascii', values: 'Label' },
      { tag: TIFF_TAG.StripOffsets, type: 'offset', values: [labelOffset] },
      { tag: TIFF_TAG.RowsPerStrip, type: 'long', values: [20] },
      { tag: TIFF_TAG.StripByteCounts, type: 'offset', values: [label.length] },
    ]);
    await writer.finish();
    return { label };
  } finally {
    await sink.close();
  }
}

describe('deidentifySlide on generic TIFFs with identifying tags', () => {
  it.each([
    { bigTiff: false, littleEndian: true },
    { bigTiff: true, littleEndian: false },
  ])(
    'drops DateTime, Artist, HostComputer, DocumentName, PageName, private tags and the description (%o)',
    async (flavour) => {
      const source = join(dir, `tagged-${String(flavour.bigTiff)}.tif`);
      const out = join(dir, `tagged-${String(flavour.bigTiff)}-deid.tif`);
      const { label } = await writeTaggedTiff(source, { ...flavour, tilesAcross: 3, tilesDown: 2 });
      const result = await deidentifySlide(source, out, { name: 'tagged.tif', shiftDays: 31 });
      expect(result.bigTiff).toBe(flavour.bigTiff);
      expect([...result.removed].sort()).toEqual(
        [
          'Artist',
          'DateTime',
          'DocumentName',
          'HostComputer',
          'ImageDescription',
          'PageName',
          'label',
          'tag 65000',
        ].sort(),
      );
      const bytes = await readFile(out);
      for (const text of ['DOE', 'Doe', '00412233', 'Okafor', 'PATHLAB', '2021']) {
        expect([text, bytes.includes(Buffer.from(text, 'latin1'))]).toEqual([text, false]);
      }
      expect(bytes.includes(Buffer.from(label.subarray(0, 32)))).toBe(false);
      const { tiff, tags } = await tagsOf(out);
      expect(tiff.isBigTiff).toBe(flavour.bigTiff);
      expect(tiff.isLittleEndian).toBe(flavour.littleEndian);
      expect(tags).toHaveLength(1);
      expect(tags[0]).toEqual(
        expect.arrayContaining([TIFF_TAG.Software, 34_675, TIFF_TAG.XResolution]),
      );
      for (const gone of [269, 270, 285, 306, 315, 316, 65_000]) {
        expect(tags[0]).not.toContain(gone);
      }
      expect(await expectSameTiles(source, out)).toBe(6);
      const { slide, close } = await openSlideFile(out);
      try {
        expect(slide.mpp).toEqual({ x: 0.25, y: 0.25, source: 'tiff-resolution' });
        expect(slide.associatedImages).toEqual([]);
      } finally {
        await close();
      }
      // libtiff reads the output whatever its flavour.
      const point = execFileSync('vips', ['getpoint', out, '700', '400'], { encoding: 'utf8' });
      expect(point.trim().split(/\s+/u).map(Number)).toEqual([200, 200, 200]);
    },
  );

  it('copies a 50,000 x 50,000 level tile by tile (38,416 tiles)', async () => {
    const source = join(dir, 'huge.tif');
    const out = join(dir, 'huge-deid.tif');
    await writeTaggedTiff(source, {
      bigTiff: false,
      littleEndian: true,
      tilesAcross: 196,
      tilesDown: 196,
    });
    const result = await deidentifySlide(source, out, { name: 'huge.tif', shiftDays: 31 });
    expect(result.levels).toEqual([
      { width: 50_176, height: 50_176, tilesAcross: 196, tilesDown: 196 },
    ]);
    const { slide, close } = await openSlideFile(out);
    try {
      const last = await slide.readTile(0, 195, 195);
      expect(Buffer.from(last.bytes).equals(Buffer.from(greyTile(256, 200)))).toBe(true);
    } finally {
      await close();
    }
  });
});

describe('hostile and wrong input', () => {
  it('gives a FormatError for bytes that are not a TIFF, and writes nothing', async () => {
    const source = join(dir, 'not.svs');
    const out = join(dir, 'not-deid.svs');
    await writeFile(source, 'Aperio Image Library, not really a TIFF');
    const error = await deidentifySlide(source, out, { name: 'not.svs', shiftDays: 31 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FormatError);
    expect(error).toMatchObject({ code: 'invalid_tiff', file: 'not.svs' });
    await expect(access(out)).rejects.toThrow();
  });

  it('gives a FormatError for a tile past the end of the file, and leaves no output', async () => {
    const source = join(dir, 'short.tif');
    const out = join(dir, 'short-deid.tif');
    await writeTaggedTiff(source, {
      bigTiff: false,
      littleEndian: true,
      tilesAcross: 2,
      tilesDown: 1,
    });
    const bytes = await readFile(source);
    // Point the second tile's offset past the end: find the offsets array by its first value.
    const file = await openRandomAccessFile(source);
    const tiff = await TiffFile.open(file, { name: 'short.tif' });
    const entry = tiff.ifds[0]?.entries.get(TIFF_TAG.TileOffsets);
    await file.close();
    expect(entry).toBeDefined();
    bytes.writeUInt32LE(bytes.length + 10, (entry?.valueOffset ?? 0) + 4);
    await writeFile(source, bytes);
    const error = await deidentifySlide(source, out, { name: 'short.tif', shiftDays: 31 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FormatError);
    expect(error).toMatchObject({ code: 'truncated', file: 'short.tif' });
    await expect(access(out)).rejects.toThrow();
  });

  it('refuses a fractional day offset', async () => {
    const [first] = slidesOf(cohort);
    await expect(
      deidentifySlide(first?.path ?? '', join(dir, 'x.svs'), { name: 'x', shiftDays: 1.5 }),
    ).rejects.toBeInstanceOf(SlideDeidError);
  });
});

describe('shiftAperioDate', () => {
  it('moves MM/DD/YY and MM/DD/YYYY dates by whole days in their form', () => {
    expect(shiftAperioDate('12/29/09', 10)).toBe('01/08/10');
    expect(shiftAperioDate('03/01/12', -1)).toBe('02/29/12');
    expect(shiftAperioDate('3/7/2014', 30)).toBe('4/6/2014');
  });

  it('gives null for what is not a date, so that the field is removed', () => {
    expect(shiftAperioDate('13/01/09', 1)).toBeNull();
    expect(shiftAperioDate('02/30/09', 1)).toBeNull();
    expect(shiftAperioDate('01/05/00', -10)).toBeNull();
    expect(shiftAperioDate('Jane Doe', 1)).toBeNull();
  });
});
