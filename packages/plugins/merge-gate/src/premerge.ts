import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentGit, assertTaskBranch, git, type GitResult } from '@conveyor/core';

/** What the rebase of a task branch onto the current main did. */
export type RebaseOutcome =
  | { kind: 'up_to_date'; sha: string; main: string }
  | { kind: 'rebased'; before: string; sha: string; main: string }
  | { kind: 'conflict'; before: string; main: string; output: string };

export interface PremergeRepo {
  /** The origin's clone URL or absolute path (may carry a credential: it is stored in no file). */
  url: string;
  mainBranch: string;
  protectedBranches: readonly string[];
}

const AUTHOR = (a: { name: string; email: string }) => ({ GIT_AUTHOR_NAME: a.name, GIT_AUTHOR_EMAIL: a.email, GIT_COMMITTER_NAME: a.name, GIT_COMMITTER_EMAIL: a.email });

/**
 * A repository only Conveyor controls, made fresh for one merge attempt in a temp
 * directory (never the agent's worktree: its `.git` may hold hooks and config). The
 * files it checks out are an agent's, so every command runs through `agentGit`
 * (no hooks, no fsmonitor, no host config, no filter driver); the origin URL travels in the
 * environment of the fetch and push alone.
 */
export class PremergeCheckout {
  private constructor(
    readonly dir: string,
    private readonly repo: PremergeRepo,
    private readonly branch: string,
  ) {}

  /** Fetches main and the task branch into a new temp repository. Refuses a main or protected branch. */
  static async create(repo: PremergeRepo, branch: string): Promise<PremergeCheckout> {
    assertTaskBranch(branch, repo);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-premerge-'));
    const co = new PremergeCheckout(dir, repo, branch);
    try {
      await agentGit(['init', '--quiet', '--template=', `--initial-branch=conveyor-premerge`, dir], { cwd: dir });
      await co.#origin(['fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${repo.mainBranch}:refs/remotes/origin/${repo.mainBranch}`, `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
    } catch (err) {
      co.dispose();
      throw err;
    }
    return co;
  }

  // Plain `git` with the host's SSH/CA variables (the origin may be remote; agentGit
  // allows local paths only). Safe here: the repository is Conveyor's, made without
  // hooks, and fetch and push run no filter or checkout.
  #origin(args: readonly string[]): Promise<GitResult> {
    return git(args, { cwd: this.dir, env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'remote.origin.url', GIT_CONFIG_VALUE_0: this.repo.url } });
  }

  async #rev(ref: string): Promise<string> {
    return (await agentGit(['rev-parse', '--verify', `${ref}^{commit}`], { cwd: this.dir })).stdout;
  }

  /** Checks the task branch's origin head out as it is (no rebase); returns its sha. */
  async checkout(): Promise<string> {
    const head = await this.#rev(`refs/remotes/origin/${this.branch}`);
    await agentGit(['checkout', '--quiet', '-B', this.branch, head], { cwd: this.dir });
    return head;
  }

  /**
   * Rebases the task branch onto `origin/<main>` and checks the result out. `always`
   * false skips the rebase when the branch already contains main. Up to date is a
   * no-op either way (same sha: nothing to push, CI not re-triggered).
   */
  async rebase(always: boolean, author: { name: string; email: string }): Promise<RebaseOutcome> {
    const { mainBranch } = this.repo;
    const before = await this.#rev(`refs/remotes/origin/${this.branch}`);
    const main = await this.#rev(`refs/remotes/origin/${mainBranch}`);
    await agentGit(['checkout', '--quiet', '-B', this.branch, before], { cwd: this.dir });
    const contains = (await agentGit(['merge-base', '--is-ancestor', main, before], { cwd: this.dir, allowFailure: true })).exitCode === 0;
    if (contains && !always) return { kind: 'up_to_date', sha: before, main };
    const res = await agentGit(['rebase', '--quiet', main], { cwd: this.dir, env: AUTHOR(author), allowFailure: true });
    if (res.exitCode !== 0) {
      await agentGit(['rebase', '--abort'], { cwd: this.dir, allowFailure: true });
      return { kind: 'conflict', before, main, output: `${res.stdout}\n${res.stderr}`.trim() };
    }
    const sha = await this.#rev('HEAD');
    return sha === before ? { kind: 'up_to_date', sha, main } : { kind: 'rebased', before, sha, main };
  }

  /**
   * Commits `files` (paths relative to the checkout) on top of the checked-out
   * branch as Conveyor, and returns the new sha (not pushed yet). Hooks are off.
   */
  async commitFiles(files: Record<string, string>, message: string, author: { name: string; email: string }): Promise<string> {
    for (const [rel, content] of Object.entries(files)) {
      const file = path.resolve(this.dir, rel);
      if (!file.startsWith(this.dir + path.sep)) throw new Error(`refusing to write ${rel}: outside the checkout`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
    await agentGit(['add', '--', ...Object.keys(files)], { cwd: this.dir });
    await agentGit(['commit', '--quiet', '--no-verify', '-m', message], { cwd: this.dir, env: AUTHOR(author) });
    return this.#rev('HEAD');
  }

  /**
   * Pushes the rebased branch, task branch only, with `--force-with-lease` pinned to
   * the sha the rebase started from: a push by anyone since then makes it fail.
   */
  async push(before: string, sha: string): Promise<void> {
    assertTaskBranch(this.branch, this.repo);
    const ref = `refs/heads/${this.branch}`;
    await this.#origin(['push', '--quiet', '--no-verify', `--force-with-lease=${ref}:${before}`, 'origin', `${sha}:${ref}`]);
  }

  /**
   * The paths `head` changed since `base`, or null when `head` does not descend
   * from `base` (a rebase or a force-push since: not what was tested).
   */
  async changedSince(base: string, head: string): Promise<string[] | null> {
    const known = await agentGit(['cat-file', '-e', `${head}^{commit}`], { cwd: this.dir, allowFailure: true });
    if (known.exitCode !== 0) return null;
    const descends = await agentGit(['merge-base', '--is-ancestor', base, head], { cwd: this.dir, allowFailure: true });
    if (descends.exitCode !== 0) return null;
    const out = (await agentGit(['diff', '--name-only', '--no-renames', '-z', base, head], { cwd: this.dir })).stdout;
    return out.split('\0').filter(Boolean);
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Resolves a configured repo URL: a local path against the process's directory (as the workspace does). */
export function originUrl(url: string): string {
  const isRemote = (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file:')) || /^[^/]+@[^/]+:/.test(url);
  return isRemote ? url : path.resolve(url.replace(/^file:\/\//, ''));
}
