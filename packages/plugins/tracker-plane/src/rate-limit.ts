/** Bounds of the waits `RateLimitGate` may impose. */
export interface RateLimitOptions {
  /** Longest single wait, whatever Plane's headers say. @default 60000 */
  maxWaitMs?: number;
  /** Wait after a 429 that names no time. @default 1000 */
  defaultWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Plane's API keys are throttled (60 requests a minute by default). Every answer
 * carries `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds); a 429
 * may carry `Retry-After`. This keeps the next allowed time, shared by all calls
 * of one client, and waits for it before each request — bounded, so a wrong clock
 * or a hostile header cannot park the caller for hours.
 */
export class RateLimitGate {
  readonly maxWaitMs: number;
  readonly #defaultWaitMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #notBefore = 0;

  constructor(options: RateLimitOptions = {}) {
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
    this.#defaultWaitMs = options.defaultWaitMs ?? 1_000;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  /** Waits until the next request is allowed (at most `maxWaitMs`). */
  async beforeRequest(): Promise<void> {
    const wait = Math.min(this.#notBefore - this.#now(), this.maxWaitMs);
    if (wait > 0) await this.#sleep(wait);
  }

  /** Reads the rate-limit headers of any answer: no requests left → hold until the reset. */
  observe(headers: Headers): void {
    const remaining = Number(headers.get('x-ratelimit-remaining') ?? NaN);
    if (remaining === 0) this.#holdFor(this.#untilReset(headers) ?? this.#defaultWaitMs);
  }

  /** After a 429: how long to wait before the retry (and holds every other call as long). */
  retryDelay(headers: Headers): number {
    const ms = Math.min(this.#retryAfter(headers) ?? this.#untilReset(headers) ?? this.#defaultWaitMs, this.maxWaitMs);
    this.#holdFor(ms);
    return ms;
  }

  #holdFor(ms: number): void {
    this.#notBefore = Math.max(this.#notBefore, this.#now() + Math.min(Math.max(ms, 0), this.maxWaitMs));
  }

  /** `Retry-After` as seconds or an HTTP date. */
  #retryAfter(headers: Headers): number | null {
    const v = headers.get('retry-after');
    if (v === null || v.trim() === '') return null;
    const secs = Number(v);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const at = Date.parse(v);
    return Number.isFinite(at) ? Math.max(0, at - this.#now()) : null;
  }

  #untilReset(headers: Headers): number | null {
    const v = headers.get('x-ratelimit-reset');
    const epoch = v === null ? NaN : Number(v);
    return Number.isFinite(epoch) ? Math.max(0, epoch * 1000 - this.#now()) : null;
  }
}
