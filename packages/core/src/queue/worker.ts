import { inject, injectable } from 'tsyringe';
import type { Job } from '../domain.js';
import { toError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import type { JobStore } from '../persistence/ports.js';
import { CoreTokens, type Clock } from '../tokens.js';
import { SafeLoop } from '../util/safe-loop.js';
import type { ClaimClauseRegistry } from './claim-clause-registry.js';
import type { JobExecutor } from './job-executor.js';
import type { JobFinisher } from './job-finisher.js';
import type { JobRecovery } from './job-recovery.js';
import type { Database } from '../persistence/database.js';
import { PgWakeup } from './pg-wakeup.js';
import type { Handoff } from './handoff.js';

/** How long aborted jobs get to return after the stop deadline. */
const ABORT_GRACE_MS = 5_000;

interface InFlight {
  job: Job;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Claims and runs up to `maxConcurrency` jobs. Wakes on `job.enqueued` (in-process
 * signal), on PostgreSQL NOTIFY from other hosts, when a slot frees, and on the poll interval; heartbeats what it runs.
 * Finishing a job claims the next one in the same statement (`Handoff`).
 * A job whose heartbeat is refused (its attempt no longer owns the row) is aborted.
 */
@injectable()
export class Worker {
  readonly #inflight = new Map<number, InFlight>();
  #loop: SafeLoop | null = null;
  #heartbeat: SafeLoop | null = null;
  #unsubscribe: (() => void) | null = null;
  #stopping = false;

  constructor(
    @inject(CoreTokens.JobStore) private readonly jobs: JobStore,
    @inject(CoreTokens.ClaimClauses) private readonly clauses: ClaimClauseRegistry,
    @inject(CoreTokens.JobExecutor) private readonly executor: JobExecutor,
    @inject(CoreTokens.Events) private readonly events: EventBus,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
    @inject(CoreTokens.Config) private readonly config: ConveyorConfig,
    @inject(CoreTokens.HostId) private readonly hostId: string,
    @inject(CoreTokens.Database) db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
    @inject(CoreTokens.JobFinisher) private readonly finisher: JobFinisher,
    @inject(CoreTokens.JobRecovery) private readonly recovery: JobRecovery,
  ) {
    this.#wakeup = new PgWakeup(db, logger);
  }

  readonly #wakeup: PgWakeup;
  #listening: Promise<void> | null = null;

  get running(): number {
    return this.#inflight.size;
  }

  runningJobs(): Job[] {
    return [...this.#inflight.values()].map((f) => f.job);
  }

  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#loop = new SafeLoop({
      name: 'worker',
      intervalMs: this.config.worker.pollIntervalMs,
      logger: this.logger,
      tick: () => this.#fill(),
      onError: (error, consecutive) => this.events.emit('loop.error', { loop: 'worker', error, consecutive }),
    });
    this.#heartbeat = new SafeLoop({
      name: 'worker.heartbeat',
      intervalMs: this.config.worker.heartbeatIntervalMs,
      logger: this.logger,
      tick: () => this.#beat(),
      onError: (error, consecutive) => this.events.emit('loop.error', { loop: 'worker.heartbeat', error, consecutive }),
    });
    // A confirmed deploy releases a job held by the deploy-confirm clause: look now, not at the next poll.
    const offs = [this.events.on('job.enqueued', () => this.wake()), this.events.on('deploy.confirmed', () => this.wake())];
    this.#unsubscribe = () => offs.forEach((off) => off());
    this.#loop.start();
    this.#heartbeat.start();
    this.#listening = this.#wakeup.start(() => this.wake());
  }

  /**
   * After a crash: this host's jobs still `running` whose heartbeat went stale or
   * whose lease expired (their worker is gone) are taken back (see `JobRecovery`:
   * the agent still alive from that run is killed with its tree, a recorded exit is
   * finished from rather than run again, and each recovery is counted). A job whose
   * heartbeat is fresh belongs to a live worker and is left alone.
   */
  async recoverOrphans(): Promise<number> {
    const staleBefore = new Date(this.clock.now() - this.config.worker.heartbeatIntervalMs * 3);
    let n = 0;
    for (const job of await this.jobs.running({ hostId: this.hostId })) {
      if (this.#inflight.has(job.id)) continue;
      if (job.heartbeatAt && job.heartbeatAt >= staleBefore) continue;
      const outcome = await this.recovery.recover(job, { staleBefore, why: 'its host stopped while running it (recovered at start)' });
      if (outcome !== 'lost') n++;
    }
    return n;
  }

  /**
   * Any host's running jobs whose lease expired in the database's clock go back to
   * the queue (or fail, past the recovery budget), waking every host. The reaper
   * calls this on each tick; this host's own jobs in flight are never among them
   * while their heartbeat runs.
   */
  async expireLeases(limit = 100): Promise<{ job: Job; outcome: string }[]> {
    const out: { job: Job; outcome: string }[] = [];
    for (const job of await this.jobs.expired(limit)) {
      if (this.#inflight.has(job.id) && job.hostId === this.hostId) continue;
      const outcome = await this.recovery.recover(job, { staleBefore: null, why: `its lease expired (host ${job.hostId ?? 'unknown'} stopped heartbeating)` });
      if (outcome !== 'lost') out.push({ job, outcome });
    }
    return out;
  }

  /** Job ids this worker runs right now (a reaper never judges them by pid). */
  isRunning(jobId: number): boolean {
    return this.#inflight.has(jobId);
  }

  wake(): void {
    this.#loop?.wake();
  }

  /**
   * Stops claiming, lets running jobs finish until the deadline, then aborts what
   * is left: an aborted agent counts as a transient failure, so its job goes back
   * to the queue (a runner that does not return on abort leaves its row `running`
   * for the reaper of the next start).
   */
  async stop(deadlineMs = this.config.worker.stopDeadlineMs): Promise<void> {
    this.#stopping = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await this.#listening;
    await this.#wakeup.stop();
    await this.#loop?.stop();
    // A job handed over by a finish joins while the others end: wait until none is left.
    const all = (async () => {
      while (this.#inflight.size) await Promise.allSettled([...this.#inflight.values()].map((f) => f.done));
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.logger.warn({ jobs: [...this.#inflight.keys()] }, 'stop deadline passed; aborting running jobs');
      for (const f of this.#inflight.values()) f.abort.abort(new Error(`shutdown: the host is stopping and its stop deadline of ${deadlineMs} ms passed`));
      // A finalizer stuck on a network call ignores the abort: do not wait for it
      // forever. Its row stays running and the next start recovers it.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((r) => (grace = setTimeout(r, ABORT_GRACE_MS)))]);
      clearTimeout(grace);
    }
    await this.#heartbeat?.stop();
    this.#loop = null;
    this.#heartbeat = null;
  }

  /** Claims until the slots are full or nothing is claimable. */
  async #fill(): Promise<void> {
    while (!this.#stopping && this.#inflight.size < this.config.worker.maxConcurrency) {
      const job = await this.jobs.claim({ hostId: this.hostId, clauses: this.clauses.list(), leaseMs: this.config.worker.leaseMs });
      if (!job) return;
      this.events.emit('job.claimed', { job, hostId: this.hostId });
      this.#launch(job);
    }
  }

  #launch(job: Job): void {
    const abort = new AbortController();
    const done = this.executor
      .execute(job, abort.signal, this.#handoff)
      .catch(async (err: unknown) => {
        // A job's own failure must not stop the worker. Give the row back through
        // the fenced retry path; if even that fails, the periodic orphan recovery will.
        this.logger.error({ jobId: job.id, taskId: job.taskId, err: toError(err) }, 'job execution failed');
        await this.finisher.failTransient(job, `execution failed: ${toError(err).message}`).catch((e: unknown) => {
          this.logger.error({ jobId: job.id, err: toError(e) }, 'could not re-queue the failed job; orphan recovery will');
        });
      })
      .finally(() => {
        this.#inflight.delete(job.id);
        if (!this.#stopping) this.wake();
      });
    this.#inflight.set(job.id, { job, abort, done });
  }

  // The finish of a job claims the next in the same statement; the job claimed
  // takes the finishing job's slot (that job only has its advance left to run).
  readonly #handoff: Handoff = {
    claim: () => (this.#stopping || !this.#loop ? null : { hostId: this.hostId, clauses: this.clauses.list(), leaseMs: this.config.worker.leaseMs }),
    take: (job) => {
      this.events.emit('job.claimed', { job, hostId: this.hostId });
      this.#launch(job);
    },
  };

  async #beat(): Promise<void> {
    // Rows of this host that nobody here runs any more (a restart within the stale
    // window, an execution that died) go back to the queue once their heartbeat is stale.
    await this.recoverOrphans();
    for (const f of [...this.#inflight.values()]) {
      const owned = await this.jobs.heartbeat(f.job.id, f.job.attempt, this.config.worker.leaseMs);
      if (!owned) {
        this.logger.warn({ jobId: f.job.id, attempt: f.job.attempt }, 'heartbeat refused: attempt lost ownership; aborting it');
        f.abort.abort(new Error('the job was cancelled or taken over by another attempt (its heartbeat was refused)'));
      }
    }
  }
}
