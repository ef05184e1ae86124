import { Kind, type TSchema } from '@sinclair/typebox';

/** One configurable leaf key, as documented and as overridable from the environment. */
export interface ConfigKey {
  path: string[];
  /** `worker.maxConcurrency`, `plugins.serial-gate.enabled`. */
  dotted: string;
  /** `CONVEYOR_WORKER_MAX_CONCURRENCY`. */
  env: string;
  schema: TSchema;
  secret: boolean;
  description: string;
  default: unknown;
}

const snake = (segment: string): string =>
  segment
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();

/** The environment variable that overrides a key. */
export function envName(path: readonly string[]): string {
  return ['CONVEYOR', ...path.map(snake)].join('_');
}

export function isObjectSchema(s: TSchema): boolean {
  return s[Kind] === 'Object';
}

/**
 * Every leaf key of the schema, depth first. Records (free-form maps such as
 * `repos`) are file-only and not enumerated.
 */
export function configKeys(schema: TSchema, prefix: string[] = []): ConfigKey[] {
  const out: ConfigKey[] = [];
  const props = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  for (const [key, child] of Object.entries(props)) {
    const path = [...prefix, key];
    if (isObjectSchema(child)) {
      out.push(...configKeys(child, path));
    } else if (child[Kind] === 'Record') {
      continue;
    } else {
      out.push({
        path,
        dotted: path.join('.'),
        env: envName(path),
        schema: child,
        secret: (child as { secret?: boolean }).secret === true,
        description: (child as { description?: string }).description ?? '',
        default: (child as { default?: unknown }).default,
      });
    }
  }
  return out;
}

/** "integer ≥ 1", "one of sqlite, pg", "array of string" … for error messages and docs. */
export function describeSchema(s: TSchema): string {
  const any = s as Record<string, unknown> & TSchema;
  switch (s[Kind]) {
    case 'Union': {
      const options = (any.anyOf as TSchema[]) ?? [];
      if (options.every((o) => o[Kind] === 'Literal')) return `one of ${options.map((o) => JSON.stringify((o as unknown as { const: unknown }).const)).join(', ')}`;
      return options.map(describeSchema).join(' or ');
    }
    case 'Literal':
      return JSON.stringify(any.const);
    case 'Integer':
    case 'Number': {
      const base = s[Kind] === 'Integer' ? 'integer' : 'number';
      const parts: string[] = [];
      if (typeof any.minimum === 'number') parts.push(`≥ ${any.minimum}`);
      if (typeof any.maximum === 'number') parts.push(`≤ ${any.maximum}`);
      return parts.length ? `${base} ${parts.join(' and ')}` : base;
    }
    case 'String': {
      const parts: string[] = ['string'];
      if (typeof any.pattern === 'string') parts.push(`matching /${any.pattern}/`);
      if (any.minLength === 1) parts.unshift('non-empty');
      else if (typeof any.minLength === 'number' && any.minLength > 1) parts.push(`of at least ${any.minLength} characters`);
      if (typeof any.format === 'string') parts.push(`(${any.format})`);
      return parts.join(' ');
    }
    case 'Boolean':
      return 'boolean';
    case 'Array':
      return `array of ${describeSchema(any.items as TSchema)}`;
    case 'Object':
      return 'object';
    case 'Record':
      return 'map';
    default:
      return String(s[Kind] ?? 'value');
  }
}

/** Finds the sub-schema at a path, following objects and records. */
export function schemaAt(schema: TSchema, path: readonly string[]): TSchema | undefined {
  let cur: TSchema | undefined = schema;
  for (const seg of path) {
    if (!cur) return undefined;
    const any = cur as Record<string, unknown>;
    if (cur[Kind] === 'Object') cur = (any.properties as Record<string, TSchema>)[seg];
    else if (cur[Kind] === 'Record') cur = Object.values(any.patternProperties as Record<string, TSchema>)[0];
    else if (cur[Kind] === 'Array') cur = any.items as TSchema;
    else return undefined;
  }
  return cur;
}
