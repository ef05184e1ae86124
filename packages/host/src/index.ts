/**
 * @conveyor/host — the bundled host: the config loader, the fastify server
 * (`buildServer`), the shutdown lifecycle, the embedded default and its plugins.
 * The `conveyor` CLI lives in `cli/` (entry: `bin/conveyor.js`).
 */
export { loadConfig, locateConfig, type ConfigSource, type LoadedConfig } from './load-config.js';
export { loadConfiguredPlugins, resolvePluginModule } from './config/load-plugins.js';
export { findConfigUpward } from './config/find-config.js';
export * from './embedded.js';
export * from './all-bundled-plugins.js';
export { BUNDLED_PLUGIN_MANIFEST, type BundledPluginEntry } from './bundled-manifest.js';
export { loadBundledPlugins } from './config/bundled-plugins.js';
export * from './server/index.js';
export { runChecks, type Check } from './cli/doctor.js';
