import fs from 'node:fs';
import path from 'node:path';
import type { Task } from '../domain.js';
import { ConveyorError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RepoConfig } from '../config/core-schema.js';
import { artifactPath, type Artifact, type ArtifactReader } from '../ports/artifact-reader.js';
import type { CommitResult, WorkspacePort } from '../ports/workspace.js';
import { stageIndex, type Pipeline } from '../pipeline/pipeline.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { parseFrontMatter } from './front-matter.js';
import { assertTaskBranch, git, sanitizeKey } from './git.js';

export interface GitWorkspaceOptions {
  /** Workspace root; mirrors and worktrees live below it. */
  root: string;
  repos: Readonly<Record<string, RepoConfig>>;
  pipeline: Pipeline;
  author: { name: string; email: string };
  logger: Logger;
}

/**
 * Core's workspace manager: one bare mirror per repository and one git worktree
 * per task branch under the workspace root. Every operation on a repository is
 * serialised in-process; every path is checked to stay inside the root.
 *
 * The agent always starts on the remote state of its branch: `prepare` fetches and
 * resets the worktree to `origin/<branch>` (or cuts the branch from the freshest
 * `origin/<main>` when it does not exist yet — the deferred cut of serial-gate).
 */
export class GitWorkspace implements WorkspacePort, ArtifactReader {
  readonly #root: string;
  readonly #locks = new KeyedMutex();

  constructor(private readonly opts: GitWorkspaceOptions) {
    this.#root = path.resolve(opts.root);
  }

