import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Conveyor } from '@conveyor/core';
import { assertUsableToken } from './auth.js';
import { lazyFastifyCompilers } from './fastify-compilers.js';
import { formatSchemaErrors, sendError } from './http-errors.js';
import { installConveyorRoutes } from './mount-conveyor.js';
import { resolveReadAuth, type ReadAuth } from './read-auth.js';
import { createRouteGuards } from './route-access.js';
import { OneLineLogController, resolveServerLogger, type ServerLoggerOption } from './server-logger.js';

export interface BuildServerOptions {
  /** The composed instance whose routes, stores and intake the server exposes. */
  conveyor: Conveyor;
  /** Bearer token of the `token` routes: `host.token`, or `ensureLocalToken(dataDir)`. At least 16 characters. */
  token: string;
  /** A pino logger, or options for one; defaults to pino at `CONVEYOR_LOG_LEVEL` (info) with credential headers redacted. */
  logger?: ServerLoggerOption;
  /** Reported by `GET /status`. */
  version: string;
  /** Whether reads need the token; default `host.readAuth`, else by `host.address` (see `resolveReadAuth`). */
  readAuth?: ReadAuth;
}

/**
 * Builds the host's fastify server: core routes (`/health`, `/status`, `/queue`,
 * `/tasks…`) and every enabled plugin's routes, with JSON errors, an explicit body
 * limit (`host.bodyLimitBytes`) and access control: every route that changes state
 * needs the bearer token or a webhook signature (a route without either fails the
 * build), reads need the token when `readAuth` is `token`, `/health` is open. Does not listen: the caller calls
 * `listen()` (the CLI) or `inject()` (tests), or mounts nothing and reads the
 * instance (an embedding host adds its own routes first).
 */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const { conveyor } = options;
  assertUsableToken(options.token);
  const app = Fastify({
    loggerInstance: resolveServerLogger(options.logger),
    logController: new OneLineLogController(),
    bodyLimit: conveyor.config.host.bodyLimitBytes,
    // A client that trickles its body must not hold a socket forever.
    requestTimeout: 30_000,
    schemaErrorFormatter: formatSchemaErrors,
    schemaController: { compilersFactory: lazyFastifyCompilers() },
  } as FastifyServerOptions) as unknown as FastifyInstance;
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`));
  const guards = createRouteGuards(options.token, options.readAuth ?? resolveReadAuth(conveyor.config.host));
  await installConveyorRoutes(app, { conveyor, guards, version: options.version });
  return app;
}
