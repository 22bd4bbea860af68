/**
 * C and C++ codecs compiled to WebAssembly by Emscripten and shipped inside npm packages
 * (cornerstone's `@cornerstonejs/codec-*`: libjpeg-turbo, OpenJPEG, CharLS, OpenJPH), loaded
 * synchronously from node_modules: the .wasm is read and compiled once, on first use, and
 * Emscripten's `instantiateWasm` hook is given an instance made at once, so the runtime and its
 * embind classes are ready when the factory returns (its promise only repeats that). No fetch, no
 * top-level await, so `decodeFrame` stays synchronous.
 *
 * Every call runs on a live instance through `WasmCodec.run`. A trap (an abort, an access out of
 * bounds: a `RuntimeError`) drops the instance, and a fresh one is made from the compiled module on
 * next use, so that a hostile stream that leaves the C heap in a bad state cannot affect the next
 * one. A refusal (a C++ exception, which reaches JavaScript as a number, or the caller's own check
 * of what the library returned) keeps the instance but makes the decoder objects anew: making an
 * instance per refusal costs a WebAssembly memory each, which V8 frees only in a full collection,
 * and a run of damaged streams then spent most of its time collecting. An instance whose memory
 * grew past `maxHeapBytes` (what a refusal leaked, or a large image) is dropped too, after its
 * answer has been copied out, so it does not keep that memory for the life of the process. What the library prints (OpenJPEG
 * reports its errors only so) is kept for the call, not written to the console.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** What Emscripten's `instantiateWasm` hook gets and gives (opaque here). */
type WasmImports = object;
type WasmExports = object;

/** A compiled WebAssembly module (opaque here). */
export interface WasmCompiled {
  readonly compiled: unique symbol;
}

/** The part of Node's WebAssembly JavaScript API used here (lib ES2023 does not declare it). */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmCompiled;
  Instance: new (module: WasmCompiled, imports: WasmImports) => { exports: WasmExports };
}

/** The settings an Emscripten factory reads from its module argument, and what it adds to it. */
export interface EmscriptenSettings {
  wasmBinary: Uint8Array;
  instantiateWasm: (
    imports: WasmImports,
    receive: (instance: { exports: WasmExports }) => void,
  ) => WasmExports;
  print: (line: string) => void;
  printErr: (line: string) => void;
  /** Set by the runtime: a view of the instance's whole memory. */
  HEAPU8?: Uint8Array;
}

type EmscriptenFactory = (module: EmscriptenSettings) => Promise<unknown>;

/** Where a codec's build is in its npm package (subpaths of the package's `exports`). */
export interface EmscriptenBuild {
  /** The npm package, such as `@cornerstonejs/codec-openjpeg`. */
  packageName: string;
  /** The export of the .wasm file, such as `decodewasm`. */
  wasm: string;
  /** The export of the Emscripten glue (a CommonJS factory), such as `decodewasmjs`. */
  glue: string;
  /** The library's name in error messages, such as `OpenJPEG`. */
  library: string;
}

/** Whether `value` is the WebAssembly API (`Reflect.get(globalThis, 'WebAssembly')`). */
export function isWasmApi(value: unknown): value is WasmApi {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof Reflect.get(value, 'Module') === 'function' &&
    typeof Reflect.get(value, 'Instance') === 'function'
  );
}

const requireFromHere = createRequire(import.meta.url);

/** An instance whose memory grew past this is dropped after its call (256 MiB). */
const DEFAULT_MAX_HEAP_BYTES = 256 * 2 ** 20;

/**
 * One Emscripten build: compiled once, instantiated again after any failure. `TModule` is the
 * embind classes the build registers; `start` makes what the calls use (decoder objects) from an
 * instance's module (null when its classes are not there), and `release` frees them (embind's
 * `delete`); `CodecError` is the codec's own error.
 */
