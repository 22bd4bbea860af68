import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { describeSlide, describeSlideFile } from './describe-slide.js';
import { Slide, openSlideFile } from './slide.js';
import { MemoryTiffSink, TiffWriter, type TiffWriteType } from './write-tiff.js';

/** Real stained tissue, shipped by Debian's python3-skimage (scripts/debian-packages.sh test). */
const IHC = '/usr/lib/python3/dist-packages/skimage/data/ihc.png';

let dir = '';
const vips = (...args: string[]) => execFileSync('vips', args, { cwd: dir, encoding: 'utf8' });
const pyramid = (input: string, out: string, ...options: string[]) =>
  vips('tiffsave', input, out, '--tile', '--pyramid', ...options);

/** The RGB bytes vips itself reads from a region of a page (level) of a TIFF. */
function vipsRegion(file: string, page: number, left: number, top: number, size: number) {
  vips(
    'crop',
    `${file}[page=${page}]`,
    'region.v',
    String(left),
    String(top),
    String(size),
    String(size),
  );
  vips('rawsave', 'region.v', 'region.raw');
  return new Uint8Array(readFileSync(join(dir, 'region.raw')));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lantern-slide-'));
  const jpegTiles = ['--tile-width', '256', '--tile-height', '256', '--compression', 'jpeg'];
  pyramid(IHC, 'ihc.tif', ...jpegTiles);
  pyramid(IHC, 'ihc-big.tif', ...jpegTiles, '--bigtiff');
  pyramid(
    IHC,
    'ihc-lzw.tif',
    '--tile-width',
    '256',
    '--tile-height',
    '256',
    '--compression',
    'lzw',
  );
  pyramid(
    IHC,
    'ihc-deflate.tif',
    '--tile-width',
    '128',
    '--tile-height',
    '128',
    '--compression',
    'deflate',
    '--predictor',
    'horizontal',
    '--bigtiff',
  );
  vips('resize', IHC, 'ihc-4x.v', '4');
  pyramid('ihc-4x.v', 'ihc-4x.tif', ...jpegTiles);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function withSlide<T>(file: string, use: (slide: Slide) => Promise<T>): Promise<T> {
  const { slide, close } = await openSlideFile(join(dir, file));
  try {
    return await use(slide);
  } finally {
    await close();
  }
}

describe('tiled pyramidal TIFFs written by libvips from real tissue', () => {
  it.each([
    ['ihc.tif', false],
    ['ihc-big.tif', true],
  ])(
    'reads the levels of %s and decodes JPEG tiles (tables spliced) close to what vips decodes',
    async (file, isBig) => {
      await withSlide(file, async (slide) => {
        expect(slide.tiff.isBigTiff).toBe(isBig);
        expect(
          slide.levels.map((level) => [
            level.width,
            level.height,
            level.tilesAcross,
            level.tilesDown,
            level.downsample,
          ]),
        ).toEqual([
          [512, 512, 2, 2, 1],
          [256, 256, 1, 1, 2],
        ]);
        expect(slide.associatedImages).toEqual([]);
        const tile = await slide.readTile(0, 1, 0);
        expect(tile.compression).toEqual({ code: 7, name: 'jpeg' });
        // libtiff writes abbreviated streams: no tables in the tile, they are in JPEGTables.
        expect([tile.bytes[0], tile.bytes[1], tile.bytes[2], tile.bytes[3]]).toEqual([
          0xff, 0xd8, 0xff, 0xc0,
        ]);
        for (const [level, x, y, left, top] of [
          [0, 1, 0, 256, 0],
          [1, 0, 0, 0, 0],
        ] as const) {
          const { width, height, rgb } = await slide.readTilePixels(level, x, y);
          expect([width, height, rgb.length]).toEqual([256, 256, 256 * 256 * 3]);
          const expected = vipsRegion(file, level, left, top, 256);
          // Both decode with libjpeg-turbo (vips natively, Lantern in WebAssembly): the same samples.
          expect(Buffer.from(rgb).equals(Buffer.from(expected))).toBe(true);
        }
        const [r, g, b] = (await slide.readTilePixels(0, 0, 0)).rgb.subarray((20 * 256 + 10) * 3);
        const point = vips('getpoint', join(dir, file), '10', '20')
          .trim()
          .split(/\s+/u)
          .map(Number);
        expect(Math.abs((r ?? 0) - (point[0] ?? 0))).toBeLessThanOrEqual(6);
        expect(Math.abs((g ?? 0) - (point[1] ?? 0))).toBeLessThanOrEqual(6);
        expect(Math.abs((b ?? 0) - (point[2] ?? 0))).toBeLessThanOrEqual(6);
      });
    },
  );

  it.each([
    ['ihc-lzw.tif', 256, 'lzw'],
    ['ihc-deflate.tif', 128, 'deflate'],
  ])(
    'decodes every tile of every level of %s exactly as vips does (lossless)',
    async (file, size, compression) => {
      await withSlide(file, async (slide) => {
        expect(slide.levels[0]?.compression).toBe(compression);
        for (const [level, info] of slide.levels.entries()) {
          for (let y = 0; y < info.tilesDown; y += 1) {
            for (let x = 0; x < info.tilesAcross; x += 1) {
              const { rgb } = await slide.readTilePixels(level, x, y);
              expect(
                Buffer.from(rgb).equals(
                  Buffer.from(vipsRegion(file, level, x * size, y * size, size)),
                ),
              ).toBe(true);
            }
          }
        }
      });
    },
  );

  it('reads every tile of a four-level pyramid, one tile at a time', async () => {
    await withSlide('ihc-4x.tif', async (slide) => {
      expect(
        slide.levels.map((level) => ({
          w: level.width,
          across: level.tilesAcross,
          down: level.tilesDown,
          ds: level.downsample,
        })),
      ).toEqual([
        { w: 2048, across: 8, down: 8, ds: 1 },
        { w: 1024, across: 4, down: 4, ds: 2 },
        { w: 512, across: 2, down: 2, ds: 4 },
        { w: 256, across: 1, down: 1, ds: 8 },
      ]);
      let tiles = 0;
      for (const [level, info] of slide.levels.entries()) {
        for (let y = 0; y < info.tilesDown; y += 1) {
          for (let x = 0; x < info.tilesAcross; x += 1) {
            const tile = await slide.readTile(level, x, y);
            expect(tile.bytes.length).toBeGreaterThan(0);
            tiles += 1;
          }
        }
      }
      expect(tiles).toBe(64 + 16 + 4 + 1);
      const { rgb } = await slide.readTilePixels(0, 7, 7);
      expect(rgb.length).toBe(256 * 256 * 3);
      await expect(slide.readTile(0, 8, 0)).rejects.toThrow(RangeError);
      await expect(slide.readTile(4, 0, 0)).rejects.toThrow(RangeError);
    });
  });

  it('describes the slide for lantern inspect: levels, microns per pixel from the TIFF resolution', async () => {
    const description = await describeSlideFile(join(dir, 'ihc-big.tif'));
    expect(description).toMatchObject({
      format: 'wsi-tiff',
      vendor: 'generic',
      bigTiff: true,
      byteOrder: 'little-endian',
      width: 512,
      height: 512,
      levels: [
        {
          width: 512,
          height: 512,
          tileWidth: 256,
          tileHeight: 256,
          downsample: 1,
          compression: 'jpeg',
        },
        {
          width: 256,
          height: 256,
          tileWidth: 256,
          tileHeight: 256,
          downsample: 2,
          compression: 'jpeg',
        },
      ],
      associatedImages: [],
      identifying: [],
    });
    // ihc.png says 3.78 pixels per mm; vips writes it as pixels per centimetre.
    expect(description.mpp?.source).toBe('tiff-resolution');
    expect(description.mpp?.x).toBeCloseTo(10_000 / 37.8, 0);
  });
});

/** A TIFF entry to write: tag, type (3 SHORT, 4 LONG, 2 ASCII, 7 UNDEFINED, 5 RATIONAL, 16 LONG8). */
type Entry = [tag: number, type: number, values: number[] | string | Uint8Array];

interface ImageSpec {
  entries: Entry[];
  /** Tiles (TileOffsets/TileByteCounts) or strips (StripOffsets/StripByteCounts). */
  data: Uint8Array[];
  tiled: boolean;
}

interface Written {
  bytes: Uint8Array;
  ifdOffsets: number[];
  /** Where each IFD's next-IFD pointer is. */
  nextPointers: number[];
  /** Where each IFD's entries start (after the count). */
  entriesAt: number[];
}

/** TIFF field types by their TIFF 6.0 codes, as the entries below name them. */
const TYPES = new Map<number, TiffWriteType>([
  [2, 'ascii'],
  [3, 'short'],
  [4, 'long'],
  [5, 'rational'],
  [7, 'undefined'],
  [16, 'long8'],
]);

/** Writes images through the shipped writer, for the cases vips does not write: big-endian, Aperio's layout, hostile. */
async function writeTiff(
  options: { little: boolean; big: boolean },
  images: ImageSpec[],
): Promise<Written> {
  const sink = new MemoryTiffSink();
  const writer = await TiffWriter.create(sink, {
    littleEndian: options.little,
    bigTiff: options.big,
  });
  for (const image of images) {
    const offsets: number[] = [];
    for (const data of image.data) {
      offsets.push(await writer.writeData(data));
    }
    writer.addImage([
      ...image.entries.map(([tag, type, values]) => ({
        tag,
        type: TYPES.get(type) ?? 'undefined',
        values,
      })),
      { tag: image.tiled ? 324 : 273, type: 'offset', values: offsets },
      { tag: image.tiled ? 325 : 279, type: 'offset', values: image.data.map((d) => d.length) },
    ]);
  }
  const result = await writer.finish();
  expect(result.bigTiff).toBe(options.big);
  return { ...result, bytes: sink.bytes() };
}

/** An RGB image of w x h whose pixel (x, y) is (x, y, x ^ y). */
function gradient(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      rgb.set([x & 0xff, y & 0xff, (x ^ y) & 0xff], (y * width + x) * 3);
    }
  }
  return rgb;
}

