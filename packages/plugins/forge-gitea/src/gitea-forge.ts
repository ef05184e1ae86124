import { ConveyorError, type CombinedStatus, type ForgePort, type MergeOptions, type PullRequest, type RepoConfig } from '@conveyor/core';
import type { GiteaMergeStyle } from './config.js';
import type { GiteaClient, GiteaPullRequest } from './gitea-client.js';
import { branchPath } from './gitea-http.js';
import type { RepoMap } from './repo-map.js';

/** What `GiteaForge` is built from (see the plugin's `register`). */
export interface GiteaForgeOptions {
  client: GiteaClient;
  repoMap: RepoMap;
  /** The instance's `repos` (main and protected branches). */
  repos: Readonly<Record<string, RepoConfig>>;
  mergeStyle: GiteaMergeStyle;
  /** Base of the links people open (`publicUrl`, else `baseUrl`). */
  publicUrl: string;
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * Newer Gitea folds `warning` into success and `error` into failure; older
 * servers report them as they are. A warning or a skipped job does not fail CI.
 */
function combinedState(state: string): CombinedStatus['state'] {
  switch (state) {
    case '':
    case 'pending':
    case 'success':
    case 'failure':
    case 'error':
      return state;
    case 'warning':
    case 'skipped':
      return 'success';
    default:
      // An unknown state never lets a gate pass.
      return 'pending';
  }
}

/** The forge port on a Gitea server: Conveyor repo names in, Gitea repositories out. */
export class GiteaForge implements ForgePort {
  readonly name = 'forge-gitea';

  constructor(private readonly o: GiteaForgeOptions) {}

  #pr(repo: string, pr: GiteaPullRequest): PullRequest {
    return {
      repo,
      number: pr.number,
      head: pr.head.ref,
      base: pr.base.ref,
      url: pr.html_url || this.publicUrl(repo, `pulls/${pr.number}`, ''),
      state: pr.state === 'open' ? 'open' : 'closed',
      merged: pr.merged,
      headSha: pr.head.sha,
      mergeSha: pr.merge_commit_sha,
    };
  }

  async branchHeadSha(repo: string, branch: string): Promise<string | null> {
    return this.o.client.branchHeadSha(this.o.repoMap.toGitea(repo), branch);
  }

  async ensurePullRequest(input: { repo: string; head: string; base: string; title: string; body: string }): Promise<PullRequest> {
    const { pullRequest } = await this.o.client.createPullRequest(this.o.repoMap.toGitea(input.repo), input);
    return this.#pr(input.repo, pullRequest);
  }

  async getPullRequest(repo: string, number: number): Promise<PullRequest | null> {
    const pr = await this.o.client.getPullRequest(this.o.repoMap.toGitea(repo), number);
    return pr ? this.#pr(repo, pr) : null;
  }

  async mergePullRequest(repo: string, number: number, options: MergeOptions = {}): Promise<PullRequest> {
    return this.#pr(repo, await this.o.client.mergePullRequest(this.o.repoMap.toGitea(repo), number, { style: this.o.mergeStyle, headCommitId: options.headSha ?? null }));
  }

  /**
   * `ref` may be a branch: it is resolved to its head first, because Gitea's
   * `/commits/{ref}/status` takes one path segment and task branches have slashes.
   */
  async combinedStatus(repo: string, ref: string): Promise<CombinedStatus> {
    const g = this.o.repoMap.toGitea(repo);
    const sha = SHA.test(ref) ? ref : await this.o.client.branchHeadSha(g, ref);
    if (!sha) return { state: '', sha: ref, contexts: [] };
    const cs = await this.o.client.combinedStatus(g, sha);
    return {
      state: combinedState(cs.state),
      sha: cs.sha,
      contexts: cs.statuses.map((s) => ({ context: s.context, state: s.status, targetUrl: s.targetUrl })),
    };
  }

  async deleteBranch(repo: string, branch: string): Promise<void> {
    const cfg = this.o.repos[repo];
    // Fail closed: without the repo's config Conveyor does not know its main and protected branches.
    if (!cfg) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `refusing to delete "${branch}" of ${repo}: the repo is not configured (repos.${repo}), so its protected branches are unknown`);
    await this.o.client.deleteBranch(this.o.repoMap.toGitea(repo), branch, cfg);
  }

  /** `<publicUrl>/<owner>/<name>/src/branch/<ref>/<path>`; without a ref, `<publicUrl>/<owner>/<name>/<path>`. */
  publicUrl(repo: string, path: string, ref: string): string {
    const base = `${this.o.publicUrl.replace(/\/+$/, '')}/${branchPath(this.o.repoMap.fullName(repo))}`;
    const file = branchPath(path.replace(/^\/+/, ''));
    return ref ? `${base}/src/branch/${branchPath(ref)}/${file}` : `${base}/${file}`;
  }
}