  #repo(repo: string): RepoConfig & { url: string } {
    const cfg = this.opts.repos[repo];
    if (!cfg?.url) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `repos.${repo}.url is not configured: Conveyor does not know where "${repo}" lives`);
    // A local path is taken relative to the process's directory, not the mirror's.
    const isRemote = (/^[a-z][a-z0-9+.-]*:\/\//i.test(cfg.url) && !cfg.url.startsWith("file:")) || /^[^/]+@[^/]+:/.test(cfg.url);
    return { ...cfg, url: isRemote ? cfg.url : path.resolve(cfg.url.replace(/^file:\/\//, '')) } as RepoConfig & { url: string };
  }

  /** The bare mirror of a repository. */
  mirrorDir(repo: string): string {
    return this.#inside(path.join(this.#root, 'mirrors', `${sanitizeKey(repo)}.git`));
  }

  /** The task's worktree: `<root>/worktrees/<repo key>/<branch key>`. */
  worktreeDir(task: Pick<Task, 'repo' | 'branch'>): string {
    return this.#inside(path.join(this.#root, 'worktrees', sanitizeKey(task.repo), sanitizeKey(task.branch)));
  }

  #inside(p: string): string {
    const resolved = path.resolve(p);
    if (!resolved.startsWith(this.#root + path.sep)) {
      throw new ConveyorError('CONVEYOR_INPUT_INVALID', `workspace path ${resolved} escapes the workspace root ${this.#root}`);
    }
    return resolved;
  }

  async #ensureMirror(repo: string): Promise<string> {
    const dir = this.mirrorDir(repo);
    if (!fs.existsSync(path.join(dir, 'HEAD'))) {
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      await git(['clone', '--bare', '--quiet', this.#repo(repo).url, dir], { cwd: this.#root });
      await git(['config', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*'], { cwd: dir });
    }
    // Agents work in worktrees of this mirror: give them no push URL, so only
    // commitAndPush (which names the task branch and the real URL) can push.
    await git(['config', 'remote.origin.pushurl', 'no-push://agents-cannot-push-use-conveyor'], { cwd: dir });
    await git(['fetch', '--prune', '--quiet', 'origin'], { cwd: dir });
    return dir;
  }

  async #remoteHas(mirror: string, branch: string): Promise<boolean> {
    const res = await git(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`], { cwd: mirror, allowFailure: true });
    return res.exitCode === 0;
  }

  async prepare(task: Task): Promise<string> {
    fs.mkdirSync(this.#root, { recursive: true });
    return this.#locks.run(task.repo, async () => {
      const cfg = this.#repo(task.repo);
      assertTaskBranch(task.branch, cfg);
      const mirror = await this.#ensureMirror(task.repo);
      const dir = this.worktreeDir(task);
      const remote = (await this.#remoteHas(mirror, task.branch)) ? `origin/${task.branch}` : `origin/${cfg.mainBranch}`;
      if (!fs.existsSync(path.join(dir, '.git'))) {
        await git(['worktree', 'prune'], { cwd: mirror });
        fs.mkdirSync(path.dirname(dir), { recursive: true });
        await git(['worktree', 'add', '--quiet', '--force', '-B', task.branch, dir, remote], { cwd: mirror });
        this.opts.logger.info({ taskId: task.id, branch: task.branch, from: remote, worktree: dir }, 'worktree created');
      } else {
        await git(['checkout', '--quiet', '-B', task.branch, remote], { cwd: dir });
      }
      // Start from exactly the remote state: leftovers of a crashed run must not leak in.
      await git(['reset', '--quiet', '--hard', remote], { cwd: dir });
      await git(['clean', '-fdq'], { cwd: dir });
      return dir;
    });
  }

  async commitAndPush(task: Task, message: string): Promise<CommitResult> {
    return this.#locks.run(task.repo, async () => {
      const cfg = this.#repo(task.repo);
      assertTaskBranch(task.branch, cfg);
      const dir = this.worktreeDir(task);
      if (!fs.existsSync(path.join(dir, '.git'))) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `no worktree for ${task.branch} at ${dir}`);
      await git(['fetch', '--quiet', 'origin'], { cwd: dir });
      const current = (await git(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: dir })).stdout;
      // An agent may have switched branches: bring its changes back onto the task branch.
      if (current !== task.branch) await git(['checkout', '--quiet', task.branch], { cwd: dir });
      await git(['add', '-A'], { cwd: dir });
      const dirty = (await git(['status', '--porcelain'], { cwd: dir })).stdout !== '';
      const { name, email } = this.opts.author;
      if (dirty) {
        await git(['commit', '--quiet', '-m', message], {
          cwd: dir,
          env: { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email },
        });
      }
      const sha = (await git(['rev-parse', 'HEAD'], { cwd: dir })).stdout;
      // Never forced: a remote branch that moved under us (a rebase) makes this fail, and the attempt is retried.
      await git(['push', '--quiet', cfg.url, `HEAD:refs/heads/${task.branch}`], { cwd: dir });
      return { sha, committed: dirty };
    });
  }

  async cleanup(task: Task): Promise<void> {
    await this.#locks.run(task.repo, async () => {
      const dir = this.worktreeDir(task);
      const mirror = this.mirrorDir(task.repo);
      if (fs.existsSync(mirror)) await git(['worktree', 'remove', '--force', dir], { cwd: mirror, allowFailure: true });
      fs.rmSync(dir, { recursive: true, force: true });
      if (fs.existsSync(mirror)) await git(['worktree', 'prune'], { cwd: mirror, allowFailure: true });
    });
  }

  /** Reads a stage's artefact from the pushed branch (what the forge has, not the worktree). */
  async read(task: Task, stage: string): Promise<Artifact | null> {
    const file = artifactPath(task.workItemId, stageIndex(this.opts.pipeline, stage), stage);
    return this.#locks.run(task.repo, async () => {
      const mirror = await this.#ensureMirror(task.repo);
      const res = await git(['show', `refs/remotes/origin/${task.branch}:${file}`], { cwd: mirror, allowFailure: true });
      if (res.exitCode !== 0) return null;
      return { path: file, ...parseFrontMatter(res.stdout) };
    });
  }

  /** Head sha of a branch on origin, after a fetch; null when absent. */
  async remoteHead(repo: string, branch: string): Promise<string | null> {
    return this.#locks.run(repo, async () => {
      const mirror = await this.#ensureMirror(repo);
      const res = await git(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`], { cwd: mirror, allowFailure: true });
      return res.exitCode === 0 ? res.stdout : null;
    });
  }
}
