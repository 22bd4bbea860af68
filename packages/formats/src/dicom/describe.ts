import { maskValue } from '../identifying.js';
/**
 * What `lantern inspect` says about a DICOM file: its transfer syntax, image geometry or waveform
 * leads, and the attributes that identify a person or an encounter, with their values masked. The
 * identifying attributes are those PS3.15 Annex E (Table E.1-1, the basic application level
 * confidentiality profile) removes or replaces that this reader's dictionary knows: names, IDs,
 * dates and times, UIDs, institutions and physicians, free text about the patient. They are looked
 * for in nested sequences too. Private elements, which the profile removes, are counted.
 */
import { basename } from 'node:path';
import { formatTag, TAG, type DicomKeyword } from './dictionary.js';
import {
  readDicomFile,
  type DicomDataset,
  type DicomFile,
  type DicomReadOptions,
} from './parse.js';
import { readJpegFrameHeader, undecodedJpegProcess } from './jpeg.js';
import { readImageInfo } from './pixels.js';
import { readWaveforms } from './waveform.js';

/** PS3.15 Table E.1-1 attributes in this reader's dictionary. */
const IDENTIFYING: readonly DicomKeyword[] = [
  'AccessionNumber',
  'AcquisitionDate',
  'AcquisitionDateTime',
  'AcquisitionTime',
  'AdditionalPatientHistory',
  'AdmissionID',
  'ContentDate',
  'ContentTime',
  'CurrentPatientLocation',
  'DerivationDescription',
  'DeviceSerialNumber',
  'EthnicGroup',
  'FrameOfReferenceUID',
  'ImageComments',
  'InstanceCreationDate',
  'InstanceCreationTime',
  'InstanceCreatorUID',
  'InstitutionAddress',
  'InstitutionalDepartmentName',
  'InstitutionName',
  'IssuerOfPatientID',
  'MediaStorageSOPInstanceUID',
  'NameOfPhysiciansReadingStudy',
  'OperatorsName',
  'OtherPatientIDs',
  'OtherPatientNames',
  'PatientAddress',
  'PatientAge',
  'PatientBirthDate',
  'PatientBirthName',
  'PatientBirthTime',
  'PatientComments',
  'PatientID',
  'PatientInstitutionResidence',
  'PatientMotherBirthName',
  'PatientName',
  'PatientSex',
  'PatientSize',
  'PatientTelephoneNumbers',
  'PatientWeight',
  'PerformedProcedureStepID',
  'PerformedProcedureStepStartDate',
  'PerformedProcedureStepStartTime',
  'PerformingPhysicianName',
  'PhysiciansOfRecord',
  'ProtocolName',
  'ReasonForTheRequestedProcedure',
  'ReferencedSOPInstanceUID',
  'ReferringPhysicianAddress',
  'ReferringPhysicianName',
  'ReferringPhysicianTelephoneNumbers',
  'RequestedProcedureID',
  'RequestingPhysician',
  'SeriesDate',
  'SeriesDescription',
  'SeriesInstanceUID',
  'SeriesTime',
  'SOPInstanceUID',
  'StationName',
  'StudyDate',
  'StudyDescription',
  'StudyID',
  'StudyInstanceUID',
  'StudyTime',
  'VisitComments',
];

const IDENTIFYING_TAGS: ReadonlyMap<number, DicomKeyword> = new Map(
  IDENTIFYING.map((keyword) => [TAG[keyword], keyword]),
);

/** An identifying attribute found in the file, its value masked. */
export interface IdentifyingAttribute {
  /** "(0010,0010)". */
  tag: string;
  keyword: DicomKeyword;
  /** Masked: see `maskValue`. */
  value: string;
  /** The sequences it is nested in, outermost first ("RequestAttributesSequence[1]"); [] at the top. */
  path: string[];
}

export interface DicomDescription {
  format: 'dicom' | 'ecg-dicom';
  transferSyntax: { uid: string; name: string };
  sopClassUid: string | null;
  modality: string | null;
  /** Image geometry; null when the file has no image (a waveform, a structured report). */
  width: number | null;
  height: number | null;
  frames: number | null;
  samplesPerPixel: number | null;
  bitsAllocated: number | null;
  photometricInterpretation: string | null;
  /**
   * Does this reader decode the file's pixel data (native, RLE, JPEG of 8 or 12-bit DCT, Huffman
   * or arithmetic, and Huffman lossless, JPEG-LS, JPEG 2000, HTJ2K)? For JPEG the first frame's
   * header (SOF) says, not the transfer syntax alone.
   */
  isPixelDataDecoded: boolean;
  /** Why not, when the file has an image whose pixel data is not decoded; else null. */
  pixelDataNotDecoded: string | null;
  /** Burned In Annotation (0028,0301): text in the pixels that de-identification cannot remove. */
  burnedInAnnotation: string | null;
  /** For a waveform: the first multiplex group's channel count and sampling frequency. */
  leads: number | null;
  samplingRate: number | null;
  /** Private elements (odd groups) at the top level, which PS3.15's basic profile removes. */
  privateElements: number;
  identifying: IdentifyingAttribute[];
}

