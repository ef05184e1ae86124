/**
 * Core's test kit: an instance factory on a throwaway database, an event
 * recorder, a recording logger and fakes of every external port, so a plugin's
 * tests stay short. Import from `@conveyor/core/testing`.
 */
export * from './fakes.js';
export * from './recording.js';
export * from './test-conveyor.js';
export * from './git-fixtures.js';
export * from './config-env.js';
