export * from './read-delivery.js';
export * from './table-source.js';
