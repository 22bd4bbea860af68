/**
 * Sequential Huffman-coded DCT JPEG (SOF0, SOF1; 8 and 12 bits) and lossless JPEG (SOF3, 2 to 16
 * bits) decoded by this package's own C decoder compiled to WebAssembly with SIMD
 * (packages/formats/native/jpeg/decode.c, built by scripts/build-wasm.sh into
 * `./sequential-wasm.generated.ts`): the fast path of `decodeJpegSamples` (8-bit frames and slide
 * tiles, as libjpeg-turbo gives them), `decodeJpegSequential` (12-bit and extended frames, as IJG
 * 6b gives them) and `decodeJpegLossless`. It returns null for what it leaves to those modules'
 * own decoders (progressive, arithmetic, hierarchical, libjpeg-turbo's 1 x 2 chroma, ...), which
 * then decode as before; anything it refuses becomes the caller's typed error, with the message
 * the JavaScript decoder gives for the same fault. The same module holds a baseline encoder
 * (native/jpeg/encode.c), `encodeBaselineWasm`: libjpeg-turbo's bytes for RGB, 4:4:4.
 *
 * The module is compiled once, on first use, synchronously. An instance serves one call at a
 * time; after a refusal or a trap it is dropped and the next call makes a new one, so no state of
 * a hostile stream outlives its call, and so is one whose memory grew past 64 MiB (a large frame),
 * after its samples are copied out.
 */
import { isWasmApi, type WasmApi, type WasmCompiled } from './emscripten.js';
import { SEQUENTIAL_WASM_BASE64 } from './sequential-wasm.generated.js';

/**
 * Which decoder's samples to give: libjpeg-turbo's (8-bit sequential frames), IJG 6b's as
 * sequential.ts has them (sequential frames), or lossless.ts's (lossless frames, SOF3).
 */
export type WasmJpegFlavour = 'libjpeg-turbo' | 'ijg' | 'lossless';

/** The three components as coded, converted from YCbCr to RGB, or as libjpeg guesses. */
export type WasmJpegColour = 'as-coded' | 'ycbcr' | 'auto';

/** A decoded frame: interleaved samples, rows top down; 8 bits or fewer as bytes, else 16-bit words. */
export interface WasmDecodedJpeg {
  width: number;
  height: number;
  components: number;
  precision: number;
  samples: Uint8Array | Uint16Array;
}

interface DecoderExports {
  memory: { buffer: ArrayBuffer };
  jd_input(length: number): number;
  jd_result(): number;
  jd_decode(length: number, width: number, height: number, count: number, flags: number): number;
  je_input(length: number): number;
  je_encode(width: number, height: number, quality: number): number;
  je_output(): number;
}

function isDecoderExports(value: object): value is DecoderExports {
  return (
    Reflect.get(Reflect.get(value, 'memory') ?? {}, 'buffer') instanceof ArrayBuffer &&
    ['jd_input', 'jd_result', 'jd_decode', 'je_input', 'je_encode', 'je_output'].every(
      (name) => typeof Reflect.get(value, name) === 'function',
    )
  );
}

const MAX_KEPT_MEMORY_BYTES = 64 * 2 ** 20;
/** decode.c's first code of what it leaves to the other decoders (U_PROCESS). */
const FIRST_UNSUPPORTED = 100;
const FLAVOUR_FLAGS: Record<WasmJpegFlavour, number> = { ijg: 0, 'libjpeg-turbo': 4, lossless: 8 };
const COLOUR_FLAGS: Record<WasmJpegColour, number> = { 'as-coded': 0, ycbcr: 1, auto: 2 };

let compiled: { api: WasmApi; module: WasmCompiled } | null = null;
let live: DecoderExports | null = null;
/** Instances made so far, which `dropInstanceForTesting` tells. */
let made = 0;

function instance(): DecoderExports {
  if (live !== null) {
    return live;
  }
  if (compiled === null) {
    const api: unknown = Reflect.get(globalThis, 'WebAssembly');
    if (!isWasmApi(api)) {
      throw new Error('this runtime has no WebAssembly');
    }
    compiled = { api, module: new api.Module(Buffer.from(SEQUENTIAL_WASM_BASE64, 'base64')) };
  }
  const { exports } = new compiled.api.Instance(compiled.module, {});
  if (!isDecoderExports(exports)) {
    throw new Error('the JPEG codec module lacks its exports');
  }
  live = exports;
  made += 1;
  return exports;
}