function findIdentifying(
  dataset: DicomDataset,
  path: string[],
  found: IdentifyingAttribute[],
): void {
  for (const element of dataset.elements.values()) {
    const keyword = IDENTIFYING_TAGS.get(element.tag);
    if (keyword !== undefined) {
      const value = dataset.string(element.tag);
      if (value !== null) {
        found.push({ tag: formatTag(element.tag), keyword, value: maskValue(value), path });
      }
    }
    element.items?.forEach((item, index) => {
      findIdentifying(
        item,
        [...path, `${element.keyword ?? formatTag(element.tag)}[${index + 1}]`],
        found,
      );
    });
  }
}

/**
 * Why the pixel data's encoding is not decoded by this reader, or null when it is: by transfer
 * syntax, and for JPEG by the first fragment's frame header (its process and precision), as
 * `decodeFrame` decides.
 */
function undecodedPixelData(file: DicomFile): string | null {
  const { name, uid, pixelEncoding } = file.transferSyntax;
  switch (pixelEncoding) {
    case 'native':
    case 'rle':
    case 'jpeg-ls':
    case 'jpeg-2000':
    case 'htj2k':
      return null;
    case 'jpeg-baseline':
    case 'jpeg-extended':
    case 'jpeg-lossless': {
      const fragment = file.dataset
        .get(TAG.PixelData)
        ?.encapsulated?.fragments.find((f) => f.bytes.length > 0);
      const header = fragment === undefined ? null : readJpegFrameHeader(fragment.bytes);
      return header === null
        ? 'the JPEG stream has no frame header (SOF)'
        : undecodedJpegProcess(header);
    }
    case 'mpeg':
    case 'unknown-encapsulated':
      return `pixel data in ${name} (${uid}) is not decoded`;
    default:
      return pixelEncoding satisfies never;
  }
}

/** Describes a DICOM file already read. */
export function describeDicom(file: DicomFile): DicomDescription {
  const { dataset } = file;
  const hasImage = dataset.has(TAG.PixelData) && dataset.has(TAG.Rows);
  const image = hasImage ? readImageInfo(file) : null;
  const waveforms = dataset.has(TAG.WaveformSequence) ? readWaveforms(file) : [];
  const identifying: IdentifyingAttribute[] = [];
  findIdentifying(file.meta, [], identifying);
  findIdentifying(dataset, [], identifying);
  const undecoded = undecodedPixelData(file);
  return {
    format: waveforms.length > 0 ? 'ecg-dicom' : 'dicom',
    transferSyntax: { uid: file.transferSyntax.uid, name: file.transferSyntax.name },
    sopClassUid: dataset.string(TAG.SOPClassUID) ?? file.meta.string(TAG.MediaStorageSOPClassUID),
    modality: dataset.string(TAG.Modality),
    width: image?.columns ?? null,
    height: image?.rows ?? null,
    frames: image?.frames ?? null,
    samplesPerPixel: image?.samplesPerPixel ?? null,
    bitsAllocated: image?.bitsAllocated ?? null,
    photometricInterpretation: image?.photometricInterpretation ?? null,
    isPixelDataDecoded: image !== null && undecoded === null,
    pixelDataNotDecoded: image === null ? null : undecoded,
    burnedInAnnotation: dataset.string(TAG.BurnedInAnnotation),
    leads: waveforms[0]?.channels.length ?? null,
    samplingRate: waveforms[0]?.samplingFrequency ?? null,
    privateElements: Array.from(dataset.elements.values()).filter((element) => element.isPrivate)
      .length,
    identifying,
  };
}

/** Reads and describes the DICOM file at `path`; `name` defaults to its base name. */
export async function describeDicomFile(
  path: string,
  options: Partial<DicomReadOptions> = {},
): Promise<DicomDescription> {
  return describeDicom(
    await readDicomFile(path, { ...options, name: options.name ?? basename(path) }),
  );
}
