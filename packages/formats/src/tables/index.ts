/**
 * Tables: CSV (RFC 4180) read as a stream, Parquet read a row group at a time, and the inspection
 * that describes either for the data dictionary.
 */
export * from './column-types.js';
export * from './csv.js';
export * from './inspect-file.js';
export * from './inspect-table.js';
export * from './key-set.js';
export * from './parquet.js';
