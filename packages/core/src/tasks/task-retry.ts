import { inject, injectable } from 'tsyringe';
import { isTerminalStage, type Job, type Task } from '../domain.js';
import { ConveyorError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { Database } from '../persistence/database.js';
import type { GateWaitStore, JobStore, TaskStore, Tx } from '../persistence/ports.js';
import { stageDef, stageIndex, type Pipeline } from '../pipeline/pipeline.js';
import type { BudgetService } from '../budget/budget-service.js';
import { CoreTokens } from '../tokens.js';

/** What a retry did. */
export interface RetryResult {
  task: Task;
  /** The one job the retry queued. */
  job: Job;
  /** The stage the task was stopped at, and the stage it resumes at. */
  from: string;
  to: string;
  /** Why the task had stopped (its block, or the gate that failed). */
  stoppedBecause: string;
}

/** The longest reason a person may give, in characters. */
export const MAX_RETRY_REASON = 2_000;

class RetryLost extends Error {}

/**
 * A person's retry of a stopped task (`POST /tasks/:id/retry`, `conveyor task retry`).
 * "Stopped" means blocked (a failed agent, an exhausted retry budget, the developer
 * retries used up, a spent budget) or left at its stage by a failed gate that has
 * no rollback, with no job to move it. The retry lifts the block, gives the task a
 * fresh retry budget (developer retries back to 0; the new job starts with its
 * own), records why in the task's transitions and the job's reason, and queues one
 * agent job through the normal path — all in one transaction.
 */
@injectable()
export class TaskRetry {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.TaskStore) private readonly tasks: TaskStore,
    @inject(CoreTokens.JobStore) private readonly jobs: JobStore,
    @inject(CoreTokens.GateWaitStore) private readonly gateWaits: GateWaitStore,
    @inject(CoreTokens.Pipeline) private readonly pipeline: Pipeline,
    @inject(CoreTokens.Budgets) private readonly budgets: BudgetService,
    @inject(CoreTokens.Events) private readonly events: EventBus,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
  ) {}

  /**
   * Resumes task `taskId` at its stage, or at `from` (an earlier stage with an
   * agent). Refuses, changing nothing, a task that is not stopped, has ended, has a
   * STOP pending, still has an active job, or whose budget is still spent.
   */
  async retry(taskId: number, input: { from?: string; reason?: string } = {}): Promise<RetryResult> {
    const task = await this.tasks.get(taskId);
    if (!task) throw new ConveyorError('CONVEYOR_TASK_NOT_FOUND', `task ${taskId} does not exist`);
    const said = typeof input.reason === 'string' ? input.reason.trim() : '';
    if (said.length > MAX_RETRY_REASON) throw invalid(`the reason is ${said.length} characters; give at most ${MAX_RETRY_REASON}`);
    if (isTerminalStage(task.stage)) throw invalid(`task ${taskId} is ${task.stage}; it cannot be retried (move its issue to "To Analyse" to start a fresh task)`);
    if (task.cancelRequestedAt) throw invalid(`task ${taskId} has a STOP pending; it cannot be retried`);
    const to = input.from ?? task.stage;
    const def = stageDef(this.pipeline, to);
    const agentStages = this.pipeline.stages.filter((s) => s.agent && stageIndex(this.pipeline, s.name) <= stageIndex(this.pipeline, task.stage)).map((s) => s.name);
    if (!def?.agent || !agentStages.includes(to)) {
      throw invalid(`cannot retry task ${taskId} from "${to}": give its stage or an earlier one with an agent (${agentStages.join(', ')})`);
    }
    const active = await this.jobs.activeForTask(task.id);
    if (active && !(active.kind === 'advance' && active.status === 'queued')) {
      throw invalid(`task ${taskId} has ${active.status === 'running' ? 'a running' : 'a queued'} ${active.kind} job (#${active.id}); it is not stopped`);
    }
    const stoppedBecause = await this.#whyStopped(task);
    if (stoppedBecause === null) throw invalid(`task ${taskId} is not stopped (it is at ${task.stage}, not blocked, and no gate failed there); nothing to retry`);
    if (task.blockedKind === 'budget' && (await this.budgets.status(task, to)).exhausted) {
      throw invalid(`task ${taskId} was stopped by its budget, which is still spent; raise it first (conveyor task budget ${taskId} <usd>)`);
    }

    const reason = said || 'a person asked for a retry';
    const transition = `retry${to === task.stage ? '' : ` from ${to}`}: ${reason} (stopped because: ${stoppedBecause})`;
    const job = await this.db.knex
      .transaction(async (tx: Tx) => {
        if (!(await this.tasks.resume(task.id, { stage: task.stage, blockedReason: task.blockedReason }, { to, reason: transition }, tx))) throw new RetryLost();
        // A deferred re-evaluation of the stopped stage is moot: the agent runs again.
        await this.jobs.cancelQueued(task.id, 'advance', tx);
        const queued = await this.jobs.enqueue({ taskId: task.id, stage: to, kind: 'agent', role: def.agent ?? null, reason: `A person asked for a retry: ${reason}\n\nThe task had stopped at ${task.stage}: ${stoppedBecause}` }, tx);
        if (!queued) throw new RetryLost();
        return queued;
      })
      .catch((err: unknown) => {
        if (err instanceof RetryLost) throw invalid(`task ${taskId} changed while it was being retried; look at it again`);
        throw err;
      });
    const fresh = (await this.tasks.get(task.id))!;
    this.logger.info({ taskId: task.id, workItem: task.workItemId, from: task.stage, to, reason, stoppedBecause, jobId: job.id }, 'task retried by a person');
    this.events.emit('task.unblocked', { task: fresh, reason: transition });
    if (to !== task.stage) this.events.emit('task.stage_changed', { task: fresh, from: task.stage, to, reason: transition });
    this.events.emit('job.enqueued', { job });
    return { task: fresh, job, from: task.stage, to, stoppedBecause };
  }

  /** The block, or the failed gate that left the task where it is; null when it is not stopped. */
  async #whyStopped(task: Task): Promise<string | null> {
    if (task.blockedReason) return task.blockedReason;
    const wait = await this.gateWaits.get(task.id);
    if (wait && wait.stage === task.stage && wait.verdict === 'fail') return `gate ${wait.gate} failed${wait.reason ? `: ${wait.reason}` : ''}`;
    return null;
  }
}

function invalid(message: string): ConveyorError {
  return new ConveyorError('CONVEYOR_INPUT_INVALID', message);
}
