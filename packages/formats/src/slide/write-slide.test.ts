import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Slide, openSlideFile } from './slide.js';
import { pyramidLevels, writeSlide, writeSlideFile, type RgbImage } from './write-slide.js';
import { MemoryTiffSink, TiffWriteError, needsBigTiff, type TiffSink } from './write-tiff.js';

let dir = '';
const vips = (...args: string[]) => execFileSync('vips', args, { cwd: dir, encoding: 'utf8' });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lantern-write-slide-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Level 0's pixel (x, y): smooth colour ramps, so that JPEG keeps them close. */
function pixel(x: number, y: number): [number, number, number] {
  return [
    128 + Math.round(100 * Math.sin(x / 37)),
    128 + Math.round(100 * Math.cos(y / 29)),
    (x + y) % 200,
  ];
}

function tileOf(tileSize: number) {
  return (tx: number, ty: number): Uint8Array => {
    const rgb = new Uint8Array(tileSize * tileSize * 3);
    for (let y = 0; y < tileSize; y += 1) {
      for (let x = 0; x < tileSize; x += 1) {
        rgb.set(pixel(tx * tileSize + x, ty * tileSize + y), (y * tileSize + x) * 3);
      }
    }
    return rgb;
  };
}

function solid(width: number, height: number, value: number): RgbImage {
  return { width, height, rgb: new Uint8Array(width * height * 3).fill(value) };
}

async function openBytes(bytes: Uint8Array, name: string): Promise<Slide> {
  return Slide.open(
    { byteLength: bytes.length, read: async (at, length) => bytes.slice(at, at + length) },
    { name },
  );
}

