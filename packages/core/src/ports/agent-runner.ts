import type { Task, TokenUsage } from '../domain.js';
import type { RunSandbox } from '../sandbox/agent-sandbox.js';

export interface AgentRunRequest {
  task: Task;
  stage: string;
  role: string;
  /** The task's worktree; the agent's cwd. */
  worktree: string;
  prompt: string;
  env: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
  /** Called as soon as the process exists, so its pid is stamped before waiting. */
  onSpawn?: (pid: number) => void | Promise<void>;
  /**
   * Set when agents are sandboxed: a runner must start its process through it
   * (`sandboxed(req.sandbox, …)`), adding any file it made for the agent (a
   * prompt file) as read-only. A runner that ignores it runs agents unsandboxed.
   */
  sandbox?: RunSandbox;
}

export interface AgentRunResult {
  pid: number | null;
  /** null when the process was killed by a signal or never exited normally. */
  exitCode: number | null;
  usage: TokenUsage | null;
  /** The agent's final answer; null on error. */
  result: string | null;
  logPath: string | null;
  /**
   * true: the failure is worth retrying (API error, rate limit, timeout, crash); the
   * worker spends one unit of the retry budget. false: a retry cannot help (max
   * turns, budget spent); the job fails and the task is blocked at once. Unset: a
   * non-zero exit is retried.
   */
  transient?: boolean;
  /** A short error text when the run failed. */
  error?: string;
}

/** Runs one agent process. Implementations: agent-claude, agent-script; tests: FakeAgentRunner. */
export interface AgentRunner {
  readonly name: string;
  run(request: AgentRunRequest): Promise<AgentRunResult>;
}
