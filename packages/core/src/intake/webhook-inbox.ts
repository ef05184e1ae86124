import { ConveyorError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InboxStore } from '../persistence/ports.js';
import { faultPoint } from '../util/fault-point.js';
import { SafeLoop } from '../util/safe-loop.js';
import { deliveryContext } from './delivery-context.js';

export type DeliveryHandler = (payload: string) => Promise<void>;

export interface WebhookInboxOptions {
  /** This host: accepted deliveries are its to process, under a lease. */
  hostId: string;
  /** How long a delivery stays its accepting host's (database time). */
  leaseMs: number;
  /** How often to take over dead hosts' deliveries and delete old rows. */
  sweepIntervalMs: number;
  /** Processed deliveries older than this are deleted; 0 keeps them. */
  retentionDays: number;
  now?: () => number;
}

const DEFAULTS: WebhookInboxOptions = { hostId: 'local', leaseMs: 60_000, sweepIntervalMs: 30_000, retentionDays: 30 };

/**
 * Accepted webhook deliveries: recorded first (the sender is acknowledged only once
 * the row is committed), processed after the reply, one at a time in arrival order,
 * and replayed at start when a crash left some unprocessed. A delivery whose key was
 * seen before is acknowledged and not processed again.
 *
 * Several hosts share one inbox: a delivery is its accepting host's under a lease
 * (database time), claimed again right before it is processed, so another host's
 * in-flight delivery is never run twice; a sweep takes over those of a host that
 * died (its lease expired) and deletes processed rows past `retentionDays`.
 */
export class WebhookInbox {
  readonly #handlers = new Map<string, DeliveryHandler>();
  readonly #pending = new Set<number>();
  readonly #opts: WebhookInboxOptions;
  #chain: Promise<void> = Promise.resolve();
  #frozen = false;
  #stopped = false;
  #sweeper: SafeLoop | null = null;

  constructor(
    private readonly store: InboxStore,
    private readonly logger: Logger,
    options: Partial<WebhookInboxOptions> = {},
  ) {
    this.#opts = { ...DEFAULTS, ...options };
  }

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
    const rec = await this.store.record({ ...input, owner: this.#opts.hostId, leaseMs: this.#opts.leaseMs });
    if (rec.duplicate) {
      this.logger.info({ source: input.source, deliveryKey: input.deliveryKey, inboxId: rec.id }, 'duplicate delivery acknowledged, not processed again');
      return rec;
    }
    this.#enqueue(rec.id, input.source, input.payload, acceptedAt);
    return rec;
  }

  /**
   * Processes what a previous run of this host recorded but never processed, and
   * what a dead host left (its lease expired); another live host's are left to it.
   */
  async replay(limit = 1000): Promise<number> {
    const n = await this.#takeOver(limit);
    if (n) this.logger.warn({ count: n }, 'replaying webhook deliveries left unprocessed by a previous run');
    await this.idle();
    return n;
  }

  /** Starts the sweep (dead hosts' deliveries, retention). */
  start(): void {
    if (this.#sweeper || this.#stopped) return;
    this.#sweeper = new SafeLoop({ name: 'webhook-inbox.sweep', intervalMs: this.#opts.sweepIntervalMs, logger: this.logger, tick: async () => {
      await this.sweep();
    } });
    this.#sweeper.start();
  }

  /** One sweep: take over dead hosts' deliveries, delete processed rows past retention. */
  async sweep(): Promise<{ takenOver: number; deleted: number }> {
    const takenOver = await this.#takeOver(1000);
    if (takenOver) this.logger.warn({ count: takenOver }, 'took over webhook deliveries whose host stopped before processing them');
    let deleted = 0;
    if (this.#opts.retentionDays > 0) {
      const before = new Date((this.#opts.now ?? Date.now)() - this.#opts.retentionDays * 86_400_000);
      deleted = await this.store.deleteProcessedBefore(before);
      if (deleted) this.logger.info({ deleted, before: before.toISOString() }, 'deleted processed webhook deliveries past retention');
    }
    return { takenOver, deleted };
  }

  async #takeOver(limit: number): Promise<number> {
    if (this.#stopped) return 0;
    const rows = (await this.store.claimable(this.#opts.hostId, limit)).filter((r) => !this.#pending.has(r.id));
    for (const row of rows) this.#enqueue(row.id, row.source, row.payload);
    return rows.length;
  }

  /** Resolves when every accepted delivery has been processed. */
  idle(): Promise<void> {
    return this.#chain;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const sweeper = this.#sweeper;
    this.#sweeper = null;
    await sweeper?.stop();
    await this.#chain;
  }

  #enqueue(id: number, source: string, payload: string, acceptedAt?: number): void {
    this.#pending.add(id);
    this.#chain = this.#chain
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.#process(id, source, payload, acceptedAt))
      .finally(() => this.#pending.delete(id));
  }

  async #process(id: number, source: string, payload: string, acceptedAt?: number): Promise<void> {
    const handler = this.#handlers.get(source);
    const owner = this.#opts.hostId;
    try {
      // Claim-before-act: a delivery another host took over (this host was paused
      // past its lease) or already processed is not processed again here.
      if (!(await this.store.claim(id, owner, this.#opts.leaseMs))) {
        this.logger.info({ source, inboxId: id }, 'webhook delivery already processed or taken over by another host; skipped');
        return;
      }
      if (!handler) {
        await this.store.markProcessed(id, 'ignored', `no handler for ${source} (plugin disabled?)`, owner);
        return;
      }
      // A replayed delivery's acceptance time is from another run: no latency to report.
      await (acceptedAt === undefined ? handler(payload) : deliveryContext.run({ source, acceptedAt }, () => handler(payload)));
      // Crash window: handled, not yet marked. Replay runs the handler again; handlers are idempotent.
      faultPoint('inbox.after-handler');
      await this.store.markProcessed(id, 'processed', undefined, owner);
    } catch (thrown) {
      // One bad delivery must not stop the ones behind it; the reconciler is the backstop.
      const err = toError(thrown);
      this.logger.error({ source, inboxId: id, err }, 'processing a webhook delivery failed');
      await this.store.markProcessed(id, 'failed', err.message, owner).catch(() => undefined);
    }
  }
}
