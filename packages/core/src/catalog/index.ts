export * from './countries.js';
export * from './dataset.js';
export * from './snapshot-diff.js';
export * from './version.js';
export * from './change-log.js';
export * from './dictionary-check.js';
export * from './naming-lint.js';
export * from './schematic.js';
