/**
 * JPEG 2000 pixel data (PS3.5 A.4.4, ISO/IEC 15444-1), lossless only (1.2.840.10008.1.2.4.90) and
 * lossy (.91), decoded by OpenJPEG in WebAssembly (`../jpeg/openjpeg.ts`) as pydicom's Pillow and
 * GDCM decode it; and High-Throughput JPEG 2000 (PS3.5 A.4.11, ISO/IEC 15444-15; .201 to .203),
 * whose codestreams (Rsiz says so) OpenJPH decodes (`../jpeg/openjph.ts`), about 3 to 4 times
 * faster than OpenJPEG would. The codestream's SIZ is read here first and must agree with the dataset's Rows,
 * Columns and Samples per Pixel, whose size `readImageInfo` has already bounded, and its precision
 * must fit Bits Allocated; its marker structure is walked (`../jpeg/j2k-codestream.ts`), so that a
 * codestream cut short is refused rather than decoded with zeros where its end was; anything
 * OpenJPEG refuses becomes a FormatError.
 *
 * Samples are the stored values as DICOM's Pixel Representation says (signed or not), of the
 * codestream's precision where it differs from Bits Stored (as pydicom 3 does: GDCM and some
 * modalities write a Bits Stored that the codestream does not keep). Three components coded with a
 * multiple-component transform (YBR_RCT, YBR_ICT) come out as RGB, and the returned photometric
 * interpretation says so.
 */
import { findJ2kStructureProblem } from '../jpeg/j2k-codestream.js';
import { decodeJ2kSamples, readJ2kHeader } from '../jpeg/openjpeg.js';
import { decodeHtj2kSamples } from '../jpeg/openjph.js';
import { runFrameCodec } from './frame-codec.js';
import type { DecodedPixels } from './jpeg.js';
import type { DicomFile } from './parse.js';
import type { ImageInfo } from './pixels.js';

/** Decodes one JPEG 2000 or HTJ2K frame to interleaved samples. */
export function decodeJpeg2000(
  file: DicomFile,
  info: ImageInfo,
  bytes: Uint8Array,
  offset: number,
): DecodedPixels {
  return runFrameCodec(file, offset, 'JPEG 2000', (fail) => {
    const header = readJ2kHeader(bytes);
    if (header === null) {
      throw fail('invalid_dicom', 'the JPEG 2000 stream has no codestream header (SOC, SIZ)');
    }
    if (
      header.width !== info.columns ||
      header.height !== info.rows ||
      header.components !== info.samplesPerPixel
    ) {
      throw fail(
        'invalid_dicom',
        `the JPEG 2000 image is ${header.width} x ${header.height} x ${header.components}, the dataset says ${info.columns} x ${info.rows} x ${info.samplesPerPixel}`,
      );
    }
    if (header.precision > info.bitsAllocated || header.precision > 16) {
      throw fail(
        'invalid_dicom',
        `the JPEG 2000 samples have ${header.precision} bits, more than Bits Allocated ${info.bitsAllocated} (or 16)`,
      );
    }
    // OpenJPEG decodes some codestreams cut short without an error: the structure is checked
    // first, and a truncated one is refused.
    const problem = findJ2kStructureProblem(bytes, header.codestreamOffset, header.codestreamEnd);
    if (problem !== null) {
      throw fail(
        problem.isTruncated ? 'truncated' : 'invalid_dicom',
        `the JPEG 2000 codestream is ${problem.isTruncated ? 'cut short' : 'malformed'}: ${problem.detail} (counting from the frame's first byte)`,
      );
    }
    const decode = header.isHighThroughput ? decodeHtj2kSamples : decodeJ2kSamples;
    const decoded = decode(bytes, header, {
      width: info.columns,
      height: info.rows,
      components: info.samplesPerPixel,
    });
    const isTransformed =
      info.samplesPerPixel === 3 &&
      (info.photometricInterpretation === 'YBR_RCT' ||
        info.photometricInterpretation === 'YBR_ICT');
    return {
      samples: decoded.samples,
      photometricInterpretation: isTransformed ? 'RGB' : info.photometricInterpretation,
      bitsStored: decoded.bitsPerSample,
      sampleBits: null,
      isPlanar: false,
    };
  });
}
