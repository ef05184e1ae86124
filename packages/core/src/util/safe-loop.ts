import { toError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface SafeLoopOptions {
  /** Name for logs and `loop.error` events. */
  name: string;
  intervalMs: number;
  /** One unit of background work. Its errors are caught; the loop goes on. */
  tick: (signal: AbortSignal) => Promise<void>;
  logger: Logger;
  /** Called with each tick error (typically emits `loop.error`). */
  onError?: (error: Error, consecutive: number) => void;
  /** Longest wait after consecutive errors. */
  maxBackoffMs?: number;
}

/**
 * The one background-loop helper every daemon uses: `setTimeout` rescheduling
 * (never overlapping ticks), a try/catch per tick, exponential backoff on
 * consecutive errors, and a clean stop that waits for the tick in flight.
 */
export class SafeLoop {
  readonly #opts: SafeLoopOptions;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #errors = 0;
  #started = false;
  #lastTickAt: number | null = null;
  #wakeRequested = false;

  constructor(opts: SafeLoopOptions) {
    this.#opts = opts;
  }

  get lastTickAt(): number | null {
    return this.#lastTickAt;
  }

  get running(): boolean {
    return this.#started && !this.#abort.signal.aborted;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** Runs the next tick now (or right after the one in flight). */
  wake(): void {
    if (!this.running) return;
    if (this.#running) {
      this.#wakeRequested = true;
      return;
    }
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#abort.signal.aborted) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#run().finally(() => {
        this.#running = null;
      });
    }, ms);
    this.#timer.unref?.();
  }

  async #run(): Promise<void> {
    let delay = this.#opts.intervalMs;
    try {
      await this.#opts.tick(this.#abort.signal);
      this.#errors = 0;
    } catch (thrown) {
      this.#errors++;
      const error = toError(thrown);
      this.#opts.logger.error({ loop: this.#opts.name, err: error, consecutive: this.#errors }, 'background tick failed');
      try {
        this.#opts.onError?.(error, this.#errors);
      } catch {
        // reporting must not kill the loop either
      }
      delay = Math.min(this.#opts.intervalMs * 2 ** Math.min(this.#errors, 10), this.#opts.maxBackoffMs ?? 60_000);
    }
    this.#lastTickAt = Date.now();
    if (this.#wakeRequested && this.#errors === 0) {
      this.#wakeRequested = false;
      delay = 0;
    }
    this.#schedule(delay);
  }
}
