/** Stable codes of task-deps errors (routes map them to 400, 404 and 409). */
export type TaskDepsErrorCode = 'TASK_DEPS_INVALID' | 'TASK_DEPS_NOT_FOUND' | 'TASK_DEPS_CYCLE';

/** A refused declaration; `cycle` names the tasks of a cycle it would have closed. */
export class TaskDepsError extends Error {
  override readonly name = 'TaskDepsError';
  constructor(
    readonly code: TaskDepsErrorCode,
    message: string,
    readonly cycle: readonly { id: number; workItemId: string }[] = [],
  ) {
    super(message);
  }
}
