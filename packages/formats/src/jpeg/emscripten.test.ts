import { describe, expect, it } from 'vitest';
import { WasmCodec } from './emscripten.js';
import { errorOf } from '../testing/error-of.js';

/** The one class of OpenJPEG's decode build used here. */
interface OpenJpegModule {
  J2KDecoder: new () => { getEncodedBuffer(size: number): Uint8Array; delete(): void };
}

class TestCodecError extends Error {
  override readonly name = 'TestCodecError';
}

/** OpenJPEG's real build, with what each call gets: its module and a decoder made for it. */
function openjpeg(maxHeapBytes?: number) {
  let released = 0;
  const codec = new WasmCodec<
    OpenJpegModule,
    { module: object; decoder: InstanceType<OpenJpegModule['J2KDecoder']> }
  >(
    {
      packageName: '@cornerstonejs/codec-openjpeg',
      wasm: 'decodewasm',
      glue: 'decodewasmjs',
      library: 'OpenJPEG',
    },
    (module) =>
      module.J2KDecoder === undefined ? null : { module, decoder: new module.J2KDecoder() },
    ({ decoder }) => {
      released += 1;
      decoder.delete();
    },
    TestCodecError,
    maxHeapBytes,
  );
  return { codec, released: () => released };
}

/** A WebAssembly.RuntimeError, what a trap (unreachable, an abort) throws. */
function runtimeError(message: string): Error {
  const api: unknown = Reflect.get(globalThis, 'WebAssembly');
  const RuntimeError: unknown =
    typeof api === 'object' && api !== null ? Reflect.get(api, 'RuntimeError') : undefined;
  if (typeof RuntimeError !== 'function') {
    throw new Error('this runtime has no WebAssembly');
  }
  const made: unknown = Reflect.construct(RuntimeError, [message]);
  if (!(made instanceof Error)) {
    throw new Error('WebAssembly.RuntimeError is not an Error');
  }
  return made;
}

type Live = Parameters<Parameters<ReturnType<typeof openjpeg>['codec']['run']>[1]>[0];

describe('WasmCodec: an Emscripten build loaded synchronously, renewed after failures', () => {
  it('keeps the instance and its objects between calls that succeed', () => {
    const { codec } = openjpeg();
    const first = codec.run('look', (live) => live);
    const second = codec.run('look', (live) => live);
    expect(second).toBe(first);
    expect(codec.run('fill a buffer', ({ decoder }) => decoder.getEncodedBuffer(16).length)).toBe(
      16,
    );
  });

  it('after a refusal (its own error, or a C++ exception as a number) keeps the instance, with new objects', () => {
    const { codec, released } = openjpeg();
    const before: Live = codec.run('look', (live) => live);
    const refused = errorOf(() =>
      codec.run('decode', () => {
        throw new TestCodecError('the stream is not one');
      }),
    );
    expect(refused).toBeInstanceOf(TestCodecError);
    expect(String(refused)).toContain('the stream is not one');
    const after: Live = codec.run('look', (live) => live);
    expect(after.module).toBe(before.module);
    expect(after.decoder).not.toBe(before.decoder);
    expect(released()).toBe(1);

    const thrown = errorOf(() =>
      codec.run('decode', () => {
        // What a C++ exception reaches JavaScript as: the exception object's address.
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 12_345;
      }),
    );
    expect(thrown).toBeInstanceOf(TestCodecError);
    expect(String(thrown)).toContain('OpenJPEG could not decode');
    expect(codec.run('look', (live) => live.module)).toBe(before.module);
  });

  it('after a trap (a WebAssembly RuntimeError) makes a new instance', () => {
    const { codec } = openjpeg();
    const before: Live = codec.run('look', (live) => live);
    const trapped = errorOf(() =>
      codec.run('decode', () => {
        throw runtimeError('unreachable');
      }),
    );
    expect(trapped).toBeInstanceOf(TestCodecError);
    expect(String(trapped)).toContain('OpenJPEG could not decode: unreachable');
    const after: Live = codec.run('look', (live) => live);
    expect(after.module).not.toBe(before.module);
    expect(after.decoder.getEncodedBuffer(8).length).toBe(8);
  });

  it('drops an instance whose memory grew past its bound, after answering', () => {
    const { codec } = openjpeg(1);
    const first: Live = codec.run('look', (live) => live);
    const second: Live = codec.run('look', (live) => live);
    expect(second.module).not.toBe(first.module);
  });
});
