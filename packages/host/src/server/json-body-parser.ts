import type { FastifyInstance, FastifyRequest } from 'fastify';

const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/** The exact bytes of a request's JSON body, kept only in a scope installed with `keepRaw`. */
export function rawBodyOf(request: FastifyRequest): Buffer | undefined {
  return rawBodies.get(request);
}

function badRequest(message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/**
 * Replaces fastify's `application/json` and `text/plain` parsers in `scope` (an encapsulated
 * context, so only that scope's routes are affected). The body is read as a
 * Buffer under the route's body limit, parsed by fastify's own hardened parser
 * (`__proto__` and `constructor.prototype` keys rejected), and, with `keepRaw`,
 * kept as received: a webhook signature is computed over the bytes on the wire,
 * and re-serializing the parsed object would change whitespace and key order.
 */
export function installJsonParser(scope: FastifyInstance, options: { keepRaw: boolean }): void {
  const parse = scope.getDefaultJsonParser('error', 'error');
  // The API speaks JSON only: a text/plain body would otherwise reach a route's
  // schema as a string, or a webhook handler without its raw bytes (→ 415 instead).
  scope.removeContentTypeParser(['application/json', 'text/plain']);
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (options.keepRaw) {
      // A webhook's bytes are only trusted once its signature is verified: the route
      // verifies, then parses. Nothing here parses what an anonymous caller sent.
      rawBodies.set(request, bytes);
      return done(null, undefined);
    }
    const text = bytes.toString('utf8');
    parse(request, text, (err, value) => {
      if (!err) return done(null, value);
      if ((err as { code?: string }).code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return done(err, undefined);
      // fastify only says the body "is not valid JSON"; JSON.parse says where and why.
      try {
        JSON.parse(text);
      } catch (syntax) {
        return done(badRequest(`body is not valid JSON: ${(syntax as Error).message}`), undefined);
      }
      done(badRequest('body is not accepted: it has a "__proto__" or "constructor.prototype" key'), undefined);
    });
  });
}

/**
 * A request sent without a body (no content type, nothing to parse) reaches a route
 * that declares a body schema as `{}`: an all-optional body (`POST /tasks/:id/approve`)
 * needs no `-d '{}'`, and a missing required field is named by the schema ("body must
 * have required property 'title'") instead of "body must be object".
 */
export function installEmptyBodyDefault(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body !== undefined) request.body = {};
  });
}
