import type { Task } from '../domain.js';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { JobStore, TaskStore } from '../persistence/ports.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { AdvanceOutcome, StageEngine } from '../pipeline/stage-engine.js';
import { liveSummaryPages } from '../tasks/live-task-pages.js';

/** What a re-drive of one task's interrupted merge came to. */
export interface MergeRedrive {
  taskId: number;
  outcome: AdvanceOutcome | { kind: 'error'; reason: string };
}

/** Runs one re-drive, or declines (null): the reconciler claims the task first. */
export type MergeGuard = (taskId: number, act: () => Promise<AdvanceOutcome>) => Promise<{ value: AdvanceOutcome } | null>;

export interface MergeRecoveryDeps {
  tasks: TaskStore;
  jobs: JobStore;
  engine: StageEngine;
  pipeline: Pipeline;
  logger: Logger;
  /** Live tasks read per page; `LIVE_TASK_PAGE` unless a test asks for less. */
  pageSize?: number;
}

/**
 * Tasks whose merge Conveyor started (the INITIATED marker is set) but never saw
 * end: the process died during the forge's merge call, or the call timed out.
 * Each is re-driven through its edge, whose `pr_merged` gate asks the forge: merged
 * → the task completes (once: `markMerged` is a compare-and-set); not merged and
 * the marker stale → one re-drive takes the merge over and merges once; not merged
 * and the marker fresh, or the forge cannot be asked (an ambiguous error) → the
 * marker stays and the task stays pending for the next look. Tasks with a live job
 * are left to that job's finish. Run at start-up and by the reconciler.
 */
export async function redriveInitiatedMerges(d: MergeRecoveryDeps, reason: string, guard: MergeGuard = async (_taskId, act) => ({ value: await act() })): Promise<MergeRedrive[]> {
  const out: MergeRedrive[] = [];
  const stages = new Set(d.pipeline.stages.filter((s) => s.exitGates.includes('pr_merged')).map((s) => s.name));
  if (stages.size === 0) return out;
  // Every live task's summary, a page at a time; only the few with a merge in flight are read in full.
  for await (const page of liveSummaryPages(d.tasks, d.pageSize ? { pageSize: d.pageSize } : {})) {
    for (const s of page) {
      if (!stages.has(s.stage) || !s.mergeInitiatedAt || s.mergedAt || s.blockedReason) continue;
      const task = await d.tasks.get(s.id);
      if (task && task.stage === s.stage) await redriveOne(d, task.stage, task, reason, guard, out);
    }
  }
  return out;
}

async function redriveOne(d: MergeRecoveryDeps, stage: string, task: Task, reason: string, guard: MergeGuard, out: MergeRedrive[]): Promise<void> {
  if (!task.mergeInitiatedAt || task.mergedAt || task.blockedReason) return;
  if (await d.jobs.activeForTask(task.id)) return;
  try {
    const acted = await guard(task.id, () => d.engine.advance(task.id, { from: stage, finishedAgent: null, reason }));
    if (!acted) return;
    const outcome = acted.value;
    d.logger.info({ taskId: task.id, workItem: task.workItemId, pr: task.prNumber, outcome: outcome.kind, ...('reason' in outcome ? { detail: outcome.reason } : {}) }, 'interrupted merge re-driven');
    out.push({ taskId: task.id, outcome });
  } catch (err) {
    // One task's failure must not keep the others' merges waiting.
    const message = toError(err).message;
    d.logger.warn({ taskId: task.id, err }, 'interrupted merge could not be re-driven');
    out.push({ taskId: task.id, outcome: { kind: 'error', reason: message } });
  }
}
