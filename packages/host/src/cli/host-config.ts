import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { resolveConfig, type ConveyorConfig, type ConveyorPlugin } from '@conveyor/core';
import { loadConfiguredPlugins } from '../config/load-plugins.js';
import { locateConfig } from '../load-config.js';
import { loadBundledPlugins } from '../config/bundled-plugins.js';
import { DEMO_AGENT, DEMO_AGENT_ENV, embeddedConfig } from '../embedded.js';

export interface HostConfig {
  config: ConveyorConfig;
  /** The raw (unvalidated) config, for `createConveyor`. */
  raw: unknown;
  /** The bundled plugins (a stand-in for each one left off and not imported), then the config's own (`plugins.<name>.module`). */
  plugins: readonly ConveyorPlugin[];
  /** The file read; null when the embedded default was used. */
  file: string | null;
  /** What relative paths resolve against (the file's directory), for `createConveyor`. */
  baseDir: string;
  env: Record<string, string | undefined>;
}

/**
 * The host's configuration: `--config <file>`, else the nearest
 * `conveyor.config.yaml|.yml|.json` in the working directory or above it, else the
 * embedded default under `./.conveyor/`. Plugins named by `plugins.<name>.module`
 * are imported here, so every command validates their sections. A bundled plugin is
 * imported only when the config turns it on or sets its keys (`allBundled`: every one,
 * for commands that show or check every section in full). The demo agent's
 * path is offered as `${CONVEYOR_DEMO_AGENT}` to config files.
 */
export async function loadHostConfig(options: { config?: string; cwd?: string; env?: Record<string, string | undefined>; allBundled?: boolean } = {}): Promise<HostConfig> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = { [DEMO_AGENT_ENV]: DEMO_AGENT, ...(options.env ?? process.env) };
  const source = locateConfig({ cwd, ...(options.config ? { file: options.config } : {}), fallback: embeddedConfig({ dataDir: path.join(cwd, '.conveyor'), autoApprove: true }) });
  const bundled = await loadBundledPlugins(source.raw, { env, ...(options.allBundled ? { all: true } : {}) });
  const own = await loadConfiguredPlugins(source.raw, { baseDir: source.baseDir, bundled, env });
  const plugins = [...bundled, ...own.plugins];
  const config = resolveConfig(own.raw, plugins, { env, baseDir: source.baseDir, ...(source.file ? { source: source.file } : {}) });
  return { config, plugins, env, ...source, raw: own.raw };
}

/** The version of the host package. */
export function hostVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
