import { createRequire } from 'node:module';

type Factory = (externalSchemas: unknown, options: unknown) => unknown;

const fromFastify = (() => {
  let req: NodeRequire | null = null;
  return (id: string): unknown => {
    req ??= createRequire(createRequire(import.meta.url).resolve('fastify'));
    return req(id);
  };
})();

/**
 * fastify's own schema compilers (Ajv with its formats for requests, fast-json-stringify
 * for responses), loaded when a route first needs one. fastify requires both as it is
 * created, a few hundred milliseconds of `conveyor start`, while the host's routes use
 * neither: `installValidators` sets the request validators and no route declares a
 * response schema. For `Fastify({ schemaController: { compilersFactory } })`.
 */
export function lazyFastifyCompilers(): { buildValidator: Factory; buildSerializer: Factory } {
  let validator: Factory | null = null;
  let serializer: Factory | null = null;
  return {
    buildValidator: (schemas, options) => (validator ??= (fromFastify('@fastify/ajv-compiler') as () => Factory)())(schemas, options),
    buildSerializer: (schemas, options) => (serializer ??= (fromFastify('@fastify/fast-json-stringify-compiler') as () => Factory)())(schemas, options),
  };
}
