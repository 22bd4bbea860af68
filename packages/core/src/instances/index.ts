export * from './instance-type.js';
export * from './lifecycle.js';
export * from './launch.js';
export * from './idle.js';
export * from './spend.js';