describe('writeSlide', () => {
  it('writes Deflate tiles that read back exactly, levels averaged 2 x 2, with mpp and associated images apart', async () => {
    const sink = new MemoryTiffSink();
    const result = await writeSlide(
      sink,
      {
        width: 700,
        height: 500,
        compression: 'deflate',
        mpp: 0.252,
        fields: [['Filename', 'S-1']],
        label: solid(60, 40, 250),
        macro: solid(120, 40, 200),
      },
      tileOf(256),
    );
    expect(result.bigTiff).toBe(false);
    expect(result.levels.map((level) => [level.width, level.height])).toEqual([
      [700, 500],
      [350, 250],
      [175, 125],
    ]);
    const slide = await openBytes(sink.bytes(), 'deflate.svs');
    expect(slide.vendor).toBe('aperio');
    expect(slide.aperio?.fields.get('AppMag')).toBe('40');
    expect(slide.aperio?.fields.get('Filename')).toBe('S-1');
    expect(slide.mpp).toEqual({ x: 0.252, y: 0.252, source: 'aperio' });
    expect(
      slide.levels.map((level) => [
        level.width,
        level.height,
        level.tilesAcross,
        level.tilesDown,
        level.tileWidth,
        level.compression,
      ]),
    ).toEqual([
      [700, 500, 3, 2, 256, 'deflate'],
      [350, 250, 2, 1, 256, 'deflate'],
      [175, 125, 1, 1, 256, 'deflate'],
    ]);
    expect(slide.associatedImages.map((image) => [image.kind, image.width, image.height])).toEqual([
      ['thumbnail', 175, 125],
      ['label', 60, 40],
      ['macro', 120, 40],
    ]);
    // Level 0: exactly what the source gave, in every tile.
    for (let ty = 0; ty < 2; ty += 1) {
      for (let tx = 0; tx < 3; tx += 1) {
        const { rgb } = await slide.readTilePixels(0, tx, ty);
        expect(Buffer.from(rgb).equals(Buffer.from(tileOf(256)(tx, ty)))).toBe(true);
      }
    }
    // Level 1: the mean of level 0's 2 x 2 pixels, rounded; also across tile boundaries.
    const level1 = await slide.readTilePixels(1, 1, 0);
    for (const [x, y] of [
      [256, 0],
      [300, 127],
      [349, 249],
    ] as const) {
      const got = [...level1.rgb.subarray((y * 256 + x - 256) * 3, (y * 256 + x - 256) * 3 + 3)];
      const x1 = Math.min(2 * x + 1, 699);
      const y1 = Math.min(2 * y + 1, 499);
      const corners = [pixel(2 * x, 2 * y), pixel(x1, 2 * y), pixel(2 * x, y1), pixel(x1, y1)];
      expect(got).toEqual(
        [0, 1, 2].map((k) => (corners.reduce((sum, value) => sum + (value[k] ?? 0), 0) + 2) >> 2),
      );
    }
  });

  it('writes 512-pixel JPEG tiles (YCbCr, whole streams) that decode close to the source', async () => {
    const sink = new MemoryTiffSink();
    await writeSlide(sink, { width: 1100, height: 600, tileSize: 512, mpp: 0.5 }, tileOf(512));
    const slide = await openBytes(sink.bytes(), 'jpeg.svs');
    expect(slide.levels.map((level) => [level.width, level.tileWidth, level.compression])).toEqual([
      [1100, 512, 'jpeg'],
      [550, 512, 'jpeg'],
      [275, 512, 'jpeg'],
    ]);
    expect(slide.aperio?.fields.get('AppMag')).toBe('20');
    const { rgb } = await slide.readTilePixels(0, 2, 1);
    const expected = tileOf(512)(2, 1);
    let sum = 0;
    for (let i = 0; i < rgb.length; i += 1) {
      sum += Math.abs((rgb[i] ?? 0) - (expected[i] ?? 0));
    }
    expect(sum / rgb.length).toBeLessThan(3);
  });

  it('writes BigTIFF on request, in either byte order', async () => {
    for (const littleEndian of [true, false]) {
      const sink = new MemoryTiffSink();
      const result = await writeSlide(
        sink,
        { width: 300, height: 300, mpp: 0.25, bigTiff: true, littleEndian, compression: 'deflate' },
        tileOf(256),
      );
      expect(result.bigTiff).toBe(true);
      const slide = await openBytes(sink.bytes(), 'big.svs');
      expect([slide.tiff.isBigTiff, slide.tiff.isLittleEndian]).toEqual([true, littleEndian]);
      expect(slide.levels.map((level) => level.width)).toEqual([300, 150]);
      const { rgb } = await slide.readTilePixels(0, 1, 1);
      expect(Buffer.from(rgb).equals(Buffer.from(tileOf(256)(1, 1)))).toBe(true);
    }
  });

  it('streams: tiles reach the sink while later rows are still being made', async () => {
    const memory = new MemoryTiffSink();
    let appended = 0;
    const counting: TiffSink = {
      append: (bytes) => {
        appended += bytes.length;
        return memory.append(bytes);
      },
      patch: (position, bytes) => memory.patch(position, bytes),
    };
    const seenAtRow: number[] = [];
    const calls: string[] = [];
    const make = tileOf(256);
    await writeSlide(
      counting,
      { width: 2048, height: 2048, mpp: 0.25, compression: 'deflate' },
      (x, y) => {
        calls.push(`${x},${y}`);
        if (x === 0) {
          seenAtRow.push(appended);
        }
        return make(x, y);
      },
    );
    // Row by row, left to right; each row starts with more bytes written than the last.
    expect(calls.slice(0, 9)).toEqual([
      '0,0',
      '1,0',
      '2,0',
      '3,0',
      '4,0',
      '5,0',
      '6,0',
      '7,0',
      '0,1',
    ]);
    expect(seenAtRow).toHaveLength(8);
    for (let row = 1; row < 8; row += 1) {
      expect(seenAtRow[row]).toBeGreaterThan(seenAtRow[row - 1] ?? 0);
    }
    const slide = await openBytes(memory.bytes(), 'stream.svs');
    expect(slide.levels.map((level) => level.width)).toEqual([2048, 1024, 512, 256]);
  });

  it('refuses tiles of the wrong size and sizes it cannot write, with a TiffWriteError', async () => {
    await expect(
      writeSlide(
        new MemoryTiffSink(),
        { width: 10, height: 10, mpp: 0.25 },
        () => new Uint8Array(3),
      ),
    ).rejects.toMatchObject({ code: 'invalid_image' });
    await expect(
      writeSlide(new MemoryTiffSink(), { width: 0, height: 10, mpp: 0.25 }, tileOf(256)),
    ).rejects.toBeInstanceOf(TiffWriteError);
    await expect(
      writeSlide(
        new MemoryTiffSink(),
        { width: 10, height: 10, mpp: 0.25, fields: [['A|B', 'x']] },
        tileOf(256),
      ),
    ).rejects.toBeInstanceOf(TiffWriteError);
  });

  it('chooses BigTIFF when an offset would pass 4 GiB, and halves levels until one tile', () => {
    expect(needsBigTiff(2 ** 32 - 1000, 500)).toBe(false);
    expect(needsBigTiff(2 ** 32 - 1000, 1000)).toBe(true);
    expect(pyramidLevels(50_000, 50_000, 256).map((level) => level.width)).toEqual([
      50_000, 25_000, 12_500, 6250, 3125, 1563, 782, 391, 196,
    ]);
  });
});

