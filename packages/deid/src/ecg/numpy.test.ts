/**
 * NumPy ECG files de-identified (numpy.ts): golden headers, archives rewritten without their
 * comments, extra fields and times, arrays with unsafe names renamed and held for a curator, unsafe
 * dtypes and members that are not arrays refused, hostile sizes refused, and the demo's own `.npz` files coming out as they went in. Every output is read back by
 * an independent reader: Debian's NumPy and Python's zipfile (numpy-check.py).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, readNpz, writeNpy, writeZip, type NpyArray } from '@lantern/formats';
import {
  generateArrestEcgDelivery,
  generateEdEcgDelivery,
  npyWithHeaderText,
} from '@lantern/synth';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deidentifyNpy,
  deidentifyNpz,
  isSafeArrayName,
  NumpyDeidError,
  rewriteNpyHeader,
  type NumpyDeidErrorCode,
} from './numpy.js';

const CHECKER = fileURLToPath(new URL('./numpy-check.py', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lantern-numpy-deid-'));

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

interface Described {
  dtype: string;
  shape: number[];
  fortran_order: boolean;
  sha256: string;
}
interface Checked {
  arrays: Record<string, Described>;
  comment?: string;
  members?: {
    name: string;
    comment: string;
    extra: string;
    date_time: number[];
    compress_type: number;
  }[];
}

/** Writes each file and reads it back with NumPy (numpy-check.py), one process for all. */
function checkWithNumpy(files: Record<string, Uint8Array>): Checked[] {
  const paths = Object.entries(files).map(([name, bytes]) => {
    const path = join(work, name);
    writeFileSync(path, bytes);
    return path;
  });
  const stdout = execFileSync('/usr/bin/python3', [CHECKER, ...paths], { encoding: 'utf8' });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Checked);
}

const ECG: NpyArray = {
  shape: [3, 4],
  data: Int16Array.from([1, -2, 3, -4, 500, -600, 700, -800, 9000, -10000, 11000, -12000]),
};
const ENCODER = new TextEncoder();

/** An .npy whose header text is `dict` and padding `padding`, then `data` (ECG's by default). */
function npyWithHeader(dict: string, padding = '', data = writeNpy(ECG).subarray(128)): Uint8Array {
  return npyWithHeaderText(`${dict}${padding}`, data);
}

