import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childOf, FormatError, parseXml, readMuseXml, writeMuseXml } from '@lantern/formats';
import { generateArrestEcgDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deidentifyMuseXml, MuseDeidError, shiftMuseDate } from './muse.js';

let root: string;
let museFiles: string[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lantern-muse-deid-'));
  await generateArrestEcgDelivery({ out: root, seed: 7 });
  const entries = await readdir(join(root, 'files'), { recursive: true, withFileTypes: true });
  museFiles = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.xml'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The trimmed text of `section`/`field` of a MUSE document. */
function fieldOf(bytes: Uint8Array, section: string, field: string): string | undefined {
  const document = parseXml(bytes, { name: 'x.xml' });
  const element = childOf(document, section);
  return element === undefined ? undefined : childOf(element, field)?.text.trim();
}

const PSEUDONYM = { patientId: 'P7Q2M4X9K3B6N8C1D5F0', accessionNumber: 'S4R8T2W6Y0Z3A7E1G5H9' };

describe('deidentifyMuseXml on the MUSE files of demo-arrest-ecg', () => {
  it("finds MUSE files among the delivery's ECGs", () => {
    expect(museFiles.length).toBeGreaterThan(3);
  });

  it.each([0, 1, 2, 3])('file %i: identifiers gone, dates shifted, waveforms equal', async (i) => {
    const path = museFiles[i] ?? '';
    const source = new Uint8Array(await readFile(path));
    const identifiers = [
      ['PatientDemographics', 'PatientID'],
      ['PatientDemographics', 'PatientLastName'],
      ['PatientDemographics', 'PatientFirstName'],
      ['PatientDemographics', 'DateofBirth'],
      ['TestDemographics', 'AccessionNumber'],
      ['TestDemographics', 'OrderingMDLastName'],
    ].map(([section, field]) => fieldOf(source, section ?? '', field ?? '') ?? '');
    for (const identifier of identifiers) {
      expect(identifier.length).toBeGreaterThan(1);
    }
    const shiftDays = -90 + i;
    const result = deidentifyMuseXml(source, {
      name: 'ecg.xml',
      shiftDays,
      pseudonym: PSEUDONYM,
    });
    const text = new TextDecoder('latin1').decode(result.bytes);
    for (const identifier of identifiers) {
      expect([identifier, text.includes(identifier)]).toEqual([identifier, false]);
    }
    const birthYear = identifiers[3]?.slice(6) ?? '';
    expect(text.includes(birthYear)).toBe(false);
    expect(fieldOf(result.bytes, 'PatientDemographics', 'PatientID')).toBe(PSEUDONYM.patientId);
    expect(fieldOf(result.bytes, 'TestDemographics', 'AccessionNumber')).toBe(
      PSEUDONYM.accessionNumber,
    );
    for (const field of ['PatientAge', 'Gender']) {
      expect(fieldOf(result.bytes, 'PatientDemographics', field)).toBe(
        fieldOf(source, 'PatientDemographics', field),
      );
    }
    expect(fieldOf(result.bytes, 'TestDemographics', 'AcquisitionTime')).toBe(
      fieldOf(source, 'TestDemographics', 'AcquisitionTime'),
    );
    expect(fieldOf(result.bytes, 'TestDemographics', 'AcquisitionDate')).toBe(
      shiftMuseDate(fieldOf(source, 'TestDemographics', 'AcquisitionDate') ?? '', shiftDays),
    );
    expect(result.removed).toEqual(
      expect.arrayContaining([
        'PatientDemographics/PatientLastName',
        'PatientDemographics/PatientFirstName',
        'PatientDemographics/DateofBirth',
        'TestDemographics/OrderingMDLastName',
      ]),
    );
    expect(result.shifted).toEqual(['TestDemographics/AcquisitionDate']);
    // The waveforms: the stored base64 text and the samples read back are the same.
    const waveformOf = (bytes: Uint8Array) =>
      parseXml(bytes, { name: 'x.xml' })
        .children.filter((child) => child.name === 'Waveform')
        .flatMap((waveform) => waveform.children.filter((child) => child.name === 'LeadData'))
        .map((lead) => childOf(lead, 'WaveFormData')?.text);
    expect(waveformOf(result.bytes)).toEqual(waveformOf(source));
    const before = readMuseXml(source, { name: 'a.xml' }).ecg;
    const after = readMuseXml(result.bytes, { name: 'b.xml' }).ecg;
    expect(after.leads).toEqual(before.leads);
    expect(after.samplingRate).toBe(before.samplingRate);
    expect(after.samples).toEqual(before.samples);
    // The same document and options give the same bytes.
    expect(
      deidentifyMuseXml(source, { name: 'ecg.xml', shiftDays, pseudonym: PSEUDONYM }).sha256,
    ).toBe(result.sha256);
  });
});

/** A MUSE document with the fields real exports carry: orders, staff, sites, diagnosis text. */
function richMuse(): Uint8Array {
  const written = new TextDecoder('latin1').decode(
    writeMuseXml(
      {
        leads: ['I', 'II'],
        samplingRate: 500,
        units: 'uV',
        samples: [new Float32Array([0, 48.8, 97.6]), new Float32Array([-48.8, 0, 4.88])],
        sampleCount: 3,
        duration: 0.006,
      },
      {
        patient: {
          PatientID: '00412233',
          PatientAge: '61',
          AgeUnits: 'YEARS',
          DateofBirth: '02-14-1962',
          Gender: 'MALE',
          PatientLastName: 'OKONKWO',
          PatientFirstName: 'CHIDI',
          HISAccountNumber: '77120934',
        },
        test: {
          DataType: 'RESTING',
          Site: '12',
          SiteName: 'ST ELSEWHERE NORTH',
          Location: '7',
          LocationName: 'CARDIO WARD 7 BLAKE',
          AcquisitionDevice: 'MAC55',
          AcquisitionDate: '03-01-2024',
          AcquisitionTime: '08:15:00',
          AccessionNumber: 'A240301-0042',
          OrderingMDLastName: 'VANTERPOOL',
          OrderingMDFirstName: 'MIRIAM',
          OrderingMDID: '40411',
          AcquisitionTechLastName: 'FAIRWEATHER',
          AcquisitionTechID: '551',
          EditorLastName: 'QUIGGLEY',
          EditDate: '03-02-2024',
          EditTime: '10:00:00',
        },
      },
    ),
  );
  const extra = [
    '  <Order>',
    '    <OrderDate>02-29-2024</OrderDate>',
    '    <OrderNumber>ORD-99812</OrderNumber>',
    '    <ReasonForTest>chest pain, call 617-555-0199 with results</ReasonForTest>',
    '  </Order>',
    '  <Diagnosis>',
    '    <Modality>RESTING</Modality>',
    '    <DiagnosisStatement><StmtText>Sinus rhythm</StmtText></DiagnosisStatement>',
    '    <DiagnosisStatement><StmtText>compared with ECG of MRN 00412233 on 01/05/2023</StmtText></DiagnosisStatement>',
    '  </Diagnosis>',
  ].join('\n');
  return new TextEncoder().encode(written.replace('  <Waveform>', `${extra}\n  <Waveform>`));
}

describe('deidentifyMuseXml on a full MUSE document', () => {
  it('removes staff, names and numbers, keeps codes, cuts PHI out of order and diagnosis text', () => {
    const source = richMuse();
    const result = deidentifyMuseXml(source, {
      name: 'rich.xml',
      shiftDays: 35,
      pseudonym: { patientId: 'PSEUDO1' },
    });
    const text = new TextDecoder('latin1').decode(result.bytes);
    for (const identifier of [
      '00412233',
      'OKONKWO',
      'CHIDI',
      '1962',
      '77120934',
      'ELSEWHERE',
      'BLAKE',
      'A240301',
      'VANTERPOOL',
      'MIRIAM',
      '40411',
      'FAIRWEATHER',
      'QUIGGLEY',
      'ORD-99812',
      '617-555-0199',
      '01/05/2023',
    ]) {
      expect([identifier, text.includes(identifier)]).toEqual([identifier, false]);
    }
    expect(fieldOf(result.bytes, 'TestDemographics', 'Site')).toBe('12');
    expect(fieldOf(result.bytes, 'TestDemographics', 'Location')).toBe('7');
    expect(fieldOf(result.bytes, 'TestDemographics', 'AcquisitionDevice')).toBe('MAC55');
    expect(fieldOf(result.bytes, 'TestDemographics', 'AccessionNumber')).toBeUndefined();
    expect(fieldOf(result.bytes, 'TestDemographics', 'EditDate')).toBe('04-06-2024');
    expect(fieldOf(result.bytes, 'Order', 'OrderDate')).toBe('04-04-2024');
    expect(fieldOf(result.bytes, 'Order', 'ReasonForTest')).toContain('chest pain');
    expect(text).toContain('<StmtText>Sinus rhythm</StmtText>');
    expect(text).toContain('compared with ECG of');
    expect(text).toContain('02/09/2023'); // the prior ECG's date, shifted by 35 days
    expect([...result.shifted].sort()).toEqual([
      'Diagnosis/DiagnosisStatement/StmtText:text',
      'Order/OrderDate',
      'TestDemographics/AcquisitionDate',
      'TestDemographics/EditDate',
    ]);
    expect(readMuseXml(result.bytes, { name: 'rich.xml' }).ecg.samples).toEqual(
      readMuseXml(source, { name: 'rich.xml' }).ecg.samples,
    );
  });

  it('gives a FormatError for a document with an internal DTD subset, and refuses other roots', () => {
    const hostile = new TextEncoder().encode(
      '<?xml version="1.0"?><!DOCTYPE RestingECG [<!ENTITY a "aaaa">]><RestingECG>&a;</RestingECG>',
    );
    expect(() =>
      deidentifyMuseXml(hostile, { name: 'h.xml', shiftDays: 30, pseudonym: PSEUDONYM }),
    ).toThrow(FormatError);
    expect(() =>
      deidentifyMuseXml(new TextEncoder().encode('<Other/>'), {
        name: 'o.xml',
        shiftDays: 30,
        pseudonym: PSEUDONYM,
      }),
    ).toThrow(MuseDeidError);
  });

  it('shifts MM-DD-YYYY dates and refuses what is not one', () => {
    expect(shiftMuseDate('12-29-2009', 10)).toBe('01-08-2010');
    expect(shiftMuseDate('03/01/2012', -1)).toBe('02/29/2012');
    expect(shiftMuseDate('02-30-2009', 1)).toBeNull();
    expect(shiftMuseDate('2009-12-29', 1)).toBeNull();
  });
});
