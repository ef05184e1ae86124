import { ConveyorError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InboxStore } from '../persistence/ports.js';
import { deliveryContext } from './delivery-context.js';

export type DeliveryHandler = (payload: string) => Promise<void>;

/**
 * Accepted webhook deliveries: recorded first (the sender is acknowledged only once
 * the row is committed), processed after the reply, one at a time in arrival order,
 * and replayed at start when a crash left some unprocessed. A delivery whose key was
 * seen before is acknowledged and not processed again.
 */
export class WebhookInbox {
  readonly #handlers = new Map<string, DeliveryHandler>();
  #chain: Promise<void> = Promise.resolve();
  #frozen = false;
  #stopped = false;

  constructor(
    private readonly store: InboxStore,
    private readonly logger: Logger,
  ) {}

  /** Registers the processor of one source's deliveries (`plane`, `gitea`). */
  onDelivery(source: string, handler: DeliveryHandler): void {
    if (this.#frozen) throw new ConveyorError('CONVEYOR_REGISTRY_FROZEN', `cannot add a delivery handler for "${source}": handlers are frozen once the instance is composed`);
    if (this.#handlers.has(source)) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `a delivery handler for "${source}" is already registered`);
    this.#handlers.set(source, handler);
  }

  get sources(): string[] {
    return [...this.#handlers.keys()];
  }

  freeze(): void {
    this.#frozen = true;
  }

  /** Records a delivery; a new one is processed after the caller has answered. */
  async accept(input: { source: string; deliveryKey: string; payload: string }): Promise<{ id: number; duplicate: boolean }> {
    if (this.#stopped) throw new ConveyorError('CONVEYOR_STOPPED', 'the instance is stopping; deliveries are not accepted');
    if (!this.#handlers.has(input.source)) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `no delivery handler for source "${input.source}"`);
    const acceptedAt = Date.now();
    const rec = await this.store.record(input);
    if (rec.duplicate) {
      this.logger.info({ source: input.source, deliveryKey: input.deliveryKey, inboxId: rec.id }, 'duplicate delivery acknowledged, not processed again');
      return rec;
    }
    this.#enqueue(rec.id, input.source, input.payload, acceptedAt);
    return rec;
  }

  /** Processes what a previous run recorded but never processed. */
  async replay(limit = 1000): Promise<number> {
    const rows = await this.store.unprocessed(limit);
    for (const row of rows) this.#enqueue(row.id, row.source, row.payload);
    if (rows.length) this.logger.warn({ count: rows.length }, 'replaying webhook deliveries left unprocessed by a previous run');
    await this.idle();
    return rows.length;
  }

  /** Resolves when every accepted delivery has been processed. */
  idle(): Promise<void> {
    return this.#chain;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#chain;
  }

  #enqueue(id: number, source: string, payload: string, acceptedAt?: number): void {
    this.#chain = this.#chain.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(() => this.#process(id, source, payload, acceptedAt));
  }

  async #process(id: number, source: string, payload: string, acceptedAt?: number): Promise<void> {
    const handler = this.#handlers.get(source);
    try {
      if (!handler) {
        await this.store.markProcessed(id, 'ignored', `no handler for ${source} (plugin disabled?)`);
        return;
      }
      // A replayed delivery's acceptance time is from another run: no latency to report.
      await (acceptedAt === undefined ? handler(payload) : deliveryContext.run({ source, acceptedAt }, () => handler(payload)));
      await this.store.markProcessed(id, 'processed');
    } catch (thrown) {
      // One bad delivery must not stop the ones behind it; the reconciler is the backstop.
      const err = toError(thrown);
      this.logger.error({ source, inboxId: id, err }, 'processing a webhook delivery failed');
      await this.store.markProcessed(id, 'failed', err.message).catch(() => undefined);
    }
  }
}
