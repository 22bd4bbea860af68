/**
 * The little of PNG (ISO/IEC 15948, W3C PNG 2nd edition) that previews need: 8-bit grayscale or
 * RGB, one IDAT of zlib-deflated scanlines each under filter type 0 (None), and a downscale that
 * averages boxes of pixels so that a large radiograph's preview stays small. No reader here: the
 * pixels come from a renderer (renderFrame8 for DICOM) and go to a browser.
 */
import { deflateSync } from 'node:zlib';
import { crc32 } from '../ecg/zip.js';

/** 8-bit pixels, row by row, `channels` bytes each (1: grayscale, 3: RGB). */
export interface Image8 {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PNG's largest width or height (2^31 - 1, section 11.2.2). */
const MAX_DIMENSION = 0x7fffffff;

/** Encodes 8-bit grayscale or RGB pixels as a PNG file. */
export function encodePng(image: Image8): Uint8Array {
  const { width, height, channels, data } = image;
  if (
    !Number.isSafeInteger(width) ||
    !Number.isSafeInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > MAX_DIMENSION ||
    height > MAX_DIMENSION
  ) {
    throw new RangeError(`a PNG is at least 1x1 pixels, not ${width}x${height}`);
  }
  const stride = width * channels;
  if (data.length !== stride * height) {
    throw new RangeError(
      `${width}x${height} pixels of ${channels} bytes are ${stride * height} bytes, not ${data.length}`,
    );
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = channels === 1 ? 0 : 2; // colour type: greyscale, truecolour
  // Compression 0 (deflate), filter method 0, no interlace.
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y += 1) {
    raw[y * (stride + 1)] = 0; // filter type None
    raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const chunks = [
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array()),
  ];
  const out = new Uint8Array(SIGNATURE.length + chunks.reduce((n, c) => n + c.length, 0));
  out.set(SIGNATURE, 0);
  let offset = SIGNATURE.length;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** A chunk: length, type, data, and the CRC-32 of type and data (section 5.3). */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i += 1) {
    out[4 + i] = type.charCodeAt(i);
  }
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * The image shrunk by the smallest whole factor that brings both sides to `maxSide` or less, each
 * output pixel the rounded mean of its box (edge boxes are smaller); the image itself when it fits.
 */
export function downscale(image: Image8, maxSide: number): Image8 {
  const factor = Math.ceil(Math.max(image.width, image.height) / maxSide);
  if (factor <= 1) {
    return image;
  }
  const width = Math.ceil(image.width / factor);
  const height = Math.ceil(image.height / factor);
  const { channels } = image;
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y += 1) {
    const y1 = Math.min(image.height, (y + 1) * factor);
    for (let x = 0; x < width; x += 1) {
      const x1 = Math.min(image.width, (x + 1) * factor);
      for (let c = 0; c < channels; c += 1) {
        let sum = 0;
        let count = 0;
        for (let sy = y * factor; sy < y1; sy += 1) {
          for (let sx = x * factor; sx < x1; sx += 1) {
            sum += image.data[(sy * image.width + sx) * channels + c] ?? 0;
            count += 1;
          }
        }
        data[(y * width + x) * channels + c] = Math.round(sum / count);
      }
    }
  }
  return { width, height, channels, data };
}
