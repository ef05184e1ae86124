import { inject, injectable } from 'tsyringe';
import { isTerminalStage, type Job, type Task } from '../domain.js';
import { ConveyorError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import { isUniqueViolation, type Database } from '../persistence/database.js';
import type { JobStore, NewTask, TaskStore, Tx } from '../persistence/ports.js';
import { firstStage, type Pipeline } from '../pipeline/pipeline.js';
import { CoreTokens } from '../tokens.js';
import { branchName, disambiguatedBranch, formatWorkItemId } from './naming.js';
import type { TaskCreationHooks } from './task-creation-hooks.js';

export interface CreateTaskResult {
  task: Task;
  /** True only for the caller whose insert won; everyone else gets the existing task. */
  created: boolean;
  job: Job | null;
}

const MAX_CREATE_ATTEMPTS = 8;

/**
 * Creates tasks. Uniqueness lives in the database (`tasks_issue_live_unique`), not
 * in a process lock: a webhook and a reconciler on two hosts racing on the same
 * issue make one task, one branch and one first job. An issue whose task ended
 * (done or cancelled) may start a fresh task.
 */
@injectable()
export class TaskService {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.TaskStore) private readonly tasks: TaskStore,
    @inject(CoreTokens.JobStore) private readonly jobs: JobStore,
    @inject(CoreTokens.Pipeline) private readonly pipeline: Pipeline,
    @inject(CoreTokens.Config) private readonly config: ConveyorConfig,
    @inject(CoreTokens.Events) private readonly events: EventBus,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
    @inject(CoreTokens.TaskCreationHooks) private readonly creationHooks: TaskCreationHooks,
  ) {}

  async create(raw: NewTask): Promise<CreateTaskResult> {
    validate(raw);
    const input: NewTask = { ...raw, deferBranchCut: raw.deferBranchCut ?? this.#deferBranchCut(raw) };
    for (let attempt = 1; ; attempt++) {
      const existing = await this.tasks.findByIssue(input.repo, input.trackerIssueId);
      if (existing && !isTerminalStage(existing.stage)) return { task: existing, created: false, job: null };
      try {
        const out = await this.db.knex.transaction((tx) => this.#createIn(tx, input));
        if (out) {
          this.logger.info({ taskId: out.task.id, workItem: out.task.workItemId, repo: out.task.repo, branch: out.task.branch }, 'task created');
          this.events.emit('task.created', { task: out.task });
          if (out.job) this.events.emit('job.enqueued', { job: out.job });
          return { ...out, created: true };
        }
        // Another creator inserted this issue first: fall through to read it.
      } catch (err) {
        // A concurrent creation of a *different* issue took the same work item id
        // or branch: walk forward again in a fresh transaction.
        if (!isUniqueViolation(err) || attempt >= MAX_CREATE_ATTEMPTS) throw err;
      }
    }
  }

  /** Asks the plugins' creation hooks; any one asking for a deferred cut defers it. */
  #deferBranchCut(input: NewTask): boolean {
    let defer = false;
    for (const hook of this.creationHooks.list()) {
      try {
        if (hook.decide({ repo: input.repo, trackerIssueId: input.trackerIssueId, title: input.title })?.deferBranchCut) defer = true;
      } catch (err) {
        // A broken hook must not stop intake: the task is created with the default cut.
        this.logger.error({ plugin: hook.plugin, repo: input.repo, err }, 'task-creation hook failed; ignored');
      }
    }
    return defer;
  }

  async #createIn(tx: Tx, input: NewTask): Promise<{ task: Task; job: Job | null } | null> {
    const prefix = input.prefix ?? this.config.repos[input.repo]?.workItemPrefix ?? this.config.workItemPrefix;
    // Derive from the tracker's sequence when it has one, then walk forward past
    // ids already taken in this repo (two issues once derived the same ET-006).
    let n = input.trackerSequence && input.trackerSequence > 0 ? input.trackerSequence : await this.tasks.nextSequence(input.repo, prefix, tx);
    while (await this.tasks.workItemTaken(input.repo, formatWorkItemId(prefix, n), tx)) n++;
    await this.tasks.raiseSequence(input.repo, prefix, n + 1, tx);
    const workItemId = formatWorkItemId(prefix, n);

    let branch = branchName(workItemId, input.title);
    if (await this.tasks.branchTaken(input.repo, branch, tx)) {
      const base = disambiguatedBranch(branch, workItemId, input.trackerIssueId);
      branch = base;
      for (let i = 2; await this.tasks.branchTaken(input.repo, branch, tx); i++) branch = `${base}-${i}`;
    }

    const first = firstStage(this.pipeline);
    const task = await this.tasks.insertIfAbsent(
      {
        repo: input.repo,
        trackerIssueId: input.trackerIssueId,
        workItemId,
        title: input.title,
        description: input.description ?? '',
        stage: first.name,
        branch,
        branchCut: !input.deferBranchCut,
        humanVerdict: null,
        humanReviewStartedAt: null,
        humanReviewEndedAt: null,
        developerRetries: 0,
        cancelRequestedAt: null,
        cancelledAt: null,
        trackerMessageId: null,
        blockedReason: null,
        blockedAt: null,
      },
      tx,
    );
    if (!task) return null;
    const job = await this.jobs.enqueue({ taskId: task.id, stage: first.name, kind: 'agent', role: first.agent ?? null }, tx);
    return { task, job };
  }
}

function validate(input: NewTask): void {
  const problems: string[] = [];
  if (!input.repo || typeof input.repo !== 'string') problems.push('repo must be a non-empty string');
  if (!input.trackerIssueId || typeof input.trackerIssueId !== 'string') problems.push('trackerIssueId must be a non-empty string');
  if (typeof input.title !== 'string' || !input.title.trim()) problems.push('title must be a non-empty string');
  if (input.trackerSequence != null && (!Number.isInteger(input.trackerSequence) || input.trackerSequence < 1)) problems.push('trackerSequence must be a positive integer');
  if (input.prefix !== undefined && !/^[A-Za-z][A-Za-z0-9]*$/.test(input.prefix)) problems.push('prefix must be letters and digits, starting with a letter');
  if (problems.length) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `cannot create task: ${problems.join('; ')}`);
}
