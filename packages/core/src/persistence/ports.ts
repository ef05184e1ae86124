import type { Knex } from 'knex';
import type { AgentRun, BlockedKind, CiState, PermissionDenial, CiStatus, HumanVerdict, Job, JobKind, Task, TokenUsage } from '../domain.js';
import type { ClaimClause } from '../queue/claim-clause.js';
import type { NewTaskRow } from './knex/rows.js';
import type { GateWait } from '../waiting/wait-reason.js';

/**
 * Persistence ports. One knex implementation (`Knex*Store`) runs on SQLite and
 * PostgreSQL. Methods that take `tx` join a caller's transaction, so a stage move
 * and the next job's insert commit together.
 */
export type Tx = Knex.Transaction;

export interface NewTask {
  repo: string;
  trackerIssueId: string;
  title: string;
  description?: string;
  /** The tracker's sequence number for the issue, when it has one. */
  trackerSequence?: number | null;
  /** Work item prefix (`ET`, `ORCH`); from config when omitted. */
  prefix?: string;
  /** serial-gate: cut the branch when the first job is claimed, not now. */
  deferBranchCut?: boolean;
}

/** What a daemon needs to know of a live task to decide whether to read the rest of it. */
export interface LiveTaskSummary {
  id: number;
  repo: string;
  stage: string;
  updatedAt: Date;
  blockedReason: string | null;
  mergeInitiatedAt: Date | null;
  mergedAt: Date | null;
}

export interface TaskStore {
  get(id: number, tx?: Tx): Promise<Task | null>;
  findByIssue(repo: string, trackerIssueId: string, tx?: Tx): Promise<Task | null>;
  findByWorkItem(repo: string, workItemId: string): Promise<Task | null>;
  findByBranch(repo: string, branch: string): Promise<Task | null>;
  /**
   * Tasks in id order. `afterId` pages (keyset): a daemon that reads every live task
   * reads them a page at a time, so one tick never holds the event loop for long.
   */
  list(filter?: { repo?: string; stage?: string; live?: boolean; limit?: number; afterId?: number }): Promise<Task[]>;
  /**
   * Live tasks after `afterId` in id order, at most `limit`, a few columns each: one
   * page of a daemon's walk over every live task, read through the live tasks' own
   * index (never a sort) and without the rows' text and JSON columns.
   */
  liveSummaries(page: { afterId: number; limit: number }): Promise<LiveTaskSummary[]>;
  /**
   * Inserts the task unless a live one exists for (repo, tracker issue); never throws on
   * that conflict. Returns the inserted row, or null when another creator won.
   */
  insertIfAbsent(row: NewTaskRow, tx: Tx): Promise<Task | null>;
  workItemTaken(repo: string, workItemId: string, tx: Tx): Promise<boolean>;
  branchTaken(repo: string, branch: string, tx: Tx): Promise<boolean>;
  /** Takes the next number of the (repo, prefix) counter. */
  nextSequence(repo: string, prefix: string, tx: Tx): Promise<number>;
  raiseSequence(repo: string, prefix: string, next: number, tx: Tx): Promise<void>;
  /** Compare-and-set of the stage; false when the task is no longer at `from`. */
  moveStage(
    id: number,
    from: string,
    to: string,
    change: { reason: string; developerRetries?: { expected: number; next: number }; humanVerdict?: HumanVerdict | null; endHumanReview?: boolean },
    tx: Tx,
  ): Promise<boolean>;
  /** Marks a task blocked unless it already is or left `stage`; `kind` marks a block a later action may lift (a budget raise). */
  block(id: number, stage: string, reason: string, kind?: BlockedKind): Promise<boolean>;
  /** Lifts a block of `kind` while the task is still at `stage`; false when it is not blocked so (any more). */
  unblock(id: number, stage: string, kind: BlockedKind, tx: Tx): Promise<boolean>;
  /** Writes the task's own budgets (either part may be left out). */
  setBudgets(id: number, budgets: { budgetUsd?: number | null; stageBudgets?: Record<string, number> }, tx: Tx): Promise<void>;
  /** Records the person's verdict at the human gate; false if the task left `stage`. */
  setHumanVerdict(id: number, stage: string, verdict: HumanVerdict | null): Promise<boolean>;
  /** Starts the human-review clock once; true only for the call that started it. */
  startHumanReview(id: number, stage: string, tx?: Tx): Promise<boolean>;
  markBranchCut(id: number): Promise<boolean>;
  setPullRequest(id: number, number: number, url: string): Promise<void>;
  /** Writes the INITIATED marker before a merge; true only for the first writer, and never once a STOP was requested. */
  markMergeInitiated(id: number): Promise<boolean>;
  markMerged(id: number): Promise<boolean>;
  /** Takes over a stale INITIATED marker: true only if it was still exactly `seen`. */
  takeOverMerge(id: number, seen: Date): Promise<boolean>;
  /**
   * Clears the INITIATED marker after a merge the forge refused (nothing was merged).
   * A compare-and-set: only if the marker is still exactly `seen` (the caller's own
   * claim) and the task is not merged; a takeover by another actor is left alone.
   */
  clearMergeInitiated(id: number, seen: Date): Promise<boolean>;
  /** Stamps the deploy confirmation while the task is at deploy; true only for the first confirmation. */
  confirmDeploy(id: number): Promise<boolean>;
  /** Stamps `cancel_requested_at`; true only for the first request. */
  requestCancel(id: number): Promise<boolean>;
  /**
   * The full reset's compare-and-set: while the task is still at `from`, stage
   * `cancelled`, `cancelled_at`, its natural keys (tracker issue id, work item id,
   * branch) tombstoned (see `tombstone`), and one transition. False when another
   * actor moved it first, or while an irreversible merge is in flight (INITIATED marker).
   */
  markCancelled(id: number, from: string, change: { reason: string }, tx: Tx): Promise<boolean>;
  /** Live tasks with a STOP requested and not applied yet (oldest first). */
  listCancelRequested(limit?: number): Promise<Task[]>;
  /** Tasks cancelled at or after `since` (oldest first). */
  listCancelledSince(since: Date, limit?: number): Promise<Task[]>;
  /**
   * A person's retry: a compare-and-set on the stage and the block the caller saw.
   * Lifts the block, gives the developer retries back (0), moves to `to` (may be
   * the same stage) and records the transition with `reason`.
   */
  resume(id: number, seen: { stage: string; blockedReason: string | null }, change: { to: string; reason: string }, tx: Tx): Promise<boolean>;
  setTrackerMessageId(id: number, messageId: string | null): Promise<void>;
  transitions(id: number): Promise<{ from: string; to: string; reason: string; at: Date }[]>;
  countByStage(): Promise<Record<string, number>>;
}

