import type { Task } from '../domain.js';

export interface CommitResult {
  /** Head of the task branch after the push. */
  sha: string;
  /** False when there was nothing new to commit (the push still ran). */
  committed: boolean;
}

/**
 * Prepares the directory an agent works in and carries its result to the remote.
 * Core's `GitWorkspace` implements it (bare mirror + one worktree per task branch);
 * tests use a temp directory.
 */
export interface WorkspacePort {
  /** Fetches, checks out the task branch at its remote state and returns the worktree path. */
  prepare(task: Task): Promise<string>;
  /** Fetches, makes sure the worktree is on the task branch, commits everything and pushes the task branch (never forced, never main). */
  commitAndPush?(task: Task, message: string): Promise<CommitResult>;
  /**
   * What the agent's sandbox shows besides its worktree: paths read-write and
   * read-only (core's GitWorkspace: the mirror's objects). Unset: the worktree only.
   */
  sandboxPaths?(task: Task): { readWrite: string[]; readOnly: string[] };
  /**
   * The task's worktree as the last run left it, untouched (no fetch, no reset), or
   * null when there is none here: a job whose host died after its agent's exit was
   * recorded is finished from it. Unset: such a job runs its agent again.
   */
  worktreeOf?(task: Task): string | null;
  /**
   * The agent job that prepared the worktree is over, the advance after its finish
   * included. A workspace that trusted its own push as the branch's state while the
   * job ran (no other job of the task can push meanwhile) stops trusting it here.
   */
  jobEnded?(task: Task): void;
  /** Removes the task's worktree (done, cancelled). */
  cleanup(task: Task): Promise<void>;
}
