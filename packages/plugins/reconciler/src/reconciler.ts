import {
  redriveInitiatedMerges,
  toError,
  type CiState,
  type ConveyorConfig,
  type EventBus,
  type Intake,
  type Knex,
  type Logger,
  type Pipeline,
  type Ports,
  type StageEngine,
  type Stores,
  type Task,
  type AdvanceOutcome,
} from '@conveyor/core';
import type { ClaimStore } from './claim-store.js';
import { stillTasks } from './still-tasks.js';

/** The tracker statuses the tracker side replays (Conveyor's status keys). */
export type ReplayedStatus = 'toAnalyse' | 'approved' | 'stop';

export interface ReconcilerOptions {
  graceMs: number;
  stageGraceMs: Readonly<Record<string, number>>;
  batchSize: number;
  forgeSide: boolean;
  trackerSide: boolean;
  trackerStatuses: readonly ReplayedStatus[];
}

export interface ReconcilerDeps {
  knex: Knex;
  stores: Stores;
  engine: () => StageEngine;
  intake: () => Intake;
  ports: () => Ports;
  pipeline: Pipeline;
  config: ConveyorConfig;
  claims: ClaimStore;
  events: Pick<EventBus, 'emit'>;
  logger: Logger;
  now: () => number;
  inScope: (repo: string) => boolean;
  heldBackBy: (task: Task) => Promise<readonly unknown[]>;
}

/** What one tick did, for the `/queue` block and the tests. */
export interface TickReport {
  at: number;
  /** Still tasks examined by the gate side. */
  examined: number;
  /** Tasks moved (advanced or rolled back) by the gate side or a CI replay. */
  unstuck: number;
  /** CI statuses read from the forge and replayed through intake. */
  ciReplayed: number;
  /** Tracker issues replayed through intake. */
  trackerReplayed: number;
  /** Interrupted merges re-driven. */
  merges: number;
  /** Tasks skipped: another host held them, or they wait on dependencies. */
  skipped: number;
}

const MOVED = new Set(['advanced', 'rolled_back']);
const FINAL = new Set(['success', 'failure', 'error']);

/**
 * Lost webhooks do not stall tasks. Each tick:
 * 1. interrupted merges (the INITIATED marker set, no merge seen) are re-driven;
 * 2. gate side: live tasks without a job, unchanged for their stage's grace, not at a
 *    stage a person decides, get a read-only evaluation of their exit gates; a pass
 *    advances through the normal path (no agent finished); a CI gate still pending
 *    reads the branch head's statuses from the forge and replays them through intake,
 *    as the webhook would have; anything else is silence;
 * 3. tracker side: issues in the statuses that drive the pipeline are replayed
 *    through the same intake handlers as the tracker's webhooks.
 * Every act on a task is claimed first (one host acts); tasks waiting on
 * dependencies are skipped.
 */
export class Reconciler {
  lastTick: TickReport | null = null;
  unstuckTotal = 0;

  constructor(
    private readonly d: ReconcilerDeps,
    private readonly o: ReconcilerOptions,
  ) {}

  async tick(signal?: AbortSignal): Promise<TickReport> {
    const r: TickReport = { at: this.d.now(), examined: 0, unstuck: 0, ciReplayed: 0, trackerReplayed: 0, merges: 0, skipped: 0 };
    const merges = await redriveInitiatedMerges(
      { tasks: this.d.stores.tasks, jobs: this.d.stores.jobs, engine: this.d.engine(), pipeline: this.d.pipeline, logger: this.d.logger },
      'reconciler: a merge Conveyor started was never seen to end',
      (taskId, act) => this.d.claims.withClaim(taskId, act),
    );
    r.merges = merges.length;
    if (!signal?.aborted) await this.#gateSide(r, signal);
    if (!signal?.aborted && this.o.trackerSide) await this.#trackerSide(r, signal);
    this.lastTick = r;
    this.unstuckTotal += r.unstuck;
    return r;
  }

