/**
 * JPEG pixel data (PS3.5 A.4.1, ISO/IEC 10918-1): 8-bit baseline and progressive as libjpeg-turbo
 * decodes them (`../jpeg/libjpeg-turbo.ts`: baseline by this package's C decoder in WebAssembly,
 * progressive by libjpeg-turbo's npm build), as pydicom's Pillow and dcmtk decode them; extended
 * sequential (SOF1, processes 2 and 4) at 8 or 12 bits, 12-bit frames however marked (sequential
 * or progressive, SOF0 to SOF2), arithmetic-coded ones (SOF9, SOF10) and frames of 0 lines (DNL)
 * by `../jpeg/sequential.ts` (the npm build of libjpeg-turbo reads none of them), as dcmtk's
 * dcmdjpeg (or, for arithmetic coding, libjpeg-turbo's djpeg) decodes them; lossless (process 14,
 * any precision) by `../jpeg/lossless.ts`. And JPEG-LS (PS3.5 A.4.3, ISO/IEC 14495-1), lossless
 * and near-lossless, by CharLS in WebAssembly (`../jpeg/charls.ts`), as GDCM and dcmtk decode it.
 * The frame header (SOF, or JPEG-LS's SOF55 of the same layout) is read here first and must agree
 * with the dataset's Rows, Columns and Samples per Pixel, whose size `readImageInfo` has already
 * bounded; anything the decoders throw becomes a FormatError (`./frame-codec.ts`). Arithmetic
 * lossless and hierarchical JPEG are `unsupported_transfer_syntax` (`undecodedJpegProcess` says
 * so, for `lantern inspect` too).
 */
import { FormatError } from '../format-error.js';
import { decodeJpegLsSamples } from '../jpeg/charls.js';
import { decodeJpegSamples } from '../jpeg/libjpeg-turbo.js';
import { decodeJpegLossless } from '../jpeg/lossless.js';
import { decodeJpegSequential } from '../jpeg/sequential.js';
import { runFrameCodec } from './frame-codec.js';
import type { DicomFile } from './parse.js';
import type { ImageInfo } from './pixels.js';

/** One frame decoded by a codec, before pixels.ts masks and sign-extends it. */
export interface DecodedPixels {
  /** Unsigned raw samples, interleaved unless `isPlanar`. */
  samples: Uint8Array | Uint16Array;
  /** YBR colour that the codec converted comes out as RGB, and this says so. */
  photometricInterpretation: string;
  /** The bits the stream keeps per sample, where it says so (else the dataset's Bits Stored). */
  bitsStored: number | null;
  /**
   * The bits above which no sample has one set, where the codec guarantees it (a DCT decoder
   * clamps to its precision), so that masking to a Bits Stored at least as wide can be skipped;
   * null when not known.
   */
  sampleBits: number | null;
  /** Each sample's plane after the other (a JPEG-LS stream with one scan per component). */
  isPlanar: boolean;
}

/** A JPEG stream's frame header (ISO/IEC 10918-1 B.2.2; ISO/IEC 14495-1 C.2.2 for JPEG-LS). */
export interface JpegFrameHeader {
  /**
   * The SOF marker's low byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, 0xC3 lossless, …,
   * 0xF7 JPEG-LS (SOF55).
   */
  process: number;
  precision: number;
  height: number;
  width: number;
  components: number;
}

/** Reads the markers up to the first SOF; null when the stream has none. Always ends. */
export function readJpegFrameHeader(bytes: Uint8Array): JpegFrameHeader | null {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    return null;
  }
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) {
      return null;
    }
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0);
    const isSof =
      (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) ||
      marker === 0xf7;
    if (isSof) {
      if (at + 10 > bytes.length) {
        return null;
      }
      return {
        process: marker,
        precision: bytes[at + 4] ?? 0,
        height: ((bytes[at + 5] ?? 0) << 8) | (bytes[at + 6] ?? 0),
        width: ((bytes[at + 7] ?? 0) << 8) | (bytes[at + 8] ?? 0),
        components: bytes[at + 9] ?? 0,
      };
    }
    if (length < 2) {
      return null;
    }
    at += 2 + length;
  }
  return null;
}

