/**
 * Transfer syntaxes (PS3.5 section 10 and Annex A; the UIDs of PS3.6 Annex A): how the dataset after
 * the file meta group is encoded, and how its pixel data is.
 */

/** How pixel data is stored under a transfer syntax. */
export type PixelEncoding =
  | 'native'
  | 'rle'
  | 'jpeg-baseline'
  | 'jpeg-extended'
  | 'jpeg-lossless'
  | 'jpeg-ls'
  | 'jpeg-2000'
  | 'htj2k'
  | 'mpeg'
  | 'unknown-encapsulated';

export interface TransferSyntax {
  readonly uid: string;
  readonly name: string;
  /** Does each element carry its VR (PS3.5 7.1.2) rather than take it from the dictionary? */
  readonly isExplicitVr: boolean;
  readonly isLittleEndian: boolean;
  /** Is the dataset after the meta group deflated (RFC 1951, PS3.5 A.5)? */
  readonly isDeflated: boolean;
  readonly pixelEncoding: PixelEncoding;
}

function syntax(
  uid: string,
  name: string,
  pixelEncoding: PixelEncoding,
  flags: Partial<Pick<TransferSyntax, 'isExplicitVr' | 'isLittleEndian' | 'isDeflated'>> = {},
): TransferSyntax {
  return {
    uid,
    name,
    isExplicitVr: flags.isExplicitVr ?? true,
    isLittleEndian: flags.isLittleEndian ?? true,
    isDeflated: flags.isDeflated ?? false,
    pixelEncoding,
  };
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

const KNOWN: readonly TransferSyntax[] = [
  syntax(IMPLICIT_VR_LITTLE_ENDIAN, 'Implicit VR Little Endian', 'native', {
    isExplicitVr: false,
  }),
  syntax(EXPLICIT_VR_LITTLE_ENDIAN, 'Explicit VR Little Endian', 'native'),
  syntax(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 'Deflated Explicit VR Little Endian', 'native', {
    isDeflated: true,
  }),
  syntax(EXPLICIT_VR_BIG_ENDIAN, 'Explicit VR Big Endian (retired)', 'native', {
    isLittleEndian: false,
  }),
  syntax(RLE_LOSSLESS, 'RLE Lossless', 'rle'),
  syntax('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg-baseline'),
  syntax('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', 'jpeg-extended'),
  // Retired (PS3.5 2006 and earlier), still found in archives; the frame header (SOF) says which
  // of them are decoded (jpeg.ts).
  syntax('1.2.840.10008.1.2.4.52', 'JPEG Extended (Process 3 & 5) (Retired)', 'jpeg-extended'),
  syntax(
    '1.2.840.10008.1.2.4.53',
    'JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (Retired)',
    'jpeg-extended',
  ),
  syntax(
    '1.2.840.10008.1.2.4.54',
    'JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (Retired)',
    'jpeg-extended',
  ),
  syntax(
    '1.2.840.10008.1.2.4.55',
    'JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (Retired)',
    'jpeg-extended',
  ),
  syntax(
    '1.2.840.10008.1.2.4.56',
    'JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (Retired)',
    'jpeg-extended',
  ),
  syntax('1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)', 'jpeg-lossless'),
  syntax(
    '1.2.840.10008.1.2.4.58',
    'JPEG Lossless, Non-Hierarchical (Process 15) (Retired)',
    'jpeg-lossless',
  ),
  syntax(
    '1.2.840.10008.1.2.4.70',
    'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1)',
    'jpeg-lossless',
  ),
  syntax('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', 'jpeg-ls'),
  syntax('1.2.840.10008.1.2.4.81', 'JPEG-LS Lossy (Near-Lossless)', 'jpeg-ls'),
  syntax('1.2.840.10008.1.2.4.90', 'JPEG 2000 (Lossless Only)', 'jpeg-2000'),
  syntax('1.2.840.10008.1.2.4.91', 'JPEG 2000', 'jpeg-2000'),
  syntax('1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 (Lossless Only)', 'htj2k'),
  syntax('1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 with RPCL (Lossless Only)', 'htj2k'),
  syntax('1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000', 'htj2k'),
  syntax('1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level', 'mpeg'),
  syntax('1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile', 'mpeg'),
];

const BY_UID: ReadonlyMap<string, TransferSyntax> = new Map(KNOWN.map((ts) => [ts.uid, ts]));

/**
 * The transfer syntax of a UID. An unknown UID is read as explicit VR little endian with
 * encapsulated pixel data, which PS3.5 section 10 requires of every transfer syntax but the few
 * native ones.
 */
export function transferSyntaxOf(uid: string): TransferSyntax {
  return BY_UID.get(uid) ?? syntax(uid, 'Unknown transfer syntax', 'unknown-encapsulated');
}
