import { inject, injectable } from 'tsyringe';
import type { CiState, Task } from './domain.js';
import { ConveyorError } from './errors.js';
import type { EventBus } from './events/event-bus.js';
import type { Logger } from './logger.js';
import type { CiStatusStore, JobStore, NewTask, TaskStore } from './persistence/ports.js';
import { firstStage, type Pipeline } from './pipeline/pipeline.js';
import type { AdvanceOutcome, StageEngine } from './pipeline/stage-engine.js';
import type { CreateTaskResult, TaskService } from './tasks/task-service.js';
import { CoreTokens } from './tokens.js';
import type { Ports } from './ports/ports.js';

/**
 * Intake: what external events mean, as domain commands. Webhook routes verify and
 * parse, then call these; the reconciler replays through the same methods, so a
 * replayed or duplicated event lands on the same compare-and-sets.
 */
@injectable()
export class Intake {
  constructor(
    @inject(CoreTokens.TaskService) private readonly taskService: TaskService,
    @inject(CoreTokens.TaskStore) private readonly tasks: TaskStore,
    @inject(CoreTokens.JobStore) private readonly jobs: JobStore,
    @inject(CoreTokens.CiStatusStore) private readonly ci: CiStatusStore,
    @inject(CoreTokens.StageEngine) private readonly engine: StageEngine,
    @inject(CoreTokens.Pipeline) private readonly pipeline: Pipeline,
    @inject(CoreTokens.Events) private readonly events: EventBus,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
    @inject(CoreTokens.Ports) private readonly ports: Ports,
  ) {}

  /** "To Analyse": the only entry point. Idempotent per (repo, tracker issue). */
  startPipeline(input: NewTask): Promise<CreateTaskResult> {
    return this.taskService.create(input);
  }

  /**
   * "In Progress": relaunch the first stage's agent, only while the task is at that
   * stage with no active job (the person answered the analyst's questions).
   */
  async relaunchAnalyst(taskId: number, reason: string): Promise<boolean> {
    const task = await this.#task(taskId);
    const first = firstStage(this.pipeline);
    if (task.stage !== first.name || task.blockedReason) return false;
    if (await this.jobs.activeForTask(task.id)) return false;
    await this.tasks.setHumanVerdict(task.id, first.name, null);
    const job = await this.jobs.enqueue({ taskId: task.id, stage: first.name, kind: 'agent', role: first.agent ?? null, reason });
    if (job) this.events.emit('job.enqueued', { job });
    return !!job;
  }

  /** Approved / Rejected: the person's verdict at the human gate. */
  async humanVerdict(taskId: number, verdict: 'approved' | 'rejected', comment = ''): Promise<AdvanceOutcome | { kind: 'relaunched' | 'ignored' }> {
    const task = await this.#task(taskId);
    const gateStage = this.pipeline.stages.find((s) => s.humanGate);
    if (!gateStage || task.stage !== gateStage.name) {
      this.logger.info({ taskId, stage: task.stage, verdict }, 'human verdict ignored: task is not at the human gate');
      return { kind: 'ignored' };
    }
    if (verdict === 'approved') {
      await this.tasks.setHumanVerdict(task.id, task.stage, 'approved');
      return this.engine.advance(task.id, { from: task.stage, finishedAgent: null, reason: 'approved by a person' });
    }
    await this.tasks.setHumanVerdict(task.id, task.stage, 'rejected');
    const relaunched = await this.relaunchAnalyst(task.id, `Rejected by a person.${comment ? ` Their words:\n${comment}` : ''}`);
    return { kind: relaunched ? 'relaunched' : 'ignored' };
  }

  /**
   * STOP (the tracker status or `POST /tasks/:id/stop`): stamps the request once.
   * Applying it (killing the agent, cancelling jobs, removing the branch) is the
   * cancel plugin's; without it the request is recorded and logged, nothing else.
   */
  async requestStop(taskId: number): Promise<{ firstRequest: boolean; applied: boolean; detail: string }> {
    const task = await this.#task(taskId);
    const firstRequest = await this.tasks.requestCancel(task.id);
    const canceller = this.ports.canceller();
    if (!canceller) {
      this.logger.info({ taskId, workItem: task.workItemId, firstRequest }, 'stop requested; the cancel plugin is not enabled, so nothing is cancelled');
      return { firstRequest, applied: false, detail: 'recorded; enable the cancel plugin to apply STOP' };
    }
    const applied = await canceller.cancel(task, { firstRequest });
    return { firstRequest, applied: applied.applied, detail: applied.detail };
  }

  /**
   * A CI status: record it, then re-evaluate the edge of the task whose branch it
   * names (the gate that waits for CI decides).
   */
  async ciStatus(input: { repo: string; sha: string; branch: string | null; context: string; state: CiState; targetUrl: string | null }): Promise<AdvanceOutcome | null> {
    await this.ci.record(input);
    if (!input.branch) {
      this.logger.info({ repo: input.repo, sha: input.sha }, 'CI status recorded; no branch to resolve a task');
      return null;
    }
    const task = await this.tasks.findByBranch(input.repo, input.branch);
    if (!task) return null;
    return this.engine.advance(task.id, { from: task.stage, finishedAgent: null, reason: `CI ${input.context}: ${input.state}` });
  }

  async #task(taskId: number): Promise<Task> {
    const task = await this.tasks.get(taskId);
    if (!task) throw new ConveyorError('CONVEYOR_TASK_NOT_FOUND', `task ${taskId} does not exist`);
    return task;
  }
}
