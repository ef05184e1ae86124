import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Task, TokenUsage } from '../domain.js';
import type { AgentRunner, AgentRunRequest, AgentRunResult } from '../ports/agent-runner.js';
import { artifactPath, type Artifact, type ArtifactReader } from '../ports/artifact-reader.js';
import { DEFAULT_PIPELINE, stageIndex, type Pipeline } from '../pipeline/pipeline.js';
import type { CombinedStatus, ForgePort, MergeOptions, PullRequest } from '../ports/forge.js';
import type { Notification, NotifierPort } from '../ports/notifier.js';
import type { CommentOptions, TrackerPort, TrackerRef } from '../ports/tracker.js';
import type { CommitResult, WorkspacePort } from '../ports/workspace.js';

export type ScriptedRun = Partial<AgentRunResult> & {
  /** Front matter + body written as the stage's artefact when the run succeeds. */
  artifact?: { frontMatter: Record<string, unknown>; body?: string };
  /** Waits this long (honouring the abort signal) before answering. */
  delayMs?: number;
  /** Throws instead of answering (a crashed runner). */
  throws?: string;
  /** Writes no artefact even on success (an agent whose writes were denied). */
  noArtifact?: boolean;
  /** Answers only once this settles (or the run is aborted): a test decides when the agent ends. */
  until?: Promise<unknown>;
};

/**
 * An in-process agent runner: answers each call from a script keyed by role (or a
 * function), records every request, and can write the stage's artefact into an
 * `InMemoryArtifactReader`, like a real agent writing to its branch.
 */
export class FakeAgentRunner implements AgentRunner {
  readonly name = 'fake';
  readonly calls: AgentRunRequest[] = [];
  #nextPid = 40000;

  constructor(
    private readonly script: (req: AgentRunRequest, callIndex: number) => ScriptedRun = () => ({}),
    private readonly artifacts?: InMemoryArtifactReader,
  ) {}

  async run(req: AgentRunRequest): Promise<AgentRunResult> {
    const index = this.calls.push(req) - 1;
    const s = this.script(req, index);
    const pid = this.#nextPid++;
    await req.onSpawn?.(pid);
    if (s.delayMs) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, s.delayMs);
        req.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
      if (req.signal.aborted) return { pid, exitCode: null, usage: null, result: null, logPath: null, transient: true, error: 'aborted' };
    }
    if (s.until) {
      await Promise.race([s.until, new Promise<void>((resolve) => req.signal.addEventListener('abort', () => resolve(), { once: true }))]);
      if (req.signal.aborted) return { pid, exitCode: null, usage: null, result: null, logPath: null, transient: true, error: 'aborted' };
    }
    if (s.throws) throw new Error(s.throws);
    const exitCode = s.exitCode === undefined ? 0 : s.exitCode;
    if (exitCode === 0 && this.artifacts && !s.noArtifact) {
      this.artifacts.put(req.task, req.stage, s.artifact?.frontMatter ?? {}, s.artifact?.body ?? `${req.role} notes`);
    }
    return {
      pid,
      exitCode,
      usage: s.usage === undefined ? fakeUsage() : s.usage,
      result: s.result === undefined ? (exitCode === 0 ? `${req.role} done` : null) : s.result,
      logPath: s.logPath ?? null,
      ...(s.transient !== undefined ? { transient: s.transient } : {}),
      ...(s.error ? { error: s.error } : {}),
      ...(s.budgetSpent ? { budgetSpent: true } : {}),
      ...(s.permissionDenials ? { permissionDenials: s.permissionDenials } : {}),
    };
  }
}

export function fakeUsage(overrides: Partial<TokenUsage> = {}): TokenUsage {
  return { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 5000, cacheCreationTokens: 100, costUsd: 0.0123, model: 'sonnet-4', ...overrides };
}

/** Artefacts kept in memory, keyed by task and stage. */
export class InMemoryArtifactReader implements ArtifactReader {
  readonly #map = new Map<string, Artifact>();

  constructor(private readonly pipeline: Pipeline = DEFAULT_PIPELINE) {}

  put(task: Pick<Task, 'id' | 'workItemId'>, stage: string, frontMatter: Record<string, unknown>, body = ''): void {
    const index = Math.max(0, stageIndex(this.pipeline, stage));
    this.#map.set(`${task.id}:${stage}`, { path: artifactPath(task.workItemId, index, stage), frontMatter, body });
  }

  async read(task: Task, stage: string): Promise<Artifact | null> {
    return this.#map.get(`${task.id}:${stage}`) ?? null;
  }
}

/** A forge in memory: branch heads you set, PRs it records. */
export class FakeForge implements ForgePort {
  readonly name = 'fake-forge';
  readonly heads = new Map<string, string>();
  readonly pulls: PullRequest[] = [];
  readonly deleted: string[] = [];

