import type { ConveyorConfig } from '../config/resolve-config.js';
import type { Task } from '../domain.js';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { TaskStore } from '../persistence/ports.js';
import type { Ports } from '../ports/ports.js';

/** The tracker statuses of the deploy phases, by their key in `statuses`. */
export type DeployPhase = 'awaitingDeploy' | 'deploying' | 'monitoring';

/**
 * What to do with a deploy-phase status write: write it, write Done instead (the
 * task is done and its post-deploy window is not open), or write nothing (the task
 * was cancelled).
 */
export type DeployStatusVerdict = 'ALLOW' | 'CONVERGE_DONE' | 'SUPPRESS';

/** One deploy-phase status write, as the guard sees it. */
export interface DeployStatusRequest {
  /** The task as stored when the write is decided (never the caller's copy). */
  task: Task;
  phase: DeployPhase;
  /** The tracker status name the caller wants to write. */
  status: string;
  /** Who asks (`tracker-sync`, a plugin's name …), for the decision's log line. */
  caller: string;
  /** Why the caller writes it; every deploy-phase setter gives one. */
  reason: string;
}

/** Decides deploy-phase status writes (the deploy-status-guard plugin binds it). */
export interface DeployStatusGuard {
  decide(request: DeployStatusRequest): Promise<DeployStatusVerdict>;
}

/** The post-deploy window of a task (the post-deploy-monitor plugin binds it). */
export interface PostDeployWindow {
  /**
   * Opens the task's window after a successful deploy, before the tracker is told
   * (so the first "Monitoring after Deploy" is legitimate). True when a window is
   * open for the task afterwards; false when the task's repo is not watched.
   */
  arm(task: Task): Promise<boolean>;
  /** True while the task's window is open. */
  isActive(taskId: number): Promise<boolean>;
}

export interface DeployPhaseStatusDeps {
  ports: Ports;
  tasks: TaskStore;
  config: ConveyorConfig;
  logger: Logger;
}

/**
 * The one way to write a deploy-phase status (Awaiting Deploy, Deploying,
 * Monitoring after Deploy) to the tracker. The task is read again and the bound
 * guard decides; without a guard every write goes through as asked. A guard that
 * throws costs a log line, never the caller; so does a tracker that is down, unless
 * the caller asks for the error (`rethrow`, the outbox's effects, which try again).
 */
export class DeployPhaseStatus {
  constructor(private readonly d: DeployPhaseStatusDeps) {}

  /** The verdict acted on, or null when nothing could be decided (no tracker, no task). */
  async set(taskId: number, phase: DeployPhase, by: { caller: string; reason: string }, opts: { rethrow?: boolean } = {}): Promise<DeployStatusVerdict | null> {
    const tracker = this.d.ports.tracker();
    const task = await this.d.tasks.get(taskId);
    if (!tracker || !task) return null;
    const status = this.d.config.statuses[phase];
    const guard = this.d.ports.deployStatusGuard();
    let verdict: DeployStatusVerdict = 'ALLOW';
    if (guard) {
      try {
        verdict = await guard.decide({ task, phase, status, caller: by.caller, reason: by.reason });
      } catch (err) {
        // The guard is an observer of the write, like the origin's never-raise guard:
        // when it cannot decide, the write behaves as it would without it.
        this.d.logger.error({ taskId, phase, err: toError(err) }, 'deploy status guard failed; writing as asked');
      }
    }
    const ref = { repo: task.repo, trackerIssueId: task.trackerIssueId };
    try {
      if (verdict === 'ALLOW') await tracker.setStatus(ref, status, { reason: by.reason });
      else if (verdict === 'CONVERGE_DONE') await tracker.setStatus(ref, this.d.config.statuses.done, { reason: `converged to Done instead of "${status}" (${by.reason})` });
    } catch (err) {
      // A stored effect (`rethrow`) is tried again by the outbox; a listener's write is not.
      if (opts.rethrow) throw err;
      this.d.logger.warn({ taskId, phase, verdict, err: toError(err) }, 'deploy-phase tracker update failed');
    }
    return verdict;
  }
}
