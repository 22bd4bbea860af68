/** Images for previews: 8-bit pixels encoded as PNG. */
export * from './png.js';
