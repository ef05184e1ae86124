import { createRequire } from 'node:module';
import type { Ajv as AjvClass, Options, ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifySchema } from 'fastify';

const requireHere = createRequire(import.meta.url);

// validateSchema: false — Ajv would compile the JSON Schema meta-schema (per instance,
// a few hundred milliseconds of start) to check each route schema before compiling
// it. The routes' schemas are checked against it by the host's tests instead.
const common: Options = { useDefaults: true, allErrors: false, strict: false, validateSchema: false };

/** A validator as fastify calls it: Ajv's, with the context that lets it coerce a root value. */
type RouteValidator = ((data: unknown, cxt?: unknown) => boolean) & { errors?: ValidateFunction['errors']; schemaEnv?: unknown };

/**
 * A route's validator, compiled on the route's first request rather than when the
 * server starts (compiling every route's schema held `conveyor start` for half a
 * second). A schema Ajv cannot compile fails each request of that route with a 500.
 */
export function lazyValidator(compile: () => ValidateFunction): RouteValidator {
  let fn: ValidateFunction | null = null;
  const validate: RouteValidator = (data, cxt) => {
    fn ??= compile();
    const ok = fn(data, cxt as never) as boolean;
    validate.errors = fn.errors;
    return ok;
  };
  validate.errors = null;
  // fastify passes the parent object and key only to a validator with `schemaEnv` (an
  // Ajv function); Ajv needs them to replace a coerced root value (`?ids=1` → [1]).
  validate.schemaEnv = true;
  return validate;
}

/**
 * Two validators. Path parameters and query strings are text on the wire, so they
 * are converted to their declared types (`?live=true` → `true`, `/tasks/7` → 7).
 * A JSON body already has types: converting it would accept `{"title": 5}` as
 * "5" and `null` as "", and dropping unknown keys would hide a caller's typo —
 * so bodies are checked exactly as sent.
 */
export function installValidators(app: FastifyInstance): void {
  // Ajv itself is loaded, and each instance made, with the first validator compiled.
  let lenient: AjvClass | null = null;
  let strictBodies: AjvClass | null = null;
  const ajv = (body: boolean): AjvClass => {
    const { Ajv } = requireHere('ajv') as typeof import('ajv');
    if (body) return (strictBodies ??= new Ajv({ ...common, coerceTypes: false, removeAdditional: false }));
    return (lenient ??= new Ajv({ ...common, coerceTypes: 'array', removeAdditional: true }));
  };
  app.setValidatorCompiler(({ schema, httpPart }) => lazyValidator(() => ajv(httpPart === 'body').compile(schema as FastifySchema & object)));
}
