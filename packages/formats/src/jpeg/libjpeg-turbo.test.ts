import { describe, expect, it } from 'vitest';
import { readJpegFrameHeader } from '../dicom/jpeg.js';
import { JpegCodecError, decodeJpegSamples, encodeJpegRgb } from './libjpeg-turbo.js';
import { errorOf } from '../testing/error-of.js';

/** A 64 x 48 image of smooth colour ramps, which JPEG at quality 90 keeps within a few levels. */
function ramps(width = 64, height = 48): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      rgb.set([40 + 3 * x, 30 + 4 * y, 128 + x - y], (y * width + x) * 3);
    }
  }
  return rgb;
}

const SIZE = { width: 64, height: 48, components: 3 };

describe('libjpeg-turbo (WebAssembly): baseline JPEG', () => {
  it('encodes RGB as a baseline JFIF stream, the same bytes every time, that decodes close to it', () => {
    const rgb = ramps();
    const stream = encodeJpegRgb(rgb, 64, 48, 90);
    expect(Array.from(stream.subarray(0, 4))).toEqual([0xff, 0xd8, 0xff, 0xe0]);
    expect(Buffer.from(stream.subarray(6, 10)).toString('latin1')).toBe('JFIF');
    expect(readJpegFrameHeader(stream)).toEqual({
      process: 0xc0,
      precision: 8,
      height: 48,
      width: 64,
      components: 3,
    });
    expect(Array.from(stream.subarray(-2))).toEqual([0xff, 0xd9]);
    expect(Buffer.from(encodeJpegRgb(rgb, 64, 48, 90)).equals(Buffer.from(stream))).toBe(true);
    expect(encodeJpegRgb(rgb, 64, 48, 40).length).toBeLessThan(stream.length);

    const decoded = decodeJpegSamples(stream, SIZE, 'ycbcr');
    expect([decoded.width, decoded.height, decoded.components]).toEqual([64, 48, 3]);
    let difference = 0;
    for (const [i, value] of decoded.samples.entries()) {
      difference += Math.abs(value - (rgb[i] ?? 0));
    }
    expect(difference / rgb.length).toBeLessThan(1.5);
  });

  it('reads YCbCr as the caller says: converted, or as coded when the samples are RGB', () => {
    // Grey pixels code as Y = grey, Cb = Cr = 128 (ITU T.871), which shows whether a decoder converted.
    const grey = new Uint8Array(64 * 48 * 3);
    for (let p = 0; p < 64 * 48; p += 1) {
      grey.fill(60 + (p % 64) * 2, p * 3, p * 3 + 3);
    }
    const stream = encodeJpegRgb(grey, 64, 48, 100);
    const converted = decodeJpegSamples(stream, SIZE, 'ycbcr').samples;
    expect(Array.from(decodeJpegSamples(stream, SIZE, 'auto').samples)).toEqual(
      Array.from(converted),
    );
    const asCoded = decodeJpegSamples(stream, SIZE, 'rgb').samples;
    for (let p = 0; p < 64 * 48; p += 1) {
      const at = p * 3;
      expect(Math.abs((converted[at] ?? 0) - (grey[at] ?? 0))).toBeLessThanOrEqual(1);
      expect(asCoded[at]).toBe(converted[at]);
      expect(Math.abs((asCoded[at + 1] ?? 0) - 128)).toBeLessThanOrEqual(1);
      expect(Math.abs((asCoded[at + 2] ?? 0) - 128)).toBeLessThanOrEqual(1);
    }
  });

  it('refuses a stream whose frame is not the size the caller expects', () => {
    const stream = encodeJpegRgb(ramps(), 64, 48, 90);
    const error = errorOf(() =>
      decodeJpegSamples(stream, { width: 64, height: 47, components: 3 }, 'ycbcr'),
    );
    expect(error).toBeInstanceOf(JpegCodecError);
    expect(String(error)).toContain('64 x 48 x 3');
    expect(errorOf(() => decodeJpegSamples(stream.subarray(2), SIZE, 'auto'))).toBeInstanceOf(
      JpegCodecError,
    );
  });

  it('gives a JpegCodecError or a frame of the expected size for damaged streams, and decodes after', () => {
    const stream = encodeJpegRgb(ramps(), 64, 48, 90);
    const reference = Array.from(decodeJpegSamples(stream, SIZE, 'ycbcr').samples);
    let refused = 0;
    for (let cut = 0; cut < stream.length; cut += 53) {
      const mutants = [
        stream.slice(0, cut),
        Uint8Array.from(stream, (byte, i) => (i >= cut && i % 7 === 0 ? byte ^ 0xa5 : byte)),
        Uint8Array.from(stream, (byte, i) => (i === cut || i === cut + 1 ? 0xff : byte)),
      ];
      for (const mutant of mutants) {
        try {
          expect(decodeJpegSamples(mutant, SIZE, 'ycbcr').samples.length).toBe(64 * 48 * 3);
        } catch (error) {
          expect(error).toBeInstanceOf(JpegCodecError);
          refused += 1;
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(Array.from(decodeJpegSamples(stream, SIZE, 'ycbcr').samples)).toEqual(reference);
  });

  it('refuses to encode what is not an RGB image of its stated size, or a quality out of 1 to 100', () => {
    const rgb = ramps();
    for (const action of [
      () => encodeJpegRgb(rgb, 64, 47, 90),
      () => encodeJpegRgb(rgb, 0, 48, 90),
      () => encodeJpegRgb(new Uint8Array(70_000 * 3), 70_000, 1, 90),
      () => encodeJpegRgb(rgb, 64, 48, 0),
      () => encodeJpegRgb(rgb, 64, 48, 100.5),
    ]) {
      expect(errorOf(action)).toBeInstanceOf(JpegCodecError);
    }
  });
});
