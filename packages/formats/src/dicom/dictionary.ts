/**
 * The subset of the DICOM data dictionary (PS3.6, section 6) that Lantern reads: the identification
 * of patients, studies, series and instances, their dates, the image pixel module, the modality and
 * VOI LUT modules, the waveform module, and the attributes PS3.15 Annex E lists as identifying. An
 * implicit-VR file names no VRs, so the reader takes them from here; a tag not listed here is `UN`
 * (its value kept as bytes). Where PS3.6 allows two VRs ("US or SS", "OB or OW"), the one an
 * implicit-VR file uses (PS3.5 Annex A.1) is given.
 */

/** The value representations of PS3.5 Table 6.2-1. */
export const VRS = [
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FD',
  'FL',
  'IS',
  'LO',
  'LT',
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'PN',
  'SH',
  'SL',
  'SQ',
  'SS',
  'ST',
  'SV',
  'TM',
  'UC',
  'UI',
  'UL',
  'UN',
  'UR',
  'US',
  'UT',
  'UV',
] as const;

export type Vr = (typeof VRS)[number];

const VR_SET: ReadonlySet<string> = new Set(VRS);

export function isVr(text: string): text is Vr {
  return VR_SET.has(text);
}

/** The VRs by their two bytes as one number (first byte high), as an explicit VR header holds them. */
const VR_BY_CODE: ReadonlyMap<number, Vr> = new Map(
  VRS.map((vr): [number, Vr] => [(vr.charCodeAt(0) << 8) | vr.charCodeAt(1), vr]),
);

/**
 * The VR whose two characters are the bytes `first` and `second`, or undefined: the parser's way to
 * read an explicit VR without making a string of every header's bytes.
 */
export function vrOfBytes(first: number, second: number): Vr | undefined {
  return VR_BY_CODE.get((first << 8) | second);
}

/** VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 7.1.2). */
export const LONG_VRS: ReadonlySet<Vr> = new Set<Vr>([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);

/** VRs whose values are text (PS3.5 6.2). */
export const TEXT_VRS: ReadonlySet<Vr> = new Set<Vr>([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'ST',
  'TM',
  'UC',
  'UI',
  'UR',
  'UT',
]);

/** A tag as one number: group in the high 16 bits, element in the low 16. */
export function tagOf(group: number, element: number): number {
  return ((group << 16) | element) >>> 0;
}

/** The tag as DICOM writes it: "(0010,0010)". */
export function formatTag(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

/** Is the tag private (an odd group, PS3.5 7.8)? */
export function isPrivateTag(tag: number): boolean {
  return ((tag >>> 16) & 1) === 1;
}

const ENTRIES = [
  // File meta information (PS3.10 7.1)
  [0x00020000, 'UL', 'FileMetaInformationGroupLength'],
  [0x00020001, 'OB', 'FileMetaInformationVersion'],
  [0x00020002, 'UI', 'MediaStorageSOPClassUID'],
  [0x00020003, 'UI', 'MediaStorageSOPInstanceUID'],
  [0x00020010, 'UI', 'TransferSyntaxUID'],
  [0x00020012, 'UI', 'ImplementationClassUID'],
  [0x00020013, 'SH', 'ImplementationVersionName'],
  [0x00020016, 'AE', 'SourceApplicationEntityTitle'],
  // SOP common, general study, series, equipment
  [0x00080005, 'CS', 'SpecificCharacterSet'],
  [0x00080008, 'CS', 'ImageType'],
  [0x00080012, 'DA', 'InstanceCreationDate'],
  [0x00080013, 'TM', 'InstanceCreationTime'],
  [0x00080014, 'UI', 'InstanceCreatorUID'],
  [0x00080016, 'UI', 'SOPClassUID'],
  [0x00080018, 'UI', 'SOPInstanceUID'],
  [0x00080020, 'DA', 'StudyDate'],
  [0x00080021, 'DA', 'SeriesDate'],
  [0x00080022, 'DA', 'AcquisitionDate'],
  [0x00080023, 'DA', 'ContentDate'],
  [0x0008002a, 'DT', 'AcquisitionDateTime'],
  [0x00080030, 'TM', 'StudyTime'],
  [0x00080031, 'TM', 'SeriesTime'],
  [0x00080032, 'TM', 'AcquisitionTime'],
  [0x00080033, 'TM', 'ContentTime'],
  [0x00080050, 'SH', 'AccessionNumber'],
  [0x00080060, 'CS', 'Modality'],
  [0x00080064, 'CS', 'ConversionType'],
  [0x00080070, 'LO', 'Manufacturer'],
  [0x00080080, 'LO', 'InstitutionName'],
  [0x00080081, 'ST', 'InstitutionAddress'],
  [0x00080090, 'PN', 'ReferringPhysicianName'],
  [0x00080092, 'ST', 'ReferringPhysicianAddress'],
  [0x00080094, 'SH', 'ReferringPhysicianTelephoneNumbers'],
  [0x00080100, 'SH', 'CodeValue'],
  [0x00080102, 'SH', 'CodingSchemeDesignator'],
  [0x00080104, 'LO', 'CodeMeaning'],
  [0x00081010, 'SH', 'StationName'],
  [0x00081030, 'LO', 'StudyDescription'],
  [0x0008103e, 'LO', 'SeriesDescription'],
  [0x00081040, 'LO', 'InstitutionalDepartmentName'],
  [0x00081048, 'PN', 'PhysiciansOfRecord'],
  [0x00081050, 'PN', 'PerformingPhysicianName'],
  [0x00081060, 'PN', 'NameOfPhysiciansReadingStudy'],
  [0x00081070, 'PN', 'OperatorsName'],
  [0x00081090, 'LO', 'ManufacturerModelName'],
  [0x00081110, 'SQ', 'ReferencedStudySequence'],
  [0x00081111, 'SQ', 'ReferencedPerformedProcedureStepSequence'],
  [0x00081115, 'SQ', 'ReferencedSeriesSequence'],
  [0x00081140, 'SQ', 'ReferencedImageSequence'],
  [0x00081150, 'UI', 'ReferencedSOPClassUID'],
  [0x00081155, 'UI', 'ReferencedSOPInstanceUID'],
  [0x00082111, 'ST', 'DerivationDescription'],
  // Patient
  [0x00100010, 'PN', 'PatientName'],
  [0x00100020, 'LO', 'PatientID'],
  [0x00100021, 'LO', 'IssuerOfPatientID'],
  [0x00100030, 'DA', 'PatientBirthDate'],
  [0x00100032, 'TM', 'PatientBirthTime'],
  [0x00100040, 'CS', 'PatientSex'],
  [0x00101000, 'LO', 'OtherPatientIDs'],
  [0x00101001, 'PN', 'OtherPatientNames'],
  [0x00101005, 'PN', 'PatientBirthName'],
  [0x00101010, 'AS', 'PatientAge'],
  [0x00101020, 'DS', 'PatientSize'],
  [0x00101030, 'DS', 'PatientWeight'],
  [0x00101040, 'LO', 'PatientAddress'],
  [0x00101060, 'PN', 'PatientMotherBirthName'],
  [0x00102154, 'SH', 'PatientTelephoneNumbers'],
  [0x00102160, 'SH', 'EthnicGroup'],
  [0x001021b0, 'LT', 'AdditionalPatientHistory'],
  [0x00104000, 'LT', 'PatientComments'],
  // Acquisition
  [0x00180015, 'CS', 'BodyPartExamined'],
  [0x00180050, 'DS', 'SliceThickness'],
  [0x00180060, 'DS', 'KVP'],
  [0x00181000, 'LO', 'DeviceSerialNumber'],
  [0x00181020, 'LO', 'SoftwareVersions'],
  [0x00181030, 'LO', 'ProtocolName'],
  [0x00185101, 'CS', 'ViewPosition'],
  // Relationship
  [0x0020000d, 'UI', 'StudyInstanceUID'],
  [0x0020000e, 'UI', 'SeriesInstanceUID'],
  [0x00200010, 'SH', 'StudyID'],
  [0x00200011, 'IS', 'SeriesNumber'],
  [0x00200013, 'IS', 'InstanceNumber'],
  [0x00200020, 'CS', 'PatientOrientation'],
  [0x00200032, 'DS', 'ImagePositionPatient'],
  [0x00200037, 'DS', 'ImageOrientationPatient'],
  [0x00200052, 'UI', 'FrameOfReferenceUID'],
  [0x00200060, 'CS', 'Laterality'],
  [0x00200062, 'CS', 'ImageLaterality'],
  [0x00204000, 'LT', 'ImageComments'],
  // Image pixel, modality LUT, VOI LUT (PS3.3 C.7.6.3, C.11.1, C.11.2)
  [0x00280002, 'US', 'SamplesPerPixel'],
  [0x00280004, 'CS', 'PhotometricInterpretation'],
  [0x00280006, 'US', 'PlanarConfiguration'],
  [0x00280008, 'IS', 'NumberOfFrames'],
  [0x00280009, 'AT', 'FrameIncrementPointer'],
  [0x00280010, 'US', 'Rows'],
  [0x00280011, 'US', 'Columns'],
  [0x00280030, 'DS', 'PixelSpacing'],
  [0x00280100, 'US', 'BitsAllocated'],
  [0x00280101, 'US', 'BitsStored'],
  [0x00280102, 'US', 'HighBit'],
  [0x00280103, 'US', 'PixelRepresentation'],
  [0x00280106, 'US', 'SmallestImagePixelValue'],
  [0x00280107, 'US', 'LargestImagePixelValue'],
  [0x00280301, 'CS', 'BurnedInAnnotation'],
  [0x00281050, 'DS', 'WindowCenter'],
  [0x00281051, 'DS', 'WindowWidth'],
  [0x00281052, 'DS', 'RescaleIntercept'],
  [0x00281053, 'DS', 'RescaleSlope'],
  [0x00281054, 'LO', 'RescaleType'],
  [0x00281055, 'LO', 'WindowCenterWidthExplanation'],
  [0x00281056, 'CS', 'VOILUTFunction'],
  [0x00282110, 'CS', 'LossyImageCompression'],
  [0x00283002, 'US', 'LUTDescriptor'],
  [0x00283006, 'OW', 'LUTData'],
  [0x00283010, 'SQ', 'VOILUTSequence'],
  // Requests and visits
  [0x00321030, 'LO', 'ReasonForStudy'],
  [0x00321032, 'PN', 'RequestingPhysician'],
  [0x00321060, 'LO', 'RequestedProcedureDescription'],
  [0x00380010, 'LO', 'AdmissionID'],
  [0x00380300, 'LO', 'CurrentPatientLocation'],
  [0x00380400, 'LO', 'PatientInstitutionResidence'],
  [0x00384000, 'LT', 'VisitComments'],
  [0x00400244, 'DA', 'PerformedProcedureStepStartDate'],
  [0x00400245, 'TM', 'PerformedProcedureStepStartTime'],
  [0x00400253, 'SH', 'PerformedProcedureStepID'],
  [0x00400275, 'SQ', 'RequestAttributesSequence'],
  [0x00401001, 'SH', 'RequestedProcedureID'],
  [0x00401002, 'LO', 'ReasonForTheRequestedProcedure'],
  [0x0040a730, 'SQ', 'ContentSequence'],
  // Waveform (PS3.3 C.10.9)
  [0x003a0004, 'CS', 'WaveformOriginality'],
  [0x003a0005, 'US', 'NumberOfWaveformChannels'],
  [0x003a0010, 'UL', 'NumberOfWaveformSamples'],
  [0x003a001a, 'DS', 'SamplingFrequency'],
  [0x003a0020, 'SH', 'MultiplexGroupLabel'],
  [0x003a0200, 'SQ', 'ChannelDefinitionSequence'],
  [0x003a0202, 'IS', 'WaveformChannelNumber'],
  [0x003a0203, 'SH', 'ChannelLabel'],
  [0x003a0205, 'CS', 'ChannelStatus'],
  [0x003a0208, 'SQ', 'ChannelSourceSequence'],
  [0x003a0210, 'DS', 'ChannelSensitivity'],
  [0x003a0211, 'SQ', 'ChannelSensitivityUnitsSequence'],
  [0x003a0212, 'DS', 'ChannelSensitivityCorrectionFactor'],
  [0x003a0213, 'DS', 'ChannelBaseline'],
  [0x003a0214, 'DS', 'ChannelTimeSkew'],
  [0x003a0215, 'DS', 'ChannelSampleSkew'],
  [0x003a0218, 'DS', 'ChannelOffset'],
  [0x003a021a, 'US', 'WaveformBitsStored'],
  [0x003a0220, 'DS', 'FilterLowFrequency'],
  [0x003a0221, 'DS', 'FilterHighFrequency'],
  [0x003a0222, 'DS', 'NotchFilterFrequency'],
  [0x54000100, 'SQ', 'WaveformSequence'],
  [0x54001004, 'US', 'WaveformBitsAllocated'],
  [0x54001006, 'CS', 'WaveformSampleInterpretation'],
  [0x5400100a, 'OW', 'WaveformPaddingValue'],
  [0x54001010, 'OW', 'WaveformData'],
  // Pixel data
  [0x7fe00010, 'OW', 'PixelData'],
] as const satisfies readonly (readonly [number, Vr, string])[];

/** The keyword of a tag in the dictionary (PS3.6's keyword column). */
export type DicomKeyword = (typeof ENTRIES)[number][2];

/** What the dictionary says of a tag. */
export interface DictionaryLookup {
  readonly vr: Vr;
  readonly keyword: string | null;
}

interface DictionaryEntry {
  readonly vr: Vr;
  readonly keyword: string;
}

const BY_TAG: ReadonlyMap<number, DictionaryEntry> = new Map(
  ENTRIES.map(([tag, vr, keyword]): [number, DictionaryEntry] => [tag, { vr, keyword }]),
);

/** The tags by keyword, for the constants callers use: `TAG.PatientName`. */
export const TAG = Object.freeze(
  Object.fromEntries(ENTRIES.map(([tag, , keyword]) => [keyword, tag])),
) as Readonly<Record<DicomKeyword, number>>;

/**
 * The dictionary's VR and keyword for a tag. Group lengths (gggg,0000) are UL and private creators
 * (odd gggg, 0010-00FF) are LO (PS3.5 7.8.1); anything else unknown is UN.
 */
export function lookupTag(tag: number): DictionaryLookup {
  const entry = BY_TAG.get(tag);
  if (entry !== undefined) {
    return entry;
  }
  const element = tag & 0xffff;
  if (element === 0) {
    return GROUP_LENGTH;
  }
  if (isPrivateTag(tag) && element >= 0x10 && element <= 0xff) {
    return PRIVATE_CREATOR;
  }
  return UNKNOWN;
}

// The answers for tags the dictionary does not list, made once (every file has many such tags).
const GROUP_LENGTH: DictionaryLookup = Object.freeze({ vr: 'UL', keyword: null });
const PRIVATE_CREATOR: DictionaryLookup = Object.freeze({ vr: 'LO', keyword: 'PrivateCreator' });
const UNKNOWN: DictionaryLookup = Object.freeze({ vr: 'UN', keyword: null });
