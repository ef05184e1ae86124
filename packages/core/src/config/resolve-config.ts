import { Kind, Type, type TObject, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { ConfigError, redactCredentials, type ConfigIssue } from '../errors.js';
import { CoreConfigSchema, type CoreConfig } from './core-schema.js';
import { configKeys, describeSchema, envName, schemaAt } from './schema-walk.js';
import { resolveConfigPaths } from './resolve-paths.js';

/** Every plugin section has these two keys, whatever else it declares. */
export const PluginBaseSchema = Type.Object({
  enabled: Type.Boolean({ default: true, description: 'Kill-switch: false leaves no trace of the plugin.' }),
  repos: Type.Array(Type.String(), { default: [], description: 'Repos in scope; empty = all repos unless the plugin says otherwise.' }),
  module: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'Read by the bundled host (`conveyor`) only: the module to load a plugin of your own from, a package name or a path relative to the config file. Embedders pass plugins to `createConveyor()` instead.',
    }),
  ),
});

export interface PluginSection {
  enabled: boolean;
  repos: string[];
  [key: string]: unknown;
}

/** The validated, frozen configuration of one instance. */
export type ConveyorConfig = CoreConfig & { plugins: Record<string, PluginSection> };

export interface PluginSchemaSource {
  name: string;
  configSchema?: TObject;
  enabledByDefault?: boolean;
}

/** The whole schema: core plus one section per known plugin. */
export function buildConfigSchema(plugins: readonly PluginSchemaSource[]): TObject {
  const sections: Record<string, TSchema> = {};
  for (const p of plugins) {
    const own = p.configSchema?.properties ?? {};
    const enabled = p.enabledByDefault === false ? Type.Boolean({ ...PluginBaseSchema.properties.enabled, default: false }) : PluginBaseSchema.properties.enabled;
    sections[p.name] = Type.Object({ ...PluginBaseSchema.properties, enabled, ...own }, { additionalProperties: false, default: {} });
  }
  return Type.Object(
    { ...CoreConfigSchema.properties, plugins: Type.Object(sections, { additionalProperties: false, default: {} }) },
    { additionalProperties: false },
  );
}

export interface ResolveOptions {
  /** Environment to read `${VAR}` and `CONVEYOR_…` from; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Where the raw config came from, for messages. */
  source?: string;
  /**
   * The directory relative paths resolve against (the config file's directory);
   * defaults to the working directory.
   */
  baseDir?: string;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Validates a raw configuration (from a file or code) and returns it frozen:
 * `${VAR}` interpolation → `CONVEYOR_…` overrides → defaults → schema check →
 * secret check. All problems are reported together; nothing is half-applied.
 */
export function resolveConfig(raw: unknown, plugins: readonly PluginSchemaSource[], options: ResolveOptions = {}): ConveyorConfig {
  const env = options.env ?? process.env;
  const schema = buildConfigSchema(plugins);
  const issues: ConfigIssue[] = [];
  const fromEnv = new Set<string>();

  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError([{ path: '', expected: 'an object (mapping) at the top level', found: render(raw) }], options.source);
  }
  const value = interpolate(structuredClone(raw ?? {}), [], env, issues, fromEnv);

  for (const key of configKeys(schema)) {
    const text = env[key.env];
    if (text === undefined) continue;
    const converted = convertEnv(text, key.schema);
    setAt(value as Record<string, unknown>, key.path, converted);
    fromEnv.add(key.dotted);
  }
  issues.push(...unknownPluginVariables(env, plugins));
  resolveConfigPaths(schema, value as Record<string, unknown>, options.baseDir ?? process.cwd());

  const withDefaults = recordDefaults(schema, Value.Default(schema, value)) as Record<string, unknown>;
  for (const error of Value.Errors(schema, withDefaults)) {
    const path = pointerToPath(error.path);
    const dotted = formatPath(path);
    if (issues.some((i) => i.path === dotted)) continue;
    if (error.type === ValueErrorType.ObjectAdditionalProperties) {
      const parent = path.slice(0, -1);
      const known = Object.keys((schemaAt(schema, parent) as { properties?: object } | undefined)?.properties ?? {});
      issues.push({ path: dotted, expected: `no such key (known keys: ${known.join(', ')})`, found: render(getAt(withDefaults, path)) });
      continue;
    }
    const secret = (schemaAt(schema, path) as { secret?: boolean } | undefined)?.secret === true;
    issues.push({ path: dotted, expected: describeSchema(error.schema), found: secret ? '[redacted]' : render(error.value) });
  }

