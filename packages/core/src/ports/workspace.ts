import type { Task } from '../domain.js';

/**
 * Prepares the directory an agent works in. Core's git workspace manager implements
 * it (bare mirror + one worktree per task branch); tests use a temp directory.
 */
export interface WorkspacePort {
  /** Fetches, checks out the task branch and returns the worktree path. */
  prepare(task: Task): Promise<string>;
  /** Removes the task's worktree (done, cancelled). */
  cleanup(task: Task): Promise<void>;
}
