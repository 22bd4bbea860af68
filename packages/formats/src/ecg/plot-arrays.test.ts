import { describe, expect, it } from 'vitest';
import type { Image8 } from '../image/png.js';
import { plotArrays } from './plot-arrays.js';

/** The rows inked in column `x` of an image, top to bottom. */
function inkedRows(image: Image8, x: number): number[] {
  const rows: number[] = [];
  for (let y = 0; y < image.height; y++) {
    if (image.data[y * image.width + x] === 0) {
      rows.push(y);
    }
  }
  return rows;
}

describe('plotArrays', () => {
  it('draws a rising ramp from the bottom of its band to the top', () => {
    const ramp = Float32Array.from({ length: 100 }, (_, i) => i);
    const image = plotArrays([{ shape: [100], data: ramp }], { width: 100, traceHeight: 20 });
    expect([image.width, image.height, image.channels]).toEqual([100, 20, 1]);
    // Rows 1 to 18 hold the trace (a pixel of margin each side).
    expect(inkedRows(image, 0)).toEqual([18]);
    expect(inkedRows(image, 99)).toEqual([1]);
  });

  it('keeps a one-sample peak however many samples a column covers', () => {
    const data = new Int16Array(5000);
    data[2500] = 1000;
    const image = plotArrays([{ shape: [5000], data }], { width: 100, traceHeight: 20 });
    expect(inkedRows(image, 50)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(inkedRows(image, 10)).toEqual([18]);
  });

  it('draws each row of an array as a trace, arrays apart, up to the most traces', () => {
    const waveform = { shape: [12, 50], data: new Int16Array(600) };
    const lengths = { shape: [3], data: BigInt64Array.of(1n, 2n, 3n) };
    const image = plotArrays([waveform, lengths], { width: 40, traceHeight: 10 });
    expect(image.height).toBe(13 * 10 + 9);
    // A flat trace is drawn through the middle of its band.
    expect(inkedRows(image, 5).slice(0, 2)).toEqual([4, 14]);
    expect(image.data[(120 + 4) * 40]).toBe(192);
    const capped = plotArrays([waveform, lengths], { width: 40, traceHeight: 10, maxTraces: 5 });
    expect(capped.height).toBe(50);
  });

  it('skips values that are not finite, and draws nothing for an array of none', () => {
    const data = Float64Array.of(Number.NaN, 0, Infinity, 1);
    const image = plotArrays([{ shape: [4], data }], { width: 4, traceHeight: 10 });
    expect(inkedRows(image, 0)).toEqual([]);
    expect(inkedRows(image, 1)).toEqual([8]);
    expect(inkedRows(image, 3)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const empty = plotArrays([{ shape: [2], data: Float64Array.of(Number.NaN, Number.NaN) }], {
      width: 4,
    });
    expect(empty.data.every((value) => value === 255)).toBe(true);
  });
});
