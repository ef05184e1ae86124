import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '@conveyor/core';
import { assertUsableToken } from './auth.js';
import { formatSchemaErrors, installErrorHandlers } from './http-errors.js';
import { installEmptyBodyDefault, installJsonParser } from './json-body-parser.js';
import { installValidators } from './validators.js';
import { resolveReadAuth, type ReadAuth } from './read-auth.js';
import { createRouteGuards, installAccessCheck, type RouteGuards } from './route-access.js';
import { registerEventsRoute } from './routes/events.js';
import { registerHealthRoute } from './routes/health.js';
import { mountPluginRoutes } from './routes/plugin-routes.js';
import { registerQueueRoute } from './routes/queue.js';
import { registerStatusRoute } from './routes/status.js';
import { registerTaskArtefactRoute } from './routes/task-artefact.js';
import { registerTaskLogsRoute } from './routes/task-logs.js';
import { registerTaskRoutes } from './routes/tasks.js';

export interface MountConveyorOptions {
  /** The composed instance whose routes, stores and intake are exposed. */
  conveyor: Conveyor;
  /** Bearer token of the `token` routes (at least 16 characters). */
  token: string;
  /** Whether reads need the token; default `host.readAuth`, else by `host.address` (see `resolveReadAuth`). */
  readAuth?: ReadAuth;
  /** Reported by `GET /status`. @default '0.0.0' */
  version?: string;
  /** Mount everything under this prefix (e.g. `/conveyor`). @default none */
  prefix?: string;
}

/**
 * Everything the bundled host serves, installed into `scope`: the access check, the
 * validators, the JSON body parser, the JSON error handler, core's routes (`/health`,
 * `/status`, `/queue`, `/tasks…`, `/events`) and every enabled plugin's routes, each with its
 * declared access. `buildServer` calls it on its root; `mountConveyor` on an
 * encapsulated child of an embedder's app, so both enforce the same access.
 */
export async function installConveyorRoutes(scope: FastifyInstance, o: { conveyor: Conveyor; guards: RouteGuards; version: string }): Promise<void> {
  // First, so every route added below (core's and each plugin's) is checked: a
  // state-changing route without the token or a verifier fails here, in an
  // embedder's app as in the bundled host.
  installAccessCheck(scope);
  installValidators(scope);
  // 400s name the field the same way in an embedder's app as in the bundled host.
  scope.setSchemaErrorFormatter(formatSchemaErrors);
  installErrorHandlers(scope);
  installJsonParser(scope, { keepRaw: false });
  installEmptyBodyDefault(scope);
  registerHealthRoute(scope, o.conveyor, o.guards);
  registerStatusRoute(scope, o.conveyor, o.guards, { version: o.version, startedAt: Date.now() });
  registerQueueRoute(scope, o.conveyor, o.guards);
  registerTaskRoutes(scope, o.conveyor, o.guards);
  registerTaskArtefactRoute(scope, o.conveyor, o.guards);
  registerTaskLogsRoute(scope, o.conveyor, o.guards);
  registerEventsRoute(scope, o.conveyor, o.guards);
  await mountPluginRoutes(scope, o.conveyor.routes, o.guards);
}

/**
 * Mounts every Conveyor route — core's and the plugins' — with the host's JSON
 * errors, validation and access control (the bearer token on every route that
 * changes state, on reads too when `readAuth` is `token`) into an embedder's own
 * fastify app. It lives in an encapsulated context (fastify's `register`), so the
 * app's other routes keep their own parsers, validators and error handler; unknown
 * paths stay the app's 404.
 */
export async function mountConveyor(app: FastifyInstance, options: MountConveyorOptions): Promise<void> {
  assertUsableToken(options.token);
  const guards = createRouteGuards(options.token, options.readAuth ?? resolveReadAuth(options.conveyor.config.host));
  await app.register(async (scope) => installConveyorRoutes(scope, { conveyor: options.conveyor, guards, version: options.version ?? '0.0.0' }), options.prefix ? { prefix: options.prefix } : {});
}
