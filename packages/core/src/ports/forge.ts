/** An open or merged change request on the forge. */
export interface PullRequest {
  repo: string;
  number: number;
  head: string;
  base: string;
  url: string;
  state: 'open' | 'closed';
  merged: boolean;
  headSha: string | null;
  /** The merge commit on the base branch, once merged (when the forge says). */
  mergeSha?: string | null;
}

export interface CombinedStatus {
  /** '' when the ref has no statuses at all. */
  state: 'pending' | 'success' | 'failure' | 'error' | '';
  sha: string;
  contexts: { context: string; state: string; targetUrl: string | null }[];
}

export interface MergeOptions {
  /** The head commit the caller checked; the merge fails if the PR's head moved since. */
  headSha?: string | null;
}

/**
 * The forge port (Gitea, a local bare repository …): pull requests, statuses and
 * links. Implementations refuse to delete or force-push protected branches.
 */
export interface ForgePort {
  readonly name: string;
  /** Current head sha of a branch on the forge, or null if the branch does not exist. */
  branchHeadSha(repo: string, branch: string): Promise<string | null>;
  /** Opens a PR for `head` → `base`, or returns the one already open. */
  ensurePullRequest(input: { repo: string; head: string; base: string; title: string; body: string }): Promise<PullRequest>;
  getPullRequest(repo: string, number: number): Promise<PullRequest | null>;
  /**
   * Merges; resolves to the merged PR. Already merged is success, not an error.
   * With `headSha`, merges only while the PR's head is still that commit (Gitea's
   * `head_commit_id`): a push after the caller looked makes the merge fail, so
   * unreviewed commits never ride along.
   */
  mergePullRequest(repo: string, number: number, options?: MergeOptions): Promise<PullRequest>;
  combinedStatus(repo: string, ref: string): Promise<CombinedStatus>;
  /** Deletes a task branch. Refuses main and protected branches before calling out. */
  deleteBranch(repo: string, branch: string): Promise<void>;
  /** A link people can open (artefacts in finish comments). */
  publicUrl(repo: string, path: string, ref: string): string;
}
