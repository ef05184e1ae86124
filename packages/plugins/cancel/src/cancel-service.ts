import { isTerminalStage, KeyedMutex, notifySafely, processStartedAt, toError, type CancelResult, type Canceller, type Database, type EventBus, type Job, type JobStore, type LeaseStore, type Logger, type Ports, type RepoConfig, type Task, type TaskStore, type Tx } from '@conveyor/core';
import { criticalWindow } from './critical-window.js';
import { collectProcessTree, killProcesses } from './process-tree.js';

export interface CancelServiceDeps {
  tasks: TaskStore;
  jobs: JobStore;
  leases: LeaseStore;
  db: Database;
  ports: Ports;
  events: Pick<EventBus, 'emit'>;
  logger: Logger;
  /** This host's id: it signals only the agents it runs. */
  hostId: string;
  repos: Readonly<Record<string, RepoConfig>>;
  /** SIGTERM → SIGKILL grace for the agent's processes. */
  killGraceMs: number;
  /** A running job whose heartbeat is older than this belongs to a host that is gone. */
  staleAfterMs: number;
  now: () => number;
}

function isAgentOf(job: Job): boolean {
  const started = processStartedAt(job.pid!);
  return started !== null && !!job.startedAt && started >= job.startedAt.getTime() - 2_000;
}

/** How long a reset waits for a just-spawned agent's pid to be stamped. */
const PID_WAIT_MS = 2_000;

/** How many times a reset looks again when another actor moved the task under it. */
const MAX_ATTEMPTS = 3;

/**
 * Applies STOP (binds core's `Canceller`). A STOP in the critical window is
 * deferred; an agent running on another live host is left to that host (only it
 * can signal its processes); anything else gets the full reset at once. Applies
 * of one task are serialised on this host; between hosts the reset is a
 * compare-and-set on the task's stage.
 */
export class CancelService implements Canceller {
  readonly #serial = new KeyedMutex();

  constructor(private readonly d: CancelServiceDeps) {}

  cancel(task: Task, request: { firstRequest: boolean }): Promise<CancelResult> {
    return this.apply(task.id, request);
  }

  /** Applies a pending STOP of `taskId` if nothing holds it back (the request path, the events, the sweep). */
  apply(taskId: number, request: { firstRequest: boolean }): Promise<CancelResult> {
    return this.#serial.run(String(taskId), () => this.#apply(taskId, request));
  }

