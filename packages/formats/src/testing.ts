/**
 * `@lantern/formats/testing`: comparators for tests and benchmarks, not for the product. They are
 * the decoders and encoders this package's own stand in for, kept so that tests can check samples
 * and bytes against them and benchmarks can time them as the peer. Product code imports
 * `@lantern/formats`, whose decoders keep their own fallbacks (progressive and arithmetic 8-bit
 * JPEG still go to libjpeg-turbo's npm build inside `decodeJpegSamples`).
 *
 * - `decodeJpegSamplesWithLibjpegTurbo`: libjpeg-turbo's npm build alone, whatever the stream's
 *   process (`decodeJpegSamples` gives sequential frames to the C decoder in WebAssembly).
 * - `encodeJpegRgbWithLibjpegTurbo`: the npm build's encoder, which writes past its output buffer
 *   (a `JpegCodecError`) when the stream is longer than the image's size; `encodeJpegRgb` writes
 *   its bytes without that limit.
 */
export {
  decodeJpegSamplesWithLibjpegTurbo,
  encodeJpegRgbWithLibjpegTurbo,
} from './jpeg/libjpeg-turbo.js';
