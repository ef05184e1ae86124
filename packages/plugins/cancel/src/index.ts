/**
 * @conveyor/plugin-cancel — the STOP status. A STOP (the tracker status,
 * `POST /tasks/:id/stop`, `conveyor task stop`) cancels the task: its agent's
 * whole process tree is stopped, its jobs cancelled for good, the merge lease
 * released, the worktree and the remote task branch removed, the task moved to
 * `cancelled` and its natural keys freed for a fresh task. A STOP during an
 * irreversible step waits for that step.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, isTerminalStage, notifySafely, toError, type Clock, type ConveyorConfig, type Database, type Ports } from '@conveyor/core';
import { CancelService } from './cancel-service.js';
import { CancelSweep } from './cancel-sweep.js';
import { cancelSnapshot } from './snapshot.js';

export { CancelService, type CancelServiceDeps } from './cancel-service.js';
export { criticalWindow, type CriticalWindow } from './critical-window.js';
export { collectProcessTree, killProcesses, killProcessTree, type TreeKill } from './process-tree.js';

export const cancelConfigSchema = Type.Object({
  killGraceMs: Type.Integer({ minimum: 0, default: 5000, description: "How long a cancelled agent's processes get between SIGTERM and SIGKILL, in ms." }),
  sweepIntervalMs: Type.Integer({
    minimum: 50,
    default: 2000,
    description: 'How often each host applies pending STOPs (a deferred one whose step finished, one whose agent this host runs), in ms.',
  }),
});

/**
 * The cancel plugin. On by default: STOP is what a person reaches for when an
 * agent goes wrong, and it must work on a fresh install. `repos` is not used:
 * a STOP applies to a task of any repository.
 */
export const cancelPlugin = definePlugin({
  name: 'cancel',
  configSchema: cancelConfigSchema,
  register(ctx) {
    const c = ctx.container;
    const clock = c.resolve<Clock>(CoreTokens.Clock);
    const ports = c.resolve<Ports>(CoreTokens.Ports);
    const config = c.resolve<ConveyorConfig>(CoreTokens.Config);
    const { tasks, jobs, leases } = ctx.stores;
    const service = new CancelService({
      tasks,
      jobs,
      leases,
      db: c.resolve<Database>(CoreTokens.Database),
      ports,
      events: ctx.events,
      logger: ctx.logger,
      hostId: c.resolve<string>(CoreTokens.HostId),
      repos: config.repos,
      killGraceMs: ctx.config.killGraceMs,
      staleAfterMs: config.worker.heartbeatIntervalMs * 3,
      now: () => clock.now(),
    });
    ctx.provide(CoreTokens.Canceller, service);

    // A deferred STOP is applied as soon as the step it waited for ends: a job of
    // the task finished, or the task moved (a refused merge rolls it back).
    const inFlight = new Set<Promise<unknown>>();
    const applySoon = (taskId: number): void => {
      const p = service
        .apply(taskId, { firstRequest: false })
        .catch((err: unknown) => ctx.logger.error({ taskId, err: toError(err) }, 'applying a deferred STOP failed; the sweep retries'))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    ctx.on('job.finished', async ({ job }) => {
      const task = await tasks.get(job.taskId);
      if (task?.cancelRequestedAt && !isTerminalStage(task.stage)) applySoon(task.id);
    });
    ctx.on('task.stage_changed', ({ task }) => {
      if (task.cancelRequestedAt && !isTerminalStage(task.stage)) applySoon(task.id);
    });
    // The merge landed before the STOP could apply: the work is in main, the task is
    // done, not cancelled. Said once, by the host that completed it.
    ctx.on('task.done', async ({ task }) => {
      if (!task.cancelRequestedAt) return;
      ctx.logger.info({ taskId: task.id, workItem: task.workItemId }, 'STOP overtaken: the merge landed first; the task is done');
      await notifySafely(ports.notifier(), { kind: 'alert', text: `${task.workItemId}: the STOP came during the merge, which landed; the task is done, not cancelled`, task }, ctx.logger);
    });
    ctx.onStop(async () => {
      await Promise.allSettled([...inFlight]);
    });

    const sweep = new CancelSweep({ service, tasks, ports, logger: ctx.logger, now: () => clock.now() });
    ctx.loop({ name: 'cancel.sweep', intervalMs: ctx.config.sweepIntervalMs, tick: () => sweep.tick() });
    ctx.snapshot(() => cancelSnapshot({ tasks, jobs, leases }));
  },
});
