/**
 * Real DICOM files made by others (Debian's python3-pydicom test files, DATASETS.md) de-identified,
 * then checked by an independent reader: pydicom-check.py, run by Debian's python3 with pydicom,
 * walks source and output side by side and reports every identifying attribute left, UID not
 * remapped by the keyed mapping, date not shifted, private or overlay element, or pixel change.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deidentifyDicom, type DicomDeidOptions } from './deidentify.js';
import { BASIC_PROFILE } from './profile.js';
import { hmacUidRemapper } from './uid.js';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';
const CHECKER = join(import.meta.dirname, 'pydicom-check.py');
const KEY = 'real-files-key';

const FILES = [
  'CT_small.dcm',
  'MR_small.dcm',
  'MR_small_implicit.dcm',
  'MR_small_bigendian.dcm',
  'MR_small_RLE.dcm',
  'JPEG2000.dcm',
  'JPEG-lossy.dcm',
  'JPGExtended.dcm',
  'SC_rgb_jpeg_dcmtk.dcm',
  'image_dfl.dcm',
  'waveform_ecg.dcm',
  'rtplan.dcm',
  'test-SR.dcm',
  'liver_1frame.dcm',
  'nested_priv_SQ.dcm',
  'dicomdirtests/77654033/CR1/6154',
  'dicomdirtests/77654033/CR2/6247',
  'dicomdirtests/77654033/CR3/6278',
  'dicomdirtests/98892003/MR700/4648',
];

const options = (name: string): DicomDeidOptions => ({
  name,
  shiftDays: -400,
  remapUid: hmacUidRemapper(KEY),
  pseudonym: { patientId: 'NGSCI-REAL-01', patientName: 'SYNTHETIC^REAL01' },
});

const work = mkdtempSync(join(tmpdir(), 'lantern-deid-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface CheckResult {
  file: string;
  checked: number;
  violations: string[];
}

describe('real files come out with no identifying attribute left (checked by pydicom)', () => {
  const pairs = FILES.map((file, i) => {
    const source = join(PYDICOM, file);
    const output = join(work, `${i}.dcm`);
    return { file, source, output };
  });
  const holds = new Map<string, string | null>();

  it('de-identifies every file', () => {
    for (const { file, source, output } of pairs) {
      const result = deidentifyDicom(readFileSync(source), options(file));
      writeFileSync(output, Buffer.concat(result.chunks, result.size));
      holds.set(file, result.hold?.reason ?? null);
    }
    expect(holds.size).toBe(FILES.length);
  });

  it('passes the independent check, file by file', () => {
    const request = {
      key: KEY,
      shiftDays: -400,
      pseudonym: options('').pseudonym,
      profile: BASIC_PROFILE.map((row) => [row.tag, row.basic, row.modifiedDates]),
      pairs: pairs.map(({ source, output }) => [source, output]),
    };
    const stdout = execFileSync('/usr/bin/python3', [CHECKER], {
      input: JSON.stringify(request),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const { results } = JSON.parse(stdout) as { results: CheckResult[] };
    expect(results).toHaveLength(FILES.length);
    const violations = results.flatMap((result) =>
      result.violations.map((violation) => `${result.file}: ${violation}`),
    );
    expect(violations).toEqual([]);
    for (const result of results) {
      expect(result.checked).toBeGreaterThan(0);
    }
    expect(results.reduce((sum, result) => sum + result.checked, 0)).toBeGreaterThan(200);
  });

  it('holds the secondary captures and publishes the CT, MR and CR images', () => {
    expect(holds.get('SC_rgb_jpeg_dcmtk.dcm')).toMatch(/burned-in/);
    expect(holds.get('CT_small.dcm')).toBeNull();
    expect(holds.get('MR_small.dcm')).toBeNull();
    expect(holds.get('dicomdirtests/77654033/CR1/6154')).toBeNull();
  });
});
