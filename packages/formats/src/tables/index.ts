/** Tables: CSV (RFC 4180) read as a stream, and the inspection that infers a data dictionary. */
export * from './column-types.js';
export * from './csv.js';
export * from './inspect-table.js';
export * from './key-set.js';
