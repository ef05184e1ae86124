import { ConveyorError, toError } from '../errors.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { NewOutboxEntry, OutboxEntry, OutboxStore, Tx } from '../persistence/ports.js';
import { backoffDelay } from '../queue/backoff.js';
import type { Clock } from '../tokens.js';
import { faultPoint } from '../util/fault-point.js';
import { pidAlive } from '../util/process-group.js';
import { SafeLoop } from '../util/safe-loop.js';

/** Runs one stored effect. At least once: a handler must be safe to run twice (pass `entry.key` on). */
export type EffectHandler = (entry: OutboxEntry) => Promise<unknown>;

export type EffectRun = { ran: false } | { ran: true; ok: true; value: unknown } | { ran: true; ok: false; error: Error };

const BATCH = 20;
const DAY_MS = 86_400_000;
/** Retention runs at most this often (it is a delete over an index, not worth every tick). */
const PRUNE_EVERY_MS = 3_600_000;

/** Owners of the instances alive in this process (tests run several, one after another). */
const liveOwners = new Set<string>();
let instances = 0;
const MAX_RETRY_MS = 300_000;

/**
 * The outbox: what must happen after a state change is written with the change
 * (same transaction) and run right after the commit by the process that made it.
 * A crash in between leaves the row pending; the dispatcher of the next start (or of
 * any host, once the lease ran out) runs it. Every row carries an idempotency key
 * per (task, stage, attempt, effect), and handlers hand that key on to the tracker,
 * so an effect repeated by a crash is not repeated where people look.
 */
export class Outbox {
  readonly #handlers = new Map<string, { plugin: string; handler: EffectHandler }>();
  readonly #inflight = new Set<Promise<unknown>>();
  #frozen = false;
  #loop: SafeLoop | null = null;
  #prunedAt = 0;
  /** This instance: `<hostId>#<pid>#<n>`, so the next start of the same host can tell a dead owner. */
  readonly owner: string;

  constructor(
    private readonly d: { store: OutboxStore; config: ConveyorConfig; logger: Logger; clock: Clock; events: EventBus; hostId: string },
  ) {
    this.owner = `${d.hostId}#${process.pid}#${++instances}`;
    liveOwners.add(this.owner);
  }

