/**
 * JPEG encoding of a 256 x 256 RGB tile at quality 75 (what the demo's slides are made of):
 * libjpeg-turbo's npm build (`encodeJpegRgbWithLibjpegTurbo`, the encoder before, the peer) and
 * Lantern's C encoder in WebAssembly (`encodeJpegRgb`, packages/formats/native/jpeg/encode.c),
 * which writes the same bytes (checked first). Both run in this process, in alternating rounds of
 * `--repeat` encodes after `--warmup` untimed ones; prints ms a tile (median round, and the
 * fastest) of wall and of CPU time, the ratios (peer / Lantern: above 1 is Lantern faster) and
 * the load average, since other work shares the cores.
 *
 *   node --conditions=lantern-source --import tsx bench/formats/encode.ts [--rounds 7] \
 *     [--repeat 100] [--warmup 50] [--quality 75]
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { encodeJpegRgb, type JpegRgbEncoder } from '@lantern/formats';
import { encodeJpegRgbWithLibjpegTurbo } from '@lantern/formats/testing';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    repeat: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '50' },
    quality: { type: 'string', default: '75' },
  },
});
const rounds = Number(args.rounds);
const repeat = Number(args.repeat);
const quality = Number(args.quality);
const SIZE = 256;

/** Colour ramps, block edges and 5 bits of noise: a tile that codes to about a bit a sample. */
function tile(seed: number): Uint8Array {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  let state = seed >>> 0;
  for (let i = 0; i < rgb.length; i += 1) {
    const pixel = Math.floor(i / 3);
    const [x, y, c] = [pixel % SIZE, Math.floor(pixel / SIZE), i % 3];
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    const edge = ((x >> 3) + (y >> 2) + c) % 3 === 0 ? 200 : 0;
    rgb[i] = (x * (3 + c) + y * (5 - c) + edge + (state >>> 27)) & 0xff;
  }
  return rgb;
}

const sides: [string, JpegRgbEncoder][] = [
  ['libjpeg-turbo npm build (peer)', encodeJpegRgbWithLibjpegTurbo],
  ['Lantern encode.c', encodeJpegRgb],
];

const tiles = [tile(1), tile(2), tile(3), tile(4)];
for (const rgb of tiles) {
  const [peer, ours] = sides.map(([, encode]) => encode(rgb, SIZE, SIZE, quality));
  if (peer === undefined || ours === undefined || !Buffer.from(peer).equals(Buffer.from(ours))) {
    throw new Error('the two encoders wrote different streams');
  }
}

/** ms of wall and of CPU time a tile over `count` encodes. */
function time(encode: JpegRgbEncoder, count: number): { wall: number; cpu: number } {
  const started = performance.now();
  const startedCpu = process.cpuUsage();
  for (let i = 0; i < count; i += 1) {
    encode(tiles[i % tiles.length] ?? new Uint8Array(), SIZE, SIZE, quality);
  }
  const used = process.cpuUsage(startedCpu);
  return {
    wall: (performance.now() - started) / count,
    cpu: (used.user + used.system) / 1000 / count,
  };
}

for (const [, encode] of sides) {
  time(encode, Number(args.warmup));
}
const results = sides.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
const loadBefore = loadavg()[0] ?? 0;
for (let round = 0; round < rounds; round += 1) {
  for (const [i, [, encode]] of sides.entries()) {
    const { wall, cpu } = time(encode, repeat);
    results[i]?.wall.push(wall);
    results[i]?.cpu.push(cpu);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
const shown = (values: number[]) =>
  `${median(values).toFixed(2)} ms (least ${Math.min(...values).toFixed(2)})`;

console.log(
  `${SIZE} x ${SIZE} RGB at quality ${quality}, ${rounds} rounds of ${repeat}; load average ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after`,
);
for (const [i, [name]] of sides.entries()) {
  const { wall = [], cpu = [] } = results[i] ?? {};
  console.log(`${name.padEnd(32)} wall ${shown(wall)}   cpu ${shown(cpu)}`);
}
const [peer, ours] = results;
if (peer !== undefined && ours !== undefined) {
  console.log(
    `ratio (peer / Lantern)          wall ${(median(peer.wall) / median(ours.wall)).toFixed(2)}x   cpu ${(median(peer.cpu) / median(ours.cpu)).toFixed(2)}x`,
  );
}
