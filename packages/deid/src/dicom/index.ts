/**
 * DICOM de-identification: the PS3.15 Basic Application Level Confidentiality Profile with the
 * Retain Longitudinal Temporal Information with Modified Dates Option, UID remapping, burned-in
 * annotation holds, and the same cleaning for ECG headers (GE MUSE XML, WFDB).
 */
export * from './profile.js';
export * from './uid.js';
export * from './dates.js';
export * from './hold.js';
export * from './deidentify.js';