  /** An owner of this host whose process is gone, or an instance of this process that stopped. */
  #isDead(owner: string): boolean {
    const [pidText] = owner.slice(this.d.hostId.length + 1).split('#');
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    return pid === process.pid ? !liveOwners.has(owner) : !pidAlive(pid);
  }

  register(plugin: string, effect: string, handler: EffectHandler): void {
    if (this.#frozen) throw new ConveyorError('CONVEYOR_REGISTRY_FROZEN', `cannot register effect "${effect}": effects are frozen once the instance is composed`);
    if (this.#handlers.has(effect)) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `effect "${effect}" is registered twice (by "${this.#handlers.get(effect)!.plugin}" and "${plugin}")`);
    this.#handlers.set(effect, { plugin, handler });
  }

  freeze(): void {
    this.#frozen = true;
  }

  /**
   * Writes an effect in the caller's transaction, claimed by this process: the
   * caller runs it with `run` once the transaction commits. The key makes a second
   * write of the same effect return the first row.
   */
  add(entry: Omit<NewOutboxEntry, 'claimedBy' | 'claimedUntil'>, tx?: Tx): Promise<OutboxEntry> {
    if (!this.#handlers.has(entry.effect) && this.#frozen) {
      throw new ConveyorError('CONVEYOR_INPUT_INVALID', `no handler for effect "${entry.effect}"`);
    }
    return this.d.store.add({ ...entry, claimedBy: this.owner, claimedUntil: this.d.clock.now() + this.d.config.outbox.leaseMs }, tx);
  }

  /** `add` then `run`: an effect with its own idempotency key, outside any transaction (a finalizer's comment). */
  async perform(entry: Omit<NewOutboxEntry, 'claimedBy' | 'claimedUntil'>): Promise<EffectRun> {
    return this.run(await this.add(entry));
  }

  /**
   * Runs a stored effect once more unless it is done or another live owner holds
   * it. Never throws: a failure is stored on the row and retried by the dispatcher
   * with backoff, until `outbox.maxAttempts`.
   */
  async run(entry: OutboxEntry): Promise<EffectRun> {
    if (entry.status !== 'pending') return { ran: false };
    const now = this.d.clock.now();
    if (!(await this.d.store.claim(entry.id, this.owner, now + this.d.config.outbox.leaseMs, now))) return { ran: false };
    const handler = this.#handlers.get(entry.effect);
    if (!handler) {
      await this.#fail(entry, new Error(`no handler is registered for effect "${entry.effect}" (its plugin is disabled?)`));
      return { ran: true, ok: false, error: new Error(`no handler for "${entry.effect}"`) };
    }
    let value: unknown;
    try {
      value = await handler.handler(entry);
    } catch (thrown) {
      const error = toError(thrown);
      await this.#fail(entry, error);
      return { ran: true, ok: false, error };
    }
    // Crash window: the effect happened, its row does not say so yet. The next run
    // repeats it with the same key; the handler passes the key on (a tracker drops
    // the second comment) or the effect is idempotent by nature.
    faultPoint('outbox.effect-done');
    await this.d.store.complete(entry.id, this.owner);
    return { ran: true, ok: true, value };
  }

  /** Runs effects without making the caller wait (observers); `stop` waits for them. */
  runInBackground(entries: readonly OutboxEntry[]): void {
    if (!entries.length) return;
    const p = (async () => {
      for (const e of entries) await this.run(e);
    })().catch((err: unknown) => this.d.logger.error({ err: toError(err) }, 'outbox: running effects failed'));
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  async #fail(entry: OutboxEntry, error: Error): Promise<void> {
    const attempts = entry.attempts + 1;
    const final = attempts >= this.d.config.outbox.maxAttempts;
    const delay = backoffDelay(attempts, this.d.config.outbox.retryBaseMs, MAX_RETRY_MS);
    const log = { effect: entry.effect, key: entry.key, taskId: entry.taskId, attempts, err: error };
    if (final) this.d.logger.error(log, `effect "${entry.effect}" failed ${attempts} times; given up (outbox.maxAttempts)`);
    else this.d.logger.warn({ ...log, retryInMs: delay }, `effect "${entry.effect}" failed; it will be tried again`);
    await this.d.store.release(entry.id, this.owner, { error: error.message, availableAt: this.d.clock.now() + delay, final }).catch((err: unknown) => {
      this.d.logger.error({ key: entry.key, err: toError(err) }, 'outbox: could not record the failure; the lease will free the effect');
    });
  }

  /**
   * Runs what a previous start of this host left claimed (its process is gone), then
   * keeps running due effects on the shared safe loop.
   */
  async start(): Promise<void> {
    if (this.#loop) return;
    await this.recoverDeadOwners();
    this.#loop = new SafeLoop({
      name: 'outbox',
      intervalMs: this.d.config.outbox.pollIntervalMs,
      logger: this.d.logger,
      tick: async () => {
        await this.drain();
        await this.prune();
      },
      onError: (error, consecutive) => this.d.events.emit('loop.error', { loop: 'outbox', error, consecutive }),
    });
    this.#loop.start();
  }

  /** Takes over rows held by a process of this host that no longer runs, and runs them. */
  async recoverDeadOwners(): Promise<number> {
    let n = 0;
    const prefix = `${this.d.hostId}#`;
    for (const entry of await this.d.store.heldBy(prefix)) {
      if (entry.claimedBy === this.owner || !this.#isDead(entry.claimedBy!)) continue;
      const now = this.d.clock.now();
      if (!(await this.d.store.claim(entry.id, this.owner, now + this.d.config.outbox.leaseMs, now, entry.claimedBy!))) continue;
      this.d.logger.warn({ effect: entry.effect, key: entry.key, taskId: entry.taskId, deadOwner: entry.claimedBy }, 'outbox: completing an effect a previous start left unfinished');
      await this.run({ ...entry, claimedBy: this.owner });
      n++;
    }
    return n;
  }

  /** One pass over due effects (the dispatcher's tick; tests call it directly). */
  async drain(): Promise<number> {
    let n = 0;
    for (const entry of await this.d.store.due(this.d.clock.now(), BATCH)) {
      if ((await this.run(entry)).ran) n++;
    }
    return n;
  }

  /** Deletes effects done more than `outbox.retentionDays` ago (at most once an hour unless `force`). */
  async prune(force = false): Promise<number> {
    const now = this.d.clock.now();
    if (!force && now - this.#prunedAt < PRUNE_EVERY_MS) return 0;
    this.#prunedAt = now;
    const n = await this.d.store.pruneDone(now - this.d.config.outbox.retentionDays * DAY_MS);
    if (n) this.d.logger.info({ deleted: n, retentionDays: this.d.config.outbox.retentionDays }, 'outbox: old done effects deleted');
    return n;
  }

  wake(): void {
    this.#loop?.wake();
  }

  async stop(): Promise<void> {
    await this.#loop?.stop();
    this.#loop = null;
    await Promise.allSettled([...this.#inflight]);
    liveOwners.delete(this.owner);
  }
}
