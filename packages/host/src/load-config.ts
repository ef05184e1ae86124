import path from 'node:path';
import { findConfigFile, readConfigFile, resolveConfig, type ConveyorConfig, type ConveyorPlugin } from '@conveyor/core';

export interface LoadedConfig {
  config: ConveyorConfig;
  /** The raw (unvalidated) config, for `createConveyor`. */
  raw: unknown;
  /** The file read, or null when `fallback` (or defaults) were used. */
  file: string | null;
}

/**
 * Finds `conveyor.config.yaml|.yml|.json` in `cwd` (or reads `file`; without
 * either, validates `fallback` or the defaults), applies
 * `${ENV}` interpolation and `CONVEYOR_…` overrides, and validates it against the
 * core schema plus each plugin's section.
 */
export function loadConfig(
  options: { cwd?: string; file?: string; plugins?: readonly ConveyorPlugin[]; env?: Record<string, string | undefined>; fallback?: unknown } = {},
): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ? path.resolve(cwd, options.file) : findConfigFile(cwd);
  const raw = file ? readConfigFile(file) : (options.fallback ?? {});
  const config = resolveConfig(raw, options.plugins ?? [], { env: options.env ?? process.env, ...(file ? { source: file } : {}) });
  return { config, raw, file };
}