/**
 * For tests: drops the live instance, so that the next call makes a new one, whose memory no call
 * has written, and returns how many instances have been made, so that a test can tell whether the
 * calls it made between two of these shared one (the count grew by one) or not.
 */
export function dropInstanceForTesting(): number {
  live = null;
  return made;
}

/** decode.c's `result`: code, offset, six numbers, samples' address, size, precision. */
interface DecodeResult {
  code: number;
  offset: number;
  detail: number[];
  samples: number;
  precision: number;
}

function readResult(exports: DecoderExports): DecodeResult {
  const words = new Int32Array(exports.memory.buffer, exports.jd_result(), 16);
  return {
    code: words[0] ?? 0,
    offset: words[1] ?? 0,
    detail: Array.from(words.subarray(2, 8)),
    samples: (words[8] ?? 0) >>> 0,
    precision: words[12] ?? 0,
  };
}

type Expected = { width: number; height: number; components: number };

/** The message of a refusal: sequential.ts's words for the same fault. */
function messageOf({ code, offset: at, detail }: DecodeResult, expected: Expected): string {
  const [a = 0, b = 0, c = 0, d = 0, e = 0] = detail;
  const messages: Record<number, string> = {
    1: 'the stream does not start with SOI',
    2: `the stream ends at byte ${at} without EOI`,
    3: `byte ${at} is not a marker`,
    4: `the marker at byte ${at} has no length`,
    5: `the segment at byte ${at} declares ${a} bytes, past the stream's end`,
    6: 'the stream has two frame headers',
    7: `the frame header at byte ${at} is malformed`,
    8: `the frame is ${a} x ${b} x ${c}, not ${expected.width} x ${expected.height} x ${expected.components}`,
    9: `component ${a} of the frame at byte ${at} is sampled ${b} x ${c}, table ${d}`,
    10: `the frame at byte ${at} names component ${a} twice`,
    11: `component ${a} is sampled ${b} x ${c} of ${d} x ${e}, not a whole fraction`,
    12: `the quantization table at byte ${at} is malformed`,
    13: `the Huffman table at byte ${at} is of class ${a}, id ${b}`,
    14: `the Huffman table at byte ${at} is malformed`,
    15: `the Huffman table at byte ${at} has more codes than fit`,
    16: `the restart interval at byte ${at} is not 2 bytes`,
    17: `the scan at byte ${at} comes before the frame header`,
    18: `the stream has a DNL marker at byte ${at}, not after the first scan of a frame of 0 lines`,
    19: `marker 0xFF${a.toString(16).toUpperCase()} at byte ${at} is out of place`,
    20: 'the stream has no frame header',
    21: `component ${a} is in no scan`,
    22: `the scan header at byte ${at} is malformed`,
    23: `the scan at byte ${at} names an unknown or repeated component`,
    24: `the scan at byte ${at} codes component ${a} a second time`,
    25: `the scan at byte ${at} uses a Huffman table never defined`,
    26: `the scan at byte ${at} uses a quantization table never defined`,
    27: `the scan at byte ${at} has ${a} blocks a unit, more than 10 (B.2.3)`,
    28: `the scan data ends in row ${a} of ${b} of its units`,
    29: 'the scan data ends before its restart marker',
    30: `restart marker RST${a} is missing at byte ${at}`,
    31: 'the stream ends inside a scan, without EOI',
    32: `the scan holds a code no Huffman table has (near byte ${at})`,
    33: `the scan codes a DC difference of ${a} bits (near byte ${at})`,
    34: `the scan codes a coefficient past the 64th of its block (near byte ${at})`,
    35: `the frame declares 0 lines and its first scan is not followed by DNL (FFDC) at byte ${at}`,
    36: `the DNL segment at byte ${at} is not 4 bytes long, or is cut short`,
    37: `the DNL segment at byte ${at} declares ${a} lines, not ${b}`,
    38: 'the frame declares 0 lines (to be defined by DNL) and no height is expected',
    39: `the decoder's memory cannot grow to hold ${a} more bytes`,
    40: `the frame is of process 0x${a.toString(16).toUpperCase()}, not lossless (0xC3)`,
    41: `the frame's precision is ${a} bits, not 2 to 16`,
    42: `the frame is ${a} x ${b}`,
    43: `component ${a} is sampled ${b} x ${c}; only 1 x 1 is read`,
    44: `the Huffman table at byte ${at} codes a ${a}-bit difference`,
    45: `the scan at byte ${at} has predictor ${a}, not 1 to 7`,
    46: `the scan at byte ${at} shifts by ${a} bits`,
    47: `the restart interval (${a}) is not a whole number of rows of ${b}`,
    48: `the scan data ends in row ${a} of ${b}`,
    49: 'the stream has no frame or no scan',
  };
  return messages[code] ?? `the decoder refused the stream (code ${code}, byte ${at})`;
}

