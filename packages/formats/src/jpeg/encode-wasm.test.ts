import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  JpegCodecError,
  decodeJpegSamples,
  encodeJpegRgb,
  encodeJpegRgbWithLibjpegTurbo,
} from './libjpeg-turbo.js';

type Content = 'flat' | 'gradient' | 'noisy';

/** RGB of one colour, of ramps, or of uniform noise (the worst case for a stream's length). */
function image(width: number, height: number, content: Content, seed: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  let state = seed >>> 0;
  for (let i = 0; i < rgb.length; i += 1) {
    const pixel = Math.floor(i / 3);
    const [x, y, c] = [pixel % width, Math.floor(pixel / width), i % 3];
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    const values: Record<Content, number> = {
      flat: 40 + 70 * c + (seed % 50),
      gradient: Math.floor((x * 255) / width) + 3 * y + 40 * c,
      noisy: state >>> 24,
    };
    rgb[i] = values[content] & 0xff;
  }
  return rgb;
}

const CONTENTS: Content[] = ['flat', 'gradient', 'noisy'];

/** Peak signal-to-noise ratio of `decoded` against `rgb`, in dB. */
function psnr(rgb: Uint8Array, decoded: Uint8Array): number {
  let squares = 0;
  for (const [i, value] of rgb.entries()) {
    squares += (value - (decoded[i] ?? 0)) ** 2;
  }
  return 10 * Math.log10((255 * 255 * rgb.length) / squares);
}

/**
 * The npm build's stream, or null where it cannot be trusted: it traps, or its stream is longer
 * than the buffer it sized (the image's bytes), past which it wrote whatever its heap let it.
 */
function oldStream(rgb: Uint8Array, width: number, height: number, quality: number) {
  try {
    const stream = encodeJpegRgbWithLibjpegTurbo(rgb, width, height, quality);
    return stream.length <= rgb.length ? stream : null;
  } catch (error) {
    expect(error).toBeInstanceOf(JpegCodecError);
    return null;
  }
}

describe('encodeJpegRgb (native/jpeg/encode.c in WebAssembly)', () => {
  // Below about 15 x 15 pixels the npm build's buffer (the image's bytes) cannot hold even the
  // headers (623 bytes), so it never encodes them: cjpeg is their reference (below).
  it.each([
    [16, 16],
    [24, 24],
    [40, 7],
    [100, 3],
    [64, 48],
    [33, 65],
    [256, 256],
  ])('writes the npm build of libjpeg-turbo’s bytes for %i x %i at qualities 1 to 97', (w, h) => {
    // Every quality for the small images; every fourth and the thresholds for 256 x 256.
    const qualities = Array.from({ length: 97 }, (_, i) => i + 1).filter(
      (q) => w < 256 || q % 4 === 1 || q >= 95,
    );
    let compared = 0;
    for (const content of CONTENTS) {
      for (const quality of qualities) {
        const rgb = image(w, h, content, w * 131 + h + quality);
        const before = oldStream(rgb, w, h, quality);
        if (before === null) {
          continue;
        }
        const label = `${w} x ${h} ${content} q${quality}`;
        expect(Buffer.from(encodeJpegRgb(rgb, w, h, quality)).equals(before), label).toBe(true);
        compared += 1;
      }
    }
    // It encodes every flat image at least; noisy ones it often fails.
    expect(compared).toBeGreaterThanOrEqual(qualities.length);
  });

  it("writes Debian cjpeg's bytes: -dct fast below quality 96, -dct int from 96 (as TurboJPEG)", () => {
    for (const [width, height] of [
      [1, 1],
      [3, 3],
      [8, 8],
      [17, 9],
      [100, 3],
      [64, 48],
    ] as const) {
      for (const content of CONTENTS) {
        for (const quality of [1, 10, 50, 75, 90, 95, 96, 98, 100]) {
          const rgb = image(width, height, content, width + height + quality);
          const ppm = Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), rgb]);
          const dct = quality >= 96 ? 'int' : 'fast';
          const args = ['-quality', `${quality}`, '-sample', '1x1', '-dct', dct, '-baseline'];
          const theirs = execFileSync('cjpeg', args, {
            input: ppm,
            stdio: ['pipe', 'pipe', 'ignore'],
          });
          const label = `${width} x ${height} ${content} q${quality}`;
          expect(
            Buffer.from(encodeJpegRgb(rgb, width, height, quality)).equals(theirs),
            label,
          ).toBe(true);
        }
      }
    }
  });

  it.each([
    [1, 1, 100],
    [3, 3, 100],
    [16, 16, 100],
    [256, 256, 100],
    [7, 300, 99],
  ] as const)(
    'encodes %i x %i noise at quality %i, whose stream the npm build wrote past its buffer',
    (width, height, quality) => {
      const rgb = image(width, height, 'noisy', 7);
      const stream = encodeJpegRgb(rgb, width, height, quality);
      expect(stream.length).toBeGreaterThan(rgb.length);
      expect(Array.from(stream.subarray(-2))).toEqual([0xff, 0xd9]);
      const decoded = decodeJpegSamples(stream, { width, height, components: 3 }, 'ycbcr');
      expect([decoded.width, decoded.height, decoded.samples.length]).toEqual([
        width,
        height,
        rgb.length,
      ]);
      // Quantizers of 1 (and 2): what is lost is the DCT's and the colour conversion's rounding.
      expect(psnr(rgb, decoded.samples)).toBeGreaterThan(44);
      expect(Buffer.from(encodeJpegRgb(rgb, width, height, quality)).equals(stream)).toBe(true);
    },
  );

  it('grows its output past its first guess (a byte a pixel) for noise at quality 100', () => {
    const rgb = image(512, 512, 'noisy', 3);
    const stream = encodeJpegRgb(rgb, 512, 512, 100);
    expect(stream.length).toBeGreaterThan(512 * 512 + 4096);
    const decoded = decodeJpegSamples(stream, { width: 512, height: 512, components: 3 }, 'ycbcr');
    expect(psnr(rgb, decoded.samples)).toBeGreaterThan(44);
    // The next call, in the same instance, starts from an empty heap.
    const small = image(64, 48, 'gradient', 1);
    expect(
      Buffer.from(encodeJpegRgb(small, 64, 48, 80)).equals(oldOrThrow(small, 64, 48, 80)),
    ).toBe(true);
  });
});

function oldOrThrow(rgb: Uint8Array, width: number, height: number, quality: number) {
  const stream = oldStream(rgb, width, height, quality);
  if (stream === null) {
    throw new Error(`the npm build cannot encode ${width} x ${height} at ${quality}`);
  }
  return stream;
}
