/**
 * @conveyor/plugin-metrics — raw state for an observability sidecar: `GET /metrics`
 * (a versioned JSON envelope) and `GET /metrics/prometheus` (the same figures plus
 * duration histograms, in the Prometheus text format).
 */
import { CoreTokens, definePlugin, toError, type Clock, type Database } from '@conveyor/core';
import { collectMetrics } from './collect.js';
import type { PrometheusMetrics } from './prometheus.js';

export type { PrometheusMetrics } from './prometheus.js';

export * from './collect.js';
export * from './proc-stat.js';

/** The `metrics` plugin: read-only routes and event-fed histograms; it changes nothing. */
export const metricsPlugin = definePlugin({
  name: 'metrics',
  register(ctx) {
    const clock = ctx.container.resolve<Clock>(CoreTokens.Clock);
    const deps = {
      stores: ctx.stores,
      db: ctx.container.resolve<Database>(CoreTokens.Database),
      config: ctx.instanceConfig,
      hostId: ctx.container.resolve<string>(CoreTokens.HostId),
      logger: ctx.logger,
      now: () => clock.now(),
    };
    // prom-client is loaded when first needed (an event to observe, a scrape), not at
    // start; observations made meanwhile wait for it in order, none is lost.
    let loading: Promise<PrometheusMetrics> | null = null;
    const prometheus = () => (loading ??= import('./prometheus.js').then((m) => new m.PrometheusMetrics()));
    const withProm = (fn: (prom: PrometheusMetrics) => void) =>
      prometheus().then(fn, (err: unknown) => ctx.logger.warn({ err: toError(err) }, 'metrics: the Prometheus side could not be loaded'));

    ctx.on('task.stage_changed', async ({ task, from }) => {
      // The time in `from`: from the move into it (or the task's creation) to this move.
      const moves = await ctx.stores.tasks.transitions(task.id);
      const left = moves.at(-1);
      const entered = moves.length > 1 ? moves.at(-2)!.at : task.createdAt;
      if (left) await withProm((prom) => prom.stageDuration.observe({ stage: from }, Math.max(0, (left.at.getTime() - entered.getTime()) / 1000)));
    });
    // Wall clock on both ends: the inbox stamps acceptance with Date.now().
    ctx.on('task.created', ({ deliveredAt }) => {
      if (!deliveredAt) return;
      const seconds = Math.max(0, (Date.now() - deliveredAt.getTime()) / 1000);
      void withProm((prom) => prom.webhookToTask.observe(seconds));
    });
    const started = new Map<string, number>();
    ctx.on('agent.started', ({ job }) => void started.set(`${job.id}:${job.attempt}`, clock.now()));
    ctx.on('agent.finished', ({ job, exitCode }) => {
      const key = `${job.id}:${job.attempt}`;
      const at = started.get(key);
      started.delete(key);
      if (at === undefined) return;
      const seconds = Math.max(0, (clock.now() - at) / 1000);
      void withProm((prom) => prom.agentDuration.observe({ agent: job.role ?? 'agent', outcome: exitCode === 0 ? 'ok' : 'failed' }, seconds));
    });

    ctx.addRoute({
      method: 'GET',
      url: '/metrics',
      auth: 'none',
      description: 'Stages, queue, running agents, cost and budgets as one versioned JSON envelope.',
      handler: async () => ({ status: 200, body: await collectMetrics(deps) }),
    });
    ctx.addRoute({
      method: 'GET',
      url: '/metrics/prometheus',
      auth: 'none',
      description: 'The same figures and duration histograms in the Prometheus text format.',
      handler: async () => {
        const prom = await prometheus();
        return { status: 200, headers: { 'content-type': prom.contentType }, body: await prom.render(await collectMetrics(deps)) };
      },
    });
  },
});