const rgbEntries = (width: number, height: number, compression: number): Entry[] => [
  [256, 4, [width]],
  [257, 4, [height]],
  [258, 3, [8, 8, 8]],
  [259, 3, [compression]],
  [262, 3, [2]],
  [277, 3, [3]],
];

const APERIO =
  'Aperio Image Library v12.0.15\r\n64x32 [0,100 64x32] (32x32) RAW/RGB|AppMag = 20|StripeWidth = 1000|ScanScope ID = SS1234|Filename = JD-2019-0042|Date = 03/14/19|Time = 09:59:15|User = 4f2c7e-jdoe|MPP = 0.2520|Left = 25.69';

/** An Aperio-style slide: a 64 x 32 level in 32 x 32 tiles, a 32 x 16 level, thumbnail, label, macro. */
async function aperioSlide(options: { little: boolean; big: boolean }): Promise<Written> {
  const base = gradient(64, 32);
  const tile = (rgb: Uint8Array, width: number, left: number) => {
    const out = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32 && y * width * 3 < rgb.length; y += 1) {
      out.set(rgb.subarray((y * width + left) * 3, (y * width + left + 32) * 3), y * 32 * 3);
    }
    return out;
  };
  const tiled = (width: number, height: number, compression: number): Entry[] => [
    ...rgbEntries(width, height, compression),
    [322, 3, [32]],
    [323, 3, [32]],
  ];
  const stripped = (kind: string, subfileType: number): ImageSpec => ({
    entries: [
      [254, 4, [subfileType]],
      ...rgbEntries(8, 4, 1),
      [270, 2, `Aperio Image Library v12.0.15\r\n${kind} 8x4`],
      [278, 3, [4]],
    ],
    data: [gradient(8, 4)],
    tiled: false,
  });
  return writeTiff(options, [
    {
      entries: [...tiled(64, 32, 1), [270, 2, APERIO], [306, 2, '2019:03:14 09:59:15']],
      data: [tile(base, 64, 0), tile(base, 64, 32)],
      tiled: true,
    },
    {
      entries: [
        ...rgbEntries(16, 8, 1),
        [270, 2, 'Aperio Image Library v12.0.15\r\n64x32 -> 16x8'],
        [278, 3, [8]],
      ],
      data: [gradient(16, 8)],
      tiled: false,
    },
    {
      entries: [...tiled(32, 16, 8), [270, 2, 'Aperio Image Library v12.0.15\r\n64x32 -> 32x16']],
      data: [deflateSync(tile(gradient(32, 16), 32, 0))],
      tiled: true,
    },
    stripped('label', 1),
    stripped('macro', 9),
  ]);
}

