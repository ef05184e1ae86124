import { createRequire } from 'node:module';
import type { DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';

// Loaded when a pretty log is asked for: a host logging JSON never loads it.
const loadPinoPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

/** How `conveyor start` writes its log: lines for people, or JSON lines for machines. */
export type LogFormat = 'pretty' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];

/**
 * `--log-format` when given; otherwise pretty on a terminal and JSON when stdout is
 * piped or redirected (a log shipper, systemd's journal, `| jq`), as today.
 */
export function chooseLogFormat(option: string | undefined, stdoutIsTTY: boolean): LogFormat {
  if (option === undefined) return stdoutIsTTY ? 'pretty' : 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(option)) throw new Error(`--log-format must be one of ${LOG_FORMATS.join(', ')}, got "${option}"`);
  return option as LogFormat;
}

/**
 * The pino destination of a format: pino-pretty's synchronous stream for `pretty`
 * (no worker thread to outlive a shutdown), pino's own stdout for `json`.
 * `into` is for tests (a stream to read the lines back from).
 */
export function logDestination(format: LogFormat, options: { colorize?: boolean; into?: NodeJS.WritableStream } = {}): DestinationStream | undefined {
  if (format === 'json') return undefined;
  return loadPinoPretty()({
    colorize: options.colorize ?? false,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
    ...(options.into ? { destination: options.into } : {}),
  });
}
