import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { downscale, encodePng } from './png.js';

/** CRC-32 bit by bit (ISO 3309), independent of the table the encoder uses. */
function slowCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k += 1) {
      crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    }
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The chunks of a PNG, each CRC checked. */
function chunksOf(png: Uint8Array): { type: string; data: Uint8Array }[] {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: { type: string; data: Uint8Array }[] = [];
  for (let offset = 8; offset < png.length;) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    const data = png.subarray(offset + 8, offset + 8 + length);
    expect(view.getUint32(offset + 8 + length)).toBe(
      slowCrc32(png.subarray(offset + 4, offset + 8 + length)),
    );
    chunks.push({ type, data });
    offset += 12 + length;
  }
  return chunks;
}

describe('PNG encoding', () => {
  it('writes IHDR, one IDAT of unfiltered scanlines and IEND, every CRC right', () => {
    const data = Uint8Array.from([0, 64, 128, 255, 10, 20]);
    const chunks = chunksOf(encodePng({ width: 3, height: 2, channels: 1, data }));
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = chunks[0]?.data ?? new Uint8Array();
    const view = new DataView(ihdr.buffer, ihdr.byteOffset, ihdr.byteLength);
    expect([view.getUint32(0), view.getUint32(4), ...ihdr.subarray(8)]).toEqual([
      3, 2, 8, 0, 0, 0, 0,
    ]);
    expect([...inflateSync(chunks[1]?.data ?? new Uint8Array())]).toEqual([
      0, 0, 64, 128, 0, 255, 10, 20,
    ]);
  });

  it('writes RGB as colour type 2', () => {
    const data = Uint8Array.from([255, 0, 0, 0, 255, 0]);
    const chunks = chunksOf(encodePng({ width: 2, height: 1, channels: 3, data }));
    expect(chunks[0]?.data[9]).toBe(2);
    expect([...inflateSync(chunks[1]?.data ?? new Uint8Array())]).toEqual([0, ...data]);
  });

  it('refuses pixels that do not fill the image, and an empty image', () => {
    expect(() => encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(3) })).toThrow(
      RangeError,
    );
    expect(() => encodePng({ width: 0, height: 1, channels: 1, data: new Uint8Array() })).toThrow(
      RangeError,
    );
  });

  it('downscales by the smallest whole factor, averaging boxes (edges included)', () => {
    const image = {
      width: 5,
      height: 3,
      channels: 1 as const,
      data: Uint8Array.from([0, 2, 10, 20, 7, 4, 6, 30, 40, 9, 100, 100, 1, 1, 1]),
    };
    const small = downscale(image, 3);
    expect([small.width, small.height]).toEqual([3, 2]);
    expect([...small.data]).toEqual([3, 25, 8, 100, 1, 1]);
    expect(downscale(image, 5)).toBe(image);
  });
});
