import { randomUUID } from 'node:crypto';
import { inject, injectable } from 'tsyringe';
import { isTerminalStage, type CiState, type Task } from '../domain.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import { ConveyorError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { CiStatusStore, JobStore, LeaseStore, NewTask, TaskStore, Tx } from '../persistence/ports.js';
import type { Database } from '../persistence/database.js';
import type { Outbox } from '../outbox/outbox.js';
import { ADVANCE_EFFECT } from '../outbox/advance-effect.js';
import { faultPoint } from '../util/fault-point.js';
import { firstStage, type Pipeline } from '../pipeline/pipeline.js';
import type { AdvanceOutcome, StageEngine } from '../pipeline/stage-engine.js';
import type { CreateTaskResult, TaskService } from '../tasks/task-service.js';
import { CoreTokens } from '../tokens.js';
import type { Ports } from '../ports/ports.js';
import { deployConfirmRequired } from '../deploy/deploy-confirm.js';

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
    @inject(CoreTokens.Config) private readonly config: ConveyorConfig,
    @inject(CoreTokens.LeaseStore) private readonly leases: LeaseStore,
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Outbox) private readonly outbox: Outbox,
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
   * STOP (the tracker status or `POST /tasks/:id/stop`): stamps the request once and
   * hands it to the cancel plugin, which applies it (kills the agent, cancels the
   * jobs, removes the branch) or defers it past an irreversible step. Without the
   * plugin nothing is stamped or changed: the caller gets `CONVEYOR_PLUGIN_DISABLED`.
   */
  async requestStop(taskId: number): Promise<StopOutcome> {
    const task = await this.#task(taskId);
    const canceller = this.ports.canceller();
    if (!canceller) throw new ConveyorError('CONVEYOR_PLUGIN_DISABLED', STOP_NEEDS_CANCEL);
    if (isTerminalStage(task.stage)) return { firstRequest: false, applied: false, state: 'ended', detail: `task ${task.id} is already ${task.stage}` };
    const firstRequest = await this.tasks.requestCancel(task.id);
    const stamped = (await this.tasks.get(task.id)) ?? task;
    const res = await canceller.cancel(stamped, { firstRequest });
    return { firstRequest, applied: res.applied, state: res.state ?? (res.applied ? 'applied' : 'deferred'), detail: res.detail };
  }

  /**
   * "Confirm Deploy" (the tracker status, `POST /tasks/:id/confirm-deploy`): a person
   * lets the deployer run. A compare-and-set on the task at deploy, so a repeat is
   * recognised; nothing changes for a task elsewhere or a repo that does not ask for
   * confirmation (`deploy.confirm`). `deploy.confirmed` wakes the worker for the held job.
   */
  async confirmDeploy(taskId: number): Promise<ConfirmDeployResult> {
    const task = await this.#task(taskId);
    const log = { taskId, workItem: task.workItemId, stage: task.stage };
    if (!deployConfirmRequired(this.config, task.repo)) {
      return this.#confirmOutcome('not_required', `${task.repo} does not ask for a deploy confirmation (deploy.confirm is off)`, log);
    }
    if (task.stage !== 'deploy') return this.#confirmOutcome('not_at_deploy', `task ${task.workItemId} is at ${task.stage}, not at deploy`, log);
    if (await this.tasks.confirmDeploy(task.id)) {
      this.events.emit('deploy.confirmed', { task: await this.#task(taskId) });
      return this.#confirmOutcome('confirmed', `deploy of ${task.workItemId} confirmed; the deployer runs next`, log);
    }
    const fresh = await this.#task(taskId);
    if (fresh.stage === 'deploy' && fresh.deployConfirmedAt) return this.#confirmOutcome('already_confirmed', `deploy of ${task.workItemId} was already confirmed at ${fresh.deployConfirmedAt.toISOString()}`, log);
    return this.#confirmOutcome('not_at_deploy', `task ${task.workItemId} left deploy (now at ${fresh.stage})`, log);
  }

  #confirmOutcome(outcome: ConfirmDeployResult['outcome'], detail: string, log: object): ConfirmDeployResult {
    this.logger.info({ ...log, outcome, detail }, 'deploy confirmation');
    return { outcome, confirmed: outcome === 'confirmed' || outcome === 'already_confirmed', detail };
  }

  /**
   * A tracker status change, by Conveyor's configured status names (spec 01 §6).
   * "To Analyse" is the only entry; the others act on an existing live task.
   */
  async trackerStatus(e: {
    repo: string;
    trackerIssueId: string;
    status: string;
    title?: string;
    description?: string;
    sequence?: number | null;
    /** The person's words with a verdict, when the tracker carries them with the status change. */
    comment?: string;
  }): Promise<IntakeOutcome> {
    const s = this.config.statuses;
    const log = { repo: e.repo, trackerIssueId: e.trackerIssueId, status: e.status };
    if (e.status === s.toAnalyse) {
      const res = await this.startPipeline({
        repo: e.repo,
        trackerIssueId: e.trackerIssueId,
        title: e.title?.trim() || `Issue ${e.trackerIssueId}`,
        description: e.description ?? '',
        ...(e.sequence ? { trackerSequence: e.sequence } : {}),
      });
      return outcome(res.created ? 'created' : 'exists', res.task.id, res.created ? `task ${res.task.workItemId} created` : `task ${res.task.workItemId} already exists`, this.logger, log);
    }
    const task = await this.tasks.findByIssue(e.repo, e.trackerIssueId);
    const live = task && !isTerminalStage(task.stage) ? task : null;
    if (e.status === s.needsInput || e.status === s.inReview) return outcome('informational', live?.id ?? null, `${e.status} is informational`, this.logger, log);
    if (!live) return outcome('ignored', null, `no live task for issue ${e.trackerIssueId}`, this.logger, log);
    if (e.status === s.inProgress) {
      const relaunched = await this.relaunchAnalyst(live.id, 'The person answered your questions (the issue went back to In Progress). Read the issue and its comments again and finish the analysis.');
      return outcome(relaunched ? 'relaunched' : 'ignored', live.id, relaunched ? 'analyst relaunched' : `no relaunch: the task is at ${live.stage}${live.stage === firstStage(this.pipeline).name ? ' with an active job' : ''}`, this.logger, log);
    }
    if (e.status === s.approved || e.status === s.rejected) {
      const res = await this.humanVerdict(live.id, e.status === s.approved ? 'approved' : 'rejected', e.comment ?? '');
      return outcome(res.kind === 'ignored' ? 'ignored' : 'verdict', live.id, `verdict ${e.status}: ${res.kind}`, this.logger, log);
    }
    if (e.status === s.stop) {
      if (!this.ports.canceller()) return outcome('ignored', live.id, STOP_NEEDS_CANCEL, this.logger, log);
      const res = await this.requestStop(live.id);
      return outcome('stop', live.id, res.detail, this.logger, log);
    }
    if (e.status === s.confirmDeploy) {
      const res = await this.confirmDeploy(live.id);
      return outcome(res.outcome === 'confirmed' ? 'deploy_confirmed' : 'ignored', live.id, res.detail, this.logger, log);
    }
    return outcome('ignored', live.id, `status "${e.status}" does not drive the pipeline`, this.logger, log);
  }

  /** Comments are logged and never change state (an agent's own comment must not echo back). */
  async trackerComment(e: { repo: string; trackerIssueId: string }): Promise<IntakeOutcome> {
    return outcome('ignored', null, 'comments never change state', this.logger, e);
  }

  /**
   * A CI status: record it, resolve the task (the payload's branch; else the single
   * live task of the repo at development whose head is that sha — ambiguous or none:
   * not resolved), and re-evaluate that task's edge (the gate that waits for CI decides).
   */
  async ciStatus(input: { repo: string; sha: string; branch: string | null; context: string; state: CiState; targetUrl: string | null; updatedAt?: Date }): Promise<AdvanceOutcome | null> {
    const branch = input.branch ?? (await this.#branchOfSha(input.repo, input.sha));
    const found = branch ? await this.tasks.findByBranch(input.repo, branch) : null;
    const task = found && !isTerminalStage(found.stage) ? found : null;
    // A status no live task waits for is one statement: no transaction to open.
    if (!task) {
      await this.ci.record({ ...input, branch });
      return null;
    }
    // The status and the re-evaluation it owes are stored together: a crash right
    // after recording a green CI must not leave the task waiting for a status that
    // already came (the forge will not send it again).
    const advance = await this.db.knex.transaction(async (tx: Tx) => {
      await this.ci.record({ ...input, branch }, tx);
      const payload = { from: task.stage, finishedAgent: null, reason: `CI ${input.context}: ${input.state}` };
      return this.outbox.add({ taskId: task.id, effect: ADVANCE_EFFECT, key: `advance:task-${task.id}:${task.stage}:ci-${randomUUID()}`, payload }, tx);
    });
    if (!advance) return null;
    faultPoint('intake.ci-advance');
    const run = await this.outbox.run(advance);
    if (run.ran && !run.ok) throw run.error;
    return run.ran ? (run.value as AdvanceOutcome | null) : null;
  }

  async #branchOfSha(repo: string, sha: string): Promise<string | null> {
    const forge = this.ports.forge();
    const candidates: string[] = [];
    if (forge) {
      for (const t of await this.tasks.list({ repo, stage: 'development', live: true })) {
        if ((await forge.branchHeadSha(repo, t.branch)) === sha) candidates.push(t.branch);
      }
    }
    if (candidates.length !== 1) {
      this.logger.info({ repo, sha, candidates }, candidates.length ? 'CI status not resolved: several tasks have that head' : 'CI status not resolved: no task at development has that head');
      return null;
    }
    return candidates[0]!;
  }

  /**
   * A pull request was merged on the forge. At `deploy` it never completes the task
   * (done is gated by the deployer's verdict); at earlier stages the task is done. The
   * merge lease is released if this task holds it.
   */
  async pullRequestMerged(e: { repo: string; branch: string; number: number | null }): Promise<IntakeOutcome> {
    const task = await this.tasks.findByBranch(e.repo, e.branch);
    const log = { repo: e.repo, branch: e.branch, pr: e.number };
    if (!task || isTerminalStage(task.stage)) return outcome('ignored', task?.id ?? null, `no live task on branch ${e.branch}`, this.logger, log);
    if (await this.leases.release(e.repo, task.id)) this.logger.info({ ...log, taskId: task.id }, 'merge lease released by the merged PR');
    if (task.stage === 'deploy') {
      // Conveyor itself started this merge (INITIATED marker) and crashed or timed out
      // before recording it: re-drive the edge, whose last gate asks the forge and
      // completes. Without the marker, done stays gated by the deployer's verdict.
      if (task.mergeInitiatedAt && !task.mergedAt) {
        const res = await this.engine.advance(task.id, { from: 'deploy', finishedAgent: null, reason: `PR${e.number ? ` #${e.number}` : ''} merged on the forge` });
        return outcome(res.kind === 'advanced' ? 'done' : 'ignored', task.id, `merge Conveyor started was confirmed by the forge: ${res.kind}`, this.logger, log);
      }
      return outcome('ignored', task.id, 'at deploy, done is gated by the deployer\'s verdict, not by the merge', this.logger, log);
    }
    const done = await this.engine.completeByMerge(task.id, task.stage, `PR${e.number ? ` #${e.number}` : ''} merged on the forge`);
    return outcome(done ? 'done' : 'ignored', task.id, done ? `merged at ${task.stage}: task done` : 'another actor moved the task first', this.logger, log);
  }

  async #task(taskId: number): Promise<Task> {
    const task = await this.tasks.get(taskId);
    if (!task) throw new ConveyorError('CONVEYOR_TASK_NOT_FOUND', `task ${taskId} does not exist`);
    return task;
  }
}

/** What a STOP did: `applied` (the task is cancelled), `deferred` (past an irreversible step), `pending` (another host applies it), `ended` (nothing to stop). */
export interface StopOutcome {
  /** True only for the request that stamped `cancel_requested_at`. */
  firstRequest: boolean;
  applied: boolean;
  state: 'applied' | 'deferred' | 'pending' | 'ended';
  detail: string;
}

/** Said wherever a STOP arrives while the cancel plugin is off. */
export const STOP_NEEDS_CANCEL = 'STOP needs the cancel plugin, which is not enabled: set plugins.cancel.enabled: true (or CONVEYOR_PLUGINS_CANCEL_ENABLED=true) and restart the host';

/** What intake did with an event, for the webhook's log line and the tests. */
export interface IntakeOutcome {
  action: 'created' | 'exists' | 'relaunched' | 'verdict' | 'stop' | 'deploy_confirmed' | 'done' | 'informational' | 'ignored';
  taskId: number | null;
  detail: string;
}

/** What a deploy confirmation did. `confirmed` is true when the deployer may run (now or already). */
export interface ConfirmDeployResult {
  outcome: 'confirmed' | 'already_confirmed' | 'not_at_deploy' | 'not_required';
  confirmed: boolean;
  detail: string;
}

function outcome(action: IntakeOutcome['action'], taskId: number | null, detail: string, logger: Logger, context: object): IntakeOutcome {
  logger.info({ ...context, action, taskId, detail }, 'intake decision');
  return { action, taskId, detail };
}
