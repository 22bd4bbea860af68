/**
 * Whole-slide de-identification: the pyramid and the thumbnail copied tile for tile into a new
 * TIFF, label and macro left out, identifying tags dropped and Aperio's description rebuilt.
 */
export * from './deidentify-slide.js';
