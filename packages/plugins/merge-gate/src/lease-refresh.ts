import type { LeaseStore, Logger, Task } from '@conveyor/core';

/** The stages at which a task holds the merge lease: from the gate's pass until it leaves `deploy`. */
export const LEASE_STAGES: readonly string[] = ['deploy-staging', 'deploy'];

/**
 * One tick of the lease refresher: every lease whose holder task is still at a
 * stage that holds it, and not blocked, gets its expiry pushed out by `ttlMs`. A
 * deploy that outlasts `leaseTtlMs` therefore keeps its lease, and the next task
 * never rebases onto a main that is about to move under it. Leases of tasks that
 * moved on are left to expire (or to the reaper); they are never refreshed.
 */
export async function refreshHeldLeases(d: { leases: LeaseStore; task(id: number): Promise<Task | null>; ttlMs: number; logger: Logger }): Promise<number> {
  let refreshed = 0;
  for (const lease of await d.leases.list()) {
    const task = await d.task(lease.taskId);
    if (!task || !LEASE_STAGES.includes(task.stage) || task.blockedReason) continue;
    if (await d.leases.refresh(lease.repo, task.id, d.ttlMs)) refreshed++;
    else d.logger.info({ repo: lease.repo, taskId: task.id }, 'merge lease changed hands before its refresh');
  }
  return refreshed;
}