  async #apply(taskId: number, request: { firstRequest: boolean }): Promise<CancelResult> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const task = await this.d.tasks.get(taskId);
      if (!task || isTerminalStage(task.stage)) return { applied: false, state: 'ended', detail: `task ${taskId} is ${task?.stage ?? 'gone'}; nothing to stop` };
      if (!task.cancelRequestedAt) return { applied: false, state: 'ended', detail: `task ${taskId} has no STOP requested` };
      const running = (await this.d.jobs.listForTask(task.id)).filter((j) => j.status === 'running');
      const window = await criticalWindow(task, running, this.d.leases);
      if (window.critical) {
        const detail = `deferred: ${window.why}; the task is cancelled as soon as that step finishes`;
        // A repeated STOP while deferred says nothing new: one notification per request.
        if (request.firstRequest) {
          this.d.logger.info({ taskId, workItem: task.workItemId, stage: task.stage, why: window.why }, 'STOP deferred');
          await notifySafely(this.d.ports.notifier(), { kind: 'alert', text: `${task.workItemId}: STOP received; ${detail}`, task }, this.d.logger);
        }
        return { applied: false, state: 'deferred', detail };
      }
      const remote = running.find((j) => j.hostId !== null && j.hostId !== this.d.hostId && !this.#stale(j));
      if (remote) {
        if (request.firstRequest) this.d.logger.info({ taskId, jobId: remote.id, host: remote.hostId }, 'STOP left to the host that runs the agent');
        return { applied: false, state: 'pending', detail: `the agent runs on host ${remote.hostId}; that host stops it and cancels the task` };
      }
      const done = await this.#reset(task, running);
      if (done) return done;
    }
    return { applied: false, state: 'pending', detail: `task ${taskId} kept moving while it was being cancelled; the next sweep applies the STOP` };
  }

  #stale(job: Job): boolean {
    const seen = job.heartbeatAt ?? job.startedAt;
    return !seen || this.d.now() - seen.getTime() > this.d.staleAfterMs;
  }

  /**
   * The full reset, in this order: collect the agents' process trees (before any
   * signal), cancel the task and every active job in one transaction (so neither
   * the worker's retry nor a stale-job recovery re-queues them: both are fenced on
   * `running`), kill the trees, release the lease, remove the worktree, delete the
   * remote task branch. Null when another actor moved the task first.
   */
  async #reset(task: Task, running: readonly Job[]): Promise<CancelResult | null> {
    const local = await this.#withPids(running.filter((j) => j.hostId === this.d.hostId));
    const before = local.flatMap((j) => collectProcessTree(j.pid!));
    const reason = `STOP: cancelled at ${task.stage}`;
    const cancelledJobs = await this.d.db.knex.transaction(async (tx: Tx) => {
      if (!(await this.d.tasks.markCancelled(task.id, task.stage, { reason }, tx))) return null;
      return this.d.jobs.cancelActive(task.id, tx);
    });
    if (cancelledJobs === null) return null;
    const log = { taskId: task.id, workItem: task.workItemId, stage: task.stage };
    // Anything the agent started between the two walks is caught by the second.
    const pids = [...new Set([...before, ...local.flatMap((j) => collectProcessTree(j.pid!))])];
    const killed = pids.length ? await killProcesses(pids, { graceMs: this.d.killGraceMs }) : { signalled: [], survivors: [] };
    if (killed.survivors.length) this.d.logger.error({ ...log, survivors: killed.survivors }, 'processes of the cancelled agent survived SIGKILL');
    const leaseReleased = await this.#step(log, 'release the merge lease', () => this.d.leases.release(task.repo, task.id));
    await this.#step(log, 'remove the worktree', async () => this.d.ports.workspace()?.cleanup(task));
    const branch = await this.#deleteBranch(task);
    // Listeners (the live Telegram message, the tracker) address the issue by its real
    // keys: the event carries the cancelled task with the keys it had, not the tombstones.
    const stored = (await this.d.tasks.get(task.id)) ?? task;
    const cancelled = { ...stored, trackerIssueId: task.trackerIssueId, workItemId: task.workItemId, branch: task.branch };
    const detail = [
      `cancelled at ${task.stage}`,
      `${cancelledJobs} job${cancelledJobs === 1 ? '' : 's'} cancelled`,
      `${killed.signalled.length} process${killed.signalled.length === 1 ? '' : 'es'} stopped`,
      ...(leaseReleased ? ['merge lease released'] : []),
      branch,
    ].join('; ');
    this.d.logger.info({ ...log, jobs: cancelledJobs, pids: killed.signalled, leaseReleased, branch }, 'task cancelled by STOP');
    this.d.events.emit('task.cancelled', { task: cancelled });
    await notifySafely(this.d.ports.notifier(), { kind: 'alert', text: `${task.workItemId} cancelled (STOP): ${detail}`, task: cancelled }, this.d.logger);
    return { applied: true, state: 'applied', detail };
  }

  /**
   * This host's running jobs with their agent's pid. A job caught between spawning
   * its agent and stamping the pid is waited for (briefly, on the stored row): once
   * the jobs are cancelled the stamp is refused, and an agent nobody knows the pid
   * of would only be stopped by its process group, missing a child in another session.
   */
  async #withPids(jobs: readonly Job[]): Promise<Job[]> {
    const out: Job[] = [];
    for (const job of jobs) {
      let j: Job | null = job;
      const deadline = this.d.now() + PID_WAIT_MS;
      while (j && j.pid === null && j.status === 'running' && this.d.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        j = await this.d.jobs.get(job.id);
      }
      // A pid is the agent's only if its process started after the job was claimed:
      // after a restart (or with a fake runner) it may name someone else's process.
      if (j?.pid != null && isAgentOf(j)) out.push(j);
    }
    return out;
  }

  /** Deletes the remote task branch: never the main branch or a protected one, never a force-push. */
  async #deleteBranch(task: Task): Promise<string> {
    const repo = this.d.repos[task.repo];
    const main = repo?.mainBranch ?? 'main';
    if (task.branch === main || (repo?.protectedBranches ?? []).includes(task.branch)) return `branch ${task.branch} kept: it is the main or a protected branch`;
    if (!task.branchCut) return 'no branch was cut';
    const forge = this.d.ports.forge();
    if (!forge) return `branch ${task.branch} kept: no forge is bound`;
    try {
      const head = await forge.branchHeadSha(task.repo, task.branch);
      if (head === null) return `branch ${task.branch} was not on the remote`;
      await forge.deleteBranch(task.repo, task.branch);
      // The head stays named in the log and the detail: what was pushed can be found again.
      return `branch ${task.branch} deleted (it was at ${head})`;
    } catch (err) {
      this.d.logger.warn({ taskId: task.id, branch: task.branch, err: toError(err) }, 'could not delete the task branch');
      return `branch ${task.branch} could not be deleted: ${toError(err).message}`;
    }
  }

  /** One step of the reset after the task is cancelled: a failure is logged, the other steps still run. */
  async #step<T>(log: object, what: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (err) {
      this.d.logger.warn({ ...log, err: toError(err) }, `cancel: could not ${what}`);
      return null;
    }
  }
}
