import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AgentRun, Clock, ConveyorEvents, Job, JobFinisher, Lease, Logger, StageEngine, Stores, Worker } from '@conveyor/core';
import { jobTreeTag, killProcessTree, pidAlive } from '@conveyor/core';

export interface ReaperSettings {
  /** Consecutive ticks a job's agent pid must be seen dead, with no exit recorded, before the job is failed. */
  deadTicks: number;
  /** An exit recorded at least this long ago on a job still running is finished by the reaper. */
  finalizeGraceMs: number;
  /** A job running longer than this is killed with its process tree and failed. */
  maxRunningMs: number;
}

export interface ReaperDeps {
  stores: Pick<Stores, 'jobs' | 'agentRuns' | 'tasks' | 'leases'>;
  /** Resolved lazily: the worker, finisher and engine of the instance. */
  worker: () => Worker;
  finisher: () => JobFinisher;
  engine: () => StageEngine;
  hostId: string;
  clock: Clock;
  logger: Logger;
  emit: <E extends 'lease.reclaimed'>(event: E, payload: ConveyorEvents[E]) => void;
  settings: ReaperSettings;
  /** Running jobs read per page; `REAPER_PAGE` unless a test asks for less. */
  pageSize?: number;
}

/** This host's running jobs the reaper reads at once (and their runs, in one more read). */
export const REAPER_PAGE = 100;

/** What one tick did, per tier. */
export interface ReaperCounts {
  /** Any host's jobs whose lease expired (database time), taken back. */
  expired: number;
  /** Tier 1: this host's jobs whose agent died without a recorded exit. */
  deadPid: number;
  /** Tier 2: jobs with an exit recorded long ago, finished by the reaper. */
  finished: number;
  /** Tier 3: jobs that ran longer than `maxRunningMs`, killed. */
  overran: number;
  /** Stale merge leases taken back. */
  leasesReclaimed: number;
}

export const zeroCounts = (): ReaperCounts => ({ expired: 0, deadPid: 0, finished: 0, overran: 0, leasesReclaimed: 0 });

/**
 * One tick of the reaper. Other hosts' jobs are judged by their lease alone (pids
 * mean nothing across machines); this host's also by pid, recorded exit and age.
 * Every write on a job is the core's fenced routine (finish, fail-transient,
 * recover), so a worker that is in fact alive, or another reaper, never loses to it
 * twice: whoever wins the compare-and-set acts, the other does nothing.
 */
export class Reaper {
  readonly #deadSeen = new Map<string, number>();

  constructor(private readonly d: ReaperDeps) {}

