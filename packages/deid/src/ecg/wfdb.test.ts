import { readFile } from 'node:fs/promises';
import { FormatError, makeEcg, readEcgNpz, readWfdb, writeWfdb } from '@lantern/formats';
import { describe, expect, it } from 'vitest';
import { deidentifyWfdbHeader, safeComment, shiftWfdbDate, WfdbDeidError } from './wfdb.js';

/** scipy's real ECG excerpt (MIT-BIH record 208; python3-scipy, in the test Debian packages). */
const SCIPY_ECG = '/usr/lib/python3/dist-packages/scipy/misc/ecg.dat';
const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder('latin1').decode(bytes);

/** A two-lead record as the formats writer writes it, dated and commented as a hospital's would be. */
function hospitalRecord() {
  const ecg = makeEcg(
    {
      leads: ['I', 'II'],
      samplingRate: 500,
      units: 'mV',
      samples: [Float32Array.from([0, 0.5, 1, -0.25]), Float32Array.from([0.1, -0.1, 0.2, 0])],
    },
    'ecg',
  );
  const { header, files } = writeWfdb(ecg, {
    recordName: 'okonkwo_00412233',
    format: 16,
    comments: [
      '<age>: 93 <sex>: F <diagnoses>: 164889003,59118001',
      'Name: Chidi Okonkwo',
      'MRN: 00412233',
      'Hospital: St Elsewhere North',
      'Dx: Sinus rhythm, call 617-555-0199',
      'Sex: M',
      'Age: 54',
      'Diagnosis: anterior myocardial infarction',
    ],
  });
  const [recordLine = '', ...rest] = header.split('\n');
  const dated = [`${recordLine} 10:30:00 25/12/2019`, ...rest].join('\n');
  return { ecg, header: dated, files };
}

describe('deidentifyWfdbHeader', () => {
  it('renames the record and its file, shifts the base date, keeps safe comments only', () => {
    const { ecg, header, files } = hospitalRecord();
    const result = deidentifyWfdbHeader(encode(header), {
      name: 'okonkwo_00412233.hea',
      shiftDays: -45,
      recordName: 'ecg-7QK2',
    });
    const text = decode(result.bytes);
    for (const identifier of [
      'okonkwo',
      'Okonkwo',
      'Chidi',
      '00412233',
      'Elsewhere',
      '617-555-0199',
      '25/12/2019',
      '93',
    ]) {
      expect([identifier, text.includes(identifier)]).toEqual([identifier, false]);
    }
    expect(text.split('\n')).toEqual([
      'ecg-7QK2 2 500 4 10:30:00 10/11/2019',
      expect.stringMatching(/^ecg-7QK2\.dat 16 200\(0\)\/mV 16 0 0 \d+ 0 I$/u),
      expect.stringMatching(/^ecg-7QK2\.dat 16 200\(0\)\/mV 16 0 20 \d+ 0 II$/u),
      '# <age>: 90+ <sex>: F <diagnoses>: 164889003,59118001',
      '# Sex: M',
      '# Age: 54',
      '# Diagnosis: anterior myocardial infarction',
      '',
    ]);
    expect(result.files).toEqual([{ source: 'okonkwo_00412233.dat', published: 'ecg-7QK2.dat' }]);
    expect(result.shifted).toBe(true);
    expect(result.removed).toEqual(
      expect.arrayContaining(['record name', 'comment 2', 'comment 3', 'comment 4', 'comment 5']),
    );
    // The signal file, renamed as the result says, reads back to the same ECG.
    const renamed = new Map(
      result.files.map(({ source, published }) => [
        published,
        files.get(source) ?? new Uint8Array(),
      ]),
    );
    const back = readWfdb(result.bytes, renamed, { name: 'ecg-7QK2.hea' });
    expect(back.ecg).toEqual(ecg);
    expect(back.header.baseDate).toBe('10/11/2019');
  });

  it('takes the published signal file names from the pipeline, and refuses a file it was not given', () => {
    const { header } = hospitalRecord();
    const result = deidentifyWfdbHeader(encode(header), {
      name: 'r.hea',
      shiftDays: 30,
      recordName: 'p1',
      signalFiles: new Map([['okonkwo_00412233.dat', 'p1-signals.dat']]),
    });
    expect(decode(result.bytes)).toContain('\np1-signals.dat 16 ');
    expect(() =>
      deidentifyWfdbHeader(encode(header), {
        name: 'r.hea',
        shiftDays: 30,
        recordName: 'p1',
        signalFiles: new Map([['other.dat', 'p1.dat']]),
      }),
    ).toThrow(WfdbDeidError);
    expect(() =>
      deidentifyWfdbHeader(encode(header), { name: 'r.hea', shiftDays: 30, recordName: '../x' }),
    ).toThrow(WfdbDeidError);
  });

  it('cleans a PhysioNet header: MIT-BIH record 208 from scipy, its comments as MIT-BIH writes them', async () => {
    const real = readEcgNpz(new Uint8Array(await readFile(SCIPY_ECG)), {
      name: 'ecg.dat',
      arrayName: 'ecg',
      samplingRate: 360,
      units: 'adu',
      leads: ['MLII'],
    });
    const adu = makeEcg(
      { ...real, samples: real.samples.map((lead) => Int16Array.from(lead)) },
      'ecg.dat',
    );
    const { header, files } = writeWfdb(adu, {
      recordName: '208',
      format: 212,
      baseline: 1024,
      gain: 200,
      comments: ['23 F 1335 1156 x1', 'None'],
    });
    const result = deidentifyWfdbHeader(encode(header), {
      name: '208.hea',
      shiftDays: 100,
      recordName: 'mitdb-x',
    });
    const text = decode(result.bytes);
    expect(text).toContain('\n# 23 F\n');
    expect(text).not.toContain('1335');
    expect(text).not.toContain('None');
    expect(result.shifted).toBe(false);
    const back = readWfdb(
      result.bytes,
      new Map([['mitdb-x.dat', files.get('208.dat') ?? new Uint8Array()]]),
      {
        name: 'mitdb-x.hea',
        digital: true,
      },
    );
    expect(back.ecg.samples[0]).toEqual(adu.samples[0]);
  });

  it('gives a FormatError for a header the reader refuses', () => {
    expect(() =>
      deidentifyWfdbHeader(encode('r 3 360\nr.dat 16 200 16 0\n'), {
        name: 'r.hea',
        shiftDays: 30,
        recordName: 'p',
      }),
    ).toThrow(FormatError);
  });
});

