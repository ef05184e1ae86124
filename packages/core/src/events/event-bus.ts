import { EventEmitter } from 'eventemitter3';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ConveyorEventName, ConveyorEvents } from './event-map.js';

export type Listener<E extends ConveyorEventName> = (payload: ConveyorEvents[E]) => void | Promise<void>;

/**
 * The typed event bus. `emit` never throws and never waits: every listener runs
 * inside a guard, a synchronous throw or a rejected promise is logged (and reported
 * as `listener.error`), and the emitting operation carries on.
 */
export class EventBus {
  readonly #emitter = new EventEmitter();
  readonly #logger: Logger;
  /** wrapped listener by original listener, per event, so `off` works. */
  readonly #wrapped = new Map<string, Map<Function, (p: unknown) => void>>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  on<E extends ConveyorEventName>(event: E, listener: Listener<E>): () => void {
    const guarded = (payload: unknown): void => {
      try {
        const out = listener(payload as ConveyorEvents[E]);
        if (out && typeof (out as Promise<void>).then === 'function') {
          (out as Promise<void>).catch((err: unknown) => this.#report(event, err));
        }
      } catch (err) {
        this.#report(event, err);
      }
    };
    let byListener = this.#wrapped.get(event);
    if (!byListener) this.#wrapped.set(event, (byListener = new Map()));
    byListener.set(listener, guarded);
    this.#emitter.on(event, guarded);
    return () => this.off(event, listener);
  }

  off<E extends ConveyorEventName>(event: E, listener: Listener<E>): void {
    const guarded = this.#wrapped.get(event)?.get(listener);
    if (!guarded) return;
    this.#emitter.off(event, guarded);
    this.#wrapped.get(event)?.delete(listener);
  }

  emit<E extends ConveyorEventName>(event: E, payload: ConveyorEvents[E]): void {
    try {
      this.#emitter.emit(event, payload);
    } catch (err) {
      // eventemitter3 itself should not throw; this is the last line of defence.
      this.#report(event, err);
    }
  }

  /** Number of listeners on one event, or on all events. */
  listenerCount(event?: ConveyorEventName): number {
    if (event) return this.#emitter.listenerCount(event);
    return this.#emitter.eventNames().reduce((n, e) => n + this.#emitter.listenerCount(e), 0);
  }

  removeAllListeners(): void {
    this.#emitter.removeAllListeners();
    this.#wrapped.clear();
  }

  #report(event: string, thrown: unknown): void {
    const error = toError(thrown);
    this.#logger.error({ event, err: error }, 'event listener failed');
    if (event === 'listener.error') return; // never loop on our own report
    try {
      this.#emitter.emit('listener.error', { event, error });
    } catch {
      // a failing listener.error listener is already logged by its own guard
    }
  }
}
