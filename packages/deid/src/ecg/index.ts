/**
 * ECG de-identification: GE MUSE XML and WFDB headers cleaned as DICOM headers are (identifiers
 * replaced or removed, dates shifted by the patient's offset), waveforms untouched.
 */
export * from './muse.js';
export * from './wfdb.js';
