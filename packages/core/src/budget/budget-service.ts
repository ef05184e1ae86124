import { inject, injectable } from 'tsyringe';
import { isTerminalStage, type Job, type Task } from '../domain.js';
import { ConveyorError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import type { Database } from '../persistence/database.js';
import type { AgentRunStore, JobStore, TaskStore, Tx } from '../persistence/ports.js';
import type { Ports } from '../ports/ports.js';
import { notifySafely } from '../ports/notifier.js';
import { stageDef, type Pipeline } from '../pipeline/pipeline.js';
import { CoreTokens } from '../tokens.js';
import { budgetStatus, describeExhausted, type BudgetStatus } from './budget.js';

/** What a raise did. */
export interface BudgetRaise {
  task: Task;
  budget: BudgetStatus;
  /** True when the raise lifted a budget block and queued the stage's agent again. */
  resumed: boolean;
  /** The job queued by the resume, if any. */
  job: Job | null;
}

/**
 * Cost budgets: what a task may still spend, the stop before an agent run that
 * would overrun it, and the raise that resumes it. A budget stop is an ordinary
 * block (`blockedReason`) marked `blockedKind: 'budget'`, so everything that
 * reads blocks sees it, and only a raise lifts it.
 */
@injectable()
export class BudgetService {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.TaskStore) private readonly tasks: TaskStore,
    @inject(CoreTokens.JobStore) private readonly jobs: JobStore,
    @inject(CoreTokens.AgentRunStore) private readonly agentRuns: AgentRunStore,
    @inject(CoreTokens.Pipeline) private readonly pipeline: Pipeline,
    @inject(CoreTokens.Config) private readonly config: ConveyorConfig,
    @inject(CoreTokens.Events) private readonly events: EventBus,
    @inject(CoreTokens.Ports) private readonly ports: Ports,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
  ) {}

  /** The task's budgets at `stage` (its current stage by default). */
  async status(task: Task, stage: string = task.stage): Promise<BudgetStatus> {
    return budgetStatus(this.config.budgets, task, await this.agentRuns.listForTask(task.id), stage);
  }

  /**
   * Blocks the task (kind `budget`) when a budget in force at `stage` is spent, and
   * alerts once. Returns the status, so the caller knows whether to run and how
   * much the run may spend.
   */
  async check(task: Task, stage: string): Promise<BudgetStatus> {
    const status = await this.status(task, stage);
    if (status.exhausted) await this.stop(task, stage, describeExhausted(status));
    return status;
  }

  /** Blocks the task for its budget; the block's winner emits `task.blocked` and alerts. */
  async stop(task: Task, stage: string, reason: string): Promise<boolean> {
    if (!(await this.tasks.block(task.id, stage, reason, 'budget'))) return false;
    const blocked = (await this.tasks.get(task.id))!;
    this.logger.warn({ taskId: task.id, workItem: task.workItemId, stage, reason }, 'task stopped by its budget');
    this.events.emit('task.blocked', { task: blocked, reason });
    await notifySafely(this.ports.notifier(), { kind: 'alert', text: `${task.workItemId} stopped at ${stage}: ${reason} (\`conveyor task budget ${task.id} <usd>\`)`, task: blocked }, this.logger);
    return true;
  }

  /**
   * Sets the task's budget (or, with `stage`, that stage's budget) to `usd`. When the
   * task was stopped by its budget and every budget in force now has money left,
   * the block is lifted and the stage's agent queued again, in one transaction.
   * Refuses (changing nothing) an ended task, an unknown stage, or an amount that
   * does not exceed what was already spent.
   */
  async raise(taskId: number, input: { usd: number; stage?: string }): Promise<BudgetRaise> {
    const { usd, stage } = input;
    if (typeof usd !== 'number' || !Number.isFinite(usd) || usd <= 0) throw invalid(`the budget must be a positive number of USD, got ${JSON.stringify(usd)}`);
    if (stage !== undefined && !stageDef(this.pipeline, stage)?.agent) {
      throw invalid(`"${stage}" is not a stage with an agent; stages: ${this.pipeline.stages.filter((s) => s.agent).map((s) => s.name).join(', ')}`);
    }
    const task = await this.tasks.get(taskId);
    if (!task) throw new ConveyorError('CONVEYOR_TASK_NOT_FOUND', `task ${taskId} does not exist`);
    if (isTerminalStage(task.stage)) throw invalid(`task ${taskId} is ${task.stage}; its budget can no longer change`);
    const runs = await this.agentRuns.listForTask(task.id);
    const next: Task = stage === undefined ? { ...task, budgetUsd: usd } : { ...task, stageBudgets: { ...task.stageBudgets, [stage]: usd } };
    const spent = budgetStatus(this.config.budgets, next, runs, stage ?? task.stage);
    const line = stage === undefined ? spent.task : spent.stage;
    if (line.remainingUsd === 0) throw invalid(`$${usd} does not exceed the $${line.spentUsd.toFixed(2)} already spent${stage ? ` at ${stage}` : ''}; give a larger amount`);

    const after = budgetStatus(this.config.budgets, next, runs, task.stage);
    const out = await this.db.knex.transaction(async (tx: Tx) => {
      await this.tasks.setBudgets(task.id, stage === undefined ? { budgetUsd: usd } : { stageBudgets: next.stageBudgets }, tx);
      if (task.blockedKind !== 'budget' || after.exhausted) return { resumed: false, job: null };
      if (!(await this.tasks.unblock(task.id, task.stage, 'budget', tx))) return { resumed: false, job: null };
      const role = stageDef(this.pipeline, task.stage)?.agent ?? null;
      // A job may already be active (an advance timer); it then carries the task on.
      const job = role ? await this.jobs.enqueue({ taskId: task.id, stage: task.stage, kind: 'agent', role, reason: 'budget raised; resuming' }, tx) : null;
      return { resumed: true, job };
    });
    const fresh = (await this.tasks.get(task.id))!;
    this.logger.info({ taskId: task.id, workItem: task.workItemId, usd, stage: stage ?? null, resumed: out.resumed }, 'budget raised');
    if (out.resumed) this.events.emit('task.unblocked', { task: fresh, reason: 'budget raised' });
    if (out.job) this.events.emit('job.enqueued', { job: out.job });
    return { task: fresh, budget: after, ...out };
  }
}

function invalid(message: string): ConveyorError {
  return new ConveyorError('CONVEYOR_INPUT_INVALID', message);
}
