import { ConveyorError } from '../errors.js';

interface Node {
  name: string;
  dependsOn?: readonly string[];
}

/**
 * Orders plugins so that every plugin comes after what it depends on, keeping the
 * given order otherwise. A cycle or a missing dependency is a startup error that
 * names the plugins involved.
 */
export function resolvePluginOrder<T extends Node>(enabled: readonly T[], disabled: readonly string[] = []): T[] {
  const byName = new Map<string, T>();
  for (const p of enabled) {
    if (byName.has(p.name)) throw new ConveyorError('CONVEYOR_PLUGIN_DUPLICATE', `plugin "${p.name}" is listed twice`);
    byName.set(p.name, p);
  }
  for (const p of enabled) {
    for (const dep of p.dependsOn ?? []) {
      if (!byName.has(dep)) {
        const why = disabled.includes(dep) ? `which is disabled (enable plugins.${dep} or disable plugins.${p.name})` : 'which is not installed';
        throw new ConveyorError('CONVEYOR_PLUGIN_MISSING_DEPENDENCY', `plugin "${p.name}" depends on "${dep}", ${why}`);
      }
    }
  }
  const out: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: T, path: string[]): void => {
    const s = state.get(p.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(p.name)), p.name];
      throw new ConveyorError('CONVEYOR_PLUGIN_CYCLE', `plugin dependency cycle: ${cycle.join(' → ')}`);
    }
    state.set(p.name, 'visiting');
    for (const dep of p.dependsOn ?? []) visit(byName.get(dep)!, [...path, p.name]);
    state.set(p.name, 'done');
    out.push(p);
  };
  for (const p of enabled) visit(p, []);
  return out;
}
