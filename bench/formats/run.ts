/**
 * Formats benchmark (issue 5).
 *
 * DICOM: parse + pixel decode of every frame, in files/s and MB/s, over one corpus (by default
 * pydicom's test files: real files from many writers and transfer syntaxes), side by side with
 * pydicom (dcmread + pixel_array, in one Python process) and dcmtk (dcmtk-decode.cc: loadFile and
 * getUncompressedFrame of every frame, in one process); Lantern's parse alone side by side with
 * dcmtk's dcmdump (one process given the corpus many times; it parses and prints, it decodes no
 * pixels). The corpus is the files that both @lantern/formats and pydicom decode and dcmdump reads;
 * dcmtk is timed on those of them it decodes (Debian's dcmtk has no JPEG 2000 decoder), Lantern
 * again on the same. The others are listed with the reasons. Each side reads every file on every
 * pass with blocking reads, as the peers do; Lantern's rate with fs/promises reads is shown apart.
 *
 * Whole-slide images: random tile reads per second (one tile, decoded to RGB) on one pyramidal
 * JPEG TIFF that vips builds from scikit-image's real tissue (ihc.png, enlarged), side by side with
 * OpenSlide's read_region of the same tiles. Tiles are drawn without replacement over every level,
 * so OpenSlide's tile cache never holds a tile before it is read (Lantern has no cache).
 *
 * Target (from the issue): at least 1.0x both peers. A measurement: it exits 0 whether or not the
 * targets are met, non-zero only on errors.
 *
 *   node --conditions=lantern-source --import tsx bench/formats/run.ts [--rounds 3]
 *     [--dicom-repeat 20] [--dicom-warmup 5] [--corpus DIR] [--slide-scale 32] [--tiles 500]
 *     [--out bench/out/formats.json]
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import {
  decodeFrame,
  openSlideFile,
  readDicom,
  readImageInfo,
  type PixelArray,
} from '@lantern/formats';
import { Random } from '@lantern/synth';

const execFileAsync = promisify(execFile);

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const PEERS_PY = join(HERE, 'peers.py');
const DCMTK_DECODE_SOURCE = join(HERE, 'dcmtk-decode.cc');
const DCMTK_DECODE = join(REPO_ROOT, 'bench/out/dcmtk-decode');
/** Debian's interpreter, where python3-pydicom and python3-openslide are installed. */
const PYTHON = '/usr/bin/python3';
const PYDICOM_TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const IHC = '/usr/lib/python3/dist-packages/skimage/data/ihc.png';
const TARGET_RATIO = 1.0;
/** Tiles read before timing, on each side (drawn apart from the timed ones). */
const WARMUP_TILES = 100;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  rounds: number;
  dicomRepeat: number;
  dicomWarmup: number;
  corpus: string;
  slideScale: number;
  tiles: number;
  outFile: string;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      // Each round runs every side once, alternating; the median is reported.
      rounds: { type: 'string', default: '3' },
      // Passes over the DICOM corpus per timed run (pydicom's files are small).
      'dicom-repeat': { type: 'string', default: '20' },
      // Untimed passes over the corpus by every side before the rounds: Node's JIT (whose
      // compiler threads share the 2 cores) reaches its steady state only after several.
      'dicom-warmup': { type: 'string', default: '5' },
      corpus: { type: 'string', default: PYDICOM_TEST_FILES },
      // ihc.png (512 x 512) enlarged this many times: 32 makes a 16,384² slide, 4,096 level-0 tiles.
      'slide-scale': { type: 'string', default: '32' },
      tiles: { type: 'string', default: '500' },
      out: { type: 'string', default: join(REPO_ROOT, 'bench/out/formats.json') },
    },
    strict: true,
  });
  return {
    rounds: positiveInteger('--rounds', values.rounds),
    dicomRepeat: positiveInteger('--dicom-repeat', values['dicom-repeat']),
    dicomWarmup: positiveInteger('--dicom-warmup', values['dicom-warmup']),
    corpus: resolve(values.corpus),
    slideScale: positiveInteger('--slide-scale', values['slide-scale']),
    tiles: positiveInteger('--tiles', values.tiles),
    outFile: resolve(values.out),
  };
}

function positiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(text)}`);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Peers

/** Runs peers.py with a JSON request; its JSON answer. */
async function python<T>(request: Record<string, unknown>): Promise<T> {
  const child = spawn(PYTHON, [PEERS_PY], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const exited = new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  child.stdin.end(JSON.stringify(request));
  const code = await exited;
  if (code !== 0) {
    throw new Error(
      `${PYTHON} ${PEERS_PY} (${String(request['mode'])}) exited ${code}: ${Buffer.concat(err).toString()}`,
    );
  }
  return JSON.parse(Buffer.concat(out).toString()) as T;
}

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs a native peer: its exit code, output and wall time. `keepStdout` false discards what it
 * prints (dcmdump's dump of the corpus, which only the printing has to produce).
 */
async function runNative(
  command: string,
  args: readonly string[],
  keepStdout = true,
): Promise<Exited> {
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  const seconds = (performance.now() - started) / 1000;
  const stdout = Buffer.concat(out).toString();
  return { code, stdout, stderr: Buffer.concat(err).toString(), seconds };
}

/** Runs a native peer that must succeed; what it printed and its wall time. */
async function runNativeOrFail(
  command: string,
  args: readonly string[],
  keepStdout = true,
): Promise<Exited> {
  const exited = await runNative(command, args, keepStdout);
  if (exited.code !== 0) {
    throw new Error(`${basename(command)} exited ${exited.code}: ${exited.stderr.slice(0, 2000)}`);
  }
  return exited;
}

/** Wall time of one dcmdump process over `files` (which it must all read). */
async function timeDcmdump(files: readonly string[]): Promise<number> {
  return (await runNativeOrFail('dcmdump', files, false)).seconds;
}

/** Why dcmdump cannot read `file`, or null when it can. */
async function probeDcmdump(file: string): Promise<string | null> {
  const { code, stderr } = await runNative('dcmdump', [file], false);
  return code === 0
    ? null
    : (stderr.split('\n').find((line) => line.startsWith('E:')) ?? `exit ${code}`);
}

/**
 * Compiles dcmtk-decode.cc into bench/out with Debian's g++ against libdcmtk-dev (installed by
 * `scripts/debian-packages.sh bench`), unless the binary is newer than its source.
 */
async function buildDcmtkDecode(): Promise<void> {
  const built = await stat(DCMTK_DECODE).catch(() => null);
  if (built !== null && built.mtimeMs >= (await stat(DCMTK_DECODE_SOURCE)).mtimeMs) {
    return;
  }
  log(`dicom: g++ builds ${DCMTK_DECODE} from ${basename(DCMTK_DECODE_SOURCE)}`);
  await mkdir(dirname(DCMTK_DECODE), { recursive: true });
  // The decoders' libraries (JPEG-LS, IJG JPEG with its 8-, 12- and 16-bit builds), then dcmdata.
  const libraries = ['dcmjpls', 'dcmjpeg', 'dcmimgle', 'dcmdata', 'oflog', 'ofstd'];
  await runNativeOrFail('g++', [
    '-O2',
    '-std=c++17',
    '-Wall',
    '-Wextra',
    '-o',
    DCMTK_DECODE,
    DCMTK_DECODE_SOURCE,
    ...libraries.map((name) => `-l${name}`),
  ]);
}

/** dcmtk-decode's frames and sum of samples for each file, or why it could not decode it. */
async function probeDcmtkDecode(files: readonly string[]): Promise<DicomProbe[]> {
  const { stdout } = await runNativeOrFail(DCMTK_DECODE, ['--probe', ...files]);
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as DicomProbe);
}

/**
 * The wall and CPU seconds dcmtk-decode takes to parse and decode `files` `repeat` times, as it
 * times itself, after `warmup` untimed passes in the same process (as Lantern's and pydicom's
 * warm-up passes are made in the process they time); process start and its data dictionary's
 * loading are not counted.
 */
async function timeDcmtkDecode(
  files: readonly string[],
  warmup: number,
  repeat: number,
): Promise<Timed> {
  const { stdout } = await runNativeOrFail(DCMTK_DECODE, [
    '--warmup',
    String(warmup),
    '--repeat',
    String(repeat),
    ...files,
  ]);
  return JSON.parse(stdout) as Timed;
}

async function versionOf(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args);
    return stdout.split('\n')[0]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// DICOM

interface DicomProbe {
  file: string;
  frames?: number;
  sum?: number;
  /** Python side, YBR JPEG files only: the sum after libjpeg's own YCbCr to RGB (Pillow). */
  rgbSum?: number;
  error?: string;
}

/** Decodes every frame; the sum of every sample (to compare with pydicom's). */
function decodeAll(bytes: Uint8Array, name: string): { frames: number; sum: number } {
  const file = readDicom(bytes, { name });
  const { frames } = readImageInfo(file);
  let sum = 0;
  for (let i = 0; i < frames; i += 1) {
    sum += sumOf(decodeFrame(file, i).data);
  }
  return { frames, sum };
}

function sumOf(data: PixelArray): number {
  let sum = 0;
  for (const value of data) {
    sum += value;
  }
  return sum;
}

async function probeLantern(files: readonly string[]): Promise<DicomProbe[]> {
  const results: DicomProbe[] = [];
  for (const file of files) {
    try {
      results.push({ file, ...decodeAll(await readFile(file), basename(file)) });
    } catch (error) {
      results.push({ file, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}

/**
 * How the timed side reads a file: `sync` blocks on open and read, as pydicom's dcmread and
 * dcmdump do; `promises` is Node's fs/promises, whose open, stat, read and close each wait for a
 * libuv thread (on this machine that wait alone is longer than dcmdump's whole file).
 */
type ReadMode = 'sync' | 'promises';

/**
 * One timed run of a side: wall seconds, and the process's CPU seconds where the side measures
 * them (Lantern's and dcmtk-decode's). Under load the wall time mostly measures waiting for a
 * core (the same code gave 0.22x to 0.61x dcmtk in wall time at load 6 to 13), the CPU time the
 * work done.
 */
interface Timed {
  seconds: number;
  cpuSeconds?: number;
}

/**
 * Every pass reads the files from disk (the page cache), as pydicom's dcmread does. CPU time is
 * the whole process's (the JIT's and the garbage collector's threads too, as dcmtk's clock counts
 * all of its work).
 */
async function timeLantern(
  files: readonly string[],
  repeat: number,
  decode: boolean,
  read: ReadMode = 'sync',
): Promise<Timed> {
  const started = performance.now();
  const startedCpu = process.cpuUsage();
  for (let pass = 0; pass < repeat; pass += 1) {
    for (const path of files) {
      const bytes = read === 'sync' ? readFileSync(path) : await readFile(path);
      const file = readDicom(bytes, { name: path });
      if (decode) {
        const { frames } = readImageInfo(file);
        for (let i = 0; i < frames; i += 1) {
          decodeFrame(file, i);
        }
      }
    }
  }
  const cpu = process.cpuUsage(startedCpu);
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

async function listDicomFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir, { withFileTypes: true });
  return names
    .filter((entry) => entry.isFile() && /\.(dcm|dicom)$/i.test(entry.name))
    .map((entry) => join(dir, entry.name))
    .sort();
}

interface Rate {
  seconds: number;
  /** CPU seconds of the same run, where the side measures them (`Timed`). */
  cpuSeconds: number | null;
  filesPerSec: number;
  mbPerSec: number;
}

/** Timed files: their count, frames and bytes. */
interface FileSet {
  paths: string[];
  frames: number;
  bytes: number;
}

interface DicomResult {
  corpus: string;
  files: number;
  frames: number;
  bytes: number;
  repeat: number;
  /** Corpus files left out, and why (a side could not decode them). */
  excluded: {
    file: string;
    lantern: string | null;
    pydicom: string | null;
    dcmdump: string | null;
    dcmtk: string | null;
  }[];
  /** Files whose decoded samples sum to the same total on both sides. */
  samplesAgree: number;
  /**
   * YBR JPEG files that pydicom 2.x leaves as YCbCr and Lantern converts to RGB (as pydicom 3 and
   * dcmtk do), whose sum equals that of libjpeg's own conversion through Pillow.
   */
  samplesAgreeAsRgb: string[];
  samplesDiffer: string[];
  /** The timed files dcmtk decodes too: the corpus of the parse + decode comparison with it. */
  dcmtk: {
    files: number;
    frames: number;
    bytes: number;
    /** Timed files dcmtk-decode cannot decode, and why. */
    notDecoded: { file: string; error: string }[];
    /** Files whose decoded samples sum to the same total in Lantern and dcmtk. */
    samplesAgree: number;
    samplesDiffer: string[];
  };
  lantern: Rate;
  lanternParseOnly: Rate;
  /** Parse + decode with each file read through fs/promises (no target: see `ReadMode`). */
  lanternPromisesRead: Rate;
  /** Parse + decode of the files dcmtk decodes. */
  lanternOnDcmtkFiles: Rate;
  pydicom: Rate;
  pydicomParseOnly: Rate;
  dcmdump: Rate;
  dcmtkDecode: Rate;
  /** Parse + decode against pydicom's dcmread + pixel_array. */
  ratioToPydicom: number;
  /** Parse + decode against dcmtk's loadFile + getUncompressedFrame, on the files it decodes. */
  ratioToDcmtkDecode: number;
  /** The same in CPU time (no target: it says what a change did when the cores are shared). */
  cpuRatioToDcmtkDecode: number;
  /** Parse alone against dcmdump, which parses and prints and decodes no pixels. */
  ratioParseToDcmdump: number;
  /**
   * Each side's fastest round (no target): on a shared machine under load, what each does when it
   * has a core to itself for a whole run. The targets are judged on the medians.
   */
  fastest: Record<Side, Rate>;
  versions: { pydicom: string; dcmdump: string };
}

/** What each round times. */
type Side =
  | 'lantern'
  | 'lanternParseOnly'
  | 'lanternPromisesRead'
  | 'lanternOnDcmtkFiles'
  | 'pydicom'
  | 'pydicomParseOnly'
  | 'dcmdump'
  | 'dcmtkDecode';

/** A record of one value for every side. */
function eachSide<T>(value: (side: Side) => T): Record<Side, T> {
  return {
    lantern: value('lantern'),
    lanternParseOnly: value('lanternParseOnly'),
    lanternPromisesRead: value('lanternPromisesRead'),
    lanternOnDcmtkFiles: value('lanternOnDcmtkFiles'),
    pydicom: value('pydicom'),
    pydicomParseOnly: value('pydicomParseOnly'),
    dcmdump: value('dcmdump'),
    dcmtkDecode: value('dcmtkDecode'),
  };
}

async function fileSet(paths: string[], probes: ReadonlyMap<string, DicomProbe>): Promise<FileSet> {
  let frames = 0;
  let bytes = 0;
  for (const path of paths) {
    frames += probes.get(path)?.frames ?? 0;
    bytes += (await stat(path)).size;
  }
  return { paths, frames, bytes };
}

/** The files whose sums differ between two probes (each probe keyed by path). */
function sumsDiffer(
  paths: readonly string[],
  ours: ReadonlyMap<string, DicomProbe>,
  theirs: ReadonlyMap<string, DicomProbe>,
): string[] {
  return paths
    .filter((path) => ours.get(path)?.sum !== theirs.get(path)?.sum)
    .map((path) => basename(path));
}

/** Ours against theirs in CPU time over the same files and passes: their CPU seconds over ours. */
function cpuRatio(ours: Rate, theirs: Rate): number {
  return (theirs.cpuSeconds ?? NaN) / (ours.cpuSeconds ?? NaN);
}

const byFile = (probes: readonly DicomProbe[]): Map<string, DicomProbe> =>
  new Map(probes.map((probe) => [probe.file, probe]));

async function benchDicom(options: Options): Promise<DicomResult> {
  const candidates = await listDicomFiles(options.corpus);
  if (candidates.length === 0) {
    throw new Error(`no .dcm files in ${options.corpus}`);
  }
  log(`dicom: probing ${candidates.length} files in ${options.corpus}`);
  await buildDcmtkDecode();
  const ours = byFile(await probeLantern(candidates));
  const theirs = await python<{ pydicom: string; results: DicomProbe[] }>({
    mode: 'dicom-probe',
    files: candidates,
  });
  const pydicomProbes = byFile(theirs.results);
  const dcmtkProbes = byFile(await probeDcmtkDecode(candidates));
  const paths: string[] = [];
  const excluded: DicomResult['excluded'] = [];
  const samplesDiffer: string[] = [];
  const samplesAgreeAsRgb: string[] = [];
  for (const file of candidates) {
    const a = ours.get(file);
    const b = pydicomProbes.get(file);
    const dump = await probeDcmdump(file);
    if (a?.sum === undefined || b?.sum === undefined || dump !== null) {
      excluded.push({
        file: basename(file),
        lantern: a?.error ?? null,
        pydicom: b?.error ?? null,
        dcmdump: dump,
        dcmtk: dcmtkProbes.get(file)?.error ?? null,
      });
      continue;
    }
    paths.push(file);
    if (a.sum !== b.sum) {
      (a.sum === b.rgbSum ? samplesAgreeAsRgb : samplesDiffer).push(basename(file));
    }
  }
  const timed = await fileSet(paths, ours);
  const dcmtkPaths = paths.filter((path) => dcmtkProbes.get(path)?.sum !== undefined);
  const dcmtkSet = await fileSet(dcmtkPaths, ours);
  const dcmtkDiffer = sumsDiffer(dcmtkPaths, ours, dcmtkProbes);

  const repeat = options.dicomRepeat;
  const passes = (n: number) => Array.from({ length: n }, () => paths).flat();
  // Each times one side (pydicom's process both of its own), `n` passes over its files.
  const timers: ((n: number) => Promise<Partial<Record<Side, Timed>>>)[] = [
    async (n) => ({ lantern: await timeLantern(paths, n, true) }),
    async (n) => ({ lanternParseOnly: await timeLantern(paths, n, false) }),
    async (n) => ({ lanternPromisesRead: await timeLantern(paths, n, true, 'promises') }),
    async (n) => ({ lanternOnDcmtkFiles: await timeLantern(dcmtkPaths, n, true) }),
    async (n) => {
      const py = await python<{ decodeSeconds: number; parseSeconds: number }>({
        mode: 'dicom',
        files: paths,
        repeat: n,
      });
      return {
        pydicom: { seconds: py.decodeSeconds },
        pydicomParseOnly: { seconds: py.parseSeconds },
      };
    },
    async (n) => ({ dcmdump: { seconds: await timeDcmdump(passes(n)) } }),
    async (n) => ({ dcmtkDecode: await timeDcmtkDecode(dcmtkPaths, options.dicomWarmup, n) }),
  ];

  log(
    `dicom: ${paths.length} files read by Lantern, pydicom and dcmdump, ${dcmtkPaths.length} of ` +
      `them decoded by dcmtk; ${options.dicomWarmup} warm-up passes each`,
  );
  for (const time of timers) {
    await time(options.dicomWarmup);
  }
  const runs: Partial<Record<Side, Timed>>[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    log(`dicom: round ${round}/${options.rounds}, ${repeat} passes each`);
    let run: Partial<Record<Side, Timed>> = {};
    for (const time of timers) {
      run = { ...run, ...(await time(repeat)) };
    }
    runs.push(run);
  }
  const rateOf = (side: Side, pick: (seconds: number[]) => number): Rate => {
    const set = side === 'lanternOnDcmtkFiles' || side === 'dcmtkDecode' ? dcmtkSet : timed;
    const seconds = pick(runs.map((run) => run[side]?.seconds ?? NaN));
    const cpuSeconds = runs.map((run) => run[side]?.cpuSeconds ?? NaN);
    return {
      seconds,
      cpuSeconds: cpuSeconds.some(Number.isNaN) ? null : pick(cpuSeconds),
      filesPerSec: (set.paths.length * repeat) / seconds,
      mbPerSec: (set.bytes * repeat) / 1e6 / seconds,
    };
  };
  const medians = eachSide((side) => rateOf(side, median));
  const fastest = eachSide((side) => rateOf(side, (seconds) => Math.min(...seconds)));
  return {
    corpus: options.corpus,
    files: paths.length,
    frames: timed.frames,
    bytes: timed.bytes,
    repeat,
    excluded,
    samplesAgree: paths.length - samplesDiffer.length - samplesAgreeAsRgb.length,
    samplesAgreeAsRgb,
    samplesDiffer,
    dcmtk: {
      files: dcmtkPaths.length,
      frames: dcmtkSet.frames,
      bytes: dcmtkSet.bytes,
      notDecoded: paths
        .filter((path) => !dcmtkPaths.includes(path))
        .map((path) => ({
          file: basename(path),
          error: dcmtkProbes.get(path)?.error ?? 'no answer',
        })),
      samplesAgree: dcmtkPaths.length - dcmtkDiffer.length,
      samplesDiffer: dcmtkDiffer,
    },
    ...medians,
    ratioToPydicom: medians.lantern.filesPerSec / medians.pydicom.filesPerSec,
    ratioToDcmtkDecode: medians.lanternOnDcmtkFiles.filesPerSec / medians.dcmtkDecode.filesPerSec,
    cpuRatioToDcmtkDecode: cpuRatio(medians.lanternOnDcmtkFiles, medians.dcmtkDecode),
    ratioParseToDcmdump: medians.lanternParseOnly.filesPerSec / medians.dcmdump.filesPerSec,
    fastest,
    versions: {
      pydicom: theirs.pydicom,
      dcmdump: await versionOf('dcmdump', ['--version']),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Whole-slide images

type TileRef = [level: number, x: number, y: number];

interface SlideResult {
  source: string;
  width: number;
  height: number;
  levels: number;
  tileSize: string;
  fileBytes: number;
  tiles: number;
  lantern: { seconds: number; tilesPerSec: number };
  openslide: { seconds: number; tilesPerSec: number };
  ratio: number;
  openslideVersion: string;
}

/** Builds the slide: ihc.png enlarged `scale` times, a JPEG pyramid of 256² tiles. */
async function buildSlide(dir: string, scale: number): Promise<string> {
  const slide = join(dir, 'ihc-slide.tif');
  // Resized straight into the pyramid: vips streams it, no full-size image on disk.
  await execFileAsync('vips', [
    'resize',
    IHC,
    `${slide}[tile,pyramid,compression=jpeg,Q=85,tile-width=256,tile-height=256]`,
    String(scale),
  ]);
  return slide;
}

/** The slide built and opened, and its tiles shuffled; built before the DICOM rounds, so that a
 * slide too small for `--tiles` fails the run at once rather than after them. */
interface PreparedSlide {
  path: string;
  slide: Awaited<ReturnType<typeof openSlideFile>>['slide'];
  close: () => Promise<void>;
  all: TileRef[];
}

async function prepareSlide(options: Options, dir: string): Promise<PreparedSlide> {
  log(`slide: vips builds a pyramid from ihc.png enlarged ${options.slideScale}x`);
  const path = await buildSlide(dir, options.slideScale);
  const { slide, close } = await openSlideFile(path);
  try {
    const all: TileRef[] = slide.levels.flatMap((level, index) =>
      Array.from({ length: level.tilesAcross * level.tilesDown }, (_, i): TileRef => [
        index,
        i % level.tilesAcross,
        Math.floor(i / level.tilesAcross),
      ]),
    );
    // Each round and side reads its own tiles, none read before (no cache can help).
    const needed = (WARMUP_TILES + options.tiles) * options.rounds * 2;
    if (all.length < needed) {
      throw new Error(
        `the slide has ${all.length} tiles, fewer than the ${needed} needed; raise --slide-scale or lower --tiles`,
      );
    }
    shuffle(all, new Random('bench/formats'));
    return { path, slide, close, all };
  } catch (error) {
    await close();
    throw error;
  }
}

async function benchSlide(options: Options, prepared: PreparedSlide): Promise<SlideResult> {
  const { path, slide, close, all } = prepared;
  try {
    const draw = (() => {
      let at = 0;
      return (n: number): TileRef[] => all.slice(at, (at += n));
    })();

    const lanternRead = async (tiles: readonly TileRef[]): Promise<number> => {
      const started = performance.now();
      for (const [level, x, y] of tiles) {
        await slide.readTilePixels(level, x, y);
      }
      return (performance.now() - started) / 1000;
    };
    const runs: { lantern: number; openslide: number }[] = [];
    let openslideVersion = 'unknown';
    for (let round = 1; round <= options.rounds; round += 1) {
      log(`slide: round ${round}/${options.rounds}, ${options.tiles} random tiles each`);
      await lanternRead(draw(WARMUP_TILES));
      const lantern = await lanternRead(draw(options.tiles));
      const peer = await python<{
        openslide: string;
        seconds: number;
        levels: { width: number; height: number }[];
      }>({
        mode: 'openslide',
        path,
        warmup: draw(WARMUP_TILES),
        tiles: draw(options.tiles),
      });
      checkSameLevels(slide.levels, peer.levels);
      openslideVersion = peer.openslide;
      runs.push({ lantern, openslide: peer.seconds });
    }
    const level0 = slide.levels[0];
    const perSec = (seconds: number) => ({ seconds, tilesPerSec: options.tiles / seconds });
    const lantern = perSec(median(runs.map((r) => r.lantern)));
    const openslide = perSec(median(runs.map((r) => r.openslide)));
    return {
      source: `${IHC} x${options.slideScale}, vips tiffsave --pyramid, JPEG Q85`,
      width: level0?.width ?? 0,
      height: level0?.height ?? 0,
      levels: slide.levels.length,
      tileSize: `${level0?.tileWidth ?? 0}x${level0?.tileHeight ?? 0}`,
      fileBytes: (await stat(path)).size,
      tiles: options.tiles,
      lantern,
      openslide,
      ratio: lantern.tilesPerSec / openslide.tilesPerSec,
      openslideVersion,
    };
  } finally {
    await close();
  }
}

/** Both sides must read the same pyramid, or the tiles would not be the same tiles. */
function checkSameLevels(
  ours: readonly { width: number; height: number }[],
  theirs: readonly { width: number; height: number }[],
): void {
  const text = (levels: readonly { width: number; height: number }[]) =>
    levels.map((l) => `${l.width}x${l.height}`).join(', ');
  if (text(ours) !== text(theirs)) {
    throw new Error(`levels differ: Lantern ${text(ours)}, OpenSlide ${text(theirs)}`);
  }
}

/** Fisher–Yates, seeded. */
function shuffle<T>(items: T[], random: Random): void {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = random.integer(0, i);
    const a = items[i];
    const b = items[j];
    if (a !== undefined && b !== undefined) {
      items[i] = b;
      items[j] = a;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface Report {
  startedAt: string;
  environment: {
    node: string;
    cpus: number;
    cpuModel: string;
    /** 1-, 5- and 15-minute load averages when the run started and when it ended. */
    load: { start: number[]; end: number[] };
  };
  options: Omit<Options, 'outFile'>;
  dicom: DicomResult;
  slide: SlideResult;
  targets: {
    dicomVsPydicom: Target;
    dicomVsDcmtkDecode: Target;
    dicomParseVsDcmdump: Target;
    slideVsOpenslide: Target;
  };
}

interface Target {
  target: number;
  actual: number;
  pass: boolean;
}

const target = (actual: number): Target => ({
  target: TARGET_RATIO,
  actual,
  pass: actual >= TARGET_RATIO,
});

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const passFail = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');

function printReport(report: Report): void {
  const { dicom: d, slide: s, targets, environment: env } = report;
  // Files a CPU second: files a wall second scaled by wall over CPU seconds, where measured.
  const perCpu = (rate: Rate) =>
    rate.cpuSeconds === null ? '—' : fmt((rate.filesPerSec * rate.seconds) / rate.cpuSeconds);
  const row = (name: string, rate: Rate) =>
    `  ${name.padEnd(42)}${fmt(rate.filesPerSec).padStart(9)}${fmt(rate.mbPerSec, 1).padStart(9)}` +
    perCpu(rate).padStart(13);
  const judged = (name: string, measured: Target) =>
    `  ${name}: ${fmt(measured.actual, 2)}x (target >= ${fmt(TARGET_RATIO, 1)}x)  ${passFail(measured.pass)}`;
  const ratio = (ours: Rate, theirs: Rate) => `${fmt(ours.filesPerSec / theirs.filesPerSec, 2)}x`;
  const load = (values: number[]) => values.map((value) => fmt(value, 2)).join(' ');
  const lines = [
    '',
    `Formats benchmark: Node ${env.node}, ${env.cpus} CPU(s), ${report.options.rounds} round(s) ` +
      `(medians); load average ${load(env.load.start)} at the start, ${load(env.load.end)} at the end`,
    '',
    `DICOM: ${d.files} files, ${d.frames} frames, ${fmt(d.bytes / 1e6, 1)} MB, from ${d.corpus}, ` +
      `${d.repeat} passes a run; dcmtk decodes ${d.dcmtk.files} of them (${d.dcmtk.frames} frames, ` +
      `${fmt(d.dcmtk.bytes / 1e6, 1)} MB)`,
    `  ${''.padEnd(42)}${'files/s'.padStart(9)}${'MB/s'.padStart(9)}${'files/CPU s'.padStart(13)}`,
    row('Lantern parse + decode', d.lantern),
    row(`pydicom ${d.versions.pydicom} dcmread + pixel_array`, d.pydicom),
    row(`Lantern parse + decode, dcmtk's ${d.dcmtk.files} files`, d.lanternOnDcmtkFiles),
    row('dcmtk loadFile + getUncompressedFrame', d.dcmtkDecode),
    row('Lantern parse only', d.lanternParseOnly),
    row('dcmdump (parse + print)', d.dcmdump),
    row('Lantern parse + decode, async reads', d.lanternPromisesRead),
    row('pydicom dcmread only', d.pydicomParseOnly),
    `  decoded samples agree with pydicom's on ${d.samplesAgree} of ${d.files} files` +
      (d.samplesDiffer.length > 0 ? ` (differ: ${d.samplesDiffer.join(', ')})` : ''),
    ...(d.samplesAgreeAsRgb.length > 0
      ? [
          `  and on ${d.samplesAgreeAsRgb.length} YBR JPEG files with libjpeg's RGB through Pillow ` +
            `(pydicom 2.x leaves them YCbCr): ${d.samplesAgreeAsRgb.join(', ')}`,
        ]
      : []),
    `  decoded samples agree with dcmtk's on ${d.dcmtk.samplesAgree} of ${d.dcmtk.files} files` +
      (d.dcmtk.samplesDiffer.length > 0 ? ` (differ: ${d.dcmtk.samplesDiffer.join(', ')})` : ''),
    `  left out (not read by Lantern, pydicom and dcmdump): ` +
      (d.excluded.map((e) => e.file).join(', ') || 'none'),
    `  not decoded by dcmtk (timed against the others only): ` +
      (d.dcmtk.notDecoded.map((e) => e.file).join(', ') || 'none'),
    judged('parse + decode vs pydicom', targets.dicomVsPydicom),
    judged('parse + decode vs dcmtk (decode)', targets.dicomVsDcmtkDecode) +
      `; in CPU time ${fmt(d.cpuRatioToDcmtkDecode, 2)}x`,
    judged('parse only vs dcmdump (parse + print)', targets.dicomParseVsDcmdump),
    `  fastest rounds (no target): ${ratio(d.fastest.lantern, d.fastest.pydicom)} pydicom, ` +
      `${ratio(d.fastest.lanternOnDcmtkFiles, d.fastest.dcmtkDecode)} dcmtk (decode) ` +
      `(${fmt(cpuRatio(d.fastest.lanternOnDcmtkFiles, d.fastest.dcmtkDecode), 2)}x in CPU time), ` +
      `${ratio(d.fastest.lanternParseOnly, d.fastest.dcmdump)} dcmdump (parse only)`,
    '',
    `Slide: ${s.width}x${s.height}, ${s.levels} levels, ${s.tileSize} JPEG tiles, ${fmt(s.fileBytes / 1e6, 1)} MB; ` +
      `${s.tiles} random tiles a run, each decoded to RGB`,
    `  Lantern readTilePixels          ${fmt(s.lantern.tilesPerSec).padStart(7)} tiles/s`,
    `  OpenSlide ${s.openslideVersion.padEnd(6)} read_region       ${fmt(s.openslide.tilesPerSec).padStart(7)} tiles/s`,
    judged('vs OpenSlide', targets.slideVsOpenslide),
  ];
  console.log(lines.join('\n'));
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'lantern-bench-formats-'));
  try {
    const startedAt = new Date().toISOString();
    const loadAtStart = loadavg();
    const prepared = await prepareSlide(options, dir);
    const dicom = await benchDicom(options);
    const slide = await benchSlide(options, prepared);
    const { outFile: _outFile, ...shown } = options;
    const report: Report = {
      startedAt,
      environment: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        load: { start: loadAtStart, end: loadavg() },
      },
      options: shown,
      dicom,
      slide,
      targets: {
        dicomVsPydicom: target(dicom.ratioToPydicom),
        dicomVsDcmtkDecode: target(dicom.ratioToDcmtkDecode),
        dicomParseVsDcmdump: target(dicom.ratioParseToDcmdump),
        slideVsOpenslide: target(slide.ratio),
      },
    };
    printReport(report);
    await mkdir(dirname(options.outFile), { recursive: true });
    await writeFile(options.outFile, JSON.stringify(report, null, 2) + '\n');
    log(`results written to ${options.outFile}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