/**
 * Why this package does not decode JPEG frames of a frame header's process and precision, or null
 * when it does (T.81 Table B.1: DCT at 8 or 12 bits, Huffman-coded (SOF0 to SOF2) or arithmetic
 * (SOF9, SOF10), and lossless with Huffman coding (SOF3); not arithmetic lossless (SOF11) nor
 * hierarchical frames (SOF5 to SOF7, SOF13 to SOF15)).
 */
export function undecodedJpegProcess(header: JpegFrameHeader): string | null {
  const { process, precision } = header;
  const sof = `SOF${process - 0xc0}, 0x${process.toString(16).toUpperCase()}`;
  if (process === 0xcb) {
    return `arithmetic-coded lossless JPEG (${sof}) is not decoded`;
  }
  if ((process >= 0xc5 && process <= 0xc7) || (process >= 0xcd && process <= 0xcf)) {
    return `hierarchical JPEG (${sof}) is not decoded`;
  }
  if (process > 0xcf) {
    return `a JPEG-LS stream (${sof}) under a JPEG transfer syntax is not decoded`;
  }
  if ((process <= 0xc2 || process >= 0xc9) && precision !== 8 && precision !== 12) {
    return `DCT JPEG of ${precision}-bit samples (${sof}) is not decoded (T.81 allows 8 and 12)`;
  }
  return null;
}

/**
 * The stream's frame header, which must agree with the dataset's Rows, Columns and Samples per
 * Pixel (a FormatError otherwise, or when there is none); a header of 0 lines leaves its height
 * to a DNL segment, which the decoders check against Rows (`../jpeg/lines.ts`).
 */
function checkedFrameHeader(
  file: DicomFile,
  info: ImageInfo,
  bytes: Uint8Array,
  offset: number,
): JpegFrameHeader {
  const header = readJpegFrameHeader(bytes);
  if (header === null) {
    throw new FormatError('invalid_dicom', 'the JPEG stream has no frame header (SOF)', {
      file: file.name,
      offset,
    });
  }
  if (
    header.width !== info.columns ||
    (header.height !== info.rows && header.height !== 0) ||
    header.components !== info.samplesPerPixel
  ) {
    throw new FormatError(
      'invalid_dicom',
      `the JPEG frame is ${header.width} x ${header.height} x ${header.components}, the dataset says ${info.columns} x ${info.rows} x ${info.samplesPerPixel}`,
      { file: file.name, offset },
    );
  }
  return header;
}

/**
 * Decodes one JPEG frame to samples, interleaved. Colour that the stream holds as YCbCr (the
 * YBR_FULL and YBR_FULL_422 photometric interpretations) comes out as RGB, as pydicom and dcmtk
 * give it; the returned photometric interpretation says so.
 */
export function decodeJpeg(
  file: DicomFile,
  info: ImageInfo,
  bytes: Uint8Array,
  offset: number,
): DecodedPixels {
  return runFrameCodec(file, offset, 'JPEG', (fail) => {
    const header = checkedFrameHeader(file, info, bytes, offset);
    const undecoded = undecodedJpegProcess(header);
    if (undecoded !== null) {
      throw fail('unsupported_transfer_syntax', undecoded);
    }
    if (header.process === 0xc3) {
      const decoded = decodeJpegLossless(bytes, {
        width: info.columns,
        height: info.rows,
        components: info.samplesPerPixel,
      });
      return {
        samples: decoded.samples,
        photometricInterpretation: info.photometricInterpretation,
        bitsStored: null,
        sampleBits: null,
        isPlanar: false,
      };
    }
    // libjpeg-turbo's npm build reads neither 12-bit samples, arithmetic coding (SOF9, SOF10),
    // nor frames of 0 lines (DNL).
    if (
      header.process === 0xc1 ||
      header.process >= 0xc9 ||
      header.precision === 12 ||
      header.height === 0
    ) {
      if (header.precision > info.bitsAllocated) {
        throw fail(
          'invalid_dicom',
          `the JPEG samples have ${header.precision} bits, more than Bits Allocated ${info.bitsAllocated}`,
        );
      }
      return decodeSequential(info, bytes);
    }
    // 8-bit baseline (SOF0) and progressive (SOF2).
    const isYbr = info.photometricInterpretation.startsWith('YBR');
    const decoded = decodeJpegSamples(
      bytes,
      { width: info.columns, height: info.rows, components: info.samplesPerPixel },
      isYbr ? 'ycbcr' : 'rgb',
    );
    return {
      samples: decoded.samples,
      photometricInterpretation:
        isYbr && info.samplesPerPixel === 3 ? 'RGB' : info.photometricInterpretation,
      bitsStored: null,
      sampleBits: null,
      isPlanar: false,
    };
  });
}