  async tick(): Promise<ReaperCounts> {
    const counts = zeroCounts();
    counts.expired = (await this.d.worker().expireLeases()).length;
    const seen = new Set<string>();
    for await (const { jobs, runs } of this.#runningPages()) {
      for (const job of jobs) {
        const key = `${job.id}:${job.attempt}`;
        seen.add(key);
        const tier = await this.#judge(job, key, runs.get(key) ?? null);
        if (tier) counts[tier]++;
      }
    }
    for (const key of [...this.#deadSeen.keys()]) if (!seen.has(key)) this.#deadSeen.delete(key);
    counts.leasesReclaimed = await this.#reclaimLeases();
    return counts;
  }

  /**
   * This host's running jobs a page at a time in id order, each page's agent runs in
   * one read, the event loop free between pages: one read of every running job and
   * one read per job held the host's loop for as long as they all took.
   */
  async *#runningPages(): AsyncGenerator<{ jobs: Job[]; runs: Map<string, AgentRun> }> {
    const limit = this.d.pageSize ?? REAPER_PAGE;
    for (let afterId = 0; ; ) {
      const jobs = await this.d.stores.jobs.running({ hostId: this.d.hostId, afterId, limit });
      if (jobs.length === 0) return;
      const runs = new Map<string, AgentRun>();
      for (const run of await this.d.stores.agentRuns.forJobAttempts(jobs.map((j) => ({ jobId: j.id, attempt: j.attempt })))) runs.set(`${run.jobId}:${run.attempt}`, run);
      yield { jobs, runs };
      if (jobs.length < limit) return;
      afterId = jobs[jobs.length - 1]!.id;
      await yieldToLoop();
    }
  }

  async #judge(job: Job, key: string, run: AgentRun | null): Promise<'deadPid' | 'finished' | 'overran' | null> {
    const { settings, clock, logger } = this.d;
    const now = clock.now();
    const exited = run !== null && run.finishedAt !== null;
    const inFlight = this.d.worker().isRunning(job.id);

    // Tier 3 first: an overrun is killed whatever else holds.
    if (job.startedAt && now - job.startedAt.getTime() > settings.maxRunningMs) {
      // By its pid while it lives, and by its attempt's tag what it started (with setsid) lives on after it.
      await killProcessTree(job.pid !== null && pidAlive(job.pid) ? job.pid : null, { graceMs: 2_000, tag: job.kind === 'agent' ? jobTreeTag(job) : null });
      const out = await this.d.finisher().failTransient(job, `reaper: ran longer than ${settings.maxRunningMs} ms; killed with its process tree`);
      if (out === 'lost') return null;
      logger.warn({ jobId: job.id, taskId: job.taskId, attempt: job.attempt, pid: job.pid, outcome: out }, 'reaper: job overran maxRunningMs; killed');
      return 'overran';
    }

    // Tier 2: the exit is recorded but nobody finished the job. A job this worker
    // is still finalizing is never reaped.
    if (exited && !inFlight) {
      if (now - run.finishedAt!.getTime() < settings.finalizeGraceMs) return null;
      if (run.exitCode === 0) {
        const task = await this.d.stores.tasks.get(job.taskId);
        const ev = task && task.stage === job.stage ? await this.d.engine().evaluateGates(task, { readOnly: true, finishedAgent: job.role }) : null;
        if (ev?.verdict === 'pass') {
          // Claim `done` first: only the winner advances.
          const out = await this.d.finisher().finish(job, 'done');
          if (!out.won) return null;
          logger.warn({ jobId: job.id, taskId: job.taskId, attempt: job.attempt }, 'reaper: finished a job whose exit was recorded long ago; its gates pass');
          return 'finished';
        }
      }
      const why = run.exitCode === 0 ? 'its agent exited 0 but its gates do not pass' : `its agent exited with ${run.exitCode ?? 'no exit code'}`;
      const out = await this.d.finisher().failTransient(job, `reaper: left running after its exit was recorded; ${why}`);
      if (out === 'lost') return null;
      logger.warn({ jobId: job.id, taskId: job.taskId, attempt: job.attempt, outcome: out }, 'reaper: failed a job left running after its exit');
      return 'finished';
    }

    // Tier 1: the agent is gone and no exit was recorded, for deadTicks ticks in a row.
    if (!exited && job.pid !== null && !pidAlive(job.pid)) {
      const n = (this.#deadSeen.get(key) ?? 0) + 1;
      this.#deadSeen.set(key, n);
      if (n < settings.deadTicks) return null;
      this.#deadSeen.delete(key);
      const out = await this.d.finisher().failTransient(job, `reaper: agent process ${job.pid} is gone and no exit was recorded (seen dead on ${n} ticks)`);
      if (out === 'lost') return null;
      logger.warn({ jobId: job.id, taskId: job.taskId, attempt: job.attempt, pid: job.pid, outcome: out }, 'reaper: agent died without an exit; transient failure');
      return 'deadPid';
    }
    this.#deadSeen.delete(key);
    return null;
  }

  // A merge lease is stale when its TTL passed, or its holder was this host and
  // that process is gone (a restart: same host id, new pid).
  async #reclaimLeases(): Promise<number> {
    let n = 0;
    const now = this.d.clock.now();
    for (const lease of await this.d.stores.leases.list()) {
      if (!isStale(lease, now, this.d.hostId)) continue;
      if (!(await this.d.stores.leases.reclaim(lease))) continue;
      n++;
      const holder = `task ${lease.taskId} on ${lease.hostId} (pid ${lease.pid})`;
      this.d.logger.warn({ repo: lease.repo, holder, expiresAt: lease.expiresAt.toISOString() }, 'reaper: reclaimed a stale merge lease');
      this.d.emit('lease.reclaimed', { repo: lease.repo, holder });
    }
    return n;
  }
}

function isStale(lease: Lease, now: number, hostId: string): boolean {
  if (lease.expiresAt.getTime() < now) return true;
  return lease.hostId === hostId && lease.pid !== process.pid && !pidAlive(lease.pid);
}
