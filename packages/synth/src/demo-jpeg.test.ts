import { decodeJpegSamples, encodeJpegRgb } from '@lantern/formats';
import {
  decodeJpegSamplesWithLibjpegTurbo,
  encodeJpegRgbWithLibjpegTurbo,
} from '@lantern/formats/testing';
import { describe, expect, it } from 'vitest';
import { TissueRenderer } from './brca-path/tissue.js';
import { renderRadiograph } from './knee-xray/radiograph.js';

/**
 * The demo's images as JPEG streams at several qualities: what `decodeJpegSamples` gives (the
 * WebAssembly decoder of packages/formats/native/jpeg) must be what libjpeg-turbo gives, sample
 * for sample, in each colour space a caller may ask for.
 */
function expectSameSamples(rgb: Uint8Array, width: number, height: number, label: string) {
  const size = { width, height, components: 3 };
  for (const quality of [20, 60, 85, 95]) {
    const stream = encodeJpegRgb(rgb, width, height, quality);
    for (const colour of ['ycbcr', 'rgb', 'auto'] as const) {
      const ours = decodeJpegSamples(stream, size, colour).samples;
      const theirs = decodeJpegSamplesWithLibjpegTurbo(stream, size, colour).samples;
      expect(ours.length, `${label} q${quality} ${colour}`).toBe(width * height * 3);
      expect(Buffer.from(ours).equals(Buffer.from(theirs)), `${label} q${quality} ${colour}`).toBe(
        true,
      );
    }
  }
}

describe("the demo's images, JPEG-coded, decode as libjpeg-turbo decodes them", () => {
  it.each([
    [1, 0.1, false],
    [2, 0.9, true],
  ])('tissue tiles of slide seed %i (severity %d, pen mark %s)', (seed, severity, penMark) => {
    const renderer = new TissueRenderer({ seed, width: 4096, height: 4096, severity, penMark });
    for (const [tx, ty] of [
      [3, 3],
      [7, 8],
    ] as const) {
      expectSameSamples(renderer.tile(tx, ty, 256), 256, 256, `tile ${tx},${ty}`);
    }
  });

  it.each(['AP', 'LATERAL', 'SKYLINE'] as const)('a knee radiograph (%s), as grey RGB', (view) => {
    const radiograph = renderRadiograph({ view, knee: 'L', klGrade: 2, burnedInText: 'L' }, 7);
    const { rows, columns, pixels } = radiograph;
    const rgb = new Uint8Array(rows * columns * 3);
    for (const [i, value] of pixels.entries()) {
      rgb.fill(value >> 4, i * 3, i * 3 + 3); // 12 bits to 8
    }
    expectSameSamples(rgb, columns, rows, view);
  });
});

describe("the demo's slide tiles encode as libjpeg-turbo's npm build encoded them", () => {
  it.each([
    [1, 0.1, false],
    [2, 0.9, true],
  ])(
    'every tile of a 2048 x 2048 slide of seed %i (severity %d, pen mark %s)',
    (seed, severity, penMark) => {
      // The brca-path delivery's tiles: 256 x 256 at quality 75 (delivery.ts), so its slides keep
      // their bytes now that encodeJpegRgb is this package's C encoder.
      const renderer = new TissueRenderer({ seed, width: 2048, height: 2048, severity, penMark });
      for (let ty = 0; ty < 8; ty += 1) {
        for (let tx = 0; tx < 8; tx += 1) {
          const rgb = renderer.tile(tx, ty, 256);
          const ours = encodeJpegRgb(rgb, 256, 256, 75);
          const theirs = encodeJpegRgbWithLibjpegTurbo(rgb, 256, 256, 75);
          expect(Buffer.from(ours).equals(Buffer.from(theirs)), `tile ${tx},${ty}`).toBe(true);
        }
      }
    },
  );
});
