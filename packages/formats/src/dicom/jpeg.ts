/**
 * JPEG pixel data (PS3.5 A.4.1, ISO/IEC 10918-1): 8-bit baseline, extended and progressive
 * (processes 1, 2 and 4 at 8 bits) by libjpeg-turbo in WebAssembly (`../jpeg/libjpeg-turbo.ts`), as
 * pydicom's Pillow and dcmtk decode them; lossless (process 14, any precision) by
 * `../jpeg/lossless.ts`. The frame header (SOF) is read here first and must agree with the
 * dataset's Rows, Columns and Samples per Pixel, whose size `readImageInfo` has already bounded;
 * anything the decoders throw becomes a FormatError. 12-bit
 * lossy JPEG, arithmetic coding and hierarchical JPEG are `unsupported_transfer_syntax`.
 */
import { FormatError, type FormatErrorCode } from '../format-error.js';
import { decodeJpegSamples } from '../jpeg/libjpeg-turbo.js';
import { decodeJpegLossless } from '../jpeg/lossless.js';
import type { DicomFile } from './parse.js';
import type { ImageInfo } from './pixels.js';

/** A JPEG stream's frame header (ISO/IEC 10918-1 B.2.2). */
export interface JpegFrameHeader {
  /** The SOF marker's low byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, 0xC3 lossless, … */
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
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
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
 * Decodes one JPEG frame to samples, interleaved. Colour that the stream holds as YCbCr (the
 * YBR_FULL and YBR_FULL_422 photometric interpretations) comes out as RGB, as pydicom and dcmtk
 * give it; the returned photometric interpretation says so.
 */
export function decodeJpeg(
  file: DicomFile,
  info: ImageInfo,
  bytes: Uint8Array,
  offset: number,
): { samples: Uint8Array | Uint16Array; photometricInterpretation: string } {
  const fail = (code: FormatErrorCode, detail: string) =>
    new FormatError(code, detail, { file: file.name, offset });
  const header = readJpegFrameHeader(bytes);
  if (header === null) {
    throw fail('invalid_dicom', 'the JPEG stream has no frame header (SOF)');
  }
  if (
    header.width !== info.columns ||
    header.height !== info.rows ||
    header.components !== info.samplesPerPixel
  ) {
    throw fail(
      'invalid_dicom',
      `the JPEG frame is ${header.width} x ${header.height} x ${header.components}, the dataset says ${info.columns} x ${info.rows} x ${info.samplesPerPixel}`,
    );
  }
  try {
    if (header.process === 0xc3) {
      const decoded = decodeJpegLossless(bytes, {
        width: info.columns,
        height: info.rows,
        components: info.samplesPerPixel,
      });
      return {
        samples: decoded.samples,
        photometricInterpretation: info.photometricInterpretation,
      };
    }
    if (
      (header.process === 0xc0 || header.process === 0xc1 || header.process === 0xc2) &&
      header.precision === 8
    ) {
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
      };
    }
  } catch (error) {
    if (error instanceof FormatError) {
      throw error;
    }
    throw fail(
      'invalid_dicom',
      `the JPEG stream cannot be decoded (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  throw fail(
    'unsupported_transfer_syntax',
    `JPEG process 0x${header.process.toString(16).toUpperCase()} with ${header.precision}-bit samples is not decoded`,
  );
}
