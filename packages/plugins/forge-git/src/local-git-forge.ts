import fs from 'node:fs';
import path from 'node:path';
import {
  assertTaskBranch,
  ConveyorError,
  createAtomically,
  faultPoint,
  git,
  isBareRepository,
  isUniqueViolation,
  KeyedMutex,
  type CiStatusStore,
  type Clock,
  type CombinedStatus,
  type ForgePort,
  type Knex,
  type MergeOptions,
  type PullRequest,
  type RepoConfig,
} from '@conveyor/core';
import { mergeInOrigin } from './git-merge.js';

type Row = Record<string, unknown>;

export interface LocalGitForgeOptions {
  knex: Knex;
  clock: Clock;
  repos: Readonly<Record<string, RepoConfig>>;
  ciStatuses: CiStatusStore;
  author: { name: string; email: string };
  /** Base of the links people open; the origin path when unset. */
  publicBaseUrl?: string;
  /** Called with every head a PR is opened or updated with (the CI trigger). */
  onHead?: (pr: PullRequest) => void;
}

/**
 * The embedded forge: origin is a bare repository on this machine, a "PR" is a row,
 * and a merge is a real, non-forced merge done inside the origin (as a forge does it
 * server-side). Protected branches are refused before git runs.
 */
export class LocalGitForge implements ForgePort {
  readonly name = 'forge-git';
  readonly #merges = new KeyedMutex();

  constructor(private readonly o: LocalGitForgeOptions) {}

  /** The origin repository of `repo` (its `repos.<repo>.url`, a local path). */
  origin(repo: string): string {
    const url = this.o.repos[repo]?.url;
    if (!url) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `repos.${repo}.url is not configured: forge-git needs the path of the origin repository`);
    return path.resolve(url.replace(/^file:\/\//, ''));
  }

  #cfg(repo: string): RepoConfig {
    return this.o.repos[repo] ?? { mainBranch: 'main', protectedBranches: [] };
  }

