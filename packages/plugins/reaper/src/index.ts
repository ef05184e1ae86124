/**
 * @conveyor/plugin-reaper — no zombie jobs. A daemon that takes back the jobs of a
 * host that is gone (any host, by its lease in the database's clock), fails the
 * jobs whose agent died without a word, finishes those whose exit was recorded but
 * whose finish was lost, kills runs that overran, and reclaims stale merge leases.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, type Clock, type JobFinisher, type StageEngine, type Worker } from '@conveyor/core';
import { Reaper, zeroCounts, type ReaperCounts } from './reaper.js';

export { Reaper, REAPER_PAGE, zeroCounts, type ReaperCounts, type ReaperDeps, type ReaperSettings } from './reaper.js';

export const reaperConfigSchema = Type.Object({
  intervalMs: Type.Integer({ minimum: 100, default: 10_000, description: 'How often the reaper ticks.' }),
  deadTicks: Type.Integer({ minimum: 1, default: 3, description: 'Consecutive ticks a job\'s agent pid must be seen dead, with no exit recorded, before the job counts as a transient failure.' }),
  finalizeGraceMs: Type.Integer({ minimum: 0, default: 300_000, description: 'A job still running this long after its agent\'s exit was recorded is finished by the reaper (longer than any finalization).' }),
  maxRunningMs: Type.Integer({ minimum: 1_000, default: 7_200_000, description: 'A job running longer than this is killed with its process tree and counts as a transient failure (a backstop behind `worker.agentTimeoutMs`).' }),
});

/** The reaper plugin. On by default: without it a dead host's jobs wait for that host's restart. */
export const reaperPlugin = definePlugin({
  name: 'reaper',
  configSchema: reaperConfigSchema,
  register(ctx) {
    const c = ctx.container;
    const reaper = new Reaper({
      stores: ctx.stores,
      worker: () => c.resolve<Worker>(CoreTokens.Worker),
      finisher: () => c.resolve<JobFinisher>(CoreTokens.JobFinisher),
      engine: () => c.resolve<StageEngine>(CoreTokens.StageEngine),
      hostId: c.resolve<string>(CoreTokens.HostId),
      clock: c.resolve<Clock>(CoreTokens.Clock),
      logger: ctx.logger,
      emit: (event, payload) => ctx.events.emit(event, payload),
      settings: { deadTicks: ctx.config.deadTicks, finalizeGraceMs: ctx.config.finalizeGraceMs, maxRunningMs: ctx.config.maxRunningMs },
    });
    const state = { lastTickAt: null as string | null, ticks: 0, last: zeroCounts(), total: zeroCounts() };
    ctx.loop({
      name: 'reaper',
      intervalMs: ctx.config.intervalMs,
      tick: async () => {
        const counts = await reaper.tick();
        state.ticks++;
        state.lastTickAt = new Date().toISOString();
        state.last = counts;
        for (const k of Object.keys(counts) as (keyof ReaperCounts)[]) state.total[k] += counts[k];
      },
    });
    ctx.snapshot(() => ({ enabled: true, intervalMs: ctx.config.intervalMs, lastTickAt: state.lastTickAt, ticks: state.ticks, lastTick: state.last, total: state.total }));
  },
});
