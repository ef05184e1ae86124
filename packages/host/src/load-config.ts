import fs from 'node:fs';
import path from 'node:path';
import { ConveyorError, readConfigFile, resolveConfig, type ConveyorConfig, type ConveyorPlugin } from '@conveyor/core';
import { findConfigUpward } from './config/find-config.js';

export interface ConfigSource {
  /** The raw (unvalidated) config, for `createConveyor`. */
  raw: unknown;
  /** The file read, or null when `fallback` (or defaults) were used. */
  file: string | null;
  /** What relative paths resolve against: the file's directory, else `cwd`. */
  baseDir: string;
}

export interface LoadedConfig extends ConfigSource {
  config: ConveyorConfig;
}

/**
 * Reads `file` (relative to `cwd`), else the nearest `conveyor.config.yaml|.yml|.json`
 * in `cwd` or above it, else takes `fallback` (or `{}`). Not validated yet.
 */
export function locateConfig(options: { cwd?: string; file?: string; fallback?: unknown } = {}): ConfigSource {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  let file: string | null;
  if (options.file) {
    file = path.resolve(cwd, options.file);
    if (!fs.existsSync(file)) throw new ConveyorError('CONVEYOR_CONFIG_FILE', `config file ${file} does not exist`);
  } else {
    file = findConfigUpward(cwd);
  }
  if (!file) return { raw: options.fallback ?? {}, file: null, baseDir: cwd };
  return { raw: readConfigFile(file), file, baseDir: path.dirname(file) };
}

/**
 * Finds `conveyor.config.yaml|.yml|.json` in `cwd` or the nearest directory above
 * it (or reads `file`; without either, validates `fallback` or the defaults),
 * applies `${ENV}` interpolation and `CONVEYOR_…` overrides, resolves relative paths
 * against the file's directory, and validates it against the core schema plus each
 * plugin's section. Pass `baseDir` on to `createConveyor()` with `raw`.
 */
export function loadConfig(
  options: { cwd?: string; file?: string; plugins?: readonly ConveyorPlugin[]; env?: Record<string, string | undefined>; fallback?: unknown } = {},
): LoadedConfig {
  const source = locateConfig(options);
  const config = resolveConfig(source.raw, options.plugins ?? [], { env: options.env ?? process.env, baseDir: source.baseDir, ...(source.file ? { source: source.file } : {}) });
  return { config, ...source };
}
