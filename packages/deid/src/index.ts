/**
 * De-identification for ingest: keyed pseudonyms for patients and studies, per-patient date
 * shifting, the DICOM PS3.15 Basic Application Level Confidentiality Profile, and a PHI scan of
 * tables and free text. Pure functions over bytes and values; keys come from the caller. Node only.
 */
export * from './dicom/index.js';
