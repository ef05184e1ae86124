import { ConveyorError } from '../errors.js';
import type { Job } from '../domain.js';
import type { NewOutboxEntry } from '../persistence/ports.js';
import type { AdvanceInput, StageEngine } from '../pipeline/stage-engine.js';
import type { Outbox } from './outbox.js';

/** The effect that re-evaluates a task's edge: stored with a job's finish or a CI status. */
export const ADVANCE_EFFECT = 'advance';

/** The advance a finished job owes its task, keyed by (job, attempt): one per finish. */
export function advanceAfterJob(job: Job): Omit<NewOutboxEntry, 'claimedBy' | 'claimedUntil'> {
  const input: AdvanceInput = {
    from: job.stage,
    finishedAgent: job.kind === 'agent' ? job.role : null,
    reason: job.kind === 'agent' ? `${job.role ?? 'agent'} finished` : 'deferred re-evaluation',
  };
  return { taskId: job.taskId, effect: ADVANCE_EFFECT, key: `advance:task-${job.taskId}:${job.stage}:job-${job.id}:attempt-${job.attempt}`, payload: { ...input } };
}

/**
 * Runs a stored advance. Replaying one is harmless: the engine's move is a
 * compare-and-set on the stage the advance was recorded at, so a task that moved on
 * meanwhile answers `stale`, and one still there is judged again.
 */
export function registerAdvanceEffect(outbox: Outbox, engine: () => StageEngine): void {
  outbox.register('core', ADVANCE_EFFECT, async (e) => {
    if (e.taskId === null) return null;
    const p = e.payload as unknown as AdvanceInput;
    try {
      return await engine().advance(e.taskId, { from: p.from, finishedAgent: p.finishedAgent ?? null, reason: p.reason });
    } catch (err) {
      if (err instanceof ConveyorError && err.code === 'CONVEYOR_TASK_NOT_FOUND') return null;
      throw err;
    }
  });
}