describe('an independent reader (libvips) reads what writeSlide writes', () => {
  it('reads dimensions, pages and pixels of a JPEG slide with a label and macro', async () => {
    const file = join(dir, 'vips.svs');
    await writeSlideFile(
      file,
      {
        width: 1000,
        height: 700,
        mpp: 0.252,
        label: solid(80, 60, 240),
        macro: solid(200, 70, 180),
      },
      tileOf(256),
    );
    // OpenSlide (vips' openslideload) takes it for an Aperio slide.
    const properties = new Map(
      execFileSync('vipsheader', ['-a', file], { encoding: 'utf8' })
        .split('\n')
        .map((line) => [
          line.slice(0, line.indexOf(':')),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
    );
    expect(properties.get('openslide.vendor')).toBe('aperio');
    expect(properties.get('openslide.level-count')).toBe('3');
    expect(properties.get('openslide.level[1].width')).toBe('500');
    expect(properties.get('openslide.level[2].height')).toBe('175');
    expect(properties.get('openslide.mpp-x')).toBe('0.252');
    expect(properties.get('openslide.objective-power')).toBe('40');
    expect(properties.get('slide-associated-images')).toBe('label, macro, thumbnail');
    // libtiff (vips' tiffload) reads every page: level 0, thumbnail, levels 1 and 2, label, macro.
    const sizes = [0, 1, 2, 3, 4, 5].map((page) => {
      vips('tiffload', file, 'page.v', '--page', String(page));
      return execFileSync('vipsheader', [join(dir, 'page.v')], { encoding: 'utf8' }).split(' ')[1];
    });
    expect(sizes).toEqual(['1000x700', '250x175', '500x350', '250x175', '80x60', '200x70']);
    const point = execFileSync('vips', ['getpoint', file, '300', '260'], { encoding: 'utf8' })
      .trim()
      .split(/\s+/u)
      .map(Number);
    const expected = pixel(300, 260);
    for (let k = 0; k < 3; k += 1) {
      expect(Math.abs((point[k] ?? 0) - (expected[k] ?? 0))).toBeLessThanOrEqual(8);
    }
    // OpenSlide decodes level 1's tiles.
    vips('copy', `${file}[level=1]`, 'level1.png');
    expect(execFileSync('vipsheader', [join(dir, 'level1.png')], { encoding: 'utf8' })).toContain(
      '500x350',
    );
    const { slide, close } = await openSlideFile(file);
    try {
      expect(slide.levels).toHaveLength(3);
    } finally {
      await close();
    }
  });
});