describe('safeComment and shiftWfdbDate', () => {
  it('keeps age, sex and diagnosis codes, and nothing else', () => {
    expect(safeComment('Age: 54')).toBe('Age: 54');
    expect(safeComment('Dx: 426783006')).toBe('Dx: 426783006');
    expect(safeComment('Rx: Unknown')).toBeNull();
    expect(safeComment('Aldomet, Inderal')).toBeNull();
    expect(safeComment('Dx: 01/05/2023')).toBeNull();
    expect(safeComment('age: 101')).toBe('age: 90+');
    expect(safeComment('Sex: Jane')).toBeNull();
  });

  // Regression: a value ran to the end of the line, so "Age: 69 Sex: M" read as the age
  // "69 Sex: M", which is no age, and the whole comment went.
  it('keeps the safe keys of a line of several unbracketed keys, and drops the others', () => {
    expect(safeComment('Age: 69 Sex: M')).toBe('Age: 69 Sex: M');
    expect(safeComment('Age: 95 Sex: F Dx: 164889003')).toBe('Age: 90+ Sex: F Dx: 164889003');
    expect(safeComment('Name: Jane Roe Age: 40 MRN: 12345678 Sex: F')).toBe('Age: 40 Sex: F');
    expect(safeComment('Age: 40 Date of birth: 01/02/1950')).toBeNull();
    expect(safeComment('<age>: 51 <sex>: F <diagnoses>: 426783006')).toBe(
      '<age>: 51 <sex>: F <diagnoses>: 426783006',
    );
  });

  it('shifts dd/mm/yyyy in its form and refuses what is not a date', () => {
    expect(shiftWfdbDate('25/12/2019', 10)).toBe('04/01/2020');
    expect(shiftWfdbDate('1/3/2012', -1)).toBe('29/2/2012');
    expect(shiftWfdbDate('30/02/2019', 1)).toBeNull();
    expect(shiftWfdbDate('2019-12-25', 1)).toBeNull();
  });
});
