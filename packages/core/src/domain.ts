/**
 * Domain records, as the rest of Conveyor sees them. Rows are mapped to these at
 * the store boundary (snake_case columns never leak past `persistence/`).
 */

/** Stages that end a task. "Terminal" always means exactly these two. */
export const TERMINAL_STAGES = ['done', 'cancelled'] as const;
export type TerminalStage = (typeof TERMINAL_STAGES)[number];

export function isTerminalStage(stage: string): stage is TerminalStage {
  return stage === 'done' || stage === 'cancelled';
}

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ['queued', 'running'];

/**
 * What a job does when claimed: `agent` runs the stage's agent; `advance` only
 * re-evaluates the stage's exit gates (used by `defer`, e.g. a busy merge lease).
 */
export type JobKind = 'agent' | 'advance';

export type HumanVerdict = 'approved' | 'rejected';

/** Kinds of block a task can carry besides a free-text reason; see `Task.blockedKind`. */
export type BlockedKind = 'budget';

export interface Task {
  id: number;
  repo: string;
  trackerIssueId: string;
  workItemId: string;
  title: string;
  description: string;
  stage: string;
  branch: string;
  /** False while the branch cut is deferred (serial-gate): cut when the first job is claimed. */
  branchCut: boolean;
  humanVerdict: HumanVerdict | null;
  humanReviewStartedAt: Date | null;
  humanReviewEndedAt: Date | null;
  developerRetries: number;
  createdAt: Date;
  updatedAt: Date;
  cancelRequestedAt: Date | null;
  cancelledAt: Date | null;
  trackerMessageId: string | null;
  blockedReason: string | null;
  blockedAt: Date | null;
  /**
   * What kind of block `blockedReason` describes: `budget` when the task's spend
   * reached its budget (a raise resumes it), null for any other block.
   */
  blockedKind: BlockedKind | null;
  /** This task's own task budget in USD, replacing the configured one; null: the configured one. */
  budgetUsd: number | null;
  /** This task's own stage budgets in USD (stage → USD), replacing the configured ones. */
  stageBudgets: Record<string, number>;
  /** The forge's pull request for the branch, once opened. */
  prNumber: number | null;
  prUrl: string | null;
  /** INITIATED marker of the irreversible merge. */
  mergeInitiatedAt: Date | null;
  mergedAt: Date | null;
  /**
   * When a person confirmed the deploy (`deploy.confirm`); cleared each time the task
   * enters deploy, so a task that comes back to deploy waits for a new confirmation.
   */
  deployConfirmedAt: Date | null;
}

export interface Job {
  id: number;
  taskId: number;
  stage: string;
  kind: JobKind;
  /** The agent role for `agent` jobs (analyst, architect, …). */
  role: string | null;
  status: JobStatus;
  /** Incremented by every claim; fences finishing (a stale worker's attempt no longer matches). */
  attempt: number;
  /** Transient failures so far (retry budget). */
  retries: number;
  /** How many times the stage's gates deferred; carried over to the re-queued job. */
  deferCount: number;
  availableAt: Date;
  createdAt: Date;
  startedAt: Date | null;
  heartbeatAt: Date | null;
  /** Until when the running attempt holds the job, in the database's clock (each heartbeat extends it). */
  leaseExpiresAt: Date | null;
  /** Times the job was taken back from a host that died (or hung) running it; bounded by `worker.recoveryBudget`. */
  recoveries: number;
  /** The earlier attempt whose recorded exit this attempt finishes from (its agent is not run again). */
  resumeAttempt: number | null;
  finishedAt: Date | null;
  hostId: string | null;
  pid: number | null;
  /** Why this job exists beyond the normal flow (rejection, failing gate and its output). */
  reason: string | null;
  error: string | null;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  costUsd: number;
  /** Short model name (provider prefix and `claude-` stripped). */
  model: string | null;
}

/** A tool call the agent CLI refused (its `permission_denials`). */
export interface PermissionDenial {
  /** `Write`, `Edit`, `Bash` … */
  tool: string;
  /** The file, command or URL it was for, when the call named one. */
  target: string | null;
}

export interface AgentRun {
  id: number;
  jobId: number;
  taskId: number;
  stage: string;
  role: string;
  attempt: number;
  pid: number | null;
  startedAt: Date;
  exitCode: number | null;
  finishedAt: Date | null;
  /** The agent's final text, when it produced one. */
  result: string | null;
  usage: TokenUsage | null;
  logPath: string | null;
  /** Tool calls the agent was refused; empty when none (or the runner cannot tell). */
  permissionDenials: PermissionDenial[];
}

export type CiState = 'pending' | 'success' | 'failure' | 'error' | 'warning' | 'skipped';

export interface CiStatus {
  repo: string;
  sha: string;
  branch: string | null;
  context: string;
  state: CiState;
  targetUrl: string | null;
  updatedAt: Date;
}
