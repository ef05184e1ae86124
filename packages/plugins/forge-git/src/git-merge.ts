import { faultPoint, git } from '@conveyor/core';

export class MergeConflictError extends Error {
  readonly code = 'FORGE_GIT_MERGE_CONFLICT';
  constructor(
    message: string,
    readonly details: string,
  ) {
    super(message);
    this.name = 'MergeConflictError';
  }
}

/** The branch moved after the caller checked it (Gitea answers 409 "head out of date"). */
export class HeadMovedError extends Error {
  readonly code = 'FORGE_GIT_HEAD_MOVED';
  constructor(message: string) {
    super(message);
    this.name = 'HeadMovedError';
  }
}

/** How often a merge is computed again when the base moved under it before it could land. */
export const MERGE_ATTEMPTS = 8;

/**
 * A server-side, non-forced merge inside the origin repository, the way a forge
 * merges a PR: `merge-tree` computes the merged tree, `commit-tree` makes the merge
 * commit, and `update-ref` moves the base branch only if it still points where we
 * read it (a compare-and-set on the ref). Nothing is pushed and nothing is forced.
 * With `expectedHead`, refuses when the branch no longer points there.
 * Returns the merge commit, or the base head when `head` is already in it.
 *
 * Another host merging into the same base at the same moment makes the
 * compare-and-set fail: the merge is then computed again on the new base (a forge
 * queues its merges the same way), up to `MERGE_ATTEMPTS` times. Only a real
 * conflict with the new base is a conflict; a lost race never is.
 */
export async function mergeInOrigin(
  origin: string,
  input: { base: string; head: string; message: string; author: { name: string; email: string }; expectedHead?: string | null },
): Promise<{ sha: string; alreadyMerged: boolean }> {
  const headSha = (await git(['rev-parse', '--verify', `refs/heads/${input.head}`], { cwd: origin })).stdout;
  if (input.expectedHead && headSha !== input.expectedHead) {
    throw new HeadMovedError(`head out of date: "${input.head}" is at ${headSha.slice(0, 12)}, not the checked ${input.expectedHead.slice(0, 12)}`);
  }
  let lost = '';
  for (let attempt = 1; attempt <= MERGE_ATTEMPTS; attempt++) {
    const baseSha = (await git(['rev-parse', '--verify', `refs/heads/${input.base}`], { cwd: origin })).stdout;
    const ancestor = await git(['merge-base', '--is-ancestor', headSha, baseSha], { cwd: origin, allowFailure: true });
    if (ancestor.exitCode === 0) return { sha: baseSha, alreadyMerged: true };
    const commit = await mergeCommit(origin, input, baseSha, headSha);
    faultPoint('forge-git.merge-before-ref');
    const moved = await git(['update-ref', '-m', `merge ${input.head}`, `refs/heads/${input.base}`, commit, baseSha], { cwd: origin, allowFailure: true });
    if (moved.exitCode === 0) return { sha: commit, alreadyMerged: false };
    // Lost the compare-and-set (the base moved, or another merge held its lock this
    // instant): compute again on what the base is now. Anything else is an error.
    const now = await git(['rev-parse', '--verify', `refs/heads/${input.base}`], { cwd: origin, allowFailure: true });
    if (now.stdout === baseSha && !/cannot lock ref/i.test(moved.stderr)) {
      throw new Error(`git update-ref refs/heads/${input.base} failed (exit ${moved.exitCode}): ${moved.stderr}`);
    }
    lost = moved.stderr;
  }
  throw new Error(`"${input.base}" kept moving while "${input.head}" was merged into it (${MERGE_ATTEMPTS} attempts; last: ${lost})`);
}

async function mergeCommit(
  origin: string,
  input: { base: string; head: string; message: string; author: { name: string; email: string } },
  baseSha: string,
  headSha: string,
): Promise<string> {
  const tree = await git(['merge-tree', '--write-tree', '--messages', baseSha, headSha], { cwd: origin, allowFailure: true });
  if (tree.exitCode !== 0) {
    throw new MergeConflictError(`"${input.head}" does not merge cleanly into "${input.base}"`, tree.stdout.split('\n').slice(1).join('\n').trim());
  }
  const treeSha = tree.stdout.split('\n')[0]!.trim();
  const env = {
    GIT_AUTHOR_NAME: input.author.name,
    GIT_AUTHOR_EMAIL: input.author.email,
    GIT_COMMITTER_NAME: input.author.name,
    GIT_COMMITTER_EMAIL: input.author.email,
  };
  return (await git(['commit-tree', treeSha, '-p', baseSha, '-p', headSha, '-m', input.message], { cwd: origin, env })).stdout;
}
