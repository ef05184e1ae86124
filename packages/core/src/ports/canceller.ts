import type { Task } from '../domain.js';

/** What applying a STOP did; see `StopOutcome`. */
export interface CancelResult {
  applied: boolean;
  /** `applied`, `deferred` (an irreversible step is in flight), `pending` (the host running the agent applies it), `ended`. */
  state?: 'applied' | 'deferred' | 'pending' | 'ended';
  detail: string;
}

/**
 * Applies a STOP: the cancel plugin binds it. Without it, STOP is refused
 * (`POST /tasks/:id/stop`) or logged and ignored (the tracker status).
 */
export interface Canceller {
  /** `task` carries the `cancel_requested_at` stamp; `firstRequest` is true only for the request that stamped it. */
  cancel(task: Task, request: { firstRequest: boolean }): Promise<CancelResult>;
}