export interface NewJob {
  taskId: number;
  stage: string;
  kind: JobKind;
  role: string | null;
  delayMs?: number;
  reason?: string | null;
  deferCount?: number;
}

export interface ClaimRequest {
  hostId: string;
  clauses: readonly ClaimClause[];
  now?: Date;
  leaseMs?: number;
}

export interface FinishRequest {
  id: number;
  attempt: number;
  status: 'done' | 'failed';
  error?: string | null;
}

export interface FinishAndClaimResult {
  /** The fenced finish matched this attempt. */
  finished: boolean;
  /** The job claimed next (never when `finished` is false). */
  next: Job | null;
}

export interface JobStore {
  /** Inserts a queued job; null when the task already has an active job (unique index). */
  enqueue(job: NewJob, tx?: Tx): Promise<Job | null>;
  /** Claims the oldest available job passing every clause, in one statement. */
  claim(input: ClaimRequest, tx?: Tx): Promise<Job | null>;
  /**
   * `finish`, then — only if it won — `claim`, for a worker that goes straight on:
   * one statement (one round trip) on PostgreSQL. A finish that lost (the attempt
   * no longer owns the job) claims nothing.
   */
  finishAndClaim(finish: FinishRequest, next: ClaimRequest, tx?: Tx): Promise<FinishAndClaimResult>;
  get(id: number): Promise<Job | null>;
  activeForTask(taskId: number): Promise<Job | null>;
  listForTask(taskId: number): Promise<Job[]>;
  latestForStage(taskId: number, stage: string): Promise<Job | null>;
  /** Heartbeat of a running attempt, extending its lease (database time); false when the attempt no longer owns the job. */
  heartbeat(id: number, attempt: number, leaseMs?: number): Promise<boolean>;
  setPid(id: number, attempt: number, pid: number | null): Promise<boolean>;
  /** running → done|failed for this attempt only (the fence). */
  finish(id: number, attempt: number, status: 'done' | 'failed', error?: string | null, tx?: Tx): Promise<boolean>;
  /** running → queued after a transient failure, spending one retry. */
  retry(id: number, attempt: number, delayMs: number, error: string): Promise<boolean>;
  /**
   * running → queued for an attempt whose host is gone — its lease expired in the
   * database's clock, or its heartbeat is older than `staleBefore` (its own host
   * restarting) — counting one recovery. `resumeAttempt` names the attempt whose
   * recorded exit the next one finishes from. Fenced by attempt; wakes every host.
   */
  requeueStale(id: number, attempt: number, staleBefore: Date | null, opts?: { resumeAttempt?: number | null; error?: string }): Promise<boolean>;
  /** running → failed, on the same staleness condition: the recovery budget is spent. */
  failStale(id: number, attempt: number, staleBefore: Date | null, error: string): Promise<boolean>;
  /** Running jobs of any host whose lease expired in the database's clock, the longest expired first. */
  expired(limit?: number): Promise<Job[]>;
  /** Queued jobs of one kind for the task → cancelled (a moot deferred re-evaluation). */
  cancelQueued(taskId: number, kind: JobKind, tx?: Tx): Promise<number>;
  /** Every active job of the task → cancelled. */
  cancelActive(taskId: number, tx?: Tx): Promise<number>;
  /** Running jobs in id order; `afterId` and `limit` page them (a daemon reads them a page at a time). */
  running(filter?: { hostId?: string; afterId?: number; limit?: number }): Promise<Job[]>;
  countByStatus(): Promise<Record<string, number>>;
}

