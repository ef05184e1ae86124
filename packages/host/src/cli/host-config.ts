import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import type { ConveyorConfig, ConveyorPlugin } from '@conveyor/core';
import { loadConfig } from '../load-config.js';
import { BUNDLED_PLUGINS, DEMO_AGENT, DEMO_AGENT_ENV, embeddedConfig } from '../embedded.js';

export interface HostConfig {
  config: ConveyorConfig;
  /** The raw (unvalidated) config, for `createConveyor`. */
  raw: unknown;
  plugins: readonly ConveyorPlugin[];
  /** The file read; null when the embedded default was used. */
  file: string | null;
  env: Record<string, string | undefined>;
}

/**
 * The host's configuration: `--config <file>`, else `conveyor.config.yaml|.yml|.json`
 * in the working directory, else the embedded default under `.conveyor/`. The demo
 * agent's path is offered as `${CONVEYOR_DEMO_AGENT}` to config files.
 */
export function loadHostConfig(options: { config?: string; cwd?: string; env?: Record<string, string | undefined> } = {}): HostConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = { [DEMO_AGENT_ENV]: DEMO_AGENT, ...(options.env ?? process.env) };
  if (options.config && !fs.existsSync(path.resolve(cwd, options.config))) throw new Error(`config file ${path.resolve(cwd, options.config)} does not exist`);
  const { config, raw, file } = loadConfig({
    cwd,
    env,
    plugins: BUNDLED_PLUGINS,
    ...(options.config ? { file: options.config } : {}),
    fallback: embeddedConfig({ dataDir: path.join(cwd, '.conveyor'), autoApprove: true }),
  });
  return { config, raw, plugins: BUNDLED_PLUGINS, file, env };
}

/** The version of the host package. */
export function hostVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
