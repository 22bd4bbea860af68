/**
 * The dtypes ingest keeps beyond the typed arrays of the same width (64-bit integers, half floats,
 * booleans) read exactly and written back byte for byte, and complex numbers refused, against
 * golden files Debian's NumPy writes in the test itself (/usr/bin/python3, python3-numpy).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { errorOf } from '../testing/error-of.js';
import { describeEcg } from './describe-ecg.js';
import { readNpy, readNpyHeader, writeNpy, type NpyArray } from './npy.js';
import { readEcgNpy } from './npz.js';

/**
 * Writes the golden files into the folder it is given and prints, as JSON, what NumPy reads in
 * them: integers as decimal strings (past 2^53), half floats as the bits of their float32 values
 * (NaN's payload included).
 */
const GOLDEN = `
import json, sys
import numpy as np
out = sys.argv[1]
def save(name, array):
    np.save(f"{out}/{name}", array)
i8 = np.array([[-2**63, -1, 0], [1, 2**53 + 1, 2**63 - 1]], dtype='<i8')
u8 = np.array([0, 1, 2**53 + 1, 2**64 - 1], dtype='<u8')
halves = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0**-14, 2.0**-24, -(2.0**-24) * 3,
                   np.inf, -np.inf, np.nan], dtype='<f2')
halves = np.concatenate([halves, np.array([0x7e01, 0xfc01], dtype='<u2').view('<f2')])
save('i8.npy', i8)
save('i8-big.npy', i8.astype('>i8'))
save('u8.npy', u8)
save('f2.npy', halves)
save('f2-big.npy', halves.astype('>f2'))
save('b1.npy', np.array([[True, False, True], [False, False, True]]))
save('b1-fortran.npy', np.asfortranarray(np.array([[True, False, True], [False, False, True]])))
# float32 values that test float16's rounding: ties either way, carries, overflow, subnormals.
f4 = np.array([1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11, 1.0 + 2.0**-11 + 2.0**-20, 2047.5, 65519.0,
               65520.0, 1e6, 2.0**-25, 2.0**-25 * 1.5, 2.0**-24 * 2.5, 2.0**-15 + 2.0**-30,
               -0.1, 3.14159, 1e-7], dtype='<f4')
save('rounding-source.npy', f4)
with np.errstate(over='ignore'):
    save('rounding.npy', f4.astype('<f2'))
save('c8.npy', np.array([1 + 2j, 3 - 4j], dtype='<c8'))
save('c16.npy', np.array([1 + 2j], dtype='<c16'))
# A per-ECG array in int64, as pandas and many partners write integers.
ecg = (np.arange(12 * 500, dtype='<i8').reshape(12, 500) % 2001) - 1000
save('ecg-i8.npy', ecg)
print(json.dumps({
    'i8': [str(v) for v in i8.ravel().tolist()],
    'u8': [str(v) for v in u8.tolist()],
    'f2': halves.astype('<f4').view('<u4').tolist(),
    'b1': np.array([[True, False, True], [False, False, True]]).astype('u1').ravel().tolist(),
}))
`;

interface Golden {
  i8: string[];
  u8: string[];
  f2: number[];
  b1: number[];
}

let folder: string;
let golden: Golden;
const file = (name: string) => new Uint8Array(readFileSync(join(folder, name)));
const read = (name: string) => readNpy(file(name), { name });
/** The bits of float32 values (NaN payloads and signs compared too). */
/** What an action throws, which must be a FormatError. */
function formatErrorOf(action: () => unknown): FormatError {
  const error = errorOf(action);
  if (!(error instanceof FormatError)) {
    throw new Error(`expected a FormatError, got ${String(error)}`);
  }
  return error;
}
const bitsOf = (data: NpyArray['data']) =>
  data instanceof Float32Array
    ? [...new Uint32Array(data.buffer, data.byteOffset, data.length)]
    : [];

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'lantern-npy-golden-'));
  golden = JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', GOLDEN, folder], { encoding: 'utf8' }),
  ) as Golden;
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('64-bit integers', () => {
  it('reads int64 and uint64 written by NumPy exactly, as BigInt, in either byte order', () => {
    for (const name of ['i8.npy', 'i8-big.npy']) {
      const array = read(name);
      expect(array.data).toBeInstanceOf(BigInt64Array);
      expect(array.shape).toEqual([2, 3]);
      expect([...array.data].map(String)).toEqual(golden.i8);
    }
    const unsigned = read('u8.npy');
    expect(unsigned.data).toBeInstanceOf(BigUint64Array);
    expect([...unsigned.data].map(String)).toEqual(golden.u8);
  });

  it("writes back NumPy's own bytes", () => {
    for (const name of ['i8.npy', 'u8.npy']) {
      expect(Buffer.from(writeNpy(read(name))).equals(Buffer.from(file(name)))).toBe(true);
    }
    expect(
      Buffer.from(writeNpy(read('i8.npy'), { byteOrder: 'big' })).equals(
        Buffer.from(file('i8-big.npy')),
      ),
    ).toBe(true);
  });

  it('gives the ECG model float64 samples, and refuses one a float64 would round', () => {
    const ecg = readEcgNpy(file('ecg-i8.npy'), { name: 'ecg-i8.npy' });
    expect(ecg.samples[0]).toBeInstanceOf(Float64Array);
    expect([ecg.samples.length, ecg.sampleCount]).toEqual([12, 500]);
    expect(ecg.samples[3]?.[17]).toBe(((3 * 500 + 17) % 2001) - 1000);
    const error = formatErrorOf(() => readEcgNpy(file('i8.npy'), { name: 'i8.npy' }));
    expect([error.code, error.file]).toEqual(['invalid_ecg', 'i8.npy']);
    expect(error.message).toContain('2^53');
  });

  it('is described by the viewer from its header', () => {
    const description = describeEcg(file('ecg-i8.npy'), { name: 'ecg-i8.npy' });
    expect([description.dtype, description.shape, description.leads.length]).toEqual([
      '<i8',
      [12, 500],
      12,
    ]);
  });
});

