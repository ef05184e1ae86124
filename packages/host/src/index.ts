/**
 * @conveyor/host — the bundled host: the config loader, the fastify server
 * (`buildServer`), the shutdown lifecycle, the embedded default and its plugins.
 * The `conveyor` CLI lives in `cli/` (entry: `bin/conveyor.js`).
 */
export { loadConfig, type LoadedConfig } from './load-config.js';
export * from './embedded.js';
export * from './server/index.js';
export { runChecks, type Check } from './cli/doctor.js';
