/**
 * The host's HTTP server: `buildServer`, bearer auth and the local token, the
 * shutdown lifecycle and signal handlers. Routes are documented in `docs/http-api.md`.
 */
export { buildServer, type BuildServerOptions } from './build-server.js';
export { installConveyorRoutes, mountConveyor, type MountConveyorOptions } from './mount-conveyor.js';
export { assertUsableToken, bearerAuth, bearerToken, createTokenMatcher, MIN_TOKEN_LENGTH } from './auth.js';
export { ensureLocalToken, TOKEN_FILE } from './local-token.js';
export { clientUrl, HOST_FILE, readHostFile, removeHostFile, writeHostFile, type HostRecord } from './host-file.js';
export { isLoopbackAddress, resolveReadAuth, type ReadAuth } from './read-auth.js';
export { accessOptions, createRouteGuards, installAccessCheck, routeAccessTable, type HostRouteAccess, type RouteAccessEntry, type RouteGuards, type WebhookVerifier } from './route-access.js';
export { createHostLifecycle, DEFAULT_FORCE_AFTER_MS, type HostLifecycle, type HostLifecycleOptions, type ShutdownResult } from './lifecycle.js';
export { exitLikeSignal, installSignalHandlers, SHUTDOWN_SIGNALS, type SignalHandlerOptions } from './signals.js';
export { createServerLogger, resolveServerLogger, OneLineLogController, SERVER_REDACT_PATHS, type ServerLoggerOption } from './server-logger.js';
export { errorSlug, formatSchemaErrors, sendError, type ErrorBody } from './http-errors.js';
export { rawBodyOf } from './json-body-parser.js';
export { TaskIdParams, TaskListQuery } from './schemas.js';
export { HEALTH_DB_TIMEOUT_MS } from './routes/health.js';
export { mountPluginRoutes, wantsRawBody } from './routes/plugin-routes.js';
export { installValidators } from './validators.js';
export { EventJournal, JOURNAL_SIZE, STREAMED_EVENTS, type StreamedEvent } from './event-journal.js';
export { EVENT_STREAM_BACKLOG_BYTES, MAX_EVENT_STREAMS } from './routes/events.js';
