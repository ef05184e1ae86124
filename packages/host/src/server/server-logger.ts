import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type DestinationStream, type Logger as PinoLogger, type LoggerOptions } from 'pino';
import { REDACT_PATHS } from '@conveyor/core';

/**
 * Paths the host's logger blanks, on top of core's: every header that can carry a
 * credential (bearer token, cookie, webhook signatures), wherever a line puts the
 * request (`req.headers`, `headers`, `request.headers`).
 */
export const SERVER_REDACT_PATHS: readonly string[] = [
  ...REDACT_PATHS,
  ...['req.headers', 'request.headers', 'headers'].flatMap((at) => [
    `${at}.authorization`,
    `${at}.cookie`,
    `${at}["x-conveyor-token"]`,
    `${at}["x-api-key"]`,
    `${at}["x-plane-signature"]`,
    `${at}["x-gitea-signature"]`,
    `${at}["x-hub-signature"]`,
    `${at}["x-hub-signature-256"]`,
  ]),
];

/** What `buildServer({ logger })` accepts: a ready pino logger, or options for one. */
export type ServerLoggerOption = PinoLogger | LoggerOptions;

/**
 * A pino logger with the host's redaction. Options given here win over the
 * defaults, except that redaction paths are only ever added to, never dropped.
 */
export function createServerLogger(options: LoggerOptions = {}, destination?: DestinationStream): PinoLogger {
  const extra = Array.isArray(options.redact) ? options.redact : (options.redact?.paths ?? []);
  const opts: LoggerOptions = {
    name: 'conveyor-host',
    level: process.env.CONVEYOR_LOG_LEVEL ?? 'info',
    ...options,
    redact: { paths: [...new Set([...SERVER_REDACT_PATHS, ...extra])], censor: '[redacted]' },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

/** The logger instance for `option`: used as is when it is a logger, built otherwise. */
export function resolveServerLogger(option: ServerLoggerOption | undefined): PinoLogger {
  if (option && typeof (option as PinoLogger).child === 'function' && typeof (option as PinoLogger).info === 'function') return option as PinoLogger;
  return createServerLogger((option ?? {}) as LoggerOptions);
}

/**
 * One line per request (spec 03: "one JSON line per request"), written when the
 * response is sent; fastify's default writes two (incoming + completed) and
 * serializes the whole request object.
 */
export class OneLineLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: request.url,
      route: request.routeOptions.url ?? null,
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request failed');
    else reply.log.info(line, 'request');
  }
}
