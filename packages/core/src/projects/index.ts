export * from './project.js';
export * from './project-actions.js';
export * from './invitation.js';
export * from './ownership.js';
export * from './dataset-access.js';
