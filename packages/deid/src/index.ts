/**
 * De-identification for ingest: keyed pseudonyms for patients and studies, per-patient date
 * shifting, the DICOM PS3.15 Basic Application Level Confidentiality Profile, whole-slide images
 * rewritten without their label and macro, ECG files (GE MUSE XML, WFDB headers, NumPy `.npy` and
 * `.npz`) cleaned the same way, and a PHI scan of tables and free text. Pure functions over bytes
 * and values; keys come from the caller. Node only.
 */
export * from './pseudonym.js';
export * from './date-shift.js';
export * from './tables.js';
export * from './delivery/index.js';
export * from './phi/index.js';
export * from './dicom/index.js';
export * from './slide/index.js';
export * from './ecg/index.js';
