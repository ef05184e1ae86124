import type { Task } from '../domain.js';

/** The head a merge is pinned to, or why nothing may merge. */
export type MergePinDecision = { sha: string } | { refuse: string };

/**
 * Decides which commit the irreversible merge may land: what was tested. Bound by
 * a plugin that re-tests the combined tree (merge-gate); without it the merge is
 * pinned to the PR head read just before merging. The merge call then passes the
 * pinned sha to the forge (`head_commit_id`), so a push after the decision fails it.
 */
export interface MergePin {
  /** `prHead`: the PR's head on the forge now. Refusing fails `pr_merged` (rollback to development). */
  pin(task: Task, prHead: string): Promise<MergePinDecision>;
}
