import type { WaitExplainer } from './wait-reason.js';

/**
 * Core's explanation of a busy merge lease: the task's edge deferred and another
 * task of the repo holds the lease. Read from the lease table, never from git.
 */
export const mergeLeaseExplainer: WaitExplainer = {
  name: 'merge-lease',
  async explain({ task, stores }) {
    const wait = await stores.gateWaits.get(task.id);
    if (!wait || wait.stage !== task.stage || wait.verdict !== 'defer') return null;
    const lease = await stores.leases.get(task.repo);
    if (!lease || lease.taskId === task.id) return null;
    const holder = await stores.tasks.get(lease.taskId);
    const who = holder ? `task ${holder.id} (${holder.workItemId}, at ${holder.stage})` : `task ${lease.taskId}`;
    return {
      kind: 'merge_lease',
      source: 'core',
      text: `The merge lease of ${task.repo} is held by ${who} since ${lease.acquiredAt.toISOString()}; this task merges after it releases the lease (at most until ${lease.expiresAt.toISOString()}).`,
      data: { repo: task.repo, holderTaskId: lease.taskId, holderWorkItem: holder?.workItemId ?? null, holderStage: holder?.stage ?? null, hostId: lease.hostId, acquiredAt: lease.acquiredAt.toISOString(), expiresAt: lease.expiresAt.toISOString() },
    };
  },
};
