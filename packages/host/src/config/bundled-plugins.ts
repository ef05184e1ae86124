import { definePlugin, envName, type ConveyorPlugin } from '@conveyor/core';
import { BUNDLED_PLUGIN_MANIFEST, type BundledPluginEntry } from '../bundled-manifest.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Off for sure, with nothing else asked of it: `enabled` is false (in the environment,
 * else in the file, else by default) and neither the file nor a `CONVEYOR_PLUGINS_<NAME>_…`
 * variable sets any other of its keys. Anything else (a key of its own, a value that is
 * not a plain false) imports the plugin, so its section is checked against its schema.
 */
export function staysUnloaded(entry: BundledPluginEntry, raw: unknown, env: Record<string, string | undefined>): boolean {
  const sections = isObject(raw) && isObject(raw.plugins) ? raw.plugins : {};
  const section = sections[entry.name];
  if (section !== undefined && !isObject(section)) return false;
  if (section && Object.keys(section).some((k) => k !== 'enabled')) return false;
  const enabledVar = envName(['plugins', entry.name, 'enabled']);
  const prefix = `${envName(['plugins', entry.name])}_`;
  if (Object.keys(env).some((k) => k !== enabledVar && k.startsWith(prefix) && env[k] !== undefined)) return false;
  const fromEnv = env[enabledVar];
  if (fromEnv !== undefined) return /^(false|0|no|off)$/i.test(fromEnv);
  if (section && 'enabled' in section) return section.enabled === false;
  return !entry.enabledByDefault;
}

/**
 * A disabled bundled plugin that was not imported: its name and `enabled` default for
 * the config schema (its section holds `enabled` and `repos` only), its off routes, and
 * never registered (the instance leaves out every disabled plugin).
 */
function standIn(entry: BundledPluginEntry): ConveyorPlugin {
  return definePlugin({
    name: entry.name,
    enabledByDefault: entry.enabledByDefault,
    ...(entry.offRoutes ? { offRoutes: entry.offRoutes } : {}),
    register() {
      throw new Error(`bundled plugin "${entry.name}" is disabled and was not loaded`);
    },
  }) as unknown as ConveyorPlugin;
}

/**
 * The bundled plugins for this config, in the manifest's order: each one that is on
 * (or configured beyond `enabled`) imported, each one surely off a stand-in that is
 * never imported. `all` imports every one (to print or check every section in full).
 */
export async function loadBundledPlugins(raw: unknown, options: { env: Record<string, string | undefined>; all?: boolean }): Promise<ConveyorPlugin[]> {
  return Promise.all(BUNDLED_PLUGIN_MANIFEST.map((entry) => (!options.all && staysUnloaded(entry, raw, options.env) ? standIn(entry) : entry.load())));
}
