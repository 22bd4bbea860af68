/**
 * ECG de-identification: GE MUSE XML and WFDB headers cleaned as DICOM headers are (identifiers
 * replaced or removed, dates shifted by the patient's offset), NumPy `.npy` headers and `.npz`
 * archives written again canonically; waveforms untouched.
 */
export * from './muse.js';
export * from './wfdb.js';
export * from './numpy.js';
