import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { maskValue } from '../identifying.js';
import { withFrame } from '../testing/jpeg-lines.js';
import { describeDicom, describeDicomFile } from './describe.js';
import { TAG } from './dictionary.js';
import { readDicom, readDicomFile } from './parse.js';

/** Files written by others, shipped by Debian's python3-pydicom (scripts/debian-packages.sh test). */
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';
/** Written by dcmtk and libjpeg-turbo's cjpeg: fixtures/jpeg-extended/README.md. */
const JPEG_FIXTURES = fileURLToPath(new URL('../../fixtures/jpeg-extended/', import.meta.url));

describe('describeDicom, for lantern inspect', () => {
  it('describes a CT image: transfer syntax, geometry, modality, and what identifies the patient, masked', async () => {
    const description = await describeDicomFile(PYDICOM + 'CT_small.dcm');
    expect(description).toMatchObject({
      format: 'dicom',
      transferSyntax: { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian' },
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      modality: 'CT',
      width: 128,
      height: 128,
      frames: 1,
      samplesPerPixel: 1,
      bitsAllocated: 16,
      photometricInterpretation: 'MONOCHROME2',
      isPixelDataDecoded: true,
      leads: null,
    });
    const byKeyword = new Map(
      description.identifying
        .filter((found) => found.path.length === 0)
        .map((found) => [found.keyword, found]),
    );
    expect(byKeyword.get('PatientName')).toEqual({
      tag: '(0010,0010)',
      keyword: 'PatientName',
      value: 'C***********',
      path: [],
    });
    expect(byKeyword.get('PatientID')?.value).toBe('1***');
    expect(byKeyword.get('PatientSex')?.value).toBe('*');
    for (const keyword of [
      'StudyInstanceUID',
      'SOPInstanceUID',
      'StudyDate',
      'InstitutionName',
    ] as const) {
      expect(byKeyword.has(keyword)).toBe(true);
    }
    const json = JSON.stringify(description);
    expect(json).not.toContain('CompressedSamples');
    expect(json).not.toContain('1CT1');
    // Identifying attributes inside sequences are found too, with where they are.
    expect(description.identifying.filter((found) => found.path.length > 0).length).toBeGreaterThan(
      0,
    );
    expect(description.privateElements).toBeGreaterThan(0);
  });

  it('describes a 12-lead ECG as ecg-dicom with its leads and sampling rate', async () => {
    const description = await describeDicomFile(PYDICOM + 'waveform_ecg.dcm');
    expect(description).toMatchObject({
      format: 'ecg-dicom',
      modality: 'ECG',
      width: null,
      leads: 12,
      samplingRate: 1000,
    });
    const keywords = description.identifying.map((found) => found.keyword);
    expect(keywords).toEqual(
      expect.arrayContaining([
        'PatientName',
        'PatientID',
        'PatientBirthDate',
        'AccessionNumber',
        'InstitutionName',
        'ReferringPhysicianName',
      ]),
    );
    expect(JSON.stringify(description)).not.toContain('642341');
  });

  it('describes compressed images, names the transfer syntax and says whether it decodes them', async () => {
    expect(await describeDicomFile(PYDICOM + 'JPEG2000.dcm')).toMatchObject({
      transferSyntax: { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000' },
      width: 256,
      height: 1024,
      isPixelDataDecoded: true,
    });
    expect(await describeDicomFile(PYDICOM + 'MR_small_jpeg_ls_lossless.dcm')).toMatchObject({
      transferSyntax: { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless' },
      isPixelDataDecoded: true,
    });
    expect(await describeDicomFile(PYDICOM + 'JPGExtended.dcm')).toMatchObject({
      transferSyntax: { uid: '1.2.840.10008.1.2.4.51', name: 'JPEG Extended (Process 2 & 4)' },
      bitsAllocated: 16,
      isPixelDataDecoded: true,
      pixelDataNotDecoded: null,
    });
  });

  it('says by the JPEG frame header, not the transfer syntax alone, whether it decodes the pixels, and why not', async () => {
    // dcmcjpeg +ep (12-bit progressive, the retired .55) and cjpeg -arithmetic (SOF9, as .52).
    expect(await describeDicomFile(JPEG_FIXTURES + 'mono12-progressive.dcm')).toMatchObject({
      transferSyntax: {
        uid: '1.2.840.10008.1.2.4.55',
        name: 'JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (Retired)',
      },
      isPixelDataDecoded: true,
      pixelDataNotDecoded: null,
    });
    expect(await describeDicomFile(JPEG_FIXTURES + 'rgb8-arithmetic.dcm')).toMatchObject({
      transferSyntax: {
        uid: '1.2.840.10008.1.2.4.52',
        name: 'JPEG Extended (Process 3 & 5) (Retired)',
      },
      isPixelDataDecoded: true,
      pixelDataNotDecoded: null,
    });
    // The same stream with a hierarchical frame header (SOF13): not decoded, and why.
    const file = await readDicomFile(JPEG_FIXTURES + 'rgb8-arithmetic.dcm', { name: 'SOF9' });
    const stream = Uint8Array.from(
      file.dataset.get(TAG.PixelData)?.encapsulated?.fragments[0]?.bytes ?? [],
    );
    stream[stream.findIndex((byte, i) => byte === 0xff && stream[i + 1] === 0xc9) + 1] = 0xcd;
    const hierarchical = readDicom(withFrame(file, stream), { name: 'SOF13' });
    expect(describeDicom(hierarchical)).toMatchObject({
      isPixelDataDecoded: false,
      pixelDataNotDecoded: 'hierarchical JPEG (SOF13, 0xCD) is not decoded',
    });
  });

  it('masks values', () => {
    expect(maskValue('Doe^Jane')).toBe('D*******');
    expect(maskValue('M')).toBe('*');
    expect(maskValue('1.2.840.10008.5.1.4.1.1.2.12345')).toBe('1***********');
  });
});
