import type { JobStore, LeaseStore, TaskStore } from '@conveyor/core';
import { criticalWindow } from './critical-window.js';

/** How many pending STOPs the `/queue` block lists. */
const LIMIT = 50;

/**
 * The `/queue` block: every task with a STOP requested and not applied yet, and
 * whether it is deferred (with the step it waits for) or about to be applied.
 * Stored state only.
 */
export async function cancelSnapshot(d: { tasks: TaskStore; jobs: JobStore; leases: LeaseStore }): Promise<unknown> {
  const out = [];
  for (const task of await d.tasks.listCancelRequested(LIMIT)) {
    const running = (await d.jobs.listForTask(task.id)).filter((j) => j.status === 'running');
    const window = await criticalWindow(task, running, d.leases);
    out.push({
      taskId: task.id,
      workItemId: task.workItemId,
      stage: task.stage,
      requestedAt: task.cancelRequestedAt?.toISOString() ?? null,
      state: window.critical ? 'deferred' : 'pending',
      ...(window.critical ? { waitsFor: window.why } : {}),
    });
  }
  return { requested: out };
}
