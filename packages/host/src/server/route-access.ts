import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler, preHandlerAsyncHookHandler, RouteOptions } from 'fastify';
import type { WebhookVerdict, WebhookVerifyRequest } from '@conveyor/core';
import { bearerAuth } from './auth.js';
import { sendError } from './http-errors.js';
import { rawBodyOf } from './json-body-parser.js';
import type { ReadAuth } from './read-auth.js';

/**
 * Who may call a route: `public` (`GET /health`: a load balancer has no token;
 * a plugin's `auth: 'public'` page shell or asset), `read` (a `GET`: the token when `host.readAuth` is `token`), `token` (the
 * bearer token, always) or `webhook` (the sender's signature, by the route's verifier).
 */
export type HostRouteAccess = 'public' | 'read' | 'token' | 'webhook';

/** The bearer checks of one server. */
export interface RouteGuards {
  /** Routes that change state. */
  token: onRequestAsyncHookHandler;
  /** Reads; null when `host.readAuth` is `none`. */
  read: onRequestAsyncHookHandler | null;
}

/** The guards for `token` (at least 16 characters) under `readAuth`. */
export function createRouteGuards(token: string, readAuth: ReadAuth): RouteGuards {
  const check = bearerAuth(token);
  return { token: check, read: readAuth === 'token' ? check : null };
}

/** A route's signature check, as the host runs it. */
export type WebhookVerifier = (request: WebhookVerifyRequest) => WebhookVerdict | Promise<WebhookVerdict>;

interface AccessConfig {
  access: HostRouteAccess;
  guarded: boolean;
}

/**
 * Runs the route's verifier over the exact bytes after they are read and before the
 * handler: a delivery that fails is a 401 with the verifier's message, and the
 * handler (which records and acts) never sees it.
 */
function verifyHook(verify: WebhookVerifier): preHandlerAsyncHookHandler {
  return async function verifySignature(request: FastifyRequest, reply: FastifyReply) {
    const verdict = await verify({ headers: request.headers, rawBody: rawBodyOf(request) ?? Buffer.alloc(0) });
    if (verdict.ok) return;
    request.log.info({ route: request.routeOptions.url, reason: verdict.message }, 'webhook signature refused');
    return sendError(reply, 401, verdict.message);
  };
}

/**
 * The route options that make `access` hold: the bearer check in `onRequest`
 * (before the body is read), or the verifier in `preHandler` (after the raw bytes
 * are read). `config.access` lets `installAccessCheck` see what was declared.
 */
export function accessOptions(access: HostRouteAccess, guards: RouteGuards, verify?: WebhookVerifier): Pick<RouteOptions, 'config' | 'onRequest' | 'preHandler'> {
  switch (access) {
    case 'public':
      return { config: { access, guarded: false } satisfies AccessConfig };
    case 'read':
      return guards.read ? { config: { access, guarded: true } satisfies AccessConfig, onRequest: guards.read } : { config: { access, guarded: false } satisfies AccessConfig };
    case 'token':
      return { config: { access, guarded: true } satisfies AccessConfig, onRequest: guards.token };
    case 'webhook':
      if (typeof verify !== 'function') throw new TypeError('a webhook route needs a verify function');
      return { config: { access, guarded: true } satisfies AccessConfig, preHandler: verifyHook(verify) };
  }
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/** One route as the access check saw it. */
export interface RouteAccessEntry {
  method: string;
  url: string;
  access: HostRouteAccess;
}

const tables = new WeakMap<FastifyInstance, RouteAccessEntry[]>();

/**
 * Every route added to `app` since `installAccessCheck(app)`, with its access
 * (`HEAD` twins of `GET` routes included): what the host guards and how, for tests
 * and diagnostics. Empty for an app without the check.
 */
export function routeAccessTable(app: FastifyInstance): readonly RouteAccessEntry[] {
  return tables.get(app) ?? [];
}

/**
 * Refuses, at start, any route added to `app` afterwards that does not declare its
 * access through `accessOptions`, or that changes state (any method but GET/HEAD)
 * without the token or a verifier. Core's routes and every plugin's pass through it,
 * so a route someone forgets to guard fails the start instead of serving anyone.
 */
export function installAccessCheck(app: FastifyInstance): void {
  const table: RouteAccessEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat().map((m) => String(m).toUpperCase());
    const where = `route ${methods.join(',')} ${route.url}`;
    const declared = (route.config as Partial<AccessConfig> | undefined) ?? {};
    if (declared.access === undefined) throw new Error(`${where} declares no access: build its options with accessOptions('public' | 'read' | 'token' | 'webhook', …)`);
    const mutating = methods.some((m) => !READ_METHODS.has(m));
    if (mutating && !(declared.guarded === true && (declared.access === 'token' || declared.access === 'webhook'))) {
      throw new Error(`${where} changes state but its access is "${declared.access}": it needs the bearer token or a webhook verifier`);
    }
    for (const method of methods) table.push({ method, url: route.url, access: declared.access });
  });
}
