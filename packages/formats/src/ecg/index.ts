/**
 * ECGs: one model (leads, sampling rate, units, samples per lead) read from NumPy `.npy`/`.npz`,
 * GE MUSE XML and WFDB records, and written back for the demo generators.
 */
export * from './ecg.js';
export * from './npy.js';
export * from './npz.js';
export * from './zip.js';
export * from './muse-xml.js';
export * from './xml.js';
export * from './wfdb.js';
export * from './describe-ecg.js';
export * from './plot-arrays.js';