/**
 * Decodes a sequential Huffman-coded JPEG stream whose frame must be `expected`'s size, or returns
 * null when the stream is of a kind this decoder leaves to the others. A refusal is `CodecError`.
 */
export function decodeSequentialWasm(
  stream: Uint8Array,
  expected: Expected,
  options: { colour: WasmJpegColour; flavour: WasmJpegFlavour },
  CodecError: new (message: string) => Error,
): WasmDecodedJpeg | null {
  const exports = startedInstance('decoder', CodecError);
  let result: DecodeResult;
  try {
    const input = exports.jd_input(stream.length);
    if (input === 0) {
      throw new CodecError(`the decoder's memory cannot hold a stream of ${stream.length} bytes`);
    }
    new Uint8Array(exports.memory.buffer, input, stream.length).set(stream);
    const flags = COLOUR_FLAGS[options.colour] | FLAVOUR_FLAGS[options.flavour];
    const { width, height, components } = expected;
    exports.jd_decode(stream.length, width, height, components, flags);
    result = readResult(exports);
  } catch (error) {
    throw dropAfter(error, 'decoder', CodecError);
  }
  if (result.code >= FIRST_UNSUPPORTED) {
    return null;
  }
  if (result.code !== 0) {
    live = null;
    throw new CodecError(messageOf(result, expected));
  }
  const size = expected.width * expected.height * expected.components;
  const buffer = exports.memory.buffer;
  // Copied by `set` into a new array: Uint16Array's `slice` took 3 times as long (V8 12).
  let samples: Uint8Array | Uint16Array;
  if (result.precision <= 8) {
    samples = new Uint8Array(size);
    samples.set(new Uint8Array(buffer, result.samples, size));
  } else {
    samples = new Uint16Array(size);
    samples.set(new Uint16Array(buffer, result.samples, size));
  }
  dropWhenLarge(buffer);
  return { ...expected, precision: result.precision, samples };
}

/** The live instance, or `CodecError` saying why the module could not start. */
function startedInstance(
  role: 'decoder' | 'encoder',
  CodecError: new (message: string) => Error,
): DecoderExports {
  try {
    return instance();
  } catch (error) {
    throw new CodecError(
      `the JPEG ${role} could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * Drops the instance after a trap or a refusal (the next call gets a new one) and returns the
 * error to throw: `CodecError` as it is, anything else (a trap) as a `CodecError`.
 */
function dropAfter(
  error: unknown,
  role: 'decoder' | 'encoder',
  CodecError: new (message: string) => Error,
): Error {
  live = null;
  if (error instanceof CodecError) {
    return error;
  }
  return new CodecError(
    `the JPEG ${role} failed: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/** Drops an instance whose memory grew past what is worth keeping, once its output is copied. */
function dropWhenLarge(buffer: ArrayBuffer) {
  if (buffer.byteLength > MAX_KEPT_MEMORY_BYTES) {
    live = null;
  }
}

/**
 * Encodes 8-bit RGB (rows top down, `width` x `height`, which the caller has checked, as it has
 * the quality, 1 to 100) as the baseline JFIF stream libjpeg-turbo's TurboJPEG writes at 4:4:4.
 * The encoder's memory failing to grow is `CodecError`.
 */
export function encodeBaselineWasm(
  rgb: Uint8Array,
  width: number,
  height: number,
  quality: number,
  CodecError: new (message: string) => Error,
): Uint8Array {
  const exports = startedInstance('encoder', CodecError);
  let length: number;
  try {
    const input = exports.je_input(rgb.length) >>> 0;
    if (input === 0) {
      throw new CodecError(`the encoder's memory cannot hold an image of ${rgb.length} bytes`);
    }
    new Uint8Array(exports.memory.buffer, input, rgb.length).set(rgb);
    length = exports.je_encode(width, height, quality) >>> 0;
  } catch (error) {
    throw dropAfter(error, 'encoder', CodecError);
  }
  if (length === 0) {
    live = null;
    throw new CodecError(
      `the encoder's memory cannot grow to hold the stream of ${width} x ${height}`,
    );
  }
  const buffer = exports.memory.buffer;
  const stream = new Uint8Array(length);
  stream.set(new Uint8Array(buffer, exports.je_output() >>> 0, length));
  dropWhenLarge(buffer);
  return stream;
}
