import { isTerminalStage, type Conveyor, type Job, type Task } from '@conveyor/core';

/** What a task waits for, in one short object (`GET /tasks/:id`). */
export type WaitingFor =
  | { kind: 'none' }
  | { kind: 'blocked'; reason: string }
  | { kind: 'job'; jobId: number; jobKind: Job['kind']; status: Job['status']; stage: string; role: string | null; availableAt: string }
  | { kind: 'gate'; gate: string | null; verdict: string; reason: string };

/**
 * Terminal → none; blocked → its reason; an active job → that job; otherwise the
 * first gate of the exit edge that does not pass, from a read-only evaluation
 * (no gate with side effects runs, nothing is moved).
 */
export async function waitingFor(conveyor: Conveyor, task: Task, activeJob: Job | null): Promise<WaitingFor> {
  if (isTerminalStage(task.stage)) return { kind: 'none' };
  if (task.blockedReason) return { kind: 'blocked', reason: task.blockedReason };
  if (activeJob) {
    return {
      kind: 'job',
      jobId: activeJob.id,
      jobKind: activeJob.kind,
      status: activeJob.status,
      stage: activeJob.stage,
      role: activeJob.role,
      availableAt: activeJob.availableAt.toISOString(),
    };
  }
  const ev = await conveyor.engine.evaluateGates(task, { readOnly: true });
  if (ev.verdict === 'pass') {
    return { kind: 'gate', gate: null, verdict: 'pass', reason: 'every exit gate passes; the next event or the reconciler advances the task' };
  }
  return { kind: 'gate', gate: ev.gate, verdict: ev.verdict, reason: ev.result.reason ?? `${ev.gate} says ${ev.verdict}` };
}
