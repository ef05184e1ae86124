import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type { Conveyor } from '@conveyor/core';
import { assertUsableToken, bearerAuth } from './auth.js';
import { formatSchemaErrors, installErrorHandlers } from './http-errors.js';
import { installEmptyBodyDefault, installJsonParser } from './json-body-parser.js';
import { installValidators } from './validators.js';
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
  /** Reported by `GET /status`. @default '0.0.0' */
  version?: string;
  /** Mount everything under this prefix (e.g. `/conveyor`). @default none */
  prefix?: string;
}

/**
 * Everything the bundled host serves, installed into `scope`: the validators, the
 * JSON body parser, the JSON error handler, core's routes (`/health`, `/status`,
 * `/queue`, `/tasks…`) and every enabled plugin's routes. `buildServer` calls it on
 * its root; `mountConveyor` on an encapsulated child of an embedder's app.
 */
export async function installConveyorRoutes(scope: FastifyInstance, o: { conveyor: Conveyor; auth: onRequestAsyncHookHandler; version: string }): Promise<void> {
  installValidators(scope);
  // 400s name the field the same way in an embedder's app as in the bundled host.
  scope.setSchemaErrorFormatter(formatSchemaErrors);
  installErrorHandlers(scope);
  installJsonParser(scope, { keepRaw: false });
  installEmptyBodyDefault(scope);
  registerHealthRoute(scope, o.conveyor);
  registerStatusRoute(scope, o.conveyor, { version: o.version, startedAt: Date.now() });
  registerQueueRoute(scope, o.conveyor);
  registerTaskRoutes(scope, o.conveyor, o.auth);
  registerTaskArtefactRoute(scope, o.conveyor);
  registerTaskLogsRoute(scope, o.conveyor, o.auth);
  await mountPluginRoutes(scope, o.conveyor.routes, o.auth);
}

/**
 * Mounts every Conveyor route — core's and the plugins' — with the host's JSON
 * errors, validation and bearer auth into an embedder's own fastify app. It lives in
 * an encapsulated context (fastify's `register`), so the app's other routes keep
 * their own parsers, validators and error handler; unknown paths stay the app's 404.
 */
export async function mountConveyor(app: FastifyInstance, options: MountConveyorOptions): Promise<void> {
  assertUsableToken(options.token);
  const auth = bearerAuth(options.token);
  await app.register(async (scope) => installConveyorRoutes(scope, { conveyor: options.conveyor, auth, version: options.version ?? '0.0.0' }), options.prefix ? { prefix: options.prefix } : {});
}
