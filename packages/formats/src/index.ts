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
