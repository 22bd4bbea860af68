import { createHash, createHmac } from 'node:crypto';
import {
  changeDicomDataset,
  dicomDataset,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  FormatError,
  IMPLICIT_VR_LITTLE_ENDIAN,
  readDicom,
  TAG,
  writeDicom,
  type DicomDataset,
  type DicomEntry,
} from '@lantern/formats';
import { describe, expect, it } from 'vitest';
import { shiftDateText } from './dates.js';
import {
  deidentifyDicom,
  DicomDeidError,
  type DicomDeidOptions,
  type DicomDeidResult,
} from './deidentify.js';
import { BASIC_PROFILE, BASIC_PROFILE_BY_TAG } from './profile.js';
import { hmacUidRemapper, isUid } from './uid.js';

const KEY = 'golden-test-key';
const SHIFT = -137;
const OPTIONS: DicomDeidOptions = {
  name: 'golden.dcm',
  shiftDays: SHIFT,
  remapUid: hmacUidRemapper(KEY),
  pseudonym: { patientId: 'NGSCI-P-0001', patientName: 'SYNTHETIC^P0001' },
};

/** The expected remapping, computed here independently of uid.ts. */
/** The de-identified file in one buffer, as a reader takes it. */
function joined(result: DicomDeidResult): Buffer {
  return Buffer.concat(result.chunks, result.size);
}

