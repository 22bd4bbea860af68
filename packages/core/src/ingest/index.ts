export * from './closest-name.js';
export * from './manifest.js';
export * from './summary.js';
export * from './progress-bar.js';
