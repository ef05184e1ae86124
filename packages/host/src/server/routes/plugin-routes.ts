import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, onRequestAsyncHookHandler, RouteOptions } from 'fastify';
import { routeAccess, toError, type OwnedRoute, type RouteRequest, type RouteResponse } from '@conveyor/core';
import { sendError, toHttpError } from '../http-errors.js';
import { installJsonParser, rawBodyOf } from '../json-body-parser.js';
import { accessOptions, type RouteGuards } from '../route-access.js';

/** True for routes whose handler needs the body exactly as received (webhook signatures). */
export function wantsRawBody(route: Pick<OwnedRoute, 'auth' | 'rawBody'>): boolean {
  return route.rawBody === true || route.auth === 'webhook';
}

function schemaOf(route: OwnedRoute): FastifySchema | undefined {
  const s = route.schema;
  if (!s) return undefined;
  // TypeBox schemas are JSON Schema; fastify's ajv compiles them as they are.
  return { ...(s.body ? { body: s.body } : {}), ...(s.params ? { params: s.params } : {}), ...(s.querystring ? { querystring: s.querystring } : {}) };
}

function toRouteRequest(route: OwnedRoute, request: FastifyRequest, readsOpen: boolean): RouteRequest {
  const out: RouteRequest = {
    params: request.params as Record<string, string>,
    query: request.query as Record<string, unknown>,
    headers: request.headers,
    body: request.body,
    readsOpen,
  };
  // A webhook with no body still gets bytes to verify: zero of them.
  if (wantsRawBody(route)) out.rawBody = rawBodyOf(request) ?? Buffer.alloc(0);
  return out;
}

function routeOptions(route: OwnedRoute, guards: RouteGuards): RouteOptions {
  const g = guards;
  const schema = schemaOf(route);
  // Checked again here: a route list may be built by hand, not only by `ctx.addRoute`.
  const access = routeAccess(route);
  return {
    method: route.method,
    url: route.url,
    ...(route.bodyLimit !== undefined ? { bodyLimit: route.bodyLimit } : {}),
    ...(schema ? { schema } : {}),
    ...accessOptions(access, guards, access === 'webhook' ? route.verify!.bind(route) : undefined),
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      let res: RouteResponse;
      try {
        res = await route.handler(toRouteRequest(route, request, g.read === null));
      } catch (err) {
        const http = toHttpError(err, request);
        if (http.clientError) request.log.info({ plugin: route.plugin, route: route.url, status: http.status, reason: http.message }, 'plugin route rejected the request');
        else request.log.error({ plugin: route.plugin, route: `${route.method} ${route.url}`, err: toError(err) }, 'plugin route handler threw');
        return sendError(reply, http.status, http.clientError ? http.message : `route ${route.method} ${route.url} of plugin "${route.plugin}" failed; see the host log`);
      }
      reply.code(res.status);
      if (res.headers) reply.headers(res.headers);
      return reply.send(res.body);
    },
  };
}

/**
 * Mounts every plugin route with its schemas, body limit and access: `auth: 'token'`
 * behind the bearer token, `auth: 'webhook'` behind the route's verifier, and a
 * `GET` with `auth: 'none'` as a read (token-guarded when `guards.read` is set). A
 * route that changes state without either fails here, naming plugin and route.
 * `guards` may be a bare bearer hook (an embedder's `bearerAuth(token)`): reads are
 * then open. Routes that
 * need the raw body live in their own encapsulated scope whose JSON parser keeps
 * the bytes (and, like the rest of the host, accepts nothing but JSON).
 * A route that clashes with another (core's or a plugin's) fails the start with
 * the plugin's name.
 */
export async function mountPluginRoutes(app: FastifyInstance, routes: readonly OwnedRoute[], guards: RouteGuards | onRequestAsyncHookHandler): Promise<void> {
  const g: RouteGuards = typeof guards === 'function' ? { token: guards, read: null } : guards;
  const add = (scope: FastifyInstance, route: OwnedRoute) => {
    try {
      scope.route(routeOptions(route, g));
    } catch (err) {
      throw new Error(`plugin "${route.plugin}" route ${route.method} ${route.url} cannot be mounted: ${toError(err).message}`, { cause: err });
    }
  };
  for (const route of routes.filter((r) => !wantsRawBody(r))) add(app, route);
  const raw = routes.filter(wantsRawBody);
  if (raw.length === 0) return;
  await app.register(async (scope) => {
    installJsonParser(scope, { keepRaw: true });
    for (const route of raw) add(scope, route);
  });
}