  #toPr(r: Row): PullRequest {
    return {
      repo: String(r.repo),
      number: Number(r.number),
      head: String(r.head),
      base: String(r.base),
      url: this.publicUrl(String(r.repo), `pulls/${Number(r.number)}`, ''),
      state: r.state === 'open' ? 'open' : 'closed',
      merged: r.merged === true || r.merged === 1,
      headSha: r.head_sha === null || r.head_sha === undefined ? null : String(r.head_sha),
      mergeSha: r.merge_sha === null || r.merge_sha === undefined ? null : String(r.merge_sha),
    };
  }

  async branchHeadSha(repo: string, branch: string): Promise<string | null> {
    const res = await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { cwd: this.origin(repo), allowFailure: true });
    return res.exitCode === 0 ? res.stdout : null;
  }

  async ensurePullRequest(input: { repo: string; head: string; base: string; title: string; body: string }): Promise<PullRequest> {
    const headSha = await this.branchHeadSha(input.repo, input.head);
    if (!headSha) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `branch "${input.head}" is not on the origin of ${input.repo}`);
    for (let attempt = 0; attempt < 5; attempt++) {
      const open = await this.o.knex('forge_git_pull_requests').where({ repo: input.repo, head: input.head, state: 'open' }).first();
      const now = this.o.clock.now();
      if (open) {
        if (open.head_sha !== headSha) await this.o.knex('forge_git_pull_requests').where({ id: open.id }).update({ head_sha: headSha, updated_at: now });
        const pr = this.#toPr({ ...open, head_sha: headSha });
        this.o.onHead?.(pr);
        return pr;
      }
      const max = await this.o.knex('forge_git_pull_requests').where({ repo: input.repo }).max({ n: 'number' }).first();
      try {
        const rows = (await this.o.knex('forge_git_pull_requests')
          .insert({ repo: input.repo, number: Number(max?.n ?? 0) + 1, head: input.head, base: input.base, title: input.title, body: input.body, state: 'open', merged: false, head_sha: headSha, created_at: now, updated_at: now })
          .returning('*')) as Row[];
        const pr = this.#toPr(rows[0]!);
        this.o.onHead?.(pr);
        return pr;
      } catch (err) {
        // Another caller opened it (or took the number) first: read again.
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw new ConveyorError('CONVEYOR_DATABASE', `could not open a pull request for ${input.head} after 5 attempts`);
  }

  async getPullRequest(repo: string, number: number): Promise<PullRequest | null> {
    const row = await this.o.knex('forge_git_pull_requests').where({ repo, number }).first();
    return row ? this.#toPr(row) : null;
  }

  async listPullRequests(filter: { state?: 'open' | 'closed' } = {}): Promise<PullRequest[]> {
    const q = this.o.knex('forge_git_pull_requests').orderBy('id', 'asc');
    if (filter.state) q.where({ state: filter.state });
    return (await q).map((r: Row) => this.#toPr(r));
  }

  async mergePullRequest(repo: string, number: number, options: MergeOptions = {}): Promise<PullRequest> {
    return this.#merges.run(repo, async () => {
      const row = await this.o.knex('forge_git_pull_requests').where({ repo, number }).first();
      if (!row) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `no pull request #${number} in ${repo}`);
      if (row.merged === true || row.merged === 1) return this.#toPr(row);
      if (row.state !== 'open') throw new ConveyorError('CONVEYOR_INPUT_INVALID', `pull request #${number} of ${repo} is closed`);
      const out = await mergeInOrigin(this.origin(repo), {
        base: String(row.base),
        head: String(row.head),
        message: `Merge branch '${row.head}' (#${number})\n\n${row.title}`,
        author: this.o.author,
        expectedHead: options.headSha ?? null,
      });
      const now = this.o.clock.now();
      await this.o.knex('forge_git_pull_requests').where({ id: row.id, state: 'open' }).update({ state: 'closed', merged: true, merge_sha: out.sha, merged_at: now, updated_at: now });
      return this.#toPr({ ...row, state: 'closed', merged: true, merge_sha: out.sha });
    });
  }

  async combinedStatus(repo: string, ref: string): Promise<CombinedStatus> {
    const sha = /^[0-9a-f]{40}$/.test(ref) ? ref : await this.branchHeadSha(repo, ref);
    if (!sha) return { state: '', sha: ref, contexts: [] };
    const statuses = await this.o.ciStatuses.forSha(repo, sha);
    const contexts = statuses.map((s) => ({ context: s.context, state: s.state, targetUrl: s.targetUrl }));
    if (!statuses.length) return { state: '', sha, contexts };
    const st = statuses.map((s) => s.state);
    const state = st.some((s) => s === 'failure' || s === 'error') ? 'failure' : st.some((s) => s === 'pending') ? 'pending' : 'success';
    return { state, sha, contexts };
  }

  async deleteBranch(repo: string, branch: string): Promise<void> {
    // Fail closed: without the repo's config its protected branches are unknown.
    if (!this.o.repos[repo]) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `refusing to delete "${branch}" of ${repo}: the repo is not configured (repos.${repo})`);
    assertTaskBranch(branch, this.#cfg(repo));
    await git(['update-ref', '-d', `refs/heads/${branch}`], { cwd: this.origin(repo), allowFailure: true });
  }

  /**
   * With `publicBaseUrl`: a web link in Gitea's shape. Without: a git coordinate a
   * person can open with `git show` (`<origin>#<ref>:<file>`), not a fake URL.
   */
  publicUrl(repo: string, file: string, ref: string): string {
    if (this.o.publicBaseUrl) {
      const base = `${this.o.publicBaseUrl.replace(/\/$/, '')}/${repo}`;
      return ref ? `${base}/src/branch/${ref}/${file}` : `${base}/${file}`;
    }
    return `${this.origin(repo)}#${ref ? `${ref}:` : ''}${file}`;
  }

  /** Creates a bare origin with one commit on main when it does not exist (`initMissing`). */
  async initOrigin(repo: string, files: Record<string, string>): Promise<boolean> {
    const origin = this.origin(repo);
    // A repository with no ref at all is one whose creation was cut short before main.
    if ((await isBareRepository(origin)) && (await git(['for-each-ref', '--count=1'], { cwd: origin })).stdout.trim()) return false;
    // Made under a temporary name and renamed once main exists: a kill during the
    // first start used to leave a HEAD that every later start took for a repository.
    if (fs.existsSync(origin)) {
      // Only what a cut-short `git init --bare` leaves is ours to replace; anything
      // else there (a working repository, someone's files) is left alone.
      if (fs.readdirSync(origin).some((f) => !['HEAD', 'config', 'description', 'hooks', 'info', 'objects', 'refs', 'branches'].includes(f))) return false;
      fs.rmSync(origin, { recursive: true, force: true });
    }
    const main = this.#cfg(repo).mainBranch;
    await createAtomically(origin, async (tmp) => {
      await git(['init', '--quiet', '--bare', `--initial-branch=${main}`, tmp], { cwd: tmp });
      const env = { GIT_AUTHOR_NAME: this.o.author.name, GIT_AUTHOR_EMAIL: this.o.author.email, GIT_COMMITTER_NAME: this.o.author.name, GIT_COMMITTER_EMAIL: this.o.author.email };
      let tree = '';
      for (const [name, content] of Object.entries(files)) {
        const blob = (await git(['hash-object', '-w', '--stdin'], { cwd: tmp, input: content })).stdout;
        tree += `100644 blob ${blob}\t${name}\n`;
      }
      const treeSha = (await git(['mktree'], { cwd: tmp, input: tree })).stdout;
      const commit = (await git(['commit-tree', treeSha, '-m', 'initial commit'], { cwd: tmp, env })).stdout;
      faultPoint('forge-git.origin-init');
      await git(['update-ref', `refs/heads/${main}`, commit], { cwd: tmp });
    });
    return true;
  }
}
