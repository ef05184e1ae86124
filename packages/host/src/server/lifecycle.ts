import { toError, type Conveyor, type Logger } from '@conveyor/core';

/** How long past `graceMs` a shutdown may run before `close()` gives up waiting. */
export const DEFAULT_FORCE_AFTER_MS = 10_000;

export interface HostLifecycleOptions {
  /** The HTTP server (fastify: `close()` stops listening and waits for in-flight requests). */
  server: { close(): PromiseLike<unknown> };
  /** The instance, stopped with `graceMs` as the deadline for running jobs. */
  conveyor: Pick<Conveyor, 'stop'>;
  /** Where the shutdown says what it does (a pino logger or core's `Logger`). */
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** How long running agent jobs may finish (`host.shutdownGraceMs`). */
  graceMs: number;
  /** Extra wait past `graceMs` before `close()` resolves anyway. @default 10000 */
  forceAfterMs?: number;
}

export interface ShutdownResult {
  /** True when the instance had not stopped by `graceMs + forceAfterMs`. */
  timedOut: boolean;
}

export interface HostLifecycle {
  /**
   * Stops accepting requests (fastify close: in-flight requests finish, new ones
   * get 503), lets running jobs finish up to `graceMs`, then stops the instance
   * (daemons, plugins, database). Never rejects; the second call returns the first
   * call's promise.
   */
  close(reason?: string): Promise<ShutdownResult>;
  /** Settles when a `close()` (from any caller, e.g. a signal) has finished. */
  readonly closed: Promise<ShutdownResult>;
  readonly closing: boolean;
}

/** The host's shutdown sequence, shared by the CLI and embedders. */
export function createHostLifecycle(options: HostLifecycleOptions): HostLifecycle {
  const { server, conveyor, logger, graceMs } = options;
  const forceAfterMs = options.forceAfterMs ?? DEFAULT_FORCE_AFTER_MS;
  let closing: Promise<ShutdownResult> | null = null;
  let settle!: (r: ShutdownResult) => void;
  const closed = new Promise<ShutdownResult>((resolve) => (settle = resolve));

  const stopAll = async (): Promise<void> => {
    try {
      await server.close();
    } catch (err) {
      logger.error({ err: toError(err) }, 'HTTP server did not close cleanly');
    }
    try {
      // Running jobs get host.shutdownGraceMs; then daemons, plugins and the database.
      await conveyor.stop({ deadlineMs: graceMs });
    } catch (err) {
      logger.error({ err: toError(err) }, 'instance did not stop cleanly');
    }
  };

  const run = async (reason: string): Promise<ShutdownResult> => {
    logger.info({ reason, graceMs }, 'host stopping');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      // Not unref'd: a stop stuck on a bare promise holds no handle, and the process
      // would end mid-shutdown with no word; this timer makes close() resolve instead.
      timer = setTimeout(() => resolve('timeout'), graceMs + forceAfterMs);
    });
    const outcome = await Promise.race([stopAll().then(() => 'stopped' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      // A runner that ignores its abort signal (or a request that never ends) would hold
      // the process forever; a job row left `running` is recovered by the next start's reaper.
      logger.error({ waitedMs: graceMs + forceAfterMs }, 'shutdown did not finish in time; giving up waiting');
      return { timedOut: true };
    }
    logger.info({}, 'host stopped');
    return { timedOut: false };
  };

  return {
    close(reason = 'close requested') {
      closing ??= run(reason).then((r) => {
        settle(r);
        return r;
      });
      return closing;
    },
    closed,
    get closing() {
      return closing !== null;
    },
  };
}
