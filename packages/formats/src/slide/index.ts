/**
 * Whole-slide images: tiled pyramidal TIFF and BigTIFF (generic and Aperio SVS), any tile of any
 * level read alone, a slide described for inspection, and slides written (streamed, Aperio-style).
 */
export * from './tiff.js';
export * from './tile-codecs.js';
export * from './slide.js';
export * from './describe-slide.js';
export * from './write-tiff.js';
export * from './write-slide.js';