function joined(chunks: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

/** The code a run is refused with, or 'none'. */
function refusal(run: () => unknown): NumpyDeidErrorCode | FormatError['code'] | 'none' {
  try {
    run();
  } catch (error) {
    if (error instanceof NumpyDeidError || error instanceof FormatError) {
      return error.code;
    }
    throw error;
  }
  return 'none';
}

const PLANTED = ['Jane Quinlan', '4455667', 'ACC-208-1', '2024'];

describe('deidentifyNpy', () => {
  it('writes a header with an extra key and text in its padding as NumPy would, data untouched', () => {
    const delivered = npyWithHeader(
      "{'descr': '<i2', 'patient': 'Jane Quinlan', 'fortran_order': False,\n 'shape': (3, 4), 'mrn': (4455667,), }",
      '  # accession ACC-208-1, 2024-03-04',
    );
    const result = deidentifyNpy(delivered, { name: 'ecg.npy' });
    const out = joined(result.chunks);
    // Golden: the bytes numpy.save writes for this array.
    expect(Buffer.from(out).equals(Buffer.from(writeNpy(ECG)))).toBe(true);
    expect(result.size).toBe(out.length);
    expect(result.removed).toEqual([
      'header key 2',
      'header key 5',
      'header text after the dictionary',
    ]);
    const text = Buffer.from(out).toString('latin1');
    for (const planted of PLANTED) {
      expect(text).not.toContain(planted);
    }
    const [checked] = checkWithNumpy({ 'golden.npy': out });
    expect(checked?.arrays['']).toMatchObject({ dtype: '<i2', shape: [3, 4] });
  });

  it('keeps the byte order, the Fortran order and the dtype of the data as delivered', () => {
    const cases = [
      ["{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3)}", 48, '>f8'],
      ["{'descr': '<c16', 'fortran_order': False, 'shape': (3,)}", 48, '<c16'],
      ["{'descr': '<i1', 'fortran_order': False, 'shape': (2, 2, 3)}", 12, '|i1'],
      ["{'descr': '|b1', 'fortran_order': False, 'shape': ()}", 1, '|b1'],
      ["{'descr': '<u8', 'fortran_order': False, 'shape': (0, 12)}", 0, '<u8'],
    ] as const;
    const outputs: Record<string, Uint8Array> = {};
    for (const [index, [dict, bytes, descr]] of cases.entries()) {
      const data = Uint8Array.from({ length: bytes }, (_, i) => (i * 37) % 256);
      const [header, body] = deidentifyNpy(npyWithHeader(dict, '', data), { name: 'a.npy' }).chunks;
      expect(Buffer.from(body ?? []).equals(Buffer.from(data))).toBe(true);
      expect(Buffer.from(header ?? []).toString('latin1')).toContain(`'${descr}'`);
      outputs[`order-${index}.npy`] = joined([header ?? new Uint8Array(0), data]);
    }
    const checked = checkWithNumpy(outputs);
    expect(checked.map((c) => [c.arrays['']?.dtype, c.arrays['']?.fortran_order])).toEqual([
      ['>f8', true],
      ['<c16', false],
      ['|i1', false],
      ['|b1', false],
      ['<u8', false],
    ]);
  });

  it('refuses what np.load would not read without allow_pickle, and what holds text or dates', () => {
    const refused = (descr: string) =>
      refusal(() =>
        deidentifyNpy(
          npyWithHeader(`{'descr': ${descr}, 'fortran_order': False, 'shape': (3, 4), }`),
          { name: 'a.npy' },
        ),
      );
    expect(refused("'|O'")).toBe('unsafe_dtype');
    expect(refused("'<U12'")).toBe('unsafe_dtype');
    expect(refused("'|S24'")).toBe('unsafe_dtype');
    expect(refused("'<M8[D]'")).toBe('unsafe_dtype');
    expect(refused("[('name', '|O'), ('mrn', '<i8')]")).toBe('unsafe_dtype');
    expect(refused("'=i2'")).toBe('unsafe_dtype');
    expect(refused("'<i\\x32'")).toBe('unsafe_dtype');
  });

  it('refuses headers it cannot be sure of, and sizes that do not match the file', () => {
    const refused = (dict: string, trim = 0) =>
      refusal(() => {
        const bytes = npyWithHeader(dict);
        return deidentifyNpy(bytes.subarray(0, bytes.length - trim), { name: 'a.npy' });
      });
    const shape = (text: string) => `{'descr': '<i2', 'fortran_order': False, 'shape': ${text}}`;
    expect(refused(shape('(3, 4)'))).toBe('none');
    expect(refused(shape('(3, 4)'), 1)).toBe('size_mismatch');
    expect(refused(shape('(3, 3)'))).toBe('size_mismatch');
    // A declared size far past the file: refused by arithmetic, nothing allocated.
    expect(refused(shape('(999999999999999, 999999999999999)'))).toBe('size_mismatch');
    expect(refused(shape('(3, -4)'))).toBe('invalid_header');
    expect(refused(shape('[3, 4]'))).toBe('invalid_header');
    expect(refused(`${shape('(3, 4)').slice(0, -1)}, 'shape': (12,)}`)).toBe('invalid_header');
    expect(refused("{'descr': '<i2', 'shape': (3, 4)}")).toBe('invalid_header');
    expect(refused("{'descr': '<i2' 'fortran_order': False}")).toBe('invalid_header');
    expect(refused(`{'x': ${'['.repeat(40)}`)).toBe('invalid_header');
    expect(refused("{'descr': '<i2', 'fortran_order': False, 'shape': (3, 4)")).toBe(
      'invalid_header',
    );
    expect(refusal(() => deidentifyNpy(new Uint8Array(9), { name: 'a.npy' }))).toBe('invalid_npy');
  });

  it('rewrites a header from its head alone: data may stay on disk', () => {
    const bytes = npyWithHeader(
      "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 4), 'note': 'Jane'}",
    );
    const rewrite = rewriteNpyHeader(bytes.subarray(0, 128), bytes.length, { name: 'a.npy' });
    expect(rewrite).toMatchObject({ dataOffset: 128, dataBytes: 24, removed: ['header key 4'] });
  });
});

describe('deidentifyNpz', () => {
  const waveform = writeNpy(ECG);
  const leadI = writeNpy({ shape: [4], data: Int16Array.from([1, 2, 3, 4]) });

  it('rewrites an archive without its comments, extra fields and times, arrays as they were', () => {
    const delivered = writeZip(
      [
        {
          name: 'waveform.npy',
          data: npyWithHeader(
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 4), 'patient': 'Jane Quinlan'}",
          ),
          comment: 'MRN 4455667',
          extra: Uint8Array.from([0x55, 0x54, 5, 0, 1, ...ENCODER.encode('ACC-')]),
          modified: { year: 2024, month: 3, day: 4, hour: 10, minute: 11, second: 12 },
        },
        {
          name: 'I.npy',
          data: leadI,
          modified: { year: 2024, month: 3, day: 4, hour: 0, minute: 0, second: 0 },
        },
      ],
      { compress: true, comment: 'Jane Quinlan ACC-208-1' },
    );
    const result = deidentifyNpz(delivered, { name: 'ecg.npz' });
    const out = joined(result.chunks);
    // Golden: what numpy.savez writes for these arrays (stored, epoch times, nothing else).
    const expected = writeZip([
      { name: 'waveform.npy', data: waveform },
      { name: 'I.npy', data: leadI },
    ]);
    expect(Buffer.from(out).equals(Buffer.from(expected))).toBe(true);
    expect(result.removed).toEqual(['member 1 header key 4']);
    const text = Buffer.from(out).toString('latin1');
    for (const planted of PLANTED) {
      expect(text).not.toContain(planted);
    }
    const [checked] = checkWithNumpy({ 'rewritten.npz': out });
    expect(checked?.comment).toBe('');
    expect(checked?.members).toEqual([
      {
        name: 'waveform.npy',
        comment: '',
        extra: '',
        date_time: [1980, 1, 1, 0, 0, 0],
        compress_type: 0,
      },
      { name: 'I.npy', comment: '', extra: '', date_time: [1980, 1, 1, 0, 0, 0], compress_type: 0 },
    ]);
    expect(Object.keys(checked?.arrays ?? {})).toEqual(['waveform', 'I']);
  });

  it('renames an array named otherwise than ECG arrays are, and holds the archive for a curator', () => {
    const held = (names: string[]) =>
      deidentifyNpz(writeZip(names.map((name) => ({ name, data: waveform }))), { name: 'x.npz' });
    const result = held(['waveform.npy', 'Jane_Quinlan.npy']);
    const out = joined(result.chunks);
    // Golden: numpy.savez of the same arrays, the second given without a name.
    const expected = writeZip([
      { name: 'waveform.npy', data: waveform },
      { name: 'arr_1.npy', data: waveform },
    ]);
    expect(Buffer.from(out).equals(Buffer.from(expected))).toBe(true);
    expect(result.hold?.reason).toBe(
      'arrays not named as ECG arrays are (lead or waveform names) were renamed (member 2 to arr_1); a curator looks at what they hold before they are published',
    );
    expect(Buffer.from(out).toString('latin1')).not.toContain('Quinlan');
    const [checked] = checkWithNumpy({ 'renamed.npz': out });
    expect(Object.keys(checked?.arrays ?? {})).toEqual(['waveform', 'arr_1']);
    // A number no array has, whatever the names given: arr_1 is taken, ../ is no path.
    const names = (result: ReturnType<typeof held>) =>
      readNpz(joined(result.chunks), { name: 'x.npz' }).keys();
    expect([...names(held(['4455667.npy']))]).toEqual(['arr_0']);
    expect([...names(held(['arr_1.npy', 'mrn.npy', '../waveform.npy']))]).toEqual([
      'arr_1',
      'arr_2',
      'arr_3',
    ]);
    expect(held(['waveform.npy', 'arr_1.npy']).hold).toBeNull();
  });

  it('holds back an archive with anything but arrays, or a name twice', () => {
    const refused = (names: string[], data = waveform) =>
      refusal(() =>
        deidentifyNpz(writeZip(names.map((name) => ({ name, data }))), { name: 'ecg.npz' }),
      );
    expect(refused(['waveform.npy', 'notes.txt'])).toBe('unsafe_member');
    expect(refused(['waveform'])).toBe('unsafe_member');
    expect(refused(['waveform.npy', 'waveform.npy'])).toBe('duplicate_member');
    expect(
      refused(
        ['waveform.npy'],
        npyWithHeader("{'descr': '|O', 'fortran_order': False, 'shape': (3, 4)}"),
      ),
    ).toBe('unsafe_dtype');
    // The error names the member by its place, never by its name.
    const error = (() => {
      try {
        deidentifyNpz(writeZip([{ name: 'Jane_Quinlan.txt', data: waveform }]), { name: 'x.npz' });
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(NumpyDeidError);
    expect(String((error as Error).message)).not.toContain('Quinlan');
  });

  it('names the arrays ECG files have, and nothing else', () => {
    for (const name of ['waveform', 'waveform-rhythm', 'arr_0', 'aVR', 'V6', 'leads', 'ecg_12']) {
      expect(isSafeArrayName(name), name).toBe(true);
    }
    for (const name of ['Jane_Doe', 'mrn_4455667', 'waveform_2024_03_04_x', 'ACC-208', '', 'a.b']) {
      expect(isSafeArrayName(name), name).toBe(false);
    }
  });

  it('refuses hostile archives before inflating: declared sizes, overlaps, a cut directory', () => {
    const good = writeZip([{ name: 'waveform.npy', data: waveform }], { compress: true });
    const patched = (edit: (bytes: Uint8Array, view: DataView, central: number) => void) => {
      const bytes = Uint8Array.from(good);
      const view = new DataView(bytes.buffer);
      edit(bytes, view, view.getUint32(bytes.length - 6, true));
      return refusal(() => deidentifyNpz(bytes, { name: 'x.npz' }));
    };
    expect(patched(() => undefined)).toBe('none');
    // A bomb: a member declaring 200 MiB from a few dozen compressed bytes.
    expect(
      patched((_, view, central) => {
        view.setUint32(central + 24, 200 * 1024 * 1024, true);
      }),
    ).toBe('invalid_zip');
    // More than the member limit.
    expect(refusal(() => deidentifyNpz(good, { name: 'x.npz', maxEntryBytes: 100 }))).toBe(
      'limit_exceeded',
    );
    // A directory cut short.
    expect(
      refusal(() => deidentifyNpz(good.subarray(0, good.length - 30), { name: 'x.npz' })),
    ).toBe('invalid_zip');
    // Two members over the same bytes.
    const two = writeZip([
      { name: 'waveform.npy', data: waveform },
      { name: 'I.npy', data: waveform },
    ]);
    const view = new DataView(two.buffer);
    const central = view.getUint32(two.length - 6, true);
    const second = central + 46 + 'waveform.npy'.length;
    view.setUint32(second + 42, 0, true);
    expect(refusal(() => deidentifyNpz(two, { name: 'x.npz' }))).toBe('invalid_zip');
    // Many members, together past the total limit.
    const many = writeZip(
      Array.from({ length: 5 }, (_, i) => ({ name: `arr_${i}.npy`, data: waveform })),
    );
    expect(
      refusal(() => deidentifyNpz(many, { name: 'x.npz', maxTotalBytes: waveform.length * 4 })),
    ).toBe('limit_exceeded');
  });

  it("leaves the demo's npz files byte for byte as they are, and NumPy reads them", async () => {
    const arrest = join(work, 'arrest');
    const ed = join(work, 'ed');
    await generateArrestEcgDelivery({ out: arrest, scale: 0.05, seed: 7 });
    await generateEdEcgDelivery({ out: ed, scale: 0.05, seed: 7 });
    const files = [arrest, ed].flatMap((root) =>
      readdirSync(join(root, 'files'), { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.npz'))
        .map((name) => join(root, 'files', name)),
    );
    expect(files.length).toBeGreaterThan(4);
    const outputs: Record<string, Uint8Array> = {};
    const sources: Record<string, Uint8Array> = {};
    for (const [index, file] of files.entries()) {
      const bytes = new Uint8Array(readFileSync(file));
      const out = joined(deidentifyNpz(bytes, { name: `demo-${index}.npz` }).chunks);
      expect(Buffer.from(out).equals(Buffer.from(bytes)), file).toBe(true);
      expect([...readNpz(out, { name: 'out' }).keys()]).toEqual(['waveform']);
      if (index < 3) {
        outputs[`demo-out-${index}.npz`] = out;
        sources[`demo-in-${index}.npz`] = bytes;
      }
    }
    const read = checkWithNumpy({ ...sources, ...outputs });
    const half = read.length / 2;
    for (let i = 0; i < half; i++) {
      expect(read[i + half]?.arrays).toEqual(read[i]?.arrays);
      expect(read[i]?.arrays['waveform']).toMatchObject({ dtype: '<i2', shape: [12, 5000] });
    }
  }, 120_000);
});
