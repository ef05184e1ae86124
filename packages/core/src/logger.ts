import { pino } from 'pino';

/**
 * The logging port: a subset of pino's API, so a pino logger satisfies it directly
 * and the test kit can record lines without pino.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Paths pino blanks in every line: anything that may carry a credential. */
export const REDACT_PATHS = [
  'secret',
  'token',
  'password',
  'apiKey',
  'authorization',
  '*.secret',
  '*.token',
  '*.password',
  '*.apiKey',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-plane-signature"]',
  'req.headers["x-gitea-signature"]',
  'req.headers["x-hub-signature-256"]',
];

export interface CreateLoggerOptions {
  level?: string;
  name?: string;
  /** Where lines go; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/** A pino logger with Conveyor's redaction rules. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? process.env.CONVEYOR_LOG_LEVEL ?? 'info',
    name: options.name ?? 'conveyor',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(opts, options.destination as never) : pino(opts);
}

/** A logger that drops every line. */
export function silentLogger(): Logger {
  const l: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: () => {},
    child: () => l,
  };
  return l;
}
