/**
 * @conveyor/host — the bundled host: the config loader, the fastify server
 * (`buildServer`), the shutdown lifecycle, the embedded default and its plugins.
 * The `conveyor` CLI lives in `cli/` (entry: `bin/conveyor.js`).
 */
import path from 'node:path';
import { findConfigFile, readConfigFile, resolveConfig, type ConveyorConfig, type ConveyorPlugin } from '@conveyor/core';

export interface LoadedConfig {
  config: ConveyorConfig;
  /** The file read, or null when defaults were used. */
  file: string | null;
}

/**
 * Finds `conveyor.config.yaml|.yml|.json` in `cwd` (or reads `file`), applies
 * `${ENV}` interpolation and `CONVEYOR_…` overrides, and validates it against the
 * core schema plus each plugin's section.
 */
export function loadConfig(options: { cwd?: string; file?: string; plugins?: readonly ConveyorPlugin[]; env?: Record<string, string | undefined> } = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ? path.resolve(cwd, options.file) : findConfigFile(cwd);
  const raw = file ? readConfigFile(file) : {};
  const config = resolveConfig(raw, options.plugins ?? [], { env: options.env ?? process.env, ...(file ? { source: file } : {}) });
  return { config, file };
}
export * from './embedded.js';
export * from './server/index.js';
export { runChecks, type Check } from './cli/doctor.js';
