/**
 * Lantern's native formats, read on the Node side (streams and Buffers; never imported by the web
 * app). Every reader throws `FormatError` for a file it cannot read.
 */
export * from './format-error.js';
export * from './identifying.js';
export * from './ecg/index.js';
export * from './tables/index.js';
export * from './dicom/index.js';
export * from './slide/index.js';
export * from './image/index.js';
// JPEG coding of 8-bit images, for the generators (slides) and their tests; DICOM and slide
// readers decode through decodeFrame and openSlideFile. The libjpeg-turbo npm build's own decoder
// and encoder, which tests and benchmarks compare with, are in `@lantern/formats/testing`.
export {
  JpegCodecError,
  decodeJpegSamples,
  encodeJpegRgb,
  type JpegColourSpace,
  type JpegRgbEncoder,
} from './jpeg/libjpeg-turbo.js';
