import { EVENT_NAMES, type ConveyorEventName, type ConveyorEvents } from '../events/event-map.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';

export interface RecordedEvent {
  name: ConveyorEventName;
  payload: unknown;
}

/** Records every event of a bus, in order. */
export class EventRecorder {
  readonly events: RecordedEvent[] = [];
  readonly #offs: (() => void)[] = [];

  constructor(bus: EventBus) {
    for (const name of EVENT_NAMES) this.#offs.push(bus.on(name, (payload) => void this.events.push({ name, payload })));
  }

  of<E extends ConveyorEventName>(name: E): ConveyorEvents[E][] {
    return this.events.filter((e) => e.name === name).map((e) => e.payload as ConveyorEvents[E]);
  }

  names(): ConveyorEventName[] {
    return this.events.map((e) => e.name);
  }

  /** Resolves with the first `name` event that matches, or rejects after `timeoutMs`. */
  waitFor<E extends ConveyorEventName>(name: E, match: (p: ConveyorEvents[E]) => boolean = () => true, timeoutMs = 10_000): Promise<ConveyorEvents[E]> {
    const found = this.of(name).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        const hit = this.of(name).find(match);
        if (hit) {
          clearInterval(timer);
          clearTimeout(limit);
          resolve(hit);
        }
      }, 5);
      const limit = setTimeout(() => {
        clearInterval(timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${name}; saw: ${this.names().join(', ')}`));
      }, timeoutMs);
    });
  }

  dispose(): void {
    for (const off of this.#offs) off();
  }
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger that keeps its lines for assertions. */
export class RecordingLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}
  #push(level: LogLine['level'], obj: object, msg?: string): void {
    this.lines.push({ level, obj: { ...this.bindings, ...(obj as Record<string, unknown>) }, msg });
  }
  debug(obj: object, msg?: string): void {
    this.#push('debug', obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.#push('info', obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.#push('warn', obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.#push('error', obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.lines, { ...this.bindings, ...bindings });
  }
}

/**
 * Polls `check` until it returns a truthy value (resolved with it) or the time is
 * up (rejects with the last value seen). For effects of never-raise listeners,
 * which run after the event that a test waited for.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