export class WasmCodec<TModule extends object, TLive> {
  private compiled: { wasm: Uint8Array; module: WasmCompiled; api: WasmApi } | null = null;
  private live: { state: TLive; settings: EmscriptenSettings & Partial<TModule> } | null = null;
  private printed: string[] = [];

  constructor(
    private readonly build: EmscriptenBuild,
    private readonly start: (module: Partial<TModule>) => TLive | null,
    private readonly release: (live: TLive) => void,
    private readonly CodecError: new (message: string) => Error,
    private readonly maxHeapBytes = DEFAULT_MAX_HEAP_BYTES,
  ) {}

  /** Makes a live instance, compiling the module first if this is the first use. */
  private instance(): TLive {
    if (this.live !== null) {
      return this.live.state;
    }
    const { packageName, wasm: wasmExport, glue, library } = this.build;
    if (this.compiled === null) {
      const api: unknown = Reflect.get(globalThis, 'WebAssembly');
      if (!isWasmApi(api)) {
        throw new this.CodecError('this runtime has no WebAssembly');
      }
      const wasm = readFileSync(requireFromHere.resolve(`${packageName}/${wasmExport}`));
      this.compiled = { wasm, module: new api.Module(wasm), api };
    }
    const { wasm, module, api } = this.compiled;
    const factory: unknown = requireFromHere(`${packageName}/${glue}`);
    if (typeof factory !== 'function') {
      throw new this.CodecError(`${packageName}/${glue} is not an Emscripten factory`);
    }
    const keep = (line: string) => {
      // Bounded: a stream cannot make the library print without end into memory.
      if (this.printed.length < 64) {
        this.printed.push(line);
      }
    };
    const base: EmscriptenSettings = {
      wasmBinary: wasm,
      instantiateWasm: (imports, receive) => {
        const instance = new api.Instance(module, imports);
        receive(instance);
        return instance.exports;
      },
      print: keep,
      printErr: keep,
    };
    // The factory adds the build's classes to the object it is given.
    const registered: Partial<TModule> = {};
    const settings = Object.assign(base, registered);
    void (factory as EmscriptenFactory)(settings);
    const state = this.start(settings);
    if (state === null) {
      throw new this.CodecError(`${library} (${packageName}) did not start synchronously`);
    }
    this.live = { state, settings };
    return state;
  }

  /**
   * After a refusal the instance stays (the library returned or threw as it meant to; whatever
   * it leaked is bounded by `maxHeapBytes`), but the objects a call uses are made anew, so that
   * no state of the refused stream is left in them.
   */
  private renew(): void {
    const live = this.live;
    if (live === null) {
      return;
    }
    try {
      this.release(live.state);
      const state = this.start(live.settings);
      this.live = state === null ? null : { state, settings: live.settings };
    } catch {
      this.live = null;
    }
  }

  /**
   * Runs `work` on the live instance, given what the library printed during it; any failure
   * becomes the codec's error (saying what could not be done, and why). A trap (an abort, an
   * access out of bounds: a `WebAssembly.RuntimeError`) or any failure other than a refusal drops
   * the instance; a refusal (the codec's own error, or a C++ exception, which reaches JavaScript
   * as a number) renews the objects it used.
   */
  run<T>(what: string, work: (live: TLive, printed: () => readonly string[]) => T): T {
    this.printed = [];
    try {
      return work(this.instance(), () => this.printed);
    } catch (error) {
      const isRefusal = error instanceof this.CodecError || typeof error === 'number';
      if (isRefusal) {
        this.renew();
      } else {
        this.live = null;
      }
      if (error instanceof this.CodecError) {
        throw error;
      }
      const detail = error instanceof Error ? `: ${error.message}` : '';
      throw new this.CodecError(`${this.build.library} could not ${what}${detail}`);
    } finally {
      const heap = this.live?.settings.HEAPU8?.buffer.byteLength ?? 0;
      if (heap > this.maxHeapBytes) {
        this.live = null;
      }
    }
  }
}
