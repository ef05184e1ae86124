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
import { agentGit } from './agent-git.js';
import { assertTaskBranch, git, isValidBranchName, sanitizeKey, type GitResult } from './git.js';
import { createAtomically, hasRepositoryFiles, isBareRepository } from './atomic-repo.js';
import { BlobCache } from './blob-cache.js';
import { faultPoint } from '../util/fault-point.js';

export interface GitWorkspaceOptions {
  /** Workspace root; mirrors and worktrees live below it. */
  root: string;
  repos: Readonly<Record<string, RepoConfig>>;
  pipeline: Pipeline;
  author: { name: string; email: string };
  logger: Logger;
}

/**
 * Core's workspace manager. Two kinds of repository, never mixed:
 *
 * - **The mirror** (`<root>/mirrors/<repo>.git`): bare, written only by Conveyor.
 *   It fetches from and pushes to the origin; the origin's URL (which may carry a
 *   credential) is handed to those commands alone, through the environment
 *   (`GIT_CONFIG_*`), and is stored in no file.
 * - **The agent's repository** (`<root>/worktrees/<repo key>/<branch key>`): a
 *   standalone repository with no remote, whose objects come read-only from the
 *   mirror (`objects/info/alternates`). Its `.git` is recreated by every `prepare`,
 *   so nothing an agent planted there (hooks, config, filters) outlives its run.
 *
 * Conveyor takes the agent's work without running git with the agent's `.git` as
 * the repository for anything but one fetch: the agent's commits are fetched into
 * the mirror, and its uncommitted files are committed on top through a
 * Conveyor-owned index with the worktree as plain files. Every git command that
 * touches the agent's directory goes through `agentGit` (hardened config, the
 * agent's environment). The agent always starts on the remote state of its branch
 * (or a branch cut from the freshest `origin/<main>`: the deferred cut of serial-gate).
 */
export class GitWorkspace implements WorkspacePort, ArtifactReader {
  readonly #root: string;
  /** Per repository: the mirror's creation, its fetches and what reads FETCH_HEAD after one. */
  readonly #locks = new KeyedMutex();
  /**
   * Per worktree: its preparation, commit and push, and removal. The git work of
   * two tasks' worktrees (each with its own index) runs side by side; they share
   * only the mirror's object store, which git writes safely from several processes.
   */
  readonly #trees = new KeyedMutex();
  /**
   * Per worktree: the agent's head Conveyor last built on and the commit it pushed
   * on top. A second `commitAndPush` before the next `prepare` (a plugin's finalizer
   * adding a file) builds on what was pushed, without a git process to move the
   * agent's branch. Cleared by `prepare`.
   */
  readonly #pushed = new Map<string, { agentHead: string; sha: string; tree: string }>();
  /** Per worktree: the commit `prepare` started the agent on, and its tree. */
  readonly #starts = new Map<string, { sha: string; tree: string }>();
  /**
   * Per worktree: the head this process pushed for the job running now, and where
   * the task stood (stage, developer retries) when it did. Until that job ends
   * (`jobEnded`, after the advance that follows its finish) and while the task has
   * not moved, no other job of the task can push the branch: its artefacts are read
   * at that commit, with no fetch first.
   */
  readonly #current = new Map<string, { sha: string; at: string }>();
  /** Per index file: the tree this process last wrote from it (the index holds exactly that tree). */
  readonly #indexTrees = new Map<string, string>();
  /**
   * The config `git init --template=` wrote for the first agent repository of this
   * process (its probes of this file system included): later ones get the same
   * files written directly, without a git process.
   */
  #agentConfig: string | null = null;
  /** Mirrors found usable by this process: not asked again (their files still are checked). */
  readonly #mirrorsOk = new Set<string>();
  readonly #blobs = new BlobCache();

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

