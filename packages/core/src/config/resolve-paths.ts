import path from 'node:path';
import { Kind, type TObject, type TSchema } from '@sinclair/typebox';

/**
 * Schema options of a key that holds a filesystem path. A relative value is
 * resolved against the directory of the config file that set it (not the working
 * directory), so one config means the same files whichever directory the CLI is
 * run from.
 */
export const PATH_KEY = { path: true } as const;

/**
 * Schema options of a path whose default lives in the data directory:
 * `underDataDir('logs')` defaults to `<instance.dataDir>/logs`, so moving
 * `instance.dataDir` moves it too unless the key is set.
 */
export function underDataDir(sub: string): { path: true; underDataDir: string } {
  return { path: true, underDataDir: sub };
}

/**
 * Schema options of a key that is a clone URL or a local path (`repos.<repo>.url`):
 * only a local path is resolved.
 */
export const URL_OR_PATH_KEY = { path: 'url-or-path' } as const;

/** The data directory when `instance.dataDir` is not set, relative to the base directory. */
export const DEFAULT_DATA_DIR = '.conveyor';

type Annotated = TSchema & { path?: true | 'url-or-path'; underDataDir?: string };

/** A URL (`https://…`, `file://…`) or git's scp form (`git@host:repo`): a colon before any slash. */
function isUrl(v: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(v) || /^[^/]*:/.test(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** The schema of an optional key is the inner schema with the Optional modifier: same kind. */
function hasDataDirDefault(schema: TSchema): boolean {
  const any = schema as Annotated;
  if (any.underDataDir !== undefined) return true;
  if (schema[Kind] === 'Object') return Object.values((schema as TObject).properties).some(hasDataDirDefault);
  return false;
}

/**
 * Makes every path key of a raw config absolute, in place, before defaults are
 * applied: relative values against `baseDir`, and keys with a data-dir default that
 * are unset as `<dataDir>/<sub>`. Values of the wrong type are left for the schema
 * check to report.
 */
export function resolveConfigPaths(schema: TObject, value: Record<string, unknown>, baseDir: string): void {
  const instance = isObject(value.instance) ? value.instance : undefined;
  const configured = instance?.dataDir;
  if (configured !== undefined && typeof configured !== 'string') return;
  const dataDir = path.resolve(baseDir, configured ?? DEFAULT_DATA_DIR);
  // Written back even when unset: the default `.conveyor` is relative to the base directory too.
  if (instance) instance.dataDir = dataDir;
  else if (value.instance === undefined) value.instance = { dataDir };
  walk(schema, value, baseDir, dataDir);
}

function walk(schema: TSchema, value: Record<string, unknown>, baseDir: string, dataDir: string): void {
  if (schema[Kind] === 'Record') {
    const entry = Object.values((schema as unknown as { patternProperties: Record<string, TSchema> }).patternProperties)[0]!;
    for (const key of Object.keys(value)) visit(entry, value, key, baseDir, dataDir);
    return;
  }
  for (const [key, child] of Object.entries((schema as TObject).properties ?? {})) visit(child, value, key, baseDir, dataDir);
}

function visit(schema: TSchema, parent: Record<string, unknown>, key: string, baseDir: string, dataDir: string): void {
  const any = schema as Annotated;
  const v = parent[key];
  if (schema[Kind] === 'Object' || schema[Kind] === 'Record') {
    // A section left out of the file still gets its data-dir defaults.
    if (v === undefined && hasDataDirDefault(schema)) parent[key] = {};
    if (isObject(parent[key])) walk(schema, parent[key] as Record<string, unknown>, baseDir, dataDir);
    return;
  }
  if (!any.path) return;
  if (v === undefined && any.underDataDir !== undefined) parent[key] = path.join(dataDir, any.underDataDir);
  else if (typeof v === 'string' && v !== '' && !(any.path === 'url-or-path' && isUrl(v))) parent[key] = path.resolve(baseDir, v);
}
