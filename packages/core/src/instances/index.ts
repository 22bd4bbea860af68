export * from './instance-type.js';
export * from './lifecycle.js';
export * from './launch.js';
export * from './spend.js';