/**
 * An extended (SOF1) or 12-bit frame, by the DCT decoder of `../jpeg/sequential.ts`:
 * YBR colour comes out as RGB, as from libjpeg-turbo.
 */
function decodeSequential(info: ImageInfo, bytes: Uint8Array): DecodedPixels {
  const isYbr = info.photometricInterpretation.startsWith('YBR') && info.samplesPerPixel === 3;
  const decoded = decodeJpegSequential(bytes, {
    width: info.columns,
    height: info.rows,
    components: info.samplesPerPixel,
    colour: isYbr ? 'ycbcr' : 'none',
  });
  return {
    samples: decoded.samples,
    photometricInterpretation: isYbr ? 'RGB' : info.photometricInterpretation,
    bitsStored: null,
    sampleBits: decoded.precision,
    isPlanar: false,
  };
}

/**
 * Decodes one JPEG-LS frame (lossless or near-lossless) to samples: interleaved, or planar when the
 * stream codes each component in a scan of its own (`isPlanar`). JPEG-LS codes no sign: samples
 * come out as unsigned bit patterns of the stream's precision, which must fit Bits Allocated.
 */
export function decodeJpegLs(
  file: DicomFile,
  info: ImageInfo,
  bytes: Uint8Array,
  offset: number,
): DecodedPixels {
  return runFrameCodec(file, offset, 'JPEG-LS', (fail) => {
    const header = checkedFrameHeader(file, info, bytes, offset);
    if (header.process !== 0xf7) {
      throw fail(
        'invalid_dicom',
        `a JPEG-LS transfer syntax holds a JPEG stream of process 0x${header.process.toString(16).toUpperCase()}`,
      );
    }
    if (header.height === 0) {
      // CharLS is not given a frame whose height only the stream's end would tell.
      throw fail('invalid_dicom', 'the JPEG-LS frame declares 0 lines');
    }
    if (header.precision < 2 || header.precision > info.bitsAllocated || header.precision > 16) {
      throw fail(
        'invalid_dicom',
        `the JPEG-LS samples have ${header.precision} bits, not 2 to Bits Allocated ${info.bitsAllocated} (or 16)`,
      );
    }
    // CharLS 2 spends seconds on some damaged streams whose last marker is not EOI (a 4 KB stream
    // took 17 s), and never more than milliseconds on damaged ones that end with it (400 tried):
    // DICOM's stream ends with EOI, padded to an even length by at most one byte (PS3.5 A.4).
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x00) {
      end -= 1;
    }
    if (end < 4 || bytes[end - 2] !== 0xff || bytes[end - 1] !== 0xd9) {
      throw fail('invalid_dicom', 'the JPEG-LS stream does not end with EOI (FFD9)');
    }
    const decoded = decodeJpegLsSamples(bytes.subarray(0, end), {
      width: info.columns,
      height: info.rows,
      components: info.samplesPerPixel,
    });
    return {
      samples: decoded.samples,
      photometricInterpretation: info.photometricInterpretation,
      bitsStored: decoded.bitsPerSample,
      sampleBits: null,
      isPlanar: decoded.isPlanar,
    };
  });
}