describe('Aperio SVS conventions, both byte orders, classic and BigTIFF', () => {
  it.each([
    { little: true, big: false },
    { little: false, big: false },
    { little: false, big: true },
  ])(
    'reads levels, MPP and associated images, and lists identifying fields masked (%o)',
    async (options) => {
      const { bytes } = await aperioSlide(options);
      const slide = await openBytes(bytes, 'case.svs');
      expect(slide.vendor).toBe('aperio');
      expect(slide.tiff.isLittleEndian).toBe(options.little);
      expect(
        slide.levels.map((level) => [
          level.width,
          level.height,
          level.downsample,
          level.compression,
        ]),
      ).toEqual([
        [64, 32, 1, 'none'],
        [32, 16, 2, 'deflate'],
      ]);
      expect(slide.mpp).toEqual({ x: 0.252, y: 0.252, source: 'aperio' });
      expect(
        slide.associatedImages.map((image) => [image.kind, image.width, image.height]),
      ).toEqual([
        ['thumbnail', 16, 8],
        ['label', 8, 4],
        ['macro', 8, 4],
      ]);
      const { rgb } = await slide.readTilePixels(0, 1, 0);
      // Tile (1, 0) starts at x = 32: pixel (33, 2) is (33, 2, 33 ^ 2).
      expect([...rgb.subarray((2 * 32 + 1) * 3, (2 * 32 + 1) * 3 + 3)]).toEqual([33, 2, 35]);
      const level1 = await slide.readTilePixels(1, 0, 0);
      expect([...level1.rgb.subarray((5 * 32 + 7) * 3, (5 * 32 + 7) * 3 + 3)]).toEqual([7, 5, 2]);

      const description = await describeSlide(slide);
      expect(description.identifying).toEqual([
        { field: 'ImageDescription/ScanScope ID', value: 'S*****' },
        { field: 'ImageDescription/Filename', value: 'J***********' },
        { field: 'ImageDescription/Date', value: '0*******' },
        { field: 'ImageDescription/Time', value: '0*******' },
        { field: 'ImageDescription/User', value: '4**********' },
        { field: 'DateTime', value: '2***********' },
      ]);
      expect(JSON.stringify(description)).not.toContain('jdoe');
      expect(description.levels).toHaveLength(2);
    },
  );
});