  #grace(stage: string): number {
    return this.o.stageGraceMs[stage] ?? this.o.graceMs;
  }

  async #gateSide(r: TickReport, signal?: AbortSignal): Promise<void> {
    const now = this.d.now();
    const human = this.d.pipeline.stages.filter((s) => s.humanGate).map((s) => s.name);
    const shortest = Math.min(this.o.graceMs, ...Object.values(this.o.stageGraceMs));
    const still = await stillTasks(this.d.knex, { now, stillForMs: shortest, skipStages: human, limit: this.o.batchSize, signal });
    for (const s of still) {
      if (signal?.aborted) return;
      if (now - s.updatedAt < this.#grace(s.stage) || !this.d.inScope(s.repo)) continue;
      r.examined++;
      try {
        const acted = await this.d.claims.withClaim(s.id, () => this.#unstick(s.id, s.stage, s.updatedAt, r));
        if (!acted) r.skipped++;
      } catch (err) {
        // One task's failure must not stop the others' reconciliation.
        this.d.logger.warn({ taskId: s.id, err: toError(err) }, 'reconciler could not re-evaluate a task');
      }
    }
  }

  /** Under the task's claim: re-read it, evaluate read-only, advance on a pass. */
  async #unstick(taskId: number, stage: string, updatedAt: number, r: TickReport): Promise<void> {
    const task = await this.d.stores.tasks.get(taskId);
    // Moved or touched since the selection: it is not still any more.
    if (!task || task.stage !== stage || task.updatedAt.getTime() !== updatedAt || task.blockedReason) return;
    if ((await this.d.heldBackBy(task)).length > 0) {
      r.skipped++;
      return;
    }
    if (await this.d.stores.jobs.activeForTask(task.id)) return;
    const engine = this.d.engine();
    const evaluation = await engine.evaluateGates(task, { readOnly: true, finishedAgent: null });
    if (evaluation.verdict === 'pass') {
      this.#report(task, await engine.advance(task.id, { from: stage, finishedAgent: null, reason: 'reconciler: the exit gates pass (a webhook was missed)' }), r, 'gates pass');
      return;
    }
    if (evaluation.verdict === 'pending' && evaluation.gate === 'ci_green' && this.o.forgeSide) await this.#replayCi(task, r);
  }

  /** The forge's statuses of the branch head, replayed as their webhooks would have been. */
  async #replayCi(task: Task, r: TickReport): Promise<void> {
    const forge = this.d.ports().forge();
    if (!forge) return;
    const head = await forge.branchHeadSha(task.repo, task.branch);
    if (!head) return;
    const combined = await forge.combinedStatus(task.repo, head);
    const sha = combined.sha || head;
    const recorded = new Map((await this.d.stores.ciStatuses.forSha(task.repo, sha)).map((c) => [c.context, c.state]));
    for (const c of combined.contexts) {
      // Only a final state Conveyor has not recorded is news. A pending one adds nothing
      // (the gate already waits), and replaying what was read a moment ago must never
      // overwrite a newer status that arrived meanwhile.
      if (!FINAL.has(c.state) || recorded.get(c.context) === c.state) continue;
      r.ciReplayed++;
      const out = await this.d.intake().ciStatus({ repo: task.repo, sha, branch: task.branch, context: c.context, state: c.state as CiState, targetUrl: c.targetUrl });
      if (out && this.#report(task, out, r, `CI ${c.context}: ${c.state} read from the forge`)) return;
    }
  }

  #report(task: Task, out: AdvanceOutcome, r: TickReport, why: string): boolean {
    if (!MOVED.has(out.kind) || !('to' in out)) return false;
    r.unstuck++;
    this.d.logger.info({ taskId: task.id, workItem: task.workItemId, from: out.from, to: out.to, why }, `reconciler: task ${task.workItemId} unstuck (${out.from} → ${out.to})`);
    this.d.events.emit('reconciler.unstuck', { taskId: task.id, from: out.from, to: out.to });
    return true;
  }

  async #trackerSide(r: TickReport, signal?: AbortSignal): Promise<void> {
    const tracker = this.d.ports().tracker();
    if (!tracker?.listIssuesInStatus) return;
    const names = this.d.config.statuses;
    const statuses = this.o.trackerStatuses.map((k) => names[k]);
    for (const repo of Object.keys(this.d.config.repos)) {
      if (!this.d.inScope(repo)) continue;
      for await (const issue of tracker.listIssuesInStatus(repo, statuses)) {
        if (signal?.aborted) return;
        try {
          await this.#replayIssue(repo, issue, r);
        } catch (err) {
          this.d.logger.warn({ repo, trackerIssueId: issue.id, err: toError(err) }, 'reconciler could not replay a tracker issue');
        }
      }
    }
  }

  async #replayIssue(repo: string, issue: { id: string; title: string; description: string; status: string; sequence: number | null }, r: TickReport): Promise<void> {
    const event = { repo, trackerIssueId: issue.id, status: issue.status, title: issue.title, description: issue.description, sequence: issue.sequence };
    const intake = this.d.intake();
    if (issue.status === this.d.config.statuses.toAnalyse) {
      // Only a missed entry: an issue that ever had a task is left to its webhooks
      // (a status Conveyor failed to move must not start a second task).
      const any = await this.d.knex('tasks').where({ repo, tracker_issue_id: issue.id }).first('id');
      if (any) return;
      r.trackerReplayed++;
      const out = await intake.trackerStatus(event);
      if (out.action === 'created') this.d.logger.info({ repo, trackerIssueId: issue.id, taskId: out.taskId }, `reconciler: task created for issue ${issue.id} (its webhook was missed)`);
      return;
    }
    const task = await this.d.stores.tasks.findByIssue(repo, issue.id);
    if (!task || task.stage === 'done' || task.stage === 'cancelled') return;
    if (issue.status === this.d.config.statuses.approved && (task.humanVerdict !== null || !this.d.pipeline.stages.some((s) => s.humanGate && s.name === task.stage))) return;
    if (issue.status === this.d.config.statuses.stop && task.cancelRequestedAt) return;
    if ((await this.d.heldBackBy(task)).length > 0) {
      r.skipped++;
      return;
    }
    const acted = await this.d.claims.withClaim(task.id, () => intake.trackerStatus(event));
    if (!acted) {
      r.skipped++;
      return;
    }
    r.trackerReplayed++;
    if (acted.value.action === 'verdict' || acted.value.action === 'stop') this.d.logger.info({ taskId: task.id, status: issue.status, detail: acted.value.detail }, `reconciler: ${issue.status} of task ${task.workItemId} replayed (its webhook was missed)`);
  }
}
