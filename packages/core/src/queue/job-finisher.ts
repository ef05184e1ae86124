import { inject, injectable } from 'tsyringe';
import type { Job } from '../domain.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import type { JobStore, TaskStore, Tx } from '../persistence/ports.js';
import type { Database } from '../persistence/database.js';
import type { Outbox } from '../outbox/outbox.js';
import { advanceAfterJob } from '../outbox/advance-effect.js';
import { faultPoint } from '../util/fault-point.js';
import type { Ports } from '../ports/ports.js';
import { notifySafely } from '../ports/notifier.js';
import type { AdvanceOutcome } from '../pipeline/stage-engine.js';
import { CoreTokens } from '../tokens.js';
import { backoffDelay } from './backoff.js';
import type { Handoff } from './handoff.js';

export type FinishOutcome = { won: false } | { won: true; advance: AdvanceOutcome | null };

/**
 * Finishing a job is claim-before-act: the compare-and-set `running → done|failed`
 * fenced by the attempt number decides one winner, and only the winner advances
 * the task. The worker uses this routine; the reaper uses the same one, so a
 * finalizing worker and a reaper can never both advance. The advance is stored
 * (outbox) in the finish's transaction and run right after it.
 */
@injectable()
export class JobFinisher {
  constructor(
    @inject(CoreTokens.JobStore) private readonly jobs: JobStore,
    @inject(CoreTokens.Events) private readonly events: EventBus,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
    @inject(CoreTokens.Config) private readonly config: ConveyorConfig,
    @inject(CoreTokens.TaskStore) private readonly tasks: TaskStore,
    @inject(CoreTokens.Ports) private readonly ports: Ports,
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Outbox) private readonly outbox: Outbox,
  ) {}

  /**
   * With a `handoff` (the worker goes straight on), the finish also claims the
   * worker's next job, in the same statement and transaction; a lost finish claims
   * nothing. The job claimed is handed over after the commit, before the advance.
   */
  async finish(job: Job, status: 'done' | 'failed', error?: string | null, handoff?: Handoff): Promise<FinishOutcome> {
    // The finish and the advance it owes are one transaction: a crash after the
    // commit leaves a stored advance that the next start runs, never a finished job
    // whose task has no job and no transition (seen: a kill 2 ms after a green CI
    // stranded three tasks of three).
    const won = await this.db.knex.transaction(async (tx: Tx) => {
      const claim = handoff?.claim() ?? null;
      const done = { id: job.id, attempt: job.attempt, status, error: error ?? null };
      const out = claim ? await this.jobs.finishAndClaim(done, claim, tx) : { finished: await this.jobs.finish(job.id, job.attempt, status, error ?? null, tx), next: null };
      if (!out.finished) return null;
      // Only a job that did its work moves the task: the gates may still see an
      // earlier attempt's successful run, and a failed attempt must not ride on it.
      return { next: out.next, advance: status === 'done' ? await this.outbox.add(advanceAfterJob(job), tx) : null };
    });
    if (!won) {
      this.logger.warn({ jobId: job.id, attempt: job.attempt, status }, 'finish lost: the job is no longer this attempt\'s (re-claimed, reaped or cancelled)');
      return { won: false };
    }
    const finished = { ...job, status, error: error ?? null };
    this.events.emit('job.finished', { job: finished, status });
    if (won.next) handoff!.take(won.next);
    if (!won.advance) return { won: true, advance: null };
    faultPoint('job.finish-advance');
    const run = await this.outbox.run(won.advance);
    if (run.ran && run.ok) return { won: true, advance: run.value as AdvanceOutcome };
    // The stored advance stays pending: the outbox tries it again with backoff.
    this.logger.error({ jobId: job.id, taskId: job.taskId, err: run.ran ? run.error : null }, 'advance after finishing a job failed; it is stored and will be tried again');
    return { won: true, advance: null };
  }

  /**
   * A transient failure: re-queue with backoff while the retry budget lasts, then
   * fail the job (and emit `job.retry_exhausted`). Fenced like `finish`.
   */
  async failTransient(job: Job, error: string): Promise<'retried' | 'exhausted' | 'lost'> {
    const { retryBudget, backoffBaseMs, backoffMaxMs } = this.config.worker;
    if (job.retries < retryBudget) {
      const delayMs = backoffDelay(job.retries + 1, backoffBaseMs, backoffMaxMs);
      if (!(await this.jobs.retry(job.id, job.attempt, delayMs, error))) return 'lost';
      this.logger.warn({ jobId: job.id, taskId: job.taskId, retry: job.retries + 1, delayMs, error }, 'job failed transiently; retrying');
      this.events.emit('job.retried', { job, error, delayMs });
      return 'retried';
    }
    const out = await this.finish(job, 'failed', `retry budget exhausted: ${error}`);
    if (!out.won) return 'lost';
    this.events.emit('job.retry_exhausted', { job, error });
    await this.#blockTask(job, `${job.role ?? job.kind} failed ${job.retries + 1} times at ${job.stage}: ${error}`);
    return 'exhausted';
  }

  /** A failure no retry can fix: fail the job now and block the task. */
  async failPermanently(job: Job, error: string): Promise<'failed' | 'lost'> {
    const out = await this.finish(job, 'failed', error);
    if (!out.won) return 'lost';
    await this.#blockTask(job, `${job.role ?? job.kind} failed at ${job.stage} (not retried): ${error}`);
    return 'failed';
  }

  // Nothing will run this stage again by itself: say so on the task, where people look.
  async #blockTask(job: Job, reason: string): Promise<void> {
    if (await this.tasks.block(job.taskId, job.stage, reason)) {
      const task = (await this.tasks.get(job.taskId))!;
      this.events.emit('task.blocked', { task, reason });
      await notifySafely(this.ports.notifier(), { kind: 'agent_failed', text: `${task.workItemId}: ${reason}`, task }, this.logger);
    }
  }
}
