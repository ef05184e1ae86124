import type { LiveTaskSummary } from '../ports.js';
import type { AgentRun, BlockedKind, PermissionDenial, CiState, CiStatus, HumanVerdict, Job, JobKind, JobStatus, Task } from '../../domain.js';

/** Row ↔ domain mapping. PostgreSQL returns bigint as strings; SQLite as numbers. */
type Row = Record<string, unknown>;

export const ms = (d: Date): number => d.getTime();
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
export const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(num(v)));
export const date = (v: unknown): Date => new Date(num(v));
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';

export function toLiveTaskSummary(r: Row): LiveTaskSummary {
  return {
    id: num(r.id),
    repo: str(r.repo),
    stage: str(r.stage),
    updatedAt: date(r.updated_at),
    blockedReason: strOrNull(r.blocked_reason),
    mergeInitiatedAt: dateOrNull(r.merge_initiated_at),
    mergedAt: dateOrNull(r.merged_at),
  };
}

export function toTask(r: Row): Task {
  return {
    id: num(r.id),
    repo: str(r.repo),
    trackerIssueId: str(r.tracker_issue_id),
    workItemId: str(r.work_item_id),
    title: str(r.title),
    description: str(r.description),
    stage: str(r.stage),
    branch: str(r.branch),
    branchCut: bool(r.branch_cut),
    humanVerdict: strOrNull(r.human_verdict) as HumanVerdict | null,
    humanReviewStartedAt: dateOrNull(r.human_review_started_at),
    humanReviewEndedAt: dateOrNull(r.human_review_ended_at),
    developerRetries: num(r.developer_retries),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
    cancelRequestedAt: dateOrNull(r.cancel_requested_at),
    cancelledAt: dateOrNull(r.cancelled_at),
    trackerMessageId: strOrNull(r.tracker_message_id),
    blockedReason: strOrNull(r.blocked_reason),
    blockedAt: dateOrNull(r.blocked_at),
    blockedKind: strOrNull(r.blocked_kind) as BlockedKind | null,
    budgetUsd: numOrNull(r.budget_usd),
    stageBudgets: stageBudgets(r.stage_budgets),
    prNumber: numOrNull(r.pr_number),
    prUrl: strOrNull(r.pr_url),
    mergeInitiatedAt: dateOrNull(r.merge_initiated_at),
    mergedAt: dateOrNull(r.merged_at),
    deployConfirmedAt: dateOrNull(r.deploy_confirmed_at),
  };
}

export type NewTaskRow = Omit<Task, 'id' | 'createdAt' | 'updatedAt' | 'prNumber' | 'prUrl' | 'mergeInitiatedAt' | 'mergedAt' | 'deployConfirmedAt' | 'blockedKind' | 'budgetUsd' | 'stageBudgets'>;

// A stage budget column that is not a JSON object of positive numbers reads as
// "no overrides": a hand-edited row must not stop every read of the task.
function stageBudgets(v: unknown): Record<string, number> {
  if (typeof v !== 'string' || !v) return {};
  try {
    const parsed: unknown = JSON.parse(v);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]) && e[1] > 0));
  } catch {
    return {};
  }
}

export function fromTask(t: NewTaskRow, now: number): Row {
  return {
    repo: t.repo,
    tracker_issue_id: t.trackerIssueId,
    work_item_id: t.workItemId,
    title: t.title,
    description: t.description,
    stage: t.stage,
    branch: t.branch,
    branch_cut: t.branchCut,
    human_verdict: t.humanVerdict,
    human_review_started_at: t.humanReviewStartedAt ? ms(t.humanReviewStartedAt) : null,
    human_review_ended_at: t.humanReviewEndedAt ? ms(t.humanReviewEndedAt) : null,
    developer_retries: t.developerRetries,
    created_at: now,
    updated_at: now,
    cancel_requested_at: t.cancelRequestedAt ? ms(t.cancelRequestedAt) : null,
    cancelled_at: t.cancelledAt ? ms(t.cancelledAt) : null,
    tracker_message_id: t.trackerMessageId,
    blocked_reason: t.blockedReason,
    blocked_at: t.blockedAt ? ms(t.blockedAt) : null,
  };
}

export function toJob(r: Row): Job {
  return {
    id: num(r.id),
    taskId: num(r.task_id),
    stage: str(r.stage),
    kind: str(r.kind) as JobKind,
    role: strOrNull(r.role),
    status: str(r.status) as JobStatus,
    attempt: num(r.attempt),
    retries: num(r.retries),
    deferCount: num(r.defer_count),
    availableAt: date(r.available_at),
    createdAt: date(r.created_at),
    startedAt: dateOrNull(r.started_at),
    heartbeatAt: dateOrNull(r.heartbeat_at),
    leaseExpiresAt: dateOrNull(r.lease_expires_at),
    recoveries: r.recoveries === undefined || r.recoveries === null ? 0 : num(r.recoveries),
    resumeAttempt: numOrNull(r.resume_attempt),
    finishedAt: dateOrNull(r.finished_at),
    hostId: strOrNull(r.host_id),
    pid: numOrNull(r.pid),
    reason: strOrNull(r.reason),
    error: strOrNull(r.error),
  };
}

export function toAgentRun(r: Row): AgentRun {
  const hasUsage = r.input_tokens !== null && r.input_tokens !== undefined;
  return {
    id: num(r.id),
    jobId: num(r.job_id),
    taskId: num(r.task_id),
    stage: str(r.stage),
    role: str(r.role),
    attempt: num(r.attempt),
    pid: numOrNull(r.pid),
    startedAt: date(r.started_at),
    exitCode: numOrNull(r.exit_code),
    finishedAt: dateOrNull(r.finished_at),
    result: strOrNull(r.result),
    usage: hasUsage
      ? {
          inputTokens: num(r.input_tokens),
          outputTokens: num(r.output_tokens ?? 0),
          cacheReadTokens: num(r.cache_read_tokens ?? 0),
          cacheCreationTokens: num(r.cache_creation_tokens ?? 0),
          costUsd: num(r.cost_usd ?? 0),
          model: strOrNull(r.model),
        }
      : null,
    logPath: strOrNull(r.log_path),
    permissionDenials: denials(r.permission_denials),
  };
}

function denials(v: unknown): PermissionDenial[] {
  if (typeof v !== 'string' || !v) return [];
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) ? parsed.filter((d): d is PermissionDenial => !!d && typeof d === 'object' && typeof (d as PermissionDenial).tool === 'string') : [];
  } catch {
    return [];
  }
}

export function toCiStatus(r: Row): CiStatus {
  return {
    repo: str(r.repo),
    sha: str(r.sha),
    branch: strOrNull(r.branch),
    context: str(r.context),
    state: str(r.state) as CiState,
    targetUrl: strOrNull(r.target_url),
    updatedAt: date(r.updated_at),
  };
}