export interface AgentRunStore {
  /** Starts a run record for a job attempt; one per (job, attempt). */
  start(input: { jobId: number; taskId: number; stage: string; role: string; attempt: number; pid: number | null }): Promise<AgentRun>;
  setPid(runId: number, pid: number): Promise<void>;
  /** Exit code and usage, recorded first after the process ends. */
  recordExit(runId: number, exit: { exitCode: number | null; result: string | null; usage: TokenUsage | null; logPath: string | null; permissionDenials?: readonly PermissionDenial[] }): Promise<void>;
  latestForStage(taskId: number, stage: string): Promise<AgentRun | null>;
  listForTask(taskId: number): Promise<AgentRun[]>;
  /** Every run of these tasks in one read, in id order (a daemon's page of tasks). */
  listForTasks(taskIds: readonly number[]): Promise<AgentRun[]>;
  forJobAttempt(jobId: number, attempt: number): Promise<AgentRun | null>;
  /** The runs of these job attempts, in one read; an attempt with no run has none in the answer. */
  forJobAttempts(keys: readonly { jobId: number; attempt: number }[]): Promise<AgentRun[]>;
}

export interface CiStatusStore {
  /**
   * Upserts the latest state of one CI context for a sha. With `updatedAt` (the
   * forge's time of the status), an older state delivered late never overwrites a
   * newer one.
   */
  record(status: { repo: string; sha: string; branch: string | null; context: string; state: CiState; targetUrl: string | null; updatedAt?: Date }, tx?: Tx): Promise<void>;
  forSha(repo: string, sha: string): Promise<CiStatus[]>;
  /** The statuses recorded for a branch's commits, newest first, at most `limit` (for people: the dashboard). */
  forBranch(repo: string, branch: string, limit: number): Promise<CiStatus[]>;
}

/** A webhook delivery to record. With `owner`, the new row is that host's to process for `leaseMs`. */
export interface NewDelivery {
  source: string;
  deliveryKey: string;
  payload: string;
  owner?: string;
  leaseMs?: number;
}

/** What processing a delivery came to. */
export interface InboxOutcome {
  id: number;
  outcome: 'processed' | 'ignored' | 'failed';
  error?: string;
}

export interface InboxStore {
  /** Records a delivery; `duplicate` when its key was seen before (acknowledge, do not re-process). */
  record(input: NewDelivery): Promise<{ id: number; duplicate: boolean }>;
  /**
   * Records several deliveries in one commit, all or none; one result per input, in
   * order. A key seen before, in the table or earlier in the same batch, is a duplicate.
   */
  recordMany(inputs: readonly NewDelivery[]): Promise<{ id: number; duplicate: boolean }[]>;
  /**
   * Claim-before-act on one unprocessed delivery: true when `owner` now holds it for
   * `leaseMs` (it held it, nobody did, or the holder's lease expired in database time).
   */
  claim(id: number, owner: string, leaseMs: number): Promise<boolean>;
  /** `claim` for several deliveries in one statement; returns the ids `owner` now holds. */
  claimMany(ids: readonly number[], owner: string, leaseMs: number): Promise<Set<number>>;
  /** Records the outcome of an unprocessed delivery (only while `owner` holds it, when given); false otherwise. */
  markProcessed(id: number, outcome: 'processed' | 'ignored' | 'failed', error?: string, owner?: string): Promise<boolean>;
  /** `markProcessed` for several deliveries in one commit; returns the ids marked. */
  markManyProcessed(outcomes: readonly InboxOutcome[], owner?: string): Promise<Set<number>>;
  /** Deliveries recorded but not processed (a crash between ack and processing), of any host. */
  unprocessed(limit: number): Promise<{ id: number; source: string; payload: string }[]>;
  /** Unprocessed deliveries `owner` may take: its own, nobody's, or a dead host's (lease expired). */
  claimable(owner: string, limit: number): Promise<{ id: number; source: string; payload: string }[]>;
  /** Retention: deletes processed (or ignored, failed) deliveries older than `before`; returns how many. */
  deleteProcessedBefore(before: Date, limit?: number): Promise<number>;
}

