import { Ajv, type Options } from 'ajv';
import type { FastifyInstance, FastifySchema } from 'fastify';

const common: Options = { useDefaults: true, allErrors: false, strict: false };

/**
 * Two validators. Path parameters and query strings are text on the wire, so they
 * are converted to their declared types (`?live=true` → `true`, `/tasks/7` → 7).
 * A JSON body already has types: converting it would accept `{"title": 5}` as
 * "5" and `null` as "", and dropping unknown keys would hide a caller's typo —
 * so bodies are checked exactly as sent.
 */
export function installValidators(app: FastifyInstance): void {
  const lenient = new Ajv({ ...common, coerceTypes: 'array', removeAdditional: true });
  const strictBodies = new Ajv({ ...common, coerceTypes: false, removeAdditional: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictBodies : lenient).compile(schema as FastifySchema & object));
}
