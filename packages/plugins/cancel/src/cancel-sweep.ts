import { toError, untombstoned, type Logger, type Ports, type TaskStore } from '@conveyor/core';
import type { CancelService } from './cancel-service.js';

/** Tasks one tick looks at, at most (the rest wait for the next tick). */
const BATCH = 100;

/**
 * Each host's sweep: applies every pending STOP nothing holds back any more (a
 * deferred one whose step finished elsewhere, one whose agent this host runs, one
 * whose host died), and removes this host's worktrees of tasks another host
 * cancelled. One task's failure is logged; the others still run.
 */
export class CancelSweep {
  #since: number;

  constructor(private readonly d: { service: CancelService; tasks: TaskStore; ports: Ports; logger: Logger; now: () => number }) {
    this.#since = d.now();
  }

  async tick(): Promise<void> {
    for (const task of await this.d.tasks.listCancelRequested(BATCH)) {
      try {
        await this.d.service.apply(task.id, { firstRequest: false });
      } catch (err) {
        this.d.logger.error({ taskId: task.id, err: toError(err) }, 'cancel sweep: applying a STOP failed; retried next tick');
      }
    }
    for (const task of await this.d.tasks.listCancelledSince(new Date(this.#since), BATCH)) {
      this.#since = Math.max(this.#since, (task.cancelledAt?.getTime() ?? 0) + 1);
      try {
        const original = { ...task, branch: untombstoned(task.branch), workItemId: untombstoned(task.workItemId), trackerIssueId: untombstoned(task.trackerIssueId) };
        // A fresh task of the same issue may own that branch (and worktree) already.
        const owner = await this.d.tasks.findByBranch(task.repo, original.branch);
        if (owner && owner.id !== task.id) continue;
        await this.d.ports.workspace()?.cleanup(original);
      } catch (err) {
        this.d.logger.warn({ taskId: task.id, err: toError(err) }, 'cancel sweep: could not remove the worktree of a cancelled task');
      }
    }
  }
}
