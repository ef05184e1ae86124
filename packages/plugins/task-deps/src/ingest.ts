import { toError, type Logger, type Task, type TaskStore, type TrackerPort } from '@conveyor/core';
import type { DepsService } from './deps-service.js';
import { TaskDepsError } from './errors.js';

/**
 * Reads the tracker's "blocked by" relations of a new task and declares them
 * (source `tracker`). Runs on `task.created`, never on the claim path. An issue
 * without a live task yet is skipped; a relation that closes a cycle blocks the
 * tasks of the cycle and alerts.
 */
export async function ingestRelations(d: { tracker: TrackerPort | null; tasks: TaskStore; service: DepsService; logger: Logger }, task: Task): Promise<number> {
  if (!d.tracker?.blockedBy) return 0;
  let ids: string[];
  try {
    ids = await d.tracker.blockedBy({ repo: task.repo, trackerIssueId: task.trackerIssueId });
  } catch (err) {
    d.logger.warn({ taskId: task.id, err: toError(err) }, 'could not read the tracker relations');
    return 0;
  }
  let declared = 0;
  for (const issueId of ids) {
    const blocker = await d.tasks.findByIssue(task.repo, issueId);
    if (!blocker) {
      d.logger.info({ taskId: task.id, blockedBy: issueId }, 'blocking issue has no task; relation not declared');
      continue;
    }
    try {
      if ((await d.service.declare(task.id, blocker.id, 'tracker')).added) declared++;
    } catch (err) {
      if (err instanceof TaskDepsError && err.code === 'TASK_DEPS_CYCLE') await d.service.blockCycle(err.cycle);
      else d.logger.warn({ taskId: task.id, blockedBy: issueId, err: toError(err) }, 'tracker relation not declared');
    }
  }
  return declared;
}