  setHead(repo: string, branch: string, sha: string): void {
    this.heads.set(`${repo}:${branch}`, sha);
  }
  async branchHeadSha(repo: string, branch: string): Promise<string | null> {
    return this.heads.get(`${repo}:${branch}`) ?? null;
  }
  async ensurePullRequest(input: { repo: string; head: string; base: string; title: string; body: string }): Promise<PullRequest> {
    const open = this.pulls.find((p) => p.repo === input.repo && p.head === input.head && p.state === 'open');
    if (open) return open;
    const pr: PullRequest = { repo: input.repo, number: this.pulls.length + 1, head: input.head, base: input.base, url: `fake://${input.repo}/pulls/${this.pulls.length + 1}`, state: 'open', merged: false, headSha: this.heads.get(`${input.repo}:${input.head}`) ?? null };
    this.pulls.push(pr);
    return pr;
  }
  async getPullRequest(repo: string, number: number): Promise<PullRequest | null> {
    const pr = this.pulls.find((p) => p.repo === repo && p.number === number);
    if (!pr) return null;
    // An open PR follows its branch, as on a real forge.
    if (!pr.merged) pr.headSha = this.heads.get(`${repo}:${pr.head}`) ?? pr.headSha;
    return pr;
  }
  async mergePullRequest(repo: string, number: number, options: MergeOptions = {}): Promise<PullRequest> {
    const pr = this.pulls.find((p) => p.repo === repo && p.number === number);
    if (!pr) throw new Error(`no PR ${repo}#${number}`);
    if (pr.merged) return pr;
    const head = this.heads.get(`${repo}:${pr.head}`) ?? pr.headSha;
    if (options.headSha && head !== options.headSha) throw new Error(`head out of date: ${pr.head} is at ${head}, not ${options.headSha}`);
    pr.merged = true;
    pr.state = 'closed';
    return pr;
  }
  async combinedStatus(_repo: string, ref: string): Promise<CombinedStatus> {
    return { state: '', sha: ref, contexts: [] };
  }
  async deleteBranch(repo: string, branch: string): Promise<void> {
    if (branch === 'main') throw new Error('refusing to delete main');
    this.deleted.push(`${repo}:${branch}`);
  }
  publicUrl(repo: string, p: string, ref: string): string {
    return `fake://${repo}/src/${ref}/${p}`;
  }
}

/** A tracker that records what Conveyor told it. */
export class FakeTracker implements TrackerPort {
  readonly name = 'fake-tracker';
  readonly statuses: { ref: TrackerRef; status: string; reason: string }[] = [];
  readonly comments: { ref: TrackerRef; body: string; idempotencyKey?: string }[] = [];
  async setStatus(ref: TrackerRef, status: string, options: { reason: string }): Promise<void> {
    this.statuses.push({ ref, status, reason: options.reason });
  }
  /** Like Plane's `external_id`: a key seen before posts nothing. */
  async addComment(ref: TrackerRef, body: string, options: CommentOptions = {}): Promise<void> {
    if (options.idempotencyKey && this.comments.some((c) => c.idempotencyKey === options.idempotencyKey)) return;
    this.comments.push({ ref, body, ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}) });
  }
}

export class RecordingNotifier implements NotifierPort {
  readonly name = 'recording';
  readonly sent: Notification[] = [];
  async notify(n: Notification): Promise<void> {
    this.sent.push(n);
  }
}

/**
 * One temp directory per task; no git (core's `GitWorkspace` is tested on its own).
 * `commitAndPush` hands out a fresh fake sha per push and reports it to `onPush`
 * (the test kit moves the fake forge's branch head there).
 */
export class TempWorkspace implements WorkspacePort {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-ws-'));
  readonly pushes: { taskId: number; branch: string; sha: string; message: string }[] = [];
  onPush: ((task: Task, sha: string) => void) | null = null;
  /** Task ids whose agent job ended (`jobEnded`), in order. */
  readonly ended: number[] = [];
  onJobEnded: ((task: Task) => void) | null = null;

  jobEnded(task: Task): void {
    this.ended.push(task.id);
    this.onJobEnded?.(task);
  }

  async commitAndPush(task: Task, message: string): Promise<CommitResult> {
    const sha = `fake${String(this.pushes.length + 1).padStart(4, '0')}${task.id}`;
    this.pushes.push({ taskId: task.id, branch: task.branch, sha, message });
    this.onPush?.(task, sha);
    return { sha, committed: true };
  }
  async prepare(task: Task): Promise<string> {
    const dir = path.join(this.root, task.branch.replace(/[^a-zA-Z0-9._-]/g, '_'));
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }
  worktreeOf(task: Task): string | null {
    const dir = path.join(this.root, task.branch.replace(/[^a-zA-Z0-9._-]/g, '_'));
    return fs.existsSync(dir) ? dir : null;
  }
  async cleanup(task: Task): Promise<void> {
    fs.rmSync(path.join(this.root, task.branch.replace(/[^a-zA-Z0-9._-]/g, '_')), { recursive: true, force: true });
  }
  dispose(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
