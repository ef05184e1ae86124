import { ConveyorError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InboxOutcome, InboxStore, NewDelivery } from '../persistence/ports.js';
import { faultPoint } from '../util/fault-point.js';
import { GroupCommit } from '../util/group-commit.js';
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
  /** Most deliveries recorded in one commit (group commit). */
  recordBatch?: number;
  /** Most deliveries claimed, processed and then marked together. */
  processBatch?: number;
}

type ResolvedOptions = Required<Omit<WebhookInboxOptions, 'now'>> & Pick<WebhookInboxOptions, 'now'>;

const DEFAULTS: ResolvedOptions = { hostId: 'local', leaseMs: 60_000, sweepIntervalMs: 30_000, retentionDays: 30, recordBatch: 100, processBatch: 50 };

interface Queued {
  id: number;
  source: string;
  payload: string;
  /** Wall-clock time of acceptance by this run; none for a replayed delivery. */
  acceptedAt?: number;
}

/**
 * Accepted webhook deliveries: recorded first (the sender is acknowledged only once
 * the row is committed), processed after the reply, one at a time in arrival order,
 * and replayed at start when a crash left some unprocessed. A delivery whose key was
 * seen before is acknowledged and not processed again.
 *
 * Group commit: the deliveries that arrive together are recorded by one INSERT (one
 * commit), and each `accept` resolves only once that commit is done. Processing takes
 * the queue in batches: one claim for the batch, the handlers one by one (yielding to
 * the event loop between them, so replies are not held up), one update marking the
 * batch's outcomes.
 *
 * Several hosts share one inbox: a delivery is its accepting host's under a lease
 * (database time), claimed again right before it is processed, so another host's
 * in-flight delivery is never run twice; a sweep takes over those of a host that
 * died (its lease expired) and deletes processed rows past `retentionDays`.
 */
export class WebhookInbox {
  readonly #handlers = new Map<string, DeliveryHandler>();
  readonly #pending = new Set<number>();
  readonly #opts: ResolvedOptions;
  readonly #recorder: GroupCommit<NewDelivery, { id: number; duplicate: boolean }>;
  readonly #queue: Queued[] = [];
  #draining: Promise<void> | null = null;
  #frozen = false;
  #stopped = false;
  #sweeper: SafeLoop | null = null;

  constructor(
    private readonly store: InboxStore,
    private readonly logger: Logger,
    options: Partial<WebhookInboxOptions> = {},
  ) {
    this.#opts = { ...DEFAULTS, ...options };
    this.#recorder = new GroupCommit((batch) => this.store.recordMany(batch), { maxBatch: this.#opts.recordBatch });
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
    const rec = await this.#recorder.add({ source: input.source, deliveryKey: input.deliveryKey, payload: input.payload, owner: this.#opts.hostId, leaseMs: this.#opts.leaseMs });
    if (rec.duplicate) {
      this.logger.info({ source: input.source, deliveryKey: input.deliveryKey, inboxId: rec.id }, 'duplicate delivery acknowledged, not processed again');
      return rec;
    }
    this.#enqueue({ id: rec.id, source: input.source, payload: input.payload, acceptedAt });
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
    for (const row of rows) this.#enqueue({ id: row.id, source: row.source, payload: row.payload });
    return rows.length;
  }

  /** Resolves when every accepted delivery has been processed. */
  async idle(): Promise<void> {
    // A delivery whose commit lands is queued for processing a moment later: wait for both.
    for (;;) {
      await this.#recorder.drained();
      if (!this.#draining) return;
      await this.#draining;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const sweeper = this.#sweeper;
    this.#sweeper = null;
    await sweeper?.stop();
    await this.idle();
  }

  #enqueue(item: Queued): void {
    this.#pending.add(item.id);
    this.#queue.push(item);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  /** Takes the queue in bounded batches until it is empty. */
  async #drain(): Promise<void> {
    while (this.#queue.length) {
      // Let the replies whose commit just landed go out first; by then every delivery
      // of that commit is queued, and the batch takes them together.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = this.#queue.splice(0, this.#opts.processBatch);
      try {
        await this.#processBatch(batch);
      } catch (thrown) {
        // The rows stay `received` under this host's lease: the sweep brings them back.
        this.logger.error({ count: batch.length, inboxIds: batch.map((b) => b.id), err: toError(thrown) }, 'processing a batch of webhook deliveries failed; the sweep retries them');
      } finally {
        for (const b of batch) this.#pending.delete(b.id);
      }
    }
  }

  async #processBatch(batch: Queued[]): Promise<void> {
    const owner = this.#opts.hostId;
    // Claim-before-act: a delivery another host took over (this host was paused
    // past its lease) or already processed is not processed again here.
    const held = await this.store.claimMany(batch.map((b) => b.id), owner, this.#opts.leaseMs);
    // A batch (or one slow handler) may take longer than the lease: the lease is
    // renewed while this host works, so another host's sweep never takes over a
    // delivery that is being processed here. A row the renewal finds taken over
    // (this host was paused past its lease) is skipped, not processed twice.
    const renewal = this.#renewWhileProcessing(held);
    const outcomes: InboxOutcome[] = [];
    try {
      for (const item of batch) {
        if (!held.has(item.id)) {
          this.logger.info({ source: item.source, inboxId: item.id }, 'webhook delivery already processed or taken over by another host; skipped');
          continue;
        }
        outcomes.push(await this.#process(item));
        // One handler at a time, each in its own turn of the event loop: requests keep being answered.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      await renewal.stop();
    }
    // Crash window: handled, not yet marked. Replay runs these handlers again; handlers are idempotent.
    faultPoint('inbox.after-handler');
    const marked = await this.store.markManyProcessed(outcomes, owner);
    const refused = outcomes.filter((o) => !marked.has(o.id)).map((o) => o.id);
    if (refused.length) this.logger.warn({ inboxIds: refused }, 'webhook deliveries taken over by another host while being processed; their outcome here is not recorded');
  }

  /** Renews the lease of `held` every third of it until stopped; drops from `held` what another host took. */
  #renewWhileProcessing(held: Set<number>): { stop(): Promise<void> } {
    const owner = this.#opts.hostId;
    let inFlight: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      inFlight = inFlight.then(async () => {
        const ids = [...held];
        if (!ids.length) return;
        try {
          const still = await this.store.claimMany(ids, owner, this.#opts.leaseMs);
          for (const id of ids) if (!still.has(id)) held.delete(id);
        } catch (err) {
          this.logger.warn({ inboxIds: ids, err }, 'could not renew the lease of webhook deliveries being processed');
        }
      });
    }, Math.max(10, Math.floor(this.#opts.leaseMs / 3)));
    timer.unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await inFlight;
      },
    };
  }

  async #process(item: Queued): Promise<InboxOutcome> {
    const { id, source, payload, acceptedAt } = item;
    const handler = this.#handlers.get(source);
    if (!handler) return { id, outcome: 'ignored', error: `no handler for ${source} (plugin disabled?)` };
    try {
      // A replayed delivery's acceptance time is from another run: no latency to report.
      await (acceptedAt === undefined ? handler(payload) : deliveryContext.run({ source, acceptedAt }, () => handler(payload)));
      return { id, outcome: 'processed' };
    } catch (thrown) {
      // One bad delivery must not stop the ones behind it; the reconciler is the backstop.
      const err = toError(thrown);
      this.logger.error({ source, inboxId: id, err }, 'processing a webhook delivery failed');
      return { id, outcome: 'failed', error: err.message };
    }
  }
}
