import { readFile } from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { makeEcg, STANDARD_12_LEADS } from './ecg.js';
import { readNpy, readNpyHeader, writeNpy } from './npy.js';
import {
  ecgFromArray,
  listNpz,
  readEcgNpy,
  readEcgNpz,
  readNpz,
  writeEcgNpz,
  writeNpz,
} from './npz.js';
import { crc32, readZip, writeZip } from './zip.js';

/** Files written by NumPy (fixtures/ecg/README.md says how). */
const fixture = async (name: string) =>
  new Uint8Array(await readFile(new URL(`../../fixtures/ecg/${name}`, import.meta.url)));

/** scipy's real ECG excerpt (python3-scipy, installed by scripts/debian-packages.sh test). */
const SCIPY_ECG = '/usr/lib/python3/dist-packages/scipy/misc/ecg.dat';

function failureOf(read: () => unknown): FormatError {
  try {
    read();
  } catch (error) {
    if (error instanceof FormatError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a FormatError, got none');
}

const header = (dict: string, version = 1) => {
  const text = new TextEncoder().encode(`${dict}\n`);
  const prefix = version === 1 ? 10 : 12;
  const out = new Uint8Array(prefix + text.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) {
    view.setUint16(8, text.length, true);
  } else {
    view.setUint32(8, text.length, true);
  }
  out.set(text, prefix);
  return out;
};

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

describe('.npy written by NumPy', () => {
  it('reads a stack of float32 ECGs, and one ECG of it', async () => {
    const bytes = await fixture('stack-f4.npy');
    const array = readNpy(bytes, { name: 'stack-f4.npy' });
    expect(array.shape).toEqual([3, 12, 100]);
    expect(array.data).toBeInstanceOf(Float32Array);
    expect(array.data[1201]).toBe(1201 / 4);
    const ecg = readEcgNpy(bytes, { name: 'stack-f4.npy', index: 1, samplingRate: 100 });
    expect(ecg.leads).toEqual([...STANDARD_12_LEADS]);
    expect([ecg.sampleCount, ecg.duration, ecg.units]).toEqual([100, 1, 'uV']);
    expect(ecg.samples[2]?.[3]).toBe((1200 + 200 + 3) / 4);
  });

  it('returns Fortran-ordered arrays in C order', async () => {
    const array = readNpy(await fixture('fortran-f8.npy'), { name: 'fortran-f8.npy' });
    expect(array.shape).toEqual([3, 4]);
    expect([...array.data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('reads big-endian integers, and format versions 2.0 and 3.0', async () => {
    const big = readNpy(await fixture('big-endian-i2.npy'), { name: 'big-endian-i2.npy' });
    expect(big.data).toBeInstanceOf(Int16Array);
    expect([...big.data]).toEqual([1, -2, 300, -32768, 32767, 0]);
    for (const name of ['version-2.npy', 'version-3.npy']) {
      const bytes = await fixture(name);
      expect(readNpyHeader(bytes, { name }).version).toBe(name === 'version-2.npy' ? '2.0' : '3.0');
      expect([...readNpy(bytes, { name }).data]).toEqual([1, 2, 3, 4]);
    }
  });
});

describe('.npy round trips', () => {
  it('writes what it reads, for every dtype and both byte orders', () => {
    const arrays = [
      new Int8Array([-128, 0, 127, 5]),
      new Uint8Array([0, 255, 1, 2]),
      new Int16Array([-32768, 32767, 0, -1]),
      new Uint16Array([0, 65535, 1024, 7]),
      new Int32Array([-2147483648, 2147483647, 0, 9]),
      new Uint32Array([0, 4294967295, 1, 2]),
      new Float32Array([0.5, -1.25, Infinity, 3]),
      new Float64Array([Math.PI, -0, 1e300, Number.NaN]),
    ];
    for (const data of arrays) {
      for (const byteOrder of ['little', 'big'] as const) {
        const bytes = writeNpy({ shape: [2, 2], data }, { byteOrder });
        expect(readNpyHeader(bytes, { name: 'x.npy' }).dataOffset % 64).toBe(0);
        const back = readNpy(bytes, { name: 'x.npy' });
        expect(back.shape).toEqual([2, 2]);
        expect(back.data.constructor).toBe(data.constructor);
        expect([...back.data]).toEqual([...data]);
      }
    }
  });

  it('writes a 1-D shape as a one-element tuple and reads it back as one lead', () => {
    const bytes = writeNpy({ shape: [4], data: new Int16Array([1, 2, 3, 4]) });
    expect(new TextDecoder().decode(bytes.subarray(10, 70))).toContain("'shape': (4,)");
    const ecg = readEcgNpy(bytes, { name: 'one.npy', samplingRate: 2, units: 'mV' });
    expect([ecg.leads, ecg.duration, ecg.units]).toEqual([['1'], 2, 'mV']);
  });
});

describe('.npy refused', () => {
  const name = 'bad.npy';
  const cases: [string, Uint8Array, string][] = [
    ['no magic', new TextEncoder().encode('PK\x03\x04 not numpy at all'), 'invalid_npy'],
    [
      'version 4.0',
      new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 4, 0, 0, 0]),
      'unsupported_npy',
    ],
    [
      'a header longer than the file',
      header("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }").subarray(0, 30),
      'truncated',
    ],
    [
      'Python code in the header',
      header("{'descr': '<i2', 'fortran_order': __import__('os'), 'shape': (2,), }"),
      'invalid_npy',
    ],
    [
      'an unknown key',
      header("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), 'x': 1}"),
      'invalid_npy',
    ],
    [
      'a repeated key',
      header("{'descr': '<i2', 'descr': '<i2', 'fortran_order': False, 'shape': (2,)}"),
      'invalid_npy',
    ],
    ['a missing key', header("{'descr': '<i2', 'shape': (2,)}"), 'invalid_npy'],
    [
      'a negative dimension',
      header("{'descr': '<i2', 'fortran_order': False, 'shape': (-2,), }"),
      'invalid_npy',
    ],
    [
      'an object dtype',
      header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"),
      'unsupported_npy',
    ],
    [
      'a structured dtype',
      header("{'descr': [('a', '<i2')], 'fortran_order': False, 'shape': (2,), }"),
      'invalid_npy',
    ],
    [
      'a complex dtype',
      header("{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }"),
      'unsupported_npy',
    ],
    [
      'a 64-bit integer dtype without its byte order',
      header("{'descr': 'i8', 'fortran_order': False, 'shape': (2,), }"),
      'unsupported_npy',
    ],
    [
      'a huge shape',
      header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 12, 999999999999999), }",
        2,
      ),
      'limit_exceeded',
    ],
    [
      'data shorter than the shape',
      concat(
        header("{'descr': '<i2', 'fortran_order': False, 'shape': (12, 5500), }"),
        new Uint8Array(100),
      ),
      'truncated',
    ],
    [
      'bytes after the data',
      concat(
        header("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }"),
        new Uint8Array(5),
      ),
      'invalid_npy',
    ],
  ];
  for (const [what, bytes, code] of cases) {
    it(`refuses ${what} (${code})`, () => {
      const error = failureOf(() => readNpy(bytes, { name }));
      expect([error.code, error.file]).toEqual([code, name]);
      expect(error.offset).toBeGreaterThanOrEqual(0);
      expect(error.offset).toBeLessThanOrEqual(bytes.length);
    });
  }

  it('says where: the offset of a bad header value, and of the end of truncated data', () => {
    const dict = "{'descr': '<i2', 'fortran_order': Maybe, 'shape': (2,), }";
    expect(failureOf(() => readNpy(header(dict), { name })).offset).toBe(
      10 + dict.indexOf('Maybe'),
    );
    const short = concat(
      header("{'descr': '<i2', 'fortran_order': False, 'shape': (4,), }"),
      new Uint8Array(3),
    );
    expect(failureOf(() => readNpy(short, { name })).offset).toBe(short.length);
  });

  it('refuses a header past the header limit before decoding it', () => {
    const big = header(
      `{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }${' '.repeat(70_000)}`,
      2,
    );
    expect(failureOf(() => readNpy(big, { name })).code).toBe('limit_exceeded');
  });
});

describe('.npz written by NumPy', () => {
  it('reads the per-ECG waveform (12, 5500) of numpy.savez_compressed (ZIP64 local headers)', async () => {
    const bytes = await fixture('waveform-savez-compressed.npz');
    const ecg = readEcgNpz(bytes, { name: 'waveform-savez-compressed.npz' });
    expect(ecg.leads).toEqual([...STANDARD_12_LEADS]);
    expect([ecg.samplingRate, ecg.units, ecg.sampleCount, ecg.duration]).toEqual([
      500,
      'uV',
      5500,
      11,
    ]);
    expect(ecg.samples[0]).toBeInstanceOf(Int16Array);
    for (const [lead, t] of [
      [0, 0],
      [3, 17],
      [11, 5499],
    ] as const) {
      expect(ecg.samples[lead]?.[t]).toBe(((7 * t + 131 * lead) % 2001) - 1000);
    }
  });

  it('reads every array of numpy.savez (stored), and lists them from their headers', async () => {
    const bytes = await fixture('waveform-savez.npz');
    const arrays = readNpz(bytes, { name: 'waveform-savez.npz' });
    expect([...arrays.keys()]).toEqual(['waveform', 'fs']);
    expect([...(arrays.get('fs')?.data ?? [])]).toEqual([500]);
    expect(listNpz(bytes, { name: 'waveform-savez.npz' })).toEqual([
      { name: 'waveform', shape: [12, 250], descr: '<i2' },
      { name: 'fs', shape: [1], descr: '<i4' },
    ]);
  });

  it('reads scipy’s real ECG excerpt (MIT-BIH record 208)', async () => {
    const bytes = new Uint8Array(await readFile(SCIPY_ECG));
    const array = readNpz(bytes, { name: 'ecg.dat' }).get('ecg');
    expect(array?.shape).toEqual([108_000]);
    expect(array?.data).toBeInstanceOf(Uint16Array);
    expect([...(array?.data.subarray(0, 5) ?? [])]).toEqual([975, 981, 987, 989, 990]);
    const ecg = readEcgNpz(bytes, {
      name: 'ecg.dat',
      arrayName: 'ecg',
      samplingRate: 360,
      units: 'adu',
      leads: ['MLII'],
    });
    expect([ecg.duration, ecg.sampleCount]).toEqual([300, 108_000]);
  });
});

describe('.npz round trips', () => {
  const ecg = makeEcg(
    {
      leads: [...STANDARD_12_LEADS],
      samplingRate: 500,
      units: 'uV',
      samples: STANDARD_12_LEADS.map((_, lead) =>
        Int16Array.from({ length: 5000 }, (_, t) =>
          Math.round(1000 * Math.sin((t + lead * 40) / 30)),
        ),
      ),
    },
    'made',
  );

  for (const compress of [false, true]) {
    it(`writes an ECG that it reads back (${compress ? 'deflated' : 'stored'})`, () => {
      const bytes = writeEcgNpz(ecg, { compress });
      const back = readEcgNpz(bytes, { name: 'round.npz' });
      expect(back).toEqual(ecg);
      expect(listNpz(bytes, { name: 'round.npz' })).toEqual([
        { name: 'waveform', shape: [12, 5000], descr: '<i2' },
      ]);
    });
  }

  it('keeps float ECGs and several arrays', () => {
    const floats = ecgFromArray(
      { shape: [2, 3], data: new Float32Array([0.5, 1.5, 2.5, -1, -2, -3]) },
      { name: 'f', leads: ['I', 'II'], samplingRate: 3, units: 'mV' },
    );
    const bytes = writeNpz({
      waveform: { shape: [2, 3], data: new Float32Array([0.5, 1.5, 2.5, -1, -2, -3]) },
      fs: { shape: [], data: new Float64Array([3]) },
    });
    expect(
      readEcgNpz(bytes, { name: 'f.npz', leads: ['I', 'II'], samplingRate: 3, units: 'mV' }),
    ).toEqual(floats);
    expect(readNpz(bytes, { name: 'f.npz' }).get('fs')).toEqual({
      shape: [],
      data: new Float64Array([3]),
    });
  });
});

describe('.npz refused', () => {
  const name = 'bad.npz';
  const one = writeEcgNpz(
    makeEcg({ leads: ['I'], samplingRate: 500, units: 'uV', samples: [new Int16Array(100)] }, 'x'),
  );

  it('refuses a file that is not a ZIP, and one without a waveform', () => {
    expect(failureOf(() => readEcgNpz(new Uint8Array(100), { name })).code).toBe('invalid_zip');
    const other = writeNpz({ other: { shape: [1], data: new Int16Array(1) } });
    expect(failureOf(() => readEcgNpz(other, { name })).code).toBe('invalid_ecg');
  });

  it('refuses every truncation with a typed error', () => {
    for (let length = 0; length < one.length; length += 7) {
      const error = failureOf(() => readEcgNpz(one.subarray(0, length), { name }));
      expect(['invalid_zip', 'truncated', 'invalid_npy']).toContain(error.code);
    }
  });

  it('refuses a corrupted entry by its CRC-32', () => {
    const corrupt = one.slice();
    corrupt[200] = (corrupt[200] ?? 0) ^ 0xff;
    expect(failureOf(() => readEcgNpz(corrupt, { name })).detail).toMatch(/CRC-32/u);
  });

  it('caps a zip bomb at its declared size, and refuses a declared size past the limit', () => {
    // 64 MiB of zeros deflate to about 64 KiB; the entry says it is 1 KiB.
    const zeros = new Uint8Array(64 * 1024 * 1024);
    const bomb = writeZip([{ name: 'waveform.npy', data: new Uint8Array(1024) }], {
      compress: true,
    });
    const deflated = deflateRawSync(zeros);
    const archive = readZip(bomb, { name });
    const entry = archive.entries[0];
    expect(entry?.size).toBe(1024);
    const local = bomb.subarray(0, 30 + 'waveform.npy'.length);
    const forged = writeForged(local, deflated, 1024);
    const error = failureOf(() => readEcgNpz(forged, { name }));
    expect([error.code, error.detail]).toEqual([
      'limit_exceeded',
      '"waveform.npy" inflates past its declared 1024 bytes',
    ]);
    const huge = writeForged(local, deflated, zeros.length);
    expect(failureOf(() => readEcgNpz(huge, { name, maxArrayBytes: 1024 * 1024 })).code).toBe(
      'limit_exceeded',
    );
  });

  it('refuses overlapping entries, sizes deflate cannot make, and totals past the limit', () => {
    const data = new Uint8Array(4096).fill(7);
    const two = writeZip([
      { name: 'a.npy', data },
      { name: 'b.npy', data },
    ]);
    const directory = new DataView(two.buffer).getUint32(two.length - 6, true);
    // The second entry's local header offset pointed into the first one's data.
    const overlapping = two.slice();
    new DataView(overlapping.buffer).setUint32(directory + 46 + 'a.npy'.length + 42, 40, true);
    expect(failureOf(() => readZip(overlapping, { name }))).toMatchObject({
      code: 'invalid_zip',
      detail: '"b.npy" overlaps the entry before it',
    });
    // A deflated entry claiming 100 MiB from a few dozen bytes: no deflate stream makes that.
    const deflated = writeZip([{ name: 'a.npy', data }], { compress: true });
    const lying = deflated.slice();
    const at = new DataView(lying.buffer).getUint32(lying.length - 6, true);
    new DataView(lying.buffer).setUint32(at + 24, 100 * 1024 * 1024, true);
    expect(failureOf(() => readZip(lying, { name })).code).toBe('invalid_zip');
    expect(failureOf(() => readZip(two, { name, maxTotalBytes: 8191 })).code).toBe(
      'limit_exceeded',
    );
    expect(readZip(two, { name, maxTotalBytes: 8192 }).entries).toHaveLength(2);
  });

  it('refuses a directory outside the file and too many entries', () => {
    const moved = one.slice();
    const view = new DataView(moved.buffer);
    view.setUint32(moved.length - 6, moved.length * 2, true);
    expect(failureOf(() => readEcgNpz(moved, { name })).code).toBe('invalid_zip');
    const many = one.slice();
    new DataView(many.buffer).setUint16(many.length - 12, 60_000, true);
    expect(failureOf(() => readNpz(many, { name })).code).toBe('limit_exceeded');
  });

  it('refuses encrypted entries and other compression methods', () => {
    const encrypted = one.slice();
    const directory = new DataView(encrypted.buffer).getUint32(encrypted.length - 6, true);
    encrypted[directory + 8] = 1;
    expect(failureOf(() => readNpz(encrypted, { name })).code).toBe('unsupported_zip');
    const bzip = one.slice();
    bzip[directory + 10] = 12;
    expect(failureOf(() => readNpz(bzip, { name })).code).toBe('unsupported_zip');
  });
});

describe('ZIP64', () => {
  it('reads a ZIP64 directory (sizes and offset in the extra field, a ZIP64 end record)', () => {
    const data = writeNpy({ shape: [3], data: new Int16Array([7, 8, 9]) });
    const name = new TextEncoder().encode('waveform.npy');
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 45, true);
    lv.setUint32(14, crc32(data), true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length + 28);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint32(16, crc32(data), true);
    cv.setUint32(20, 0xffffffff, true);
    cv.setUint32(24, 0xffffffff, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, 28, true);
    cv.setUint32(42, 0xffffffff, true);
    central.set(name, 46);
    const extra = 46 + name.length;
    cv.setUint16(extra, 1, true);
    cv.setUint16(extra + 2, 24, true);
    cv.setBigUint64(extra + 4, BigInt(data.length), true);
    cv.setBigUint64(extra + 12, BigInt(data.length), true);
    cv.setBigUint64(extra + 20, 0n, true);
    const directoryOffset = local.length + data.length;
    const record = new Uint8Array(56);
    const rv = new DataView(record.buffer);
    rv.setUint32(0, 0x06064b50, true);
    rv.setBigUint64(4, 44n, true);
    rv.setBigUint64(24, 1n, true);
    rv.setBigUint64(32, 1n, true);
    rv.setBigUint64(40, BigInt(central.length), true);
    rv.setBigUint64(48, BigInt(directoryOffset), true);
    const locator = new Uint8Array(20);
    const locv = new DataView(locator.buffer);
    locv.setUint32(0, 0x07064b50, true);
    locv.setBigUint64(8, BigInt(directoryOffset + central.length), true);
    locv.setUint32(16, 1, true);
    const end = new Uint8Array(22);
    const ev = new DataView(end.buffer);
    ev.setUint32(0, 0x06054b50, true);
    ev.setUint16(8, 0xffff, true);
    ev.setUint16(10, 0xffff, true);
    ev.setUint32(12, 0xffffffff, true);
    ev.setUint32(16, 0xffffffff, true);
    const bytes = concat(local, data, central, record, locator, end);
    expect([...(readNpz(bytes, { name: 'z64.npz' }).get('waveform')?.data ?? [])]).toEqual([
      7, 8, 9,
    ]);
    // The same archive without its locator is refused, not guessed at.
    const lost = concat(local, data, central, record, new Uint8Array(20), end);
    expect(failureOf(() => readNpz(lost, { name: 'z64.npz' })).code).toBe('invalid_zip');
  });
});

/** One deflated entry whose local and central headers declare `size` bytes. */
function writeForged(local: Uint8Array, deflated: Uint8Array, size: number): Uint8Array {
  const header = local.slice();
  const hv = new DataView(header.buffer);
  hv.setUint32(18, deflated.length, true);
  hv.setUint32(22, size, true);
  const nameLength = hv.getUint16(26, true);
  const central = new Uint8Array(46 + nameLength);
  const cv = new DataView(central.buffer);
  cv.setUint32(0, 0x02014b50, true);
  cv.setUint16(10, 8, true);
  cv.setUint32(16, hv.getUint32(14, true), true);
  cv.setUint32(20, deflated.length, true);
  cv.setUint32(24, size, true);
  cv.setUint16(28, nameLength, true);
  central.set(header.subarray(30, 30 + nameLength), 46);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, 1, true);
  ev.setUint16(10, 1, true);
  ev.setUint32(12, central.length, true);
  ev.setUint32(16, header.length + deflated.length, true);
  return concat(header, deflated, central, end);
}
