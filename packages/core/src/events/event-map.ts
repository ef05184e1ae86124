import type { Job, Task } from '../domain.js';
import type { GateVerdict } from '../pipeline/gate.js';

/**
 * Every event Conveyor emits, with its payload. Listeners are observers: they are
 * wrapped so that a throwing listener is logged and never breaks the emitter.
 */
export interface ConveyorEvents {
  /**
   * A task was created by intake (exactly once per tracker issue). `deliveredAt`: when
   * the webhook delivery that created it was accepted (wall clock); absent otherwise.
   */
  'task.created': { task: Task; deliveredAt?: Date };
  /** A compare-and-set moved a task from one stage to another. */
  'task.stage_changed': { task: Task; from: string; to: string; reason: string };
  /** A task stopped moving and needs a person (retry cap, dependency cycle …). */
  'task.blocked': { task: Task; reason: string };
  /** A block was lifted (a budget raise); the task moves again. */
  'task.unblocked': { task: Task; reason: string };
  /** A task reached `cancelled`. */
  'task.cancelled': { task: Task };
  /** A task reached `done`. */
  'task.done': { task: Task };
  /** A job was inserted in the queue. */
  'job.enqueued': { job: Job };
  /** A worker claimed a job. */
  'job.claimed': { job: Job; hostId: string };
  /** A job reached a terminal status (the winner of the finish compare-and-set). */
  'job.finished': { job: Job; status: 'done' | 'failed' | 'cancelled' };
  /** A transient failure was re-queued with backoff. */
  'job.retried': { job: Job; error: string; delayMs: number };
  /**
   * A running job whose host is gone was taken back: `requeued` (its agent runs
   * again), `resumed` (its agent's recorded exit is finished from), or `exhausted`
   * (the recovery budget is spent: the job failed, the task is blocked).
   */
  'job.recovered': { job: Job; outcome: 'requeued' | 'resumed' | 'exhausted'; why: string };
  /** A job used its whole retry budget and failed. */
  'job.retry_exhausted': { job: Job; error: string };
  /** An agent process was started for a job. */
  'agent.started': { job: Job; pid: number | null };
  /** An agent process ended (exit code and usage already recorded). */
  'agent.finished': { job: Job; exitCode: number | null; costUsd: number | null };
  /** One gate was evaluated on an edge. */
  'gate.evaluated': { taskId: number; stage: string; gate: string; verdict: GateVerdict; reason?: string; readOnly: boolean };
  /** A gate failed and the task stays (or rolls back). */
  'gate.failed': { taskId: number; stage: string; gate: string; reason?: string; rollbackTo?: string };
  /** merge-gate: the merge lease is busy, the edge was deferred. */
  'merge.deferred': { taskId: number; repo: string; holder: string | null };
  /** merge-gate: the re-test of the combined tree passed only on a retry (accepted, reported). */
  'merge.flaky': { taskId: number; repo: string; sha: string; attempts: number };
  /** merge-gate: the task branch landed in main. */
  'merge.completed': { taskId: number; repo: string; sha: string | null };
  /** A person confirmed the deploy of a task waiting at deploy (`deploy.confirm`); its deployer may run. */
  'deploy.confirmed': { task: Task };
  /** post-deploy-monitor: health checks failed after a deploy. */
  'deploy.degraded': { taskId: number; repo: string; reason: string };
  /** The analyst finished; a person must approve or reject. */
  'human.approval_needed': { task: Task };
  /** A stale merge lease was taken back. */
  'lease.reclaimed': { repo: string; holder: string };
  /** The reconciler moved a task that a lost webhook had left standing. */
  'reconciler.unstuck': { taskId: number; from: string; to: string };
  /** A background loop's tick failed (the loop goes on). */
  'loop.error': { loop: string; error: Error; consecutive: number };
  /** A listener threw; reported once, never re-thrown. */
  'listener.error': { event: string; error: Error };
}

export type ConveyorEventName = keyof ConveyorEvents;

/** Every event name, for recorders and docs. */
export const EVENT_NAMES: readonly ConveyorEventName[] = [
  'task.created', 'task.stage_changed', 'task.blocked', 'task.unblocked', 'task.cancelled', 'task.done',
  'job.enqueued', 'job.claimed', 'job.finished', 'job.retried', 'job.recovered', 'job.retry_exhausted',
  'agent.started', 'agent.finished', 'gate.evaluated', 'gate.failed',
  'merge.deferred', 'merge.flaky', 'merge.completed', 'deploy.confirmed', 'deploy.degraded', 'human.approval_needed',
  'lease.reclaimed', 'reconciler.unstuck', 'loop.error', 'listener.error',
];
