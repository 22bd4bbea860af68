/**
 * Arrays drawn as traces, for a person to see what they hold without having the file (the
 * preview of a NumPy archive held for review): an ECG's leads look like an ECG; text stored as
 * numbers, or anything else, does not. Each array's last axis is a trace and its other axes rows
 * of traces (a (12, 5000) waveform is twelve traces), up to `maxTraces` in all; arrays are
 * separated by a grey rule. Each trace is scaled to its own finite minimum and maximum and drawn
 * column by column as the span of the values that fall in the column, joined to the column
 * before, so that no peak is lost however many samples a column covers. 8-bit grey, black on white.
 */
import type { Image8 } from '../image/png.js';
import type { NpyArray } from './npy.js';

export interface PlotOptions {
  /** The image's width in pixels. */
  width: number;
  /** Pixels per trace. Default 48. */
  traceHeight?: number;
  /** The most traces drawn, the first ones. Default 36 (three 12-lead ECGs). */
  maxTraces?: number;
}

/** Pixels between two arrays (a grey rule in the middle). */
const ARRAY_GAP = 9;
const INK = 0;
const RULE = 192;
const PAPER = 255;

/** Draws the arrays as traces (see the file's comment). */
export function plotArrays(arrays: readonly NpyArray[], options: PlotOptions): Image8 {
  const width = Math.max(1, Math.floor(options.width));
  const traceHeight = Math.max(3, Math.floor(options.traceHeight ?? 48));
  let budget = options.maxTraces ?? 36;
  const groups = arrays.map((array) => {
    const traces = tracesOf(array, budget);
    budget -= traces.length;
    return traces;
  });
  const drawn = groups.filter((traces) => traces.length > 0);
  const traceCount = drawn.reduce((sum, traces) => sum + traces.length, 0);
  const height = Math.max(1, traceCount * traceHeight + Math.max(0, drawn.length - 1) * ARRAY_GAP);
  const image: Image8 = { width, height, channels: 1, data: new Uint8Array(width * height) };
  image.data.fill(PAPER);
  let top = 0;
  drawn.forEach((traces, i) => {
    if (i > 0) {
      image.data.fill(RULE, (top + (ARRAY_GAP >> 1)) * width, (top + (ARRAY_GAP >> 1) + 1) * width);
      top += ARRAY_GAP;
    }
    for (const trace of traces) {
      drawTrace(image, trace, top, traceHeight);
      top += traceHeight;
    }
  });
  return image;
}

/** An array's traces (its last axis, one per row of the others) as numbers, at most `limit`. */
function tracesOf(array: NpyArray, limit: number): Float64Array[] {
  const length = array.shape.length === 0 ? 1 : (array.shape[array.shape.length - 1] ?? 0);
  if (length === 0 || limit <= 0) {
    return [];
  }
  const rows = Math.min(limit, Math.floor(array.data.length / length));
  return Array.from({ length: rows }, (_, row) =>
    Float64Array.from(array.data.subarray(row * length, (row + 1) * length), Number),
  );
}

/** One trace in the band of `height` pixels from `top`, scaled to its finite values' range. */
function drawTrace(image: Image8, values: Float64Array, top: number, height: number): void {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (Number.isFinite(value)) {
      low = Math.min(low, value);
      high = Math.max(high, value);
    }
  }
  if (low > high) {
    return; // nothing finite to draw
  }
  const span = height - 3;
  const rowOf = (value: number) =>
    top + 1 + (high === low ? span >> 1 : Math.round(((high - value) / (high - low)) * span));
  const { width } = image;
  let previous: number | null = null;
  for (let x = 0; x < width; x++) {
    const start = Math.floor((x * values.length) / width);
    const end = Math.max(start + 1, Math.floor(((x + 1) * values.length) / width));
    let columnLow = previous ?? Infinity;
    let columnHigh = previous ?? -Infinity;
    for (let i = start; i < end; i++) {
      const value = values[i] ?? Number.NaN;
      if (Number.isFinite(value)) {
        columnLow = Math.min(columnLow, value);
        columnHigh = Math.max(columnHigh, value);
        previous = value;
      }
    }
    if (columnLow > columnHigh) {
      continue;
    }
    for (let y = rowOf(columnHigh); y <= rowOf(columnLow); y++) {
      image.data[y * width + x] = INK;
    }
  }
}