function expectedUid(uid: string): string {
  const digest = createHmac('sha256', KEY).update(uid).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString()}`;
}

const CONTENT_SEQUENCE = TAG.ContentSequence;
const REFERENCED_IMAGE_SEQUENCE = TAG.ReferencedImageSequence;
const VERIFYING_OBSERVER_NAME = 0x0040a075;
const CONTENT_CREATOR_NAME = 0x00700084;
const REQUESTED_PROCEDURE_DESCRIPTION = 0x00321060;
const INSTITUTION_CODE_SEQUENCE = 0x00080082;
const OTHER_PATIENT_IDS_SEQUENCE = 0x00101002;
const ACQUISITION_DATETIME = 0x0008002a;
const PRIVATE_CREATOR = 0x00090010;
const SAFE_PRIVATE = 0x00091001;
const UNSAFE_PRIVATE = 0x00091002;
const OVERLAY_DATA = 0x60003000;
const OVERLAY_ROWS = 0x60000010;
const CURVE_DATA = 0x50003000;

/** One attribute of each action code (and of each rule), at a given nesting level. */
function attributes(level: number): DicomEntry[] {
  return [
    { tag: TAG.AccessionNumber, vr: 'SH', value: `ACC${level}` }, // Z
    { tag: VERIFYING_OBSERVER_NAME, vr: 'PN', value: `Observer^Level${level}` }, // D
    { tag: TAG.ImageComments, vr: 'LT', value: `comment ${level}` }, // X
    { tag: TAG.Manufacturer, vr: 'LO', value: 'ACME' }, // not listed: K
    { tag: TAG.StudyDate, vr: 'DA', value: '20240131' }, // Z, option C
    { tag: ACQUISITION_DATETIME, vr: 'DT', value: '20240131101500.25+0100' }, // X/Z/D, option C
    { tag: TAG.StudyTime, vr: 'TM', value: '101500' }, // Z, option C: times kept
    { tag: TAG.StudyInstanceUID, vr: 'UI', value: `1.2.3.4.${level}` }, // U
    { tag: CONTENT_CREATOR_NAME, vr: 'PN', value: `Creator^${level}` }, // Z/D
    { tag: REQUESTED_PROCEDURE_DESCRIPTION, vr: 'LO', value: `knee ${level}` }, // X/Z
    { tag: TAG.ProtocolName, vr: 'LO', value: `protocol ${level}` }, // X/D
    { tag: TAG.InstitutionName, vr: 'LO', value: 'General Hospital' }, // X/Z/D
    {
      tag: INSTITUTION_CODE_SEQUENCE, // X/Z/D on a sequence: emptied
      vr: 'SQ',
      value: [dicomDataset([{ tag: TAG.CodeValue, vr: 'SH', value: 'GH' }], { isItem: true })],
    },
    {
      tag: OTHER_PATIENT_IDS_SEQUENCE, // X on a sequence: removed whole
      vr: 'SQ',
      value: [dicomDataset([{ tag: TAG.PatientID, vr: 'LO', value: 'OTHER' }], { isItem: true })],
    },
    { tag: PRIVATE_CREATOR, vr: 'LO', value: 'LANTERN SAFE' },
    { tag: SAFE_PRIVATE, vr: 'LO', value: 'kept' },
    { tag: UNSAFE_PRIVATE, vr: 'LO', value: 'Private^Name' },
    { tag: TAG.PatientName, vr: 'PN', value: `Doe^Jane${level}` },
    { tag: TAG.PatientID, vr: 'LO', value: `MRN${level}` },
  ];
}

/** Attributes nested 2 deep: root > Content Sequence (D) > Referenced Image Sequence (X/Z/U*). */
function goldenDataset(): DicomDataset {
  const inner = dicomDataset(
    [...attributes(2), { tag: TAG.ReferencedSOPInstanceUID, vr: 'UI', value: '1.2.3.99.2' }],
    { isItem: true },
  );
  const middle = dicomDataset(
    [
      ...attributes(1),
      { tag: TAG.ReferencedSOPInstanceUID, vr: 'UI', value: '1.2.3.99.1' },
      { tag: REFERENCED_IMAGE_SEQUENCE, vr: 'SQ', value: [inner] },
    ],
    { isItem: true },
  );
  return dicomDataset([
    ...attributes(0),
    { tag: TAG.SOPClassUID, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.1.1' },
    { tag: TAG.SOPInstanceUID, vr: 'UI', value: '1.2.3.5.1' },
    { tag: TAG.Modality, vr: 'CS', value: 'DX' },
    { tag: TAG.BurnedInAnnotation, vr: 'CS', value: 'NO' },
    { tag: CONTENT_SEQUENCE, vr: 'SQ', value: [middle] },
    { tag: OVERLAY_ROWS, vr: 'US', value: 4 },
    { tag: OVERLAY_DATA, vr: 'OW', value: new Uint8Array(8) },
    { tag: CURVE_DATA, vr: 'OW', value: new Uint8Array(4) },
    { tag: TAG.PixelData, vr: 'OW', value: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
  ]);
}

const SAFE = [{ group: 0x0009, creator: 'LANTERN SAFE', element: 0x01 }];

/** The checks every level of the golden dataset must pass after de-identification. */
function expectLevel(dataset: DicomDataset, level: number, isImplicit: boolean): void {
  // In implicit VR a tag the reader's dictionary lacks has no VR (UN): its D dummy is empty.
  const dummyOfUnknown = isImplicit ? null : 'ANONYMIZED';
  expect(dataset.has(TAG.AccessionNumber)).toBe(true);
  expect(dataset.string(TAG.AccessionNumber)).toBeNull();
  expect(dataset.has(VERIFYING_OBSERVER_NAME)).toBe(true);
  expect(dataset.string(VERIFYING_OBSERVER_NAME)).toBe(dummyOfUnknown);
  expect(dataset.has(TAG.ImageComments)).toBe(false);
  expect(dataset.string(TAG.Manufacturer)).toBe('ACME');
  // 2024-01-31 minus 137 days is 2023-09-16.
  expect(dataset.string(TAG.StudyDate)).toBe('20230916');
  expect(dataset.string(ACQUISITION_DATETIME)).toBe('20230916101500.25+0100');
  expect(dataset.string(TAG.StudyTime)).toBe('101500');
  expect(dataset.string(TAG.StudyInstanceUID)).toBe(expectedUid(`1.2.3.4.${level}`));
  expect(dataset.string(CONTENT_CREATOR_NAME)).toBe(dummyOfUnknown);
  expect(dataset.has(REQUESTED_PROCEDURE_DESCRIPTION)).toBe(true);
  expect(dataset.string(REQUESTED_PROCEDURE_DESCRIPTION)).toBeNull();
  expect(dataset.string(TAG.ProtocolName)).toBe('ANONYMIZED');
  expect(dataset.string(TAG.InstitutionName)).toBe('ANONYMIZED');
  expect(dataset.has(INSTITUTION_CODE_SEQUENCE)).toBe(true);
  expect(dataset.items(INSTITUTION_CODE_SEQUENCE)).toHaveLength(0);
  expect(dataset.has(OTHER_PATIENT_IDS_SEQUENCE)).toBe(false);
  expect(dataset.string(PRIVATE_CREATOR)).toBe('LANTERN SAFE');
  expect(dataset.string(SAFE_PRIVATE)).toBe('kept');
  expect(dataset.has(UNSAFE_PRIVATE)).toBe(false);
  expect(dataset.string(TAG.PatientName)).toBe('SYNTHETIC^P0001');
  expect(dataset.string(TAG.PatientID)).toBe('NGSCI-P-0001');
}

describe('deidentifyDicom applies each PS3.15 action code at every level', () => {
  it.each([IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN])(
    'in %s',
    (uid) => {
      const source = writeDicom({ dataset: goldenDataset(), transferSyntaxUid: uid });
      const result = deidentifyDicom(source, { ...OPTIONS, safePrivateTags: SAFE });
      expect(result.transferSyntaxUid).toBe(uid);
      expect(result.hold).toBeNull();
      const file = readDicom(joined(result), { name: 'out.dcm' });
      expect(file.transferSyntax.uid).toBe(uid);
      const root = file.dataset;
      const isImplicit = uid === IMPLICIT_VR_LITTLE_ENDIAN;
      expectLevel(root, 0, isImplicit);
      const middle = root.items(CONTENT_SEQUENCE)[0];
      const inner = middle?.items(REFERENCED_IMAGE_SEQUENCE)[0];
      if (middle === undefined || inner === undefined) {
        throw new Error('the nested items are gone');
      }
      expectLevel(middle, 1, isImplicit);
      expectLevel(inner, 2, isImplicit);
      expect(middle.string(TAG.ReferencedSOPInstanceUID)).toBe(expectedUid('1.2.3.99.1'));
      expect(inner.string(TAG.ReferencedSOPInstanceUID)).toBe(expectedUid('1.2.3.99.2'));
      expect(root.has(OVERLAY_ROWS) || root.has(OVERLAY_DATA) || root.has(CURVE_DATA)).toBe(false);
      expect(root.string(TAG.SOPInstanceUID)).toBe(expectedUid('1.2.3.5.1'));
      expect(file.meta.string(TAG.MediaStorageSOPInstanceUID)).toBe(expectedUid('1.2.3.5.1'));
      expect(root.string(0x00120062)).toBe('YES');
      expect(root.strings(0x00120063)).toHaveLength(2);
      const codes = root.items(0x00120064).map((item) => item.string(TAG.CodeValue));
      expect(codes).toEqual(['113100', '113107']);
      expect(root.string(0x00280303)).toBe('MODIFIED');
      const pixels = readDicom(source, { name: 'in.dcm' }).dataset.get(TAG.PixelData)?.bytes;
      expect(pixels?.length).toBe(8);
      expect(
        Buffer.from(root.get(TAG.PixelData)?.bytes ?? []).equals(Buffer.from(pixels ?? [])),
      ).toBe(true);
    },
  );

  it('removes every private element when no safe list is given', () => {
    const source = writeDicom({
      dataset: goldenDataset(),
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    });
    const result = deidentifyDicom(source, OPTIONS);
    const root = readDicom(joined(result), { name: 'out.dcm' }).dataset;
    expect([...root.elements.values()].filter((element) => element.isPrivate)).toEqual([]);
    // A creator and two elements, at each of the three levels.
    expect(result.counts.privateRemoved).toBe(9);
  });

  it('maps the same source UID to the same new UID in every file, and a different one apart', () => {
    const source = writeDicom({
      dataset: goldenDataset(),
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    });
    const first = readDicom(joined(deidentifyDicom(source, OPTIONS)), { name: 'a' }).dataset;
    const second = readDicom(joined(deidentifyDicom(source, OPTIONS)), { name: 'b' }).dataset;
    expect(first.string(TAG.StudyInstanceUID)).toBe(second.string(TAG.StudyInstanceUID));
    const otherKey = deidentifyDicom(source, { ...OPTIONS, remapUid: hmacUidRemapper('other') });
    const third = readDicom(joined(otherKey), { name: 'c' }).dataset;
    expect(third.string(TAG.StudyInstanceUID)).not.toBe(first.string(TAG.StudyInstanceUID));
    expect(isUid(third.string(TAG.StudyInstanceUID) ?? '')).toBe(true);
  });

  it('writes the same bytes, and the SHA-256 of them, for the same input', () => {
    const source = writeDicom({
      dataset: goldenDataset(),
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    });
    const a = deidentifyDicom(source, OPTIONS);
    const b = deidentifyDicom(source, OPTIONS);
    expect(joined(a).equals(joined(b))).toBe(true);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.sha256).toBe(b.sha256);
    expect(a.sha256).toBe(createHash('sha256').update(joined(a)).digest('hex'));
  });

  it('hands the pixel data back as a view of the input, never copied, in chunks that add up', () => {
    // 128 KiB of pixels: longer than the pieces the writer joins, so a chunk of its own.
    const pixels = new Uint8Array(256 * 256 * 2).map((_, i) => i & 0xff);
    const dataset = changeDicomDataset(goldenDataset(), {
      set: [{ tag: TAG.PixelData, vr: 'OW', value: pixels }],
    });
    const source = writeDicom({ dataset, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
    const result = deidentifyDicom(source, OPTIONS);
    expect(result.size).toBe(result.chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    const bulk = result.chunks.filter((chunk) => chunk.length === pixels.length);
    expect(bulk).toHaveLength(1);
    expect(bulk[0]?.buffer).toBe(source.buffer);
    expect(Buffer.from(bulk[0] ?? []).equals(Buffer.from(pixels))).toBe(true);
    const root = readDicom(joined(result), { name: 'out.dcm' }).dataset;
    expect(Buffer.from(root.get(TAG.PixelData)?.bytes ?? []).equals(Buffer.from(pixels))).toBe(
      true,
    );
  });
});

describe('burned-in annotation holds', () => {
  const image = (entries: DicomEntry[]) =>
    writeDicom({
      dataset: dicomDataset([
        { tag: TAG.SOPClassUID, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.1' },
        { tag: TAG.SOPInstanceUID, vr: 'UI', value: '1.2.3' },
        ...entries,
      ]),
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    });
  const holdOf = (entries: DicomEntry[]) => deidentifyDicom(image(entries), OPTIONS).hold;

  it('holds an image whose Burned In Annotation is YES', () => {
    expect(holdOf([{ tag: TAG.BurnedInAnnotation, vr: 'CS', value: 'YES' }])?.reason).toMatch(
      /Burned In Annotation is YES/,
    );
  });

  it('holds an image with Recognizable Visual Features YES', () => {
    expect(holdOf([{ tag: 0x00280302, vr: 'CS', value: 'YES' }])?.reason).toMatch(/Recognizable/);
  });

  it('holds ultrasound and secondary capture that do not say', () => {
    expect(holdOf([{ tag: TAG.Modality, vr: 'CS', value: 'US' }])?.reason).toMatch(/ultrasound/);
    expect(holdOf([{ tag: TAG.Modality, vr: 'CS', value: 'OT' }])).not.toBeNull();
  });

  it('publishes ultrasound that says NO, and a radiograph that does not say', () => {
    expect(
      holdOf([
        { tag: TAG.Modality, vr: 'CS', value: 'US' },
        { tag: TAG.BurnedInAnnotation, vr: 'CS', value: 'NO' },
      ]),
    ).toBeNull();
    expect(holdOf([{ tag: TAG.Modality, vr: 'CS', value: 'CR' }])).toBeNull();
  });
});

describe('hostile input and bad options', () => {
  const good = () =>
    writeDicom({ dataset: goldenDataset(), transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });

  it('gives a FormatError for bytes that are not DICOM', () => {
    expect(() => deidentifyDicom(new TextEncoder().encode('not dicom'), OPTIONS)).toThrow(
      FormatError,
    );
  });

  it('gives a FormatError naming the offset for a truncated file', () => {
    const bytes = good();
    const error = (() => {
      try {
        deidentifyDicom(bytes.subarray(0, bytes.length - 5), OPTIONS);
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).code).toBe('invalid_dicom');
    expect((error as FormatError).file).toBe('golden.dcm');
  });

  it('gives a FormatError for a length that claims more than the file holds', () => {
    const bytes = Uint8Array.from(good());
    // The meta group's first element after the group length: make its length huge.
    const view = new DataView(bytes.buffer);
    view.setUint32(132 + 12 + 8, 0x7fffffff, true);
    expect(() => deidentifyDicom(bytes, OPTIONS)).toThrow(FormatError);
  });

  it('refuses a fractional day offset and an over-long pseudonym', () => {
    expect(() => deidentifyDicom(good(), { ...OPTIONS, shiftDays: 1.5 })).toThrow(DicomDeidError);
    expect(() =>
      deidentifyDicom(good(), {
        ...OPTIONS,
        pseudonym: { patientId: 'x'.repeat(65), patientName: 'A' },
      }),
    ).toThrow(DicomDeidError);
  });

  it('refuses a remapper that returns something that is not a UID', () => {
    expect(() => deidentifyDicom(good(), { ...OPTIONS, remapUid: () => 'not.a.uid' })).toThrow(
      DicomDeidError,
    );
  });
});

describe('the profile table', () => {
  it('lists each tag once, with the rows every de-identifier relies on', () => {
    expect(new Set(BASIC_PROFILE.map((row) => row.tag)).size).toBe(BASIC_PROFILE.length);
    expect(BASIC_PROFILE.length).toBeGreaterThan(300);
    expect(BASIC_PROFILE_BY_TAG.get(TAG.PatientName)?.basic).toBe('Z');
    expect(BASIC_PROFILE_BY_TAG.get(TAG.SOPInstanceUID)?.basic).toBe('U');
    expect(BASIC_PROFILE_BY_TAG.get(TAG.StudyDate)?.modifiedDates).toBe('C');
    expect(BASIC_PROFILE_BY_TAG.get(TAG.ReferencedImageSequence)?.isSequence).toBe(true);
    // RT Plan Date, Acquisition DateTime, Study Time: typed for values an implicit reader cannot.
    expect(BASIC_PROFILE_BY_TAG.get(0x300a0006)?.dateVr).toBe('DA');
    expect(BASIC_PROFILE_BY_TAG.get(0x0008002a)?.dateVr).toBe('DT');
    expect(BASIC_PROFILE_BY_TAG.get(TAG.StudyTime)?.dateVr).toBe('TM');
  });
});

describe('date shifting keeps the form', () => {
  it('shifts DA across month, year and leap days', () => {
    expect(shiftDateText('20240301', 'DA', -1)).toBe('20240229');
    expect(shiftDateText('20231231', 'DA', 1)).toBe('20240101');
    expect(shiftDateText('1997.04.30', 'DA', -100)).toBe('1997.01.20');
    expect(shiftDateText('20240230', 'DA', 0)).toBeNull();
  });

  it('shifts DT at its precision, keeping the time, fraction and offset', () => {
    expect(shiftDateText('2024', 'DT', 10)).toBe('2024');
    expect(shiftDateText('202401', 'DT', 40)).toBe('202402');
    expect(shiftDateText('20240131235959.123456-0500', 'DT', 1)).toBe('20240201235959.123456-0500');
  });

  it('shifts every value and both ends of a range, and drops what is not a date', () => {
    expect(shiftDateText('20240101\\20240102', 'DA', 1)).toBe('20240102\\20240103');
    expect(shiftDateText('20240101-20240201', 'DA', -1)).toBe('20231231-20240131');
    expect(shiftDateText('yesterday', 'DA', 1)).toBeNull();
  });
});
