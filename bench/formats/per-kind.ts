/**
 * Where the DICOM parse + decode time goes, by kind of file: for each group of pydicom's test
 * files (12-bit JPEG Extended, 8-bit JPEG baseline, ...), Lantern's `readDicom` + `decodeFrame` of
 * every frame and dcmtk-decode's (`dcmtk-decode.cc`, built by `run.ts` into bench/out) over the
 * same files, in rounds of `--repeat` passes after `--warmup` untimed ones, each side in its own
 * process. Prints µs a pass (median and fastest round) of wall and of CPU time (which tells more
 * while other work shares the cores) and the ratios, and the sum of every decoded sample, so that
 * a change to a decoder can be checked to leave every sample as it was.
 *
 *   node --conditions=lantern-source --import tsx bench/formats/per-kind.ts [--rounds 5] \
 *     [--repeat 100] [--warmup 20] [--kind 12-bit]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeFrame, readDicom, readImageInfo } from '@lantern/formats';

const HERE = dirname(fileURLToPath(import.meta.url));
const DCMTK_DECODE = resolve(HERE, '../out/dcmtk-decode');
const TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/** The corpus's files by how their pixels are coded (bench/formats/README.md, session 8). */
const KINDS: Record<string, string[]> = {
  '12-bit JPEG Extended': ['JPGExtended.dcm', 'JPEG-lossy.dcm'],
  '8-bit JPEG baseline': [
    'SC_jpeg_no_color_transform.dcm',
    'SC_jpeg_no_color_transform_2.dcm',
    'SC_rgb_dcmtk_+eb+cr.dcm',
    'SC_rgb_dcmtk_+eb+cy+n1.dcm',
    'SC_rgb_dcmtk_+eb+cy+n2.dcm',
    'SC_rgb_dcmtk_+eb+cy+np.dcm',
    'SC_rgb_dcmtk_+eb+cy+s2.dcm',
    'SC_rgb_dcmtk_+eb+cy+s4.dcm',
    'SC_rgb_jpeg_app14_dcmd.dcm',
    'SC_rgb_jpeg_dcmtk.dcm',
    'SC_rgb_jpeg_lossy_gdcm.dcm',
    'SC_rgb_small_odd_jpeg.dcm',
  ],
  'lossless JPEG': ['SC_rgb_jpeg_gdcm.dcm'],
  RLE: [
    'MR_small_RLE.dcm',
    'SC_rgb_rle.dcm',
    'SC_rgb_rle_16bit.dcm',
    'SC_rgb_rle_16bit_2frame.dcm',
    'SC_rgb_rle_2frame.dcm',
    'SC_rgb_rle_32bit.dcm',
    'SC_rgb_rle_32bit_2frame.dcm',
    'rtdose_rle.dcm',
    'rtdose_rle_1frame.dcm',
  ],
};

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    repeat: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '20' },
    kind: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const repeat = Number(values.repeat);
const warmup = Number(values.warmup);

/** One pass: every file read and every frame decoded, as run.ts times them. */
function passLantern(paths: readonly string[]): void {
  for (const path of paths) {
    const file = readDicom(readFileSync(path), { name: path });
    const { frames } = readImageInfo(file);
    for (let i = 0; i < frames; i += 1) {
      decodeFrame(file, i);
    }
  }
}

/** The sum of every decoded sample of the files, which a faster decoder must leave as it was. */
function sumLantern(paths: readonly string[]): number {
  let sum = 0;
  for (const path of paths) {
    const file = readDicom(readFileSync(path), { name: path });
    const { frames } = readImageInfo(file);
    for (let i = 0; i < frames; i += 1) {
      for (const value of decodeFrame(file, i).data) {
        sum += value;
      }
    }
  }
  return sum;
}

/**
 * µs a pass, one per round: wall time, as dcmtk-decode measures itself, and this process's CPU
 * time, which says more about a change to a decoder while other work shares the cores.
 */
function timeLantern(paths: readonly string[]): { wall: number[]; cpu: number[] } {
  for (let i = 0; i < warmup; i += 1) {
    passLantern(paths);
  }
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    const startedCpu = process.cpuUsage();
    for (let i = 0; i < repeat; i += 1) {
      passLantern(paths);
    }
    const used = process.cpuUsage(startedCpu);
    wall.push(((performance.now() - started) * 1000) / repeat);
    cpu.push((used.user + used.system) / repeat);
  }
  return { wall, cpu };
}

/** µs a pass, one per round: wall and CPU time of the passes, as dcmtk-decode times itself. */
function timeDcmtk(paths: readonly string[]): { wall: number[]; cpu: number[] } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const args = ['--warmup', String(warmup), '--repeat', String(repeat), ...paths];
    const { stdout } = spawnSync(DCMTK_DECODE, args, { encoding: 'utf8' });
    const { seconds, cpuSeconds } = JSON.parse(stdout) as { seconds: number; cpuSeconds: number };
    wall.push((seconds * 1e6) / repeat);
    cpu.push((cpuSeconds * 1e6) / repeat);
  }
  return { wall, cpu };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');
console.log(`load average ${load()}; ${rounds} rounds of ${repeat} passes after ${warmup}`);
for (const [kind, names] of Object.entries(KINDS)) {
  if (values.kind !== undefined && !kind.startsWith(values.kind)) {
    continue;
  }
  const paths = names.map((name) => join(TEST_FILES, name));
  const sum = sumLantern(paths);
  const { wall: lantern, cpu } = timeLantern(paths);
  const { wall: dcmtk, cpu: dcmtkCpu } = timeDcmtk(paths);
  const ratio = (peer: number[], ours: number[]) => (median(peer) / median(ours)).toFixed(2);
  const times = (values: number[]) =>
    `${median(values).toFixed(0)} µs (least ${Math.min(...values).toFixed(0)})`;
  console.log(`${kind} (${paths.length} files, sum of samples ${sum})`);
  console.log(
    `  wall: Lantern ${times(lantern)}, dcmtk ${times(dcmtk)}: ${ratio(dcmtk, lantern)}x`,
  );
  console.log(`  CPU:  Lantern ${times(cpu)}, dcmtk ${times(dcmtkCpu)}: ${ratio(dcmtkCpu, cpu)}x`);
}
console.log(`load average ${load()}`);
