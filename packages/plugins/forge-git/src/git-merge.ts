import { git } from '@conveyor/core';

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

/**
 * A server-side, non-forced merge inside the origin repository, the way a forge
 * merges a PR: `merge-tree` computes the merged tree, `commit-tree` makes the merge
 * commit, and `update-ref` moves the base branch only if it still points where we
 * read it (a compare-and-set on the ref). Nothing is pushed and nothing is forced.
 * With `expectedHead`, refuses when the branch no longer points there.
 * Returns the merge commit, or the base head when `head` is already in it.
 */
export async function mergeInOrigin(
  origin: string,
  input: { base: string; head: string; message: string; author: { name: string; email: string }; expectedHead?: string | null },
): Promise<{ sha: string; alreadyMerged: boolean }> {
  const baseSha = (await git(['rev-parse', '--verify', `refs/heads/${input.base}`], { cwd: origin })).stdout;
  const headSha = (await git(['rev-parse', '--verify', `refs/heads/${input.head}`], { cwd: origin })).stdout;
  if (input.expectedHead && headSha !== input.expectedHead) {
    throw new HeadMovedError(`head out of date: "${input.head}" is at ${headSha.slice(0, 12)}, not the checked ${input.expectedHead.slice(0, 12)}`);
  }
  const ancestor = await git(['merge-base', '--is-ancestor', headSha, baseSha], { cwd: origin, allowFailure: true });
  if (ancestor.exitCode === 0) return { sha: baseSha, alreadyMerged: true };
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
  const commit = (await git(['commit-tree', treeSha, '-p', baseSha, '-p', headSha, '-m', input.message], { cwd: origin, env })).stdout;
  await git(['update-ref', '-m', `merge ${input.head}`, `refs/heads/${input.base}`, commit, baseSha], { cwd: origin });
  return { sha: commit, alreadyMerged: false };
}
