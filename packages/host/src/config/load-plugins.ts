import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolve as resolveModule } from 'import-meta-resolve';
import { ConveyorError, definePlugin, envName, toError, type ConveyorPlugin } from '@conveyor/core';

/** Error code of a plugin module the host could not load or use. */
export const PLUGIN_MODULE_ERROR = 'CONVEYOR_PLUGIN_MODULE' as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function isPlugin(v: unknown): v is ConveyorPlugin {
  return isObject(v) && typeof v.name === 'string' && typeof v.register === 'function';
}

/** A path (`./x.js`, `../x`, `/abs/x.js`) rather than a package name. */
function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || path.isAbsolute(specifier);
}

/**
 * The URL of a plugin module: a path against the config file's directory, a package
 * name as Node would resolve it from there (so a plugin installed next to the config
 * is found, not only one beside the host).
 */
export function resolvePluginModule(specifier: string, baseDir: string): string {
  if (isPath(specifier)) return pathToFileURL(path.resolve(baseDir, specifier)).href;
  // import.meta.resolve takes no parent on Node 20 without a flag: the ponyfill does.
  return resolveModule(specifier, pathToFileURL(path.join(baseDir, 'conveyor.config.yaml')).href);
}

/** Explicitly switched off in the file or by `CONVEYOR_PLUGINS_<NAME>_ENABLED`. */
function disabled(name: string, section: Record<string, unknown>, env: Record<string, string | undefined>): boolean {
  const fromEnv = env[envName(['plugins', name, 'enabled'])];
  if (fromEnv !== undefined) return /^(false|0|no|off)$/i.test(fromEnv);
  return section.enabled === false;
}

/**
 * A stand-in for a disabled plugin of your own: its module is not imported (so a
 * broken or missing build can be switched off), its section keeps `enabled`,
 * `repos` and `module` for validation, and it is never registered.
 */
function placeholder(name: string): ConveyorPlugin {
  return definePlugin({ name, register() {} }) as unknown as ConveyorPlugin;
}

async function importPlugin(name: string, specifier: string, baseDir: string): Promise<ConveyorPlugin> {
  const where = `plugins.${name}.module`;
  let url: string;
  try {
    url = resolvePluginModule(specifier, baseDir);
  } catch (err) {
    throw new ConveyorError(PLUGIN_MODULE_ERROR, `${where}: cannot find "${specifier}" from ${baseDir} (${toError(err).message}); install the package there or give a path relative to the config file`, { cause: err });
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const shown = url.startsWith('file:') ? new URL(url).pathname : url;
    throw new ConveyorError(PLUGIN_MODULE_ERROR, `${where}: cannot load ${shown}: ${toError(err).message}`, { cause: err });
  }
  // Named exports and `export default` alike (the default export is one of the values).
  const candidates = Object.values(mod).filter(isPlugin);
  const found = candidates.find((p) => p.name === name);
  if (found) return found;
  const names = [...new Set(candidates.map((p) => `"${p.name}"`))];
  throw new ConveyorError(
    PLUGIN_MODULE_ERROR,
    `${where}: ${specifier} exports no plugin named "${name}"${names.length ? ` (it exports ${names.join(', ')}: name the section after one of them)` : ' (export the value definePlugin returns)'}`,
  );
}

/** Keys every plugin section has; all a disabled, unloaded plugin's section keeps. */
const BASE_KEYS = ['enabled', 'repos', 'module'];

/**
 * The plugins a config file asks for besides the bundled ones: every
 * `plugins.<name>` section with a `module`. Enabled ones are imported now (and
 * validated with the same schema rules as the bundled ones, when the config is
 * resolved); disabled ones are not imported at all, and `raw` comes back with
 * their sections cut to the base keys (their own keys have no schema to be checked
 * against). Errors name the section and the path looked at.
 */
export async function loadConfiguredPlugins(
  raw: unknown,
  options: { baseDir: string; bundled: readonly ConveyorPlugin[]; env: Record<string, string | undefined> },
): Promise<{ plugins: ConveyorPlugin[]; raw: unknown }> {
  const sections = isObject(raw) && isObject(raw.plugins) ? raw.plugins : {};
  const out: ConveyorPlugin[] = [];
  const trimmed: Record<string, unknown> = { ...sections };
  for (const [name, section] of Object.entries(sections)) {
    if (!isObject(section)) continue;
    // CONVEYOR_PLUGINS_<NAME>_MODULE overrides the file, as it does for every key.
    const specifier = options.env[envName(['plugins', name, 'module'])] ?? section.module;
    if (specifier === undefined) continue;
    if (typeof specifier !== 'string' || specifier === '') {
      throw new ConveyorError(PLUGIN_MODULE_ERROR, `plugins.${name}.module: expected a package name or a path relative to the config file, found ${JSON.stringify(specifier)}`);
    }
    if (options.bundled.some((p) => p.name === name)) {
      throw new ConveyorError(PLUGIN_MODULE_ERROR, `plugins.${name}.module: "${name}" is a bundled plugin; give your plugin its own name`);
    }
    if (disabled(name, section, options.env)) {
      out.push(placeholder(name));
      trimmed[name] = Object.fromEntries(Object.entries(section).filter(([k]) => BASE_KEYS.includes(k)));
    } else {
      out.push(await importPlugin(name, specifier, options.baseDir));
    }
  }
  return { plugins: out, raw: isObject(raw) && isObject(raw.plugins) ? { ...raw, plugins: trimmed } : raw };
}
