/**
 * DICOM: Part 10 files parsed with bounds and written back (any native transfer syntax, deflated, or
 * encapsulated fragments as read), their pixel data decoded (native, RLE, JPEG, JPEG-LS, JPEG 2000,
 * HTJ2K), rendered to 8 bits through a VOI window, waveforms (12-lead ECG) read, and a file
 * described for inspection.
 */
export * from './dictionary.js';
export * from './transfer-syntax.js';
export * from './parse.js';
export * from './write.js';
export * from './pixels.js';
export * from './waveform.js';
export * from './describe.js';