  /** Conveyor's own index of a task's worktree (outside it, so the agent cannot edit it). */
  #indexFile(task: Pick<Task, 'repo' | 'branch'>): string {
    return this.#inside(path.join(this.#root, 'index', sanitizeKey(task.repo), sanitizeKey(task.branch)));
  }

  /**
   * What an agent's sandbox must show besides system paths: its worktree
   * (read-write) and the mirror's objects its repository borrows (read-only).
   */
  sandboxPaths(task: Pick<Task, 'repo' | 'branch'>): { readWrite: string[]; readOnly: string[] } {
    return { readWrite: [this.worktreeDir(task)], readOnly: [path.join(this.mirrorDir(task.repo), 'objects')] };
  }

  #inside(p: string): string {
    const resolved = path.resolve(p);
    if (!resolved.startsWith(this.#root + path.sep)) {
      throw new ConveyorError('CONVEYOR_INPUT_INVALID', `workspace path ${resolved} escapes the workspace root ${this.#root}`);
    }
    return resolved;
  }

  /** Runs git in the mirror against the origin; the URL travels in this command's environment only. */
  #originGit(repo: string, args: readonly string[], cwd = this.mirrorDir(repo)): Promise<GitResult> {
    return git(args, { cwd, env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'remote.origin.url', GIT_CONFIG_VALUE_0: this.#repo(repo).url } });
  }

  async #ensureMirror(repo: string): Promise<string> {
    const dir = this.mirrorDir(repo);
    if (this.#mirrorsOk.has(dir) && hasRepositoryFiles(dir)) {
      await this.#fetchMirror(repo);
      return dir;
    }
    this.#mirrorsOk.delete(dir);
    if (!(await isBareRepository(dir))) {
      // A mirror is made under a temporary name and renamed once it holds the
      // origin's refs: a kill during its first creation used to leave a `HEAD` with
      // nothing behind it, taken as ready by every later start ("not a valid object
      // name: 'origin/main'" for every task). One left by an older version is
      // repaired here the same way.
      if (fs.existsSync(dir)) {
        this.opts.logger.warn({ repo, mirror: dir }, 'the mirror is not a usable repository (a creation cut short?); making it again');
        fs.rmSync(dir, { recursive: true, force: true });
      }
      await createAtomically(dir, async (tmp) => {
        await git(['init', '--quiet', '--bare', '--template=', tmp], { cwd: tmp });
        faultPoint('workspace.mirror-init');
        await this.#originGit(repo, ['fetch', '--prune', '--quiet', '--no-tags', 'origin', '+refs/heads/*:refs/remotes/origin/*'], tmp);
      });
    } else if (/\[remote "origin"\]/.test(readText(path.join(dir, 'config')))) {
      // A mirror made by an earlier version kept the URL in its config, shared with
      // the agents' worktrees: take it out once.
      await git(['config', '--remove-section', 'remote.origin'], { cwd: dir, allowFailure: true });
    }
    await this.#fetchMirror(repo);
    this.#mirrorsOk.add(dir);
    return dir;
  }

  async #fetchMirror(repo: string): Promise<void> {
    await this.#originGit(repo, ['fetch', '--prune', '--quiet', '--no-tags', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
  }

  /** The heads (sha and tree) of `origin/<main>` and `origin/<branch>` (null when the branch does not exist yet). */
  async #remoteHeads(mirror: string, main: string, branch: string): Promise<{ main: Head | null; branch: Head | null }> {
    const refs = [`refs/remotes/origin/${main}`, `refs/remotes/origin/${branch}`];
    const out = (await git(['for-each-ref', '--format=%(refname) %(objectname) %(tree)', ...refs], { cwd: mirror })).stdout;
    const heads = new Map(out.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string, string | undefined]).map(([ref, sha, tree]) => [ref, { sha, tree: tree || null }]));
    return { main: heads.get(refs[0]!) ?? null, branch: heads.get(refs[1]!) ?? null };
  }

  /** The worktree as the last run left it, when it is a repository here (see `WorkspacePort.worktreeOf`). */
  worktreeOf(task: Task): string | null {
    const dir = this.worktreeDir(task);
    return isPlainDir(dir) && isPlainDir(path.join(dir, '.git')) ? dir : null;
  }

  async prepare(task: Task): Promise<string> {
    fs.mkdirSync(this.#root, { recursive: true });
    const cfg = this.#repo(task.repo);
    assertTaskBranch(task.branch, cfg);
    const dir = this.worktreeDir(task);
    return this.#trees.run(dir, async () => {
      const { mirror, heads } = await this.#locks.run(task.repo, async () => {
        const m = await this.#ensureMirror(task.repo);
        return { mirror: m, heads: await this.#remoteHeads(m, cfg.mainBranch, task.branch) };
      });
      const startHead = heads.branch ?? heads.main;
      if (!startHead) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `"${cfg.mainBranch}" is not on the origin of ${task.repo}: nothing to start from`);
      // The agent may have left anything where its repository was (a `.git` file
      // pointing at the mirror, a symlink): only a plain directory is reused, and
      // its `.git` never is.
      if (!isPlainDir(dir)) fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      fs.rmSync(path.join(dir, '.git'), { recursive: true, force: true });
      this.#pushed.delete(dir);
      this.#current.delete(dir);
      this.#starts.delete(dir);
      const start = startHead.sha;
      const refs: [string, string][] = [[`refs/heads/${task.branch}`, start], [`refs/remotes/origin/${cfg.mainBranch}`, heads.main?.sha ?? start]];
      if (heads.branch) refs.push([`refs/remotes/origin/${task.branch}`, heads.branch.sha]);
      await this.#initAgentRepo(dir, task.branch, path.join(mirror, 'objects'), refs);
      // Start from exactly the remote state: leftovers of a crashed run must not
      // leak in (ignored files such as node_modules stay, as after a checkout).
      await agentGit(['reset', '--quiet', '--hard'], { cwd: dir });
      await agentGit(['clean', '-fdq'], { cwd: dir });
      if (startHead.tree) this.#starts.set(dir, { sha: start, tree: startHead.tree });
      this.opts.logger.info({ taskId: task.id, branch: task.branch, from: heads.branch ? `origin/${task.branch}` : `origin/${cfg.mainBranch}`, worktree: dir }, 'worktree prepared');
      return dir;
    });
  }

  /**
   * A new agent repository in `<dir>/.git`: what `git init --template=` makes (no
   * hooks, no info, the probed config), the mirror's objects as its alternate, and
   * `refs` as loose refs. The first one of this process is made by git itself.
   */
  async #initAgentRepo(dir: string, branch: string, objects: string, refs: readonly [string, string][]): Promise<void> {
    const gitDir = path.join(dir, '.git');
    if (this.#agentConfig === null) {
      await agentGit(['init', '--quiet', '--template=', `--initial-branch=${branch}`], { cwd: dir });
      this.#agentConfig = fs.readFileSync(path.join(gitDir, 'config'), 'utf8');
    } else {
      for (const sub of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) fs.mkdirSync(path.join(gitDir, sub), { recursive: true });
      fs.writeFileSync(path.join(gitDir, 'config'), this.#agentConfig);
      fs.writeFileSync(path.join(gitDir, 'HEAD'), `ref: refs/heads/${branch}\n`);
    }
    fs.writeFileSync(path.join(gitDir, 'objects', 'info', 'alternates'), `${objects}\n`);
    for (const [ref, sha] of refs) {
      const name = ref.replace(/^refs\/(heads|remotes\/origin)\//, '');
      if (!isValidBranchName(name) || !/^[0-9a-f]{40,64}$/.test(sha)) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `refusing to write ref "${ref}" → "${sha}"`);
      const file = path.join(gitDir, ...ref.split('/'));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${sha}\n`);
    }
  }

  async commitAndPush(task: Task, message: string): Promise<CommitResult> {
    const cfg = this.#repo(task.repo);
    assertTaskBranch(task.branch, cfg);
    const dir = this.worktreeDir(task);
    return this.#trees.run(dir, async () => {
      if (!isPlainDir(dir) || !isPlainDir(path.join(dir, '.git'))) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `no agent repository for ${task.branch} at ${dir}`);
      // No fetch from the origin first: the push below is never forced, so a branch
      // that moved there fails it, and the attempt is retried.
      const mirror = this.mirrorDir(task.repo);
      // The agent's commits on the task branch, read as objects into the mirror
      // (only upload-pack runs in the agent's repository, under agentGit's rules).
      // An agent that made no commit on the branch left its ref file as `prepare`
      // wrote it: then there is nothing to fetch (its files are taken below either way).
      const start = this.#starts.get(dir);
      let agentHead: string, agentTree: string;
      if (start && refFileIs(path.join(dir, '.git'), task.branch, start.sha)) {
        [agentHead, agentTree] = [start.sha, start.tree];
      } else {
        // FETCH_HEAD is the mirror's, shared with every fetch: read it under the repository's lock.
        [agentHead, agentTree] = await this.#locks.run(task.repo, async () => {
          await agentGit(['fetch', '--quiet', '--no-tags', '--no-recurse-submodules', path.join(dir, '.git'), `refs/heads/${task.branch}`], { cwd: mirror });
          return (await git(['rev-parse', 'FETCH_HEAD', 'FETCH_HEAD^{tree}'], { cwd: mirror })).stdout.split('\n') as [string, string];
        });
      }
      const before = this.#pushed.get(dir);
      const [base, baseTree] = before?.agentHead === agentHead ? [before.sha, before.tree] : [agentHead, agentTree];
      // Whatever the agent left uncommitted (on any branch it switched to) is
      // committed on top, through Conveyor's own index: the worktree is read as
      // files, with the mirror's config, so no filter or hook of the agent runs.
      const index = this.#indexFile(task);
      fs.mkdirSync(path.dirname(index), { recursive: true });
      const env = { GIT_DIR: mirror, GIT_WORK_TREE: dir, GIT_INDEX_FILE: index };
      // `--reset` (a `-m` that never refuses): entries that match keep their cached stat,
      // so only changed files are hashed again; an entry the index holds from an earlier
      // run (a crash, an agent run again that committed the same file) is replaced,
      // where `-m` stopped with "not uptodate" on every retry.
      // An index that holds the base's tree already (the last push from it started
      // this run) needs no reading again.
      const held = this.#indexTrees.get(index);
      this.#indexTrees.delete(index);
      if (held !== baseTree) await agentGit(['read-tree', '--reset', base], { cwd: dir, env });
      await agentGit(['add', '-A'], { cwd: dir, env });
      const tree = (await agentGit(['write-tree'], { cwd: dir, env })).stdout;
      this.#indexTrees.set(index, tree);
      const dirty = tree !== baseTree;
      let sha = base;
      if (dirty) {
        const { name, email } = this.opts.author;
        const author = { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
        sha = (await git(['commit-tree', tree, '-p', base, '-m', message], { cwd: mirror, env: author })).stdout;
      }
      // Never forced: a remote branch that moved under us (a rebase) makes this fail, and the attempt is retried.
      this.#current.delete(dir);
      await this.#originGit(task.repo, ['push', '--quiet', '--no-verify', 'origin', `${sha}:refs/heads/${task.branch}`]);
      this.#pushed.set(dir, { agentHead, sha, tree });
      this.#current.set(dir, { sha, at: position(task) });
      return { sha, committed: dirty };
    });
  }

  async cleanup(task: Task): Promise<void> {
    const dir = this.worktreeDir(task);
    await this.#trees.run(dir, async () => {
      this.#pushed.delete(dir);
      this.#current.delete(dir);
      this.#starts.delete(dir);
      fs.rmSync(dir, { recursive: true, force: true });
      this.#indexTrees.delete(this.#indexFile(task));
      fs.rmSync(this.#indexFile(task), { force: true });
    });
  }

  jobEnded(task: Task): void {
    this.#current.delete(this.worktreeDir(task));
  }

  /**
   * Reads a stage's artefact from the pushed branch (what the forge has, not the
   * worktree). During the job that pushed it, at the commit it pushed, with no fetch
   * (see `#current`); otherwise after a fetch.
   */
  async read(task: Task, stage: string): Promise<Artifact | null> {
    const file = artifactPath(task.workItemId, stageIndex(this.opts.pipeline, stage), stage);
    const current = this.#current.get(this.worktreeDir(task));
    if (current && current.at === position(task)) {
      const text = await this.#fileAt(task.repo, current.sha, file);
      return text === null ? null : { path: file, ...parseFrontMatter(text) };
    }
    return this.#locks.run(task.repo, async () => {
      const mirror = await this.#ensureMirror(task.repo);
      const res = await git(['show', `refs/remotes/origin/${task.branch}:${file}`], { cwd: mirror, allowFailure: true });
      if (res.exitCode !== 0) return null;
      return { path: file, ...parseFrontMatter(res.stdout) };
    });
  }

  /** A file of a commit the mirror holds (objects only: no lock, no fetch); cached, as a commit never changes. */
  async #fileAt(repo: string, sha: string, file: string): Promise<string | null> {
    const key = BlobCache.key(repo, sha, file);
    const cached = this.#blobs.get(key);
    if (cached !== undefined) return cached;
    const res = await git(['show', `${sha}:${file}`], { cwd: this.mirrorDir(repo), allowFailure: true });
    if (res.exitCode !== 0) return null;
    this.#blobs.set(key, res.stdout);
    return res.stdout;
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

interface Head {
  sha: string;
  /** Its tree; null when the ref is not a commit. */
  tree: string | null;
}

/** Where a task stands: every move changes its stage or (a rollback to the same stage) its developer retries. */
function position(task: Pick<Task, 'stage' | 'developerRetries'>): string {
  return `${task.stage}#${task.developerRetries}`;
}

/**
 * True when `<gitDir>/refs/heads/<branch>` is a plain file holding exactly `sha`
 * (a loose ref outranks a packed one, so the branch is at `sha`). Anything else an
 * agent left there (a commit, a symlink, a packed ref) reads as false.
 */
function refFileIs(gitDir: string, branch: string, sha: string): boolean {
  try {
    const file = path.join(gitDir, 'refs', 'heads', ...branch.split('/'));
    const st = fs.lstatSync(file);
    return st.isFile() && st.size <= 128 && fs.readFileSync(file, 'utf8') === `${sha}\n`;
  } catch {
    return false;
  }
}

function isPlainDir(p: string): boolean {
  try {
    return fs.lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
