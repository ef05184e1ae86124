import type { Task } from '../domain.js';

/** Applies a STOP: the cancel plugin binds it. Without it, STOP is recorded only. */
export interface Canceller {
  cancel(task: Task, request: { firstRequest: boolean }): Promise<{ applied: boolean; detail: string }>;
}