/** Opens in-memory bytes as a slide (the reader takes any random-access file). */
async function openBytes(bytes: Uint8Array, name: string): Promise<Slide> {
  return Slide.open(
    {
      byteLength: bytes.length,
      read: async (offset, length) => bytes.slice(offset, offset + length),
    },
    { name },
  );
}

async function formatError(promise: Promise<unknown>): Promise<FormatError> {
  const error: unknown = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(FormatError);
  return error as FormatError;
}

describe('hostile TIFFs fail with a FormatError naming the offset', () => {
  const little = { little: true, big: false };
  const setUint32 = (bytes: Uint8Array, at: number, value: number) =>
    new DataView(bytes.buffer).setUint32(at, value, true);

  it('a cyclic IFD chain', async () => {
    const { bytes, ifdOffsets, nextPointers } = await aperioSlide(little);
    setUint32(bytes, nextPointers[2] ?? 0, ifdOffsets[0] ?? 0);
    const error = await formatError(openBytes(bytes, 'cycle.tif'));
    expect(error).toMatchObject({
      code: 'invalid_tiff',
      file: 'cycle.tif',
      offset: nextPointers[2],
    });
    expect(error.message).toContain('cyclic');
    // An IFD pointing at itself.
    setUint32(bytes, nextPointers[0] ?? 0, ifdOffsets[0] ?? 0);
    expect(await formatError(openBytes(bytes, 'self.tif'))).toMatchObject({
      offset: nextPointers[0],
    });
  });

  it('huge entry counts, in TIFF and BigTIFF', async () => {
    const classic = await aperioSlide(little);
    new DataView(classic.bytes.buffer).setUint16(classic.ifdOffsets[0] ?? 0, 65_000, true);
    expect(await formatError(openBytes(classic.bytes, 'many.tif'))).toMatchObject({
      code: 'limit_exceeded',
      offset: classic.ifdOffsets[0],
    });
    const big = await aperioSlide({ little: true, big: true });
    new DataView(big.bytes.buffer).setBigUint64(big.ifdOffsets[1] ?? 0, 2n ** 40n, true);
    expect(await formatError(openBytes(big.bytes, 'many.tif'))).toMatchObject({
      code: 'limit_exceeded',
      offset: big.ifdOffsets[1],
    });
    new DataView(big.bytes.buffer).setBigUint64(big.ifdOffsets[1] ?? 0, 2n ** 60n, true);
    expect(await formatError(openBytes(big.bytes, 'huge.tif'))).toMatchObject({
      code: 'invalid_tiff',
    });
    // Fewer entries than the limit, but more than the file holds.
    new DataView(classic.bytes.buffer).setUint16(classic.ifdOffsets[0] ?? 0, 4000, true);
    expect(await formatError(openBytes(classic.bytes, 'short.tif'))).toMatchObject({
      code: 'truncated',
      offset: classic.ifdOffsets[0],
    });
  });

  it('a tag whose value count runs past the end of the file', async () => {
    const { bytes, entriesAt } = await aperioSlide(little);
    const first = entriesAt[0] ?? 0;
    // The first entry (ImageWidth) claims 2^32 - 1 values.
    setUint32(bytes, first + 4, 0xffff_ffff);
    expect(await formatError(openBytes(bytes, 'count.tif'))).toMatchObject({
      code: 'truncated',
      offset: first,
    });
  });

  it('offsets past the end: the first IFD, a tag value, a tile', async () => {
    const header = await aperioSlide(little);
    setUint32(header.bytes, 4, header.bytes.length + 10);
    expect(await formatError(openBytes(header.bytes, 'ifd.tif'))).toMatchObject({
      code: 'truncated',
      offset: 4,
    });

    const value = await aperioSlide(little);
    // IFD 0's ImageDescription points past the end.
    const entries = value.entriesAt[0] ?? 0;
    let described = -1;
    for (let i = 0; i < 16; i += 1) {
      if (new DataView(value.bytes.buffer).getUint16(entries + i * 12, true) === 270) {
        described = entries + i * 12;
        break;
      }
    }
    setUint32(value.bytes, described + 8, value.bytes.length - 4);
    expect(await formatError(openBytes(value.bytes, 'value.tif'))).toMatchObject({
      code: 'truncated',
      offset: described + 8,
    });

    const tile = await aperioSlide(little);
    const slide = await openBytes(tile.bytes, 'tile.tif');
    const tileOffsets = slide.tiff.ifds[0]?.entries.get(324)?.valueOffset ?? 0;
    setUint32(tile.bytes, tileOffsets + 4, tile.bytes.length - 10);
    expect(await formatError(slide.readTile(0, 1, 0))).toMatchObject({
      code: 'truncated',
      offset: tileOffsets + 4,
    });
  });

  it('not a TIFF, or a TIFF with no tiles', async () => {
    expect(
      await formatError(openBytes(new TextEncoder().encode('GIF89a, not a slide'), 'a.gif')),
    ).toMatchObject({
      code: 'invalid_tiff',
      offset: 0,
    });
    const stripped = await writeTiff(little, [
      { entries: [...rgbEntries(8, 4, 1), [278, 3, [4]]], data: [gradient(8, 4)], tiled: false },
    ]);
    expect(await formatError(openBytes(stripped.bytes, 'photo.tif'))).toMatchObject({
      code: 'invalid_tiff',
    });
    writeFileSync(join(dir, 'photo.tif'), stripped.bytes);
    await expect(describeSlideFile(join(dir, 'photo.tif'))).rejects.toThrow(
      /photo\.tif: the TIFF has no tiled image/u,
    );
  });
});
