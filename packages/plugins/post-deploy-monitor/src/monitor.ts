import { notifySafely, toError, type Clock, type ConveyorEvents, type Logger, type Ports, type PostDeployWindow, type Task, type TaskStore } from '@conveyor/core';
import type { HealthCheck, PostDeployMonitorConfig } from './config.js';
import { runHealthCheck, type CheckResult } from './health-check.js';
import type { DeployWindow, WindowStore } from './window-store.js';

export interface MonitorDeps {
  config: PostDeployMonitorConfig;
  windows: WindowStore;
  tasks: TaskStore;
  ports: Ports;
  clock: Clock;
  logger: Logger;
  baseDir: string;
  /** The tracker's Done status name (`statuses.done`). */
  doneStatus: string;
  inScope(repo: string): boolean;
  emit<E extends keyof ConveyorEvents>(event: E, payload: ConveyorEvents[E]): void;
  fetch: typeof fetch;
}

/**
 * The post-deploy monitor: core's `PostDeployWindow` (armed on `deploy → done`,
 * before the tracker hears of done) and the tick of its loop. Each tick visits the
 * open windows that are due: a cancelled task's window closes without a word; an
 * ended window sends the tracker to Done; otherwise one health check, and
 * `failuresToDegrade` failures in a row report `deploy.degraded`.
 */
export class PostDeployMonitor implements PostDeployWindow {
  constructor(private readonly d: MonitorDeps) {}

  #check(repo: string): HealthCheck | null {
    return this.d.inScope(repo) ? (this.d.config.checks[repo] ?? null) : null;
  }

  async arm(task: Task): Promise<boolean> {
    if (!this.#check(task.repo)) return false;
    const armed = await this.d.windows.arm({ taskId: task.id, repo: task.repo, now: this.d.clock.now(), windowMs: this.d.config.windowMs, intervalMs: this.d.config.intervalMs });
    this.d.logger.info({ taskId: task.id, workItem: task.workItemId, repo: task.repo, windowMs: this.d.config.windowMs, armed }, 'post-deploy window armed');
    return armed;
  }

  isActive(taskId: number): Promise<boolean> {
    return this.d.windows.isActive(taskId);
  }

  /** One look at the due windows. A window that fails is logged and left for the next tick. */
  async tick(signal: AbortSignal): Promise<void> {
    for (const w of await this.d.windows.due(this.d.clock.now())) {
      if (signal.aborted) return;
      try {
        await this.#visit(w, signal);
      } catch (err) {
        this.d.logger.error({ taskId: w.taskId, repo: w.repo, err: toError(err) }, 'post-deploy window visit failed; tried again next tick');
      }
    }
  }

  async #visit(w: DeployWindow, signal: AbortSignal): Promise<void> {
    if (await this.#closedAsCancelled(w)) return;
    const now = this.d.clock.now();
    // Another host (or a tick before a restart) may be on this window: one visit each.
    if (!(await this.d.windows.claimVisit(w.taskId, w.nextCheckAt, now + this.d.config.intervalMs))) return;
    const task = (await this.d.tasks.get(w.taskId))!;
    if (now >= w.endsAt.getTime()) {
      if (await this.d.windows.close(w.taskId, 'healthy', now)) await this.#done(task, `post-deploy window ended after ${w.checks} checks`);
      return;
    }
    // Enough failures were recorded but the window was not closed (a crash between the
    // two writes): report it now, before another check could reset the count.
    if (w.failures >= this.d.config.failuresToDegrade) {
      await this.#degraded(task, w.failures, { healthy: false, detail: w.lastError ?? 'unknown' });
      return;
    }
    const check = this.d.config.checks[w.repo];
    if (!check) return; // the check was taken out of the config: the window just runs to its end
    const result = await runHealthCheck(check, { timeoutMs: this.d.config.checkTimeoutMs, cwd: this.d.baseDir, passEnv: this.d.config.passEnv, signal, fetch: this.d.fetch });
    if (signal.aborted) return;
    // The task may have been cancelled while the check ran: then nothing is said.
    if (await this.#closedAsCancelled(w)) return;
    if (!(await this.d.windows.record(w.taskId, w.failures, result.healthy, result.detail))) return;
    const failures = result.healthy ? 0 : w.failures + 1;
    this.d.logger.info({ taskId: w.taskId, repo: w.repo, healthy: result.healthy, detail: result.detail, failures }, 'post-deploy health check');
    if (failures >= this.d.config.failuresToDegrade) await this.#degraded(task, failures, result);
  }

  /** A tick for a task that is gone or cancelled does nothing: no status, no event, no next check. */
  async #closedAsCancelled(w: DeployWindow): Promise<boolean> {
    const task = await this.d.tasks.get(w.taskId);
    if (task && task.stage !== 'cancelled') return false;
    if (await this.d.windows.close(w.taskId, 'cancelled', this.d.clock.now())) {
      this.d.logger.info({ taskId: w.taskId, repo: w.repo }, 'post-deploy window closed: the task was cancelled');
    }
    return true;
  }

  async #degraded(task: Task, failures: number, last: CheckResult): Promise<void> {
    if (!(await this.d.windows.close(task.id, 'degraded', this.d.clock.now()))) return;
    const reason = `health check failed ${failures} times in a row after the deploy of ${task.workItemId} (last: ${last.detail})`;
    this.d.logger.warn({ taskId: task.id, workItem: task.workItemId, repo: task.repo, reason }, 'deploy degraded');
    this.d.emit('deploy.degraded', { taskId: task.id, repo: task.repo, reason });
    await notifySafely(this.d.ports.notifier(), { kind: 'alert', text: `${task.workItemId} (${task.repo}): deploy degraded — ${reason}`, task }, this.d.logger);
    await this.#done(task, `post-deploy window ended: deploy degraded (${last.detail})`, `Conveyor: the deploy of ${task.workItemId} is degraded — ${reason}.`);
  }

  /** Window over: the tracker goes to Done (the task was done since its deploy). */
  async #done(task: Task, reason: string, comment?: string): Promise<void> {
    const tracker = this.d.ports.tracker();
    if (!tracker) return;
    const ref = { repo: task.repo, trackerIssueId: task.trackerIssueId };
    try {
      if (comment) await tracker.addComment(ref, comment);
      await tracker.setStatus(ref, this.d.doneStatus, { reason });
    } catch (err) {
      this.d.logger.warn({ taskId: task.id, err: toError(err) }, 'tracker update at the end of the post-deploy window failed');
    }
  }
}
