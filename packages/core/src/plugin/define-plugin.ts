import type { Static, TObject } from '@sinclair/typebox';
import type { PluginSection } from '../config/resolve-config.js';
import type { Migration } from '../persistence/migration.js';
import type { PluginContext } from './plugin-context.js';

/**
 * A plugin: a value, not a class. `register` binds into the instance's container
 * and uses the extension points on `ctx`; async start and stop go through
 * `ctx.onStart` / `ctx.onStop` (stopped last-in-first-out).
 */
export interface ConveyorPlugin<S extends TObject = TObject> {
  /** kebab-case, unique, also the config section: `plugins.<name>`. */
  readonly name: string;
  /** Plugins that must be registered (and started) before this one. */
  readonly dependsOn?: readonly string[];
  /** The plugin's own config keys (besides `enabled` and `repos`, which every plugin has). */
  readonly configSchema?: S;
  /**
   * The default of `plugins.<name>.enabled`. True unless the plugin cannot work
   * without configuration (an integration that needs a URL and secrets): those
   * are opt-in, so a host that bundles them does not start them by surprise.
   * @default true
   */
  readonly enabledByDefault?: boolean;
  /** The plugin's knex migrations; named `<plugin>/<NNNN>_<what>`. */
  readonly migrations?: readonly Migration[];
  register(ctx: PluginContext<Static<S> & PluginSection>): void | Promise<void>;
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Declares a plugin, checking its shape early (at import, not at start). */
export function definePlugin<S extends TObject>(plugin: ConveyorPlugin<S>): ConveyorPlugin<S> {
  if (!NAME.test(plugin.name)) throw new TypeError(`plugin name "${plugin.name}" must be kebab-case (e.g. "serial-gate")`);
  if (typeof plugin.register !== 'function') throw new TypeError(`plugin "${plugin.name}" has no register function`);
  for (const m of plugin.migrations ?? []) {
    if (!m.name.startsWith(`${plugin.name}/`)) throw new TypeError(`migration "${m.name}" of plugin "${plugin.name}" must be named "${plugin.name}/NNNN_what"`);
  }
  for (const key of ['enabled', 'repos', 'module']) {
    if (plugin.configSchema?.properties?.[key]) throw new TypeError(`plugin "${plugin.name}" must not redeclare "${key}": every plugin has it`);
  }
  return Object.freeze({ ...plugin, dependsOn: Object.freeze([...(plugin.dependsOn ?? [])]) });
}
