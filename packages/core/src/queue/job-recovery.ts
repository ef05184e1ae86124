import { inject, injectable } from 'tsyringe';
import type { Job } from '../domain.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import type { AgentRunStore, JobStore, TaskStore } from '../persistence/ports.js';
import type { Ports } from '../ports/ports.js';
import { notifySafely } from '../ports/notifier.js';
import { CoreTokens } from '../tokens.js';
import { faultPoint } from '../util/fault-point.js';
import { pidAlive, processStartedAt } from '../util/process-group.js';
import { jobTreeTag, killProcessTree } from '../util/process-tree.js';

export type RecoveryOutcome = 'requeued' | 'resumed' | 'exhausted' | 'lost';

/**
 * Takes back a job whose host is gone (crashed, killed, paused past its lease):
 * the one routine the worker's start-up recovery and the reaper share.
 *
 * - An agent of this host still alive from that attempt is killed with its whole
 *   tree first, so two agents never work one branch.
 * - An attempt whose agent exit is recorded with success is not run again: the
 *   next attempt finishes from that exit (finalizers, then the finish).
 * - Every recovery is counted; past `worker.recoveryBudget` the job fails and its
 *   task is blocked with the reason, so a job that kills its host every time stops.
 * - Every write is fenced by the attempt and by staleness, so a worker that is in
 *   fact alive (its heartbeat came in meanwhile) keeps its job.
 */
@injectable()
export class JobRecovery {
  constructor(
    @inject(CoreTokens.JobStore) private readonly jobs: JobStore,
    @inject(CoreTokens.AgentRunStore) private readonly agentRuns: AgentRunStore,
    @inject(CoreTokens.TaskStore) private readonly tasks: TaskStore,
    @inject(CoreTokens.Events) private readonly events: EventBus,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
    @inject(CoreTokens.Config) private readonly config: ConveyorConfig,
    @inject(CoreTokens.HostId) private readonly hostId: string,
    @inject(CoreTokens.Ports) private readonly ports: Ports,
  ) {}

  /**
   * `staleBefore`: also count a heartbeat older than this as stale (this host's own
   * jobs after a restart: one clock); null judges by the lease alone, in the
   * database's clock (any host's jobs).
   */
  async recover(job: Job, opts: { staleBefore: Date | null; why: string }): Promise<RecoveryOutcome> {
    if (job.hostId === this.hostId) await this.#killLocalAgent(job);
    // Another host's agent on this machine (two hosts on one machine, one stopped
    // past its lease): its tag says which processes are that attempt's; elsewhere
    // nothing carries it and nothing is signalled.
    else if (job.kind === 'agent') await killProcessTree(null, { graceMs: 500, tag: jobTreeTag(job) });
    const budget = this.config.worker.recoveryBudget;
    if (job.recoveries >= budget) {
      const reason = `${job.role ?? job.kind} at ${job.stage}: its host stopped ${job.recoveries + 1} times while running it (last: ${opts.why}); not retried again. Look for what stops the host (out of memory, a killed container, an agent that kills its parent), then move the task on by hand`;
      if (!(await this.jobs.failStale(job.id, job.attempt, opts.staleBefore, reason))) return 'lost';
      this.logger.error({ jobId: job.id, taskId: job.taskId, attempt: job.attempt, recoveries: job.recoveries, hostId: job.hostId }, 'recovery budget spent; the job failed');
      this.events.emit('job.finished', { job: { ...job, status: 'failed', error: reason }, status: 'failed' });
      this.events.emit('job.recovered', { job, outcome: 'exhausted', why: opts.why });
      if (await this.tasks.block(job.taskId, job.stage, reason)) {
        const task = (await this.tasks.get(job.taskId))!;
        this.events.emit('task.blocked', { task, reason });
        await notifySafely(this.ports.notifier(), { kind: 'agent_failed', text: `${task.workItemId}: ${reason}`, task }, this.logger);
      }
      return 'exhausted';
    }
    const resumeAttempt = await this.#resumeFrom(job);
    faultPoint('worker.recover');
    const requeued = await this.jobs.requeueStale(job.id, job.attempt, opts.staleBefore, {
      resumeAttempt,
      error: `${opts.why}${resumeAttempt !== null ? `; its agent had exited 0 (attempt ${resumeAttempt}): finishing from that exit` : ''}`,
    });
    if (!requeued) return 'lost';
    const outcome = resumeAttempt !== null ? 'resumed' : 'requeued';
    this.logger.warn({ jobId: job.id, taskId: job.taskId, attempt: job.attempt, hostId: job.hostId, pid: job.pid, recoveries: job.recoveries + 1, resumeAttempt, why: opts.why }, 'recovered a job whose host is gone');
    this.events.emit('job.recovered', { job, outcome, why: opts.why });
    this.events.emit('job.enqueued', { job: { ...job, status: 'queued' } });
    return outcome;
  }

  // The attempt's agent exited 0 and it was recorded: the cost is paid and the work
  // is in the worktree. A resumed attempt that died before finishing keeps pointing
  // at the same exit.
  async #resumeFrom(job: Job): Promise<number | null> {
    if (job.kind !== 'agent') return null;
    const run = await this.agentRuns.forJobAttempt(job.id, job.attempt);
    if (run) return run.finishedAt !== null && run.exitCode === 0 ? job.attempt : null;
    return job.resumeAttempt;
  }

  async #killLocalAgent(job: Job): Promise<void> {
    if (job.kind !== 'agent') return;
    // What the agent started carries the attempt's tag, also a `setsid` command whose
    // agent already exited: those are ended even when the agent's pid says nothing.
    const tag = jobTreeTag(job);
    if (job.pid === null || !pidAlive(job.pid)) {
      await killProcessTree(null, { graceMs: 500, tag });
      return;
    }
    // After a reboot the pid may belong to someone else: only a process that
    // started after the job was claimed can be its agent.
    const started = processStartedAt(job.pid);
    if (started !== null && job.startedAt && started >= job.startedAt.getTime() - 2_000) {
      await killProcessTree(job.pid, { graceMs: 500, tag });
    } else {
      this.logger.warn({ jobId: job.id, pid: job.pid }, 'pid of an orphaned job is alive but is not its agent (or cannot be told); only its tagged processes are signalled');
      await killProcessTree(null, { graceMs: 500, tag });
    }
  }
}