export interface LeaseHolder {
  taskId: number;
  hostId: string;
  pid: number;
}

export interface Lease extends LeaseHolder {
  repo: string;
  acquiredAt: Date;
  expiresAt: Date;
}

export interface LeaseStore {
  /**
   * Atomic: true when this holder now has the lease (already holding it counts, and
   * refreshes its expiry). A lease past its `expiresAt` is taken over by the caller.
   */
  acquire(repo: string, holder: LeaseHolder, ttlMs: number): Promise<boolean>;
  /** Holder-aware: releases only if `taskId` holds it. */
  release(repo: string, taskId: number): Promise<boolean>;
  /** Holder-aware: pushes the expiry to now + `ttlMs` only if `taskId` still holds it. */
  refresh(repo: string, taskId: number, ttlMs: number): Promise<boolean>;
  get(repo: string): Promise<Lease | null>;
  /** Takes a stale lease back: deletes it only if it is still exactly `lease`. */
  reclaim(lease: Lease): Promise<boolean>;
  list(): Promise<Lease[]>;
}

/**
 * The last non-passing verdict of each task's exit edge, written by the stage
 * engine on every evaluation, read by "what does it wait for".
 */
export interface GateWaitStore {
  record(wait: { taskId: number; stage: string; gate: string; verdict: GateWait['verdict']; reason: string | null }): Promise<void>;
  /** Every gate passed (or the task moved on): nothing recorded to wait for. */
  clear(taskId: number): Promise<void>;
  get(taskId: number): Promise<GateWait | null>;
}

/** An effect to run after a state change, written in that change's transaction. */
export interface NewOutboxEntry {
  taskId: number | null;
  /** The handler's name (`advance`, `tracker.status`, `tracker.comment` …). */
  effect: string;
  /**
   * Idempotency key, unique: (task, stage, attempt, effect). A second insert with
   * the same key is a no-op and returns the stored row.
   */
  key: string;
  payload: Record<string, unknown>;
  /** Inserted already claimed by this owner until `claimedUntil` (the caller runs it right after the commit). */
  claimedBy?: string | null;
  claimedUntil?: number | null;
}

export interface OutboxEntry {
  id: number;
  taskId: number | null;
  effect: string;
  key: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  availableAt: Date;
  claimedBy: string | null;
  claimedUntil: Date | null;
  lastError: string | null;
  createdAt: Date;
  doneAt: Date | null;
}

export interface OutboxStore {
  /** Inserts unless the key exists; returns the stored row either way. */
  add(entry: NewOutboxEntry, tx?: Tx): Promise<OutboxEntry>;
  get(id: number): Promise<OutboxEntry | null>;
  /**
   * Compare-and-set claim of a pending row: free, past its lease, already `owner`'s,
   * or (with `from`) still held by exactly `from` (a dead process of this host).
   */
  claim(id: number, owner: string, until: number, now: number, from?: string): Promise<boolean>;
  /** Pending rows due by `now` that nobody holds (or whose lease ran out). */
  due(now: number, limit: number): Promise<OutboxEntry[]>;
  /** Pending rows held by an owner whose name starts with `prefix`. */
  heldBy(prefix: string): Promise<OutboxEntry[]>;
  /** pending → done, only for the owner of the claim. */
  complete(id: number, owner: string): Promise<boolean>;
  /** Gives the claim back after a failed run: retried at `availableAt`, or `failed` for good. */
  release(id: number, owner: string, outcome: { error: string; availableAt: number; final: boolean }): Promise<boolean>;
  listForTask(taskId: number): Promise<OutboxEntry[]>;
  countByStatus(): Promise<Record<string, number>>;
  /** Deletes `done` rows finished before `before`; returns how many. */
  pruneDone(before: number): Promise<number>;
}

/** All stores of one instance. */
export interface Stores {
  tasks: TaskStore;
  jobs: JobStore;
  agentRuns: AgentRunStore;
  ciStatuses: CiStatusStore;
  inbox: InboxStore;
  leases: LeaseStore;
  gateWaits: GateWaitStore;
  outbox: OutboxStore;
}
