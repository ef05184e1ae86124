import { inject, injectable } from 'tsyringe';
import { isTerminalStage, type AgentRun, type Job, type Task } from '../domain.js';
import type { AgentRunResult } from '../ports/agent-runner.js';
import { describeDenials } from '../agent/permission-denials.js';
import { toError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import { isUniqueViolation } from '../persistence/database.js';
import type { AgentRunStore, JobStore, TaskStore } from '../persistence/ports.js';
import { artifactPath } from '../ports/artifact-reader.js';
import type { Ports } from '../ports/ports.js';
import { notifySafely } from '../ports/notifier.js';
import { stageIndex, type Pipeline } from '../pipeline/pipeline.js';
import { CoreTokens } from '../tokens.js';
import type { BudgetService } from '../budget/budget-service.js';
import { describeExhausted } from '../budget/budget.js';
import type { AgentSandbox } from '../sandbox/agent-sandbox.js';
import type { Finalizers } from './finalizers.js';
import type { JobFinisher } from './job-finisher.js';
import { basicPromptBuilder, type PromptBuilder } from './prompt.js';
import { faultPoint } from '../util/fault-point.js';
import { TREE_TAG_ENV, jobTreeTag } from '../util/process-tree.js';
import type { Handoff } from './handoff.js';

/**
 * Runs one claimed job. For an agent job the order is fixed (the reaper relies on
 * it): spawn → stamp pid → wait → record exit code and usage first → finalizers →
 * claim-before-act finish → advance. A worker going straight on passes a
 * `handoff`: the finish claims its next job too (see `JobFinisher.finish`).
 */
@injectable()
export class JobExecutor {
  constructor(
    @inject(CoreTokens.TaskStore) private readonly tasks: TaskStore,
    @inject(CoreTokens.JobStore) private readonly jobs: JobStore,
    @inject(CoreTokens.AgentRunStore) private readonly agentRuns: AgentRunStore,
    @inject(CoreTokens.JobFinisher) private readonly finisher: JobFinisher,
    @inject(CoreTokens.Ports) private readonly ports: Ports,
    @inject(CoreTokens.Pipeline) private readonly pipeline: Pipeline,
    @inject(CoreTokens.Finalizers) private readonly finalizers: Finalizers,
    @inject(CoreTokens.Events) private readonly events: EventBus,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
    @inject(CoreTokens.Config) private readonly config: ConveyorConfig,
    @inject(CoreTokens.Budgets) private readonly budgets: BudgetService,
    @inject(CoreTokens.AgentSandbox) private readonly sandbox: AgentSandbox,
  ) {}

  async execute(job: Job, signal: AbortSignal, handoff?: Handoff): Promise<void> {
    const task = await this.tasks.get(job.taskId);
    if (!task || isTerminalStage(task.stage) || task.stage !== job.stage) {
      await this.finisher.finish(job, 'failed', `task is at ${task?.stage ?? 'nowhere'}, not ${job.stage}`, handoff);
      return;
    }
    if (job.kind === 'advance') {
      await this.finisher.finish(job, 'done', null, handoff);
      return;
    }
    try {
      await this.#runAgentJob(task, job, signal, handoff);
    } finally {
      // Its push and the advance after it are over: what the workspace knew of the
      // branch from this job's own push is no longer sure (another job may run next).
      this.ports.workspace()?.jobEnded?.(task);
    }
  }

  async #runAgentJob(task: Task, job: Job, signal: AbortSignal, handoff?: Handoff): Promise<void> {
    // Its host died after the agent's successful exit was recorded: the work is in
    // the worktree and its cost is paid. Finish from that exit; never run it twice.
    if (job.resumeAttempt !== null && (await this.#resume(task, job, job.resumeAttempt, signal, handoff))) return;

    // Before anything is spent on this run: a task whose budget is gone stops here,
    // blocked with kind `budget`, until a raise queues its agent again.
    const budget = await this.budgets.check(task, job.stage);
    if (budget.exhausted) {
      await this.finisher.finish(job, 'failed', describeExhausted(budget), handoff);
      return;
    }

    const runner = this.ports.agentRunner();
    const workspace = this.ports.workspace();
    if (!runner || !workspace) {
      await this.finisher.failTransient(job, `no ${runner ? 'workspace' : 'agent runner'} is bound; enable an agent plugin and a workspace`);
      return;
    }

    let worktree: string;
    try {
      worktree = await workspace.prepare(task);
      // A deferred cut (serial-gate) happens here, at the first claim: `prepare` cut the
      // branch from the freshest main, which now holds the predecessors' merged code.
      if (!task.branchCut && (await this.tasks.markBranchCut(task.id))) {
        this.logger.info({ taskId: task.id, workItem: task.workItemId, branch: task.branch }, 'deferred branch cut at the first claim');
      }
    } catch (err) {
      await this.finisher.failTransient(job, `workspace: ${toError(err).message}`);
      return;
    }

    const artifact = artifactPath(task.workItemId, stageIndex(this.pipeline, job.stage), job.stage);
    let prompt: string;
    try {
      prompt = await this.#promptBuilder().build({ task, job, artifactPath: artifact });
    } catch (err) {
      // A broken template is configuration: retrying cannot fix it.
      await this.finisher.failPermanently(job, `prompt: ${toError(err).message}`);
      return;
    }

    let sandbox;
    try {
      await this.sandbox.resolve();
      sandbox = this.sandbox.forRun({ cwd: worktree, ...(workspace.sandboxPaths?.(task) ?? { readWrite: [worktree], readOnly: [] }) });
    } catch (err) {
      await this.finisher.failTransient(job, `sandbox: ${toError(err).message}`);
      return;
    }

    let run;
    try {
      run = await this.agentRuns.start({ jobId: job.id, taskId: task.id, stage: job.stage, role: job.role ?? 'agent', attempt: job.attempt, pid: null });
    } catch (err) {
      // One agent process per job attempt: this attempt already ran somewhere.
      if (isUniqueViolation(err)) {
        this.logger.warn({ jobId: job.id, attempt: job.attempt }, 'agent run for this attempt exists; not running it twice');
        return;
      }
      throw err;
    }

    this.events.emit('agent.started', { job, pid: null });
    let result;
    try {
      result = await runner.run({
        task,
        stage: job.stage,
        role: job.role ?? 'agent',
        worktree,
        prompt,
        env: {
          CONVEYOR_TASK_ID: String(task.id),
          CONVEYOR_WORK_ITEM: task.workItemId,
          CONVEYOR_TITLE: task.title,
          CONVEYOR_STAGE: job.stage,
          CONVEYOR_ROLE: job.role ?? '',
          CONVEYOR_BRANCH: task.branch,
          CONVEYOR_WORKTREE: worktree,
          CONVEYOR_ARTIFACT: artifact,
          CONVEYOR_REASON: job.reason ?? '',
          // Whatever the agent starts carries it: the host that recovers this job
          // after a crash finds those processes by it, even once the agent is gone.
          [TREE_TAG_ENV]: jobTreeTag(job),
        },
        timeoutMs: this.config.worker.agentTimeoutMs,
        budgetUsd: budget.remainingUsd,
        signal,
        ...(sandbox ? { sandbox } : {}),
        onSpawn: async (pid) => {
          await this.jobs.setPid(job.id, job.attempt, pid);
          await this.agentRuns.setPid(run.id, pid);
        },
      });
    } catch (err) {
      result = { pid: null, exitCode: null, usage: null, result: null, logPath: null, transient: true, error: toError(err).message };
    }
    // Exit code and usage first: if we die after this line, the reaper finishes the job.
    const denials = result.permissionDenials ?? [];
    await this.agentRuns.recordExit(run.id, { exitCode: result.exitCode, result: result.result, usage: result.usage, logPath: result.logPath, permissionDenials: denials });
    this.events.emit('agent.finished', { job, exitCode: result.exitCode, costUsd: result.usage?.costUsd ?? null });
    // Crash window: the exit is recorded, nothing is finalized. Recovery must finish
    // from this exit, not run the agent (and pay for it) again.
    faultPoint('worker.after-exit');
    if (denials.length) await this.#warnDenied(task, job, denials.length, describeDenials(denials), result.logPath);

    const ok = result.exitCode === 0 && !result.transient && !result.error;
    if (!ok && result.budgetSpent && budget.remainingUsd !== null) {
      // The runner stopped at the remaining budget we gave it: a budget stop (a
      // raise resumes it), not an agent failure that needs a person to dig in.
      const after = await this.budgets.status(task, job.stage);
      await this.budgets.stop(task, job.stage, after.exhausted ? describeExhausted(after) : `budget: the agent stopped at the $${budget.remainingUsd.toFixed(2)} left; raise it to resume`);
      await this.finisher.finish(job, 'failed', result.error ?? 'budget spent', handoff);
      return;
    }
    if (!ok) {
      const error = result.error ?? `agent exited with ${result.exitCode ?? 'no exit code'}`;
      // A runner that knows a retry cannot help (max turns, budget spent) says
      // transient: false; anything else — a crash, a non-zero exit — is retried.
      if (result.transient === false) await this.finisher.failPermanently(job, error);
      else await this.finisher.failTransient(job, error);
      return;
    }
    const finalRun = (await this.agentRuns.forJobAttempt(job.id, job.attempt)) ?? run;
    await this.#finalize(task, job, finalRun, result, worktree, signal, handoff);
  }

  async #resume(task: Task, job: Job, attempt: number, signal: AbortSignal, handoff?: Handoff): Promise<boolean> {
    const prior = await this.agentRuns.forJobAttempt(job.id, attempt);
    const worktree = this.ports.workspace()?.worktreeOf?.(task) ?? null;
    if (!prior || prior.exitCode !== 0 || prior.finishedAt === null || !worktree) {
      this.logger.warn({ jobId: job.id, attempt: job.attempt, resumeAttempt: attempt, worktree }, 'cannot finish from the recorded exit (no successful exit, or its worktree is gone); running the agent again');
      return false;
    }
    this.logger.info({ jobId: job.id, taskId: task.id, attempt: job.attempt, resumeAttempt: attempt }, 'finishing from the recorded exit of an earlier attempt; the agent is not run again');
    const result: AgentRunResult = { pid: prior.pid, exitCode: 0, usage: prior.usage, result: prior.result, logPath: prior.logPath, permissionDenials: prior.permissionDenials };
    await this.#finalize(task, job, prior, result, worktree, signal, handoff);
    return true;
  }

  async #finalize(task: Task, job: Job, finalRun: AgentRun, result: AgentRunResult, worktree: string, signal: AbortSignal, handoff?: Handoff): Promise<void> {
    const state = { headSha: null, pullRequest: null };
    for (const f of this.finalizers.list()) {
      // A paused worker whose job was re-claimed must not push or comment: check
      // that this attempt still owns the row before every side effect.
      if (signal.aborted || !(await this.jobs.heartbeat(job.id, job.attempt, this.config.worker.leaseMs))) {
        this.logger.warn({ jobId: job.id, attempt: job.attempt, finalizer: f.name }, 'this attempt no longer owns the job; finalization skipped');
        return;
      }
      try {
        await f.run({ task, job, run: finalRun, result, worktree, state });
      } catch (err) {
        await this.finisher.failTransient(job, `finalizer ${f.name}: ${toError(err).message}`);
        return;
      }
    }
    await this.finisher.finish(job, 'done', null, handoff);
  }

  // The CLI reports "success" even when every write was refused (seen with the real
  // Claude Code CLI): the run is recorded as it was, and people hear about it now
  // rather than from a gate failing later on an artefact that was never written.
  async #warnDenied(task: Task, job: Job, count: number, what: string, logPath: string | null): Promise<void> {
    const text = `${task.workItemId}: the ${job.role ?? 'agent'} at ${job.stage} was refused ${count} tool call${count > 1 ? 's' : ''} (${what}); its work may be missing. Check the agent's permission mode and allowed tools.`;
    this.logger.warn({ taskId: task.id, workItem: task.workItemId, jobId: job.id, stage: job.stage, denied: count, logPath }, text);
    await notifySafely(this.ports.notifier(), { kind: 'alert', text, task }, this.logger);
  }

  #promptBuilder(): PromptBuilder {
    return this.ports.promptBuilder() ?? basicPromptBuilder;
  }
}
