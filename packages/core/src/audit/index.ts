export * from './canonical.js';
export * from './chain.js';
export * from './event.js';