  for (const key of configKeys(schema).filter((k) => k.secret)) {
    const v = getAt(withDefaults, key.path);
    if (v !== undefined && !fromEnv.has(key.dotted) && !issues.some((i) => i.path === key.dotted)) {
      issues.push({
        path: key.dotted,
        expected: `a \${ENV_NAME} reference or ${key.env} (secrets come only from the environment)`,
        found: 'a literal value [redacted]',
      });
    }
  }

  if (issues.length) throw new ConfigError(issues, options.source);
  return deepFreeze(withDefaults) as ConveyorConfig;
}

function interpolate(v: unknown, path: string[], env: Record<string, string | undefined>, issues: ConfigIssue[], fromEnv: Set<string>): unknown {
  if (typeof v === 'string') {
    if (!v.includes('${')) return v;
    let missing: string | null = null;
    const out = v.replace(ENV_REF, (_m, name: string) => {
      const val = env[name];
      if (val === undefined) missing = name;
      return val ?? '';
    });
    if (missing) issues.push({ path: formatPath(path), expected: `environment variable ${missing} to be set`, found: 'it unset' });
    else fromEnv.add(path.join('.'));
    return out;
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolate(x, [...path, String(i)], env, issues, fromEnv));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = interpolate(o[k], [...path, k], env, issues, fromEnv);
  }
  return v;
}

/**
 * `CONVEYOR_PLUGINS_<NAME>_…` variables of a plugin this instance does not know
 * (a typo, a plugin not installed): reported, never ignored, or a person who set
 * `CONVEYOR_PLUGINS_CANCEL_ENABLED=true` without the plugin believes it is on.
 */
export function unknownPluginVariables(env: Record<string, string | undefined>, plugins: readonly PluginSchemaSource[]): ConfigIssue[] {
  const prefix = `${envName(['plugins'])}_`;
  const known = plugins.map((p) => `${envName(['plugins', p.name])}_`);
  const names = plugins.map((p) => p.name).sort();
  return Object.keys(env)
    .filter((k) => k.startsWith(prefix) && env[k] !== undefined && !known.some((p) => k.startsWith(p)))
    .sort()
    .map((k) => ({ path: k, expected: `a variable of a plugin this host knows (${names.join(', ') || 'none'}); install and list the plugin, or unset it`, found: 'no such plugin' }));
}

/** Turns an environment string into the key's type; leaves it as is when it does not fit (validation reports it). */
function convertEnv(text: string, schema: TSchema): unknown {
  const kind = schema[Kind];
  switch (kind) {
    case 'Integer':
    case 'Number':
      return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
    case 'Boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return text;
    case 'Array':
      return text.trim() === '' ? [] : text.split(',').map((s) => s.trim());
    default:
      return text;
  }
}

/** TypeBox fills defaults of fixed keys only; this also fills each entry of a map (`repos.<name>`). */
function recordDefaults(schema: TSchema, value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const v = value as Record<string, unknown>;
  if (schema[Kind] === 'Object') {
    for (const [k, child] of Object.entries((schema as TObject).properties)) if (k in v) v[k] = recordDefaults(child, v[k]);
  } else if (schema[Kind] === 'Record') {
    const entry = Object.values((schema as unknown as { patternProperties: Record<string, TSchema> }).patternProperties)[0]!;
    for (const k of Object.keys(v)) v[k] = recordDefaults(entry, Value.Default(entry, v[k]));
  }
  return v;
}

function pointerToPath(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `plugins.serial-gate.repos[0]`. */
export function formatPath(path: readonly string[]): string {
  let out = '';
  for (const seg of path) out += /^\d+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

function render(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function getAt(v: unknown, path: readonly string[]): unknown {
  let cur = v;
  for (const seg of path) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function setAt(target: Record<string, unknown>, path: readonly string[], v: unknown): void {
  let cur = target;
  for (const seg of path.slice(0, -1)) {
    if (!cur[seg] || typeof cur[seg] !== 'object') cur[seg] = {};
    cur = cur[seg] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = v;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v as object)) deepFreeze(child);
  }
  return v;
}

/** A copy of the config with every secret replaced, for printing. */
export function redactConfig(config: ConveyorConfig, plugins: readonly PluginSchemaSource[]): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const key of configKeys(buildConfigSchema(plugins)).filter((k) => k.secret)) {
    if (getAt(copy, key.path) !== undefined) setAt(copy, key.path, '[redacted]');
  }
  // Not only secret keys: any URL may carry `user:token@` (a repo's clone URL).
  const scrub = (v: unknown): unknown => {
    if (typeof v === 'string') return redactCredentials(v);
    if (Array.isArray(v)) return v.map(scrub);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x)]));
    return v;
  };
  return scrub(copy) as Record<string, unknown>;
}

export { envName };
