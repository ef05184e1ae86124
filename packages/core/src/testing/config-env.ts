import path from 'node:path';
import { buildConfigSchema, resolveConfig, type PluginSchemaSource } from '../config/resolve-config.js';
import { configKeys, schemaAt, type ConfigKey } from '../config/schema-walk.js';

/** A value for a key's `CONVEYOR_…` variable that differs from its default, and what it must become. */
export function sampleEnvValue(key: ConfigKey): { text: string; expected: unknown } {
  const s = key.schema as { type?: string; anyOf?: { const: string }[]; pattern?: string };
  if (s.anyOf) {
    const other = s.anyOf.map((o) => o.const).find((v) => v !== key.default)!;
    return { text: other, expected: other };
  }
  if (s.type === 'integer' || s.type === 'number') {
    const n = (typeof key.default === 'number' ? key.default : 5) + 7;
    return { text: String(n), expected: n };
  }
  if (s.type === 'boolean') return { text: String(!(key.default ?? false)), expected: !(key.default ?? false) };
  if (s.type === 'array') {
    // A list of allowed words: the last one alone differs from any default that lists several.
    const words = (key.schema as { items?: { anyOf?: { const: string }[] } }).items?.anyOf?.map((o) => o.const);
    if (words?.length) return { text: words.at(-1)!, expected: [words.at(-1)] };
    return { text: 'a,b', expected: ['a', 'b'] };
  }
  // A path key resolves a relative value against the config's directory: give it an absolute one.
  if ((key.schema as { path?: unknown }).path) {
    const abs = path.resolve(`value-for-${key.env.toLowerCase()}`);
    return { text: abs, expected: abs };
  }
  const text = s.pattern ? 'ORCH' : `value-for-${key.env.toLowerCase()}`;
  return { text, expected: text };
}

/**
 * Sets every documented `CONVEYOR_…` variable of the schema (core plus `plugins`),
 * one at a time, and returns the keys it did not control. A documented switch that
 * silently does nothing was a real incident; an empty list is the passing answer.
 */
export function envOverridesThatFail(plugins: readonly PluginSchemaSource[]): string[] {
  const schema = buildConfigSchema(plugins);
  const failures: string[] = [];
  for (const key of configKeys(schema)) {
    if (!schemaAt(schema, key.path)) continue;
    const { text, expected } = sampleEnvValue(key);
    let actual: unknown;
    try {
      actual = resolveConfig({}, plugins, { env: { [key.env]: text } });
      for (const seg of key.path) actual = (actual as Record<string, unknown>)[seg];
    } catch (err) {
      failures.push(`${key.env}=${text}: ${(err as Error).message}`);
      continue;
    }
    if (JSON.stringify(actual) !== JSON.stringify(expected)) failures.push(`${key.env}=${text} set ${key.dotted} to ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`);
  }
  return failures;
}