describe('half floats', () => {
  it('reads float16 written by NumPy into float32, bit for bit, in either byte order', () => {
    for (const name of ['f2.npy', 'f2-big.npy']) {
      const array = read(name);
      expect(array.data).toBeInstanceOf(Float32Array);
      expect(array.widenedFrom).toBe('float16');
      expect(bitsOf(array.data)).toEqual(golden.f2);
    }
  });

  it("writes back NumPy's own bytes, NaN payloads included", () => {
    expect(Buffer.from(writeNpy(read('f2.npy'))).equals(Buffer.from(file('f2.npy')))).toBe(true);
    expect(
      Buffer.from(writeNpy(read('f2.npy'), { byteOrder: 'big' })).equals(
        Buffer.from(file('f2-big.npy')),
      ),
    ).toBe(true);
  });

  it("rounds float32 to float16 as NumPy's astype does (ties to even, carries, overflow, subnormals)", () => {
    const source = read('rounding-source.npy');
    const written = writeNpy({ ...source, widenedFrom: 'float16' });
    expect(Buffer.from(written).equals(Buffer.from(file('rounding.npy')))).toBe(true);
  });

  it('gives the ECG model float32 samples', () => {
    const ecg = readEcgNpy(file('f2.npy'), { name: 'f2.npy', samplingRate: 1 });
    expect(ecg.samples[0]).toBeInstanceOf(Float32Array);
    expect(ecg.samples[0]?.[3]).toBe(-2.5);
  });
});

describe('booleans', () => {
  it('reads bool as bytes of 0 and 1, Fortran-ordered ones in C order, and writes them back', () => {
    for (const name of ['b1.npy', 'b1-fortran.npy']) {
      const array = read(name);
      expect([array.data.constructor, array.widenedFrom, array.shape]).toEqual([
        Uint8Array,
        'bool',
        [2, 3],
      ]);
      expect([...array.data]).toEqual(golden.b1);
    }
    expect(Buffer.from(writeNpy(read('b1-fortran.npy'))).equals(Buffer.from(file('b1.npy')))).toBe(
      true,
    );
  });

  it('reads any byte but 0 as True, as NumPy does', () => {
    const bytes = file('b1.npy');
    const data = bytes.subarray(bytes.length - 6);
    data.set([0, 2, 255, 0, 1, 128]);
    expect([...read('b1.npy').data]).toEqual(golden.b1);
    expect([...readNpy(bytes, { name: 'odd.npy' }).data]).toEqual([0, 1, 1, 0, 1, 1]);
  });
});

describe('round trips of every kept dtype', () => {
  const arrays: NpyArray[] = [
    { shape: [2, 2], data: BigInt64Array.of(-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n) },
    { shape: [4], data: BigUint64Array.of(0n, 1n, 2n ** 53n + 1n, 2n ** 64n - 1n) },
    { shape: [3], data: Float32Array.of(0.5, -65504, Infinity), widenedFrom: 'float16' },
    { shape: [2, 2], data: Uint8Array.of(1, 0, 0, 1), widenedFrom: 'bool' },
  ];
  for (const array of arrays) {
    it(`${array.widenedFrom ?? array.data.constructor.name}, both byte orders`, () => {
      for (const byteOrder of ['little', 'big'] as const) {
        const back = readNpy(writeNpy(array, { byteOrder }), { name: 'x.npy' });
        expect(back).toEqual(array);
      }
    });
  }
});

describe('complex numbers', () => {
  it('are refused with unsupported_npy, saying why, by the reader and the viewer', () => {
    for (const name of ['c8.npy', 'c16.npy']) {
      for (const run of [
        () => readNpy(file(name), { name }),
        () => readNpyHeader(file(name), { name }),
        () => describeEcg(file(name), { name }),
      ]) {
        const error = formatErrorOf(run);
        expect([error.code, error.file]).toEqual(['unsupported_npy', name]);
        expect(error.message).toContain('complex numbers');
      }
    }
  });
});
