/**
 * Whole-slide images: tiled pyramidal TIFF and BigTIFF (generic and Aperio SVS), any tile of any
 * level read alone, and a slide described for inspection.
 */
export * from './tiff.js';
export * from './tile-codecs.js';
export * from './slide.js';
export * from './describe-slide.js';
