import type { Job, LeaseStore, Task } from '@conveyor/core';

/** Whether a STOP must wait: only while an irreversible step is actually under way. */
export type CriticalWindow = { critical: false } | { critical: true; why: string };

/**
 * The critical window. An irreversible merge in flight (the INITIATED marker is
 * set and the task is not merged) is critical; so is the repo's merge lease held
 * by the task *while one of its jobs is running* (a deploy or a merge re-test).
 * A task parked at `deploy` holding the lease with nothing running is not: once
 * such a STOP was deferred on the lease alone, and the task wedged for good,
 * holding the lease and blocking the repo.
 */
export async function criticalWindow(task: Task, running: readonly Job[], leases: LeaseStore): Promise<CriticalWindow> {
  if (task.mergeInitiatedAt && !task.mergedAt) {
    return { critical: true, why: `the merge of ${task.prNumber !== null ? `PR #${task.prNumber}` : 'its pull request'} is in flight (started ${task.mergeInitiatedAt.toISOString()})` };
  }
  if (running.length === 0) return { critical: false };
  const lease = await leases.get(task.repo);
  if (lease?.taskId !== task.id) return { critical: false };
  const job = running[0]!;
  return { critical: true, why: `it holds the merge lease of ${task.repo} and its ${job.kind} job #${job.id} at ${job.stage} is running` };
}
