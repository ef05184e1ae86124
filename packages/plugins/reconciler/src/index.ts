/**
 * @conveyor/plugin-reconciler — lost webhooks do not stall tasks: a daemon that
 * re-evaluates the gates of tasks left standing, replays the forge's CI statuses
 * and the tracker's statuses through intake, and re-drives interrupted merges.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, type Clock, type ConveyorConfig, type Database, type Intake, type Pipeline, type Ports, type StageEngine } from '@conveyor/core';
import { ClaimStore } from './claim-store.js';
import { reconcilerMigrations } from './migrations.js';
import { Reconciler, type ReplayedStatus } from './reconciler.js';

export { ClaimStore } from './claim-store.js';
export { reconcilerMigrations } from './migrations.js';
export { Reconciler, type ReconcilerOptions, type TickReport, type ReplayedStatus } from './reconciler.js';
export { stillTasks, type StillTask } from './still-tasks.js';

const REPLAYABLE = ['toAnalyse', 'approved', 'stop'] as const;

export const reconcilerConfigSchema = Type.Object({
  intervalMs: Type.Integer({ minimum: 10, default: 30_000, description: 'How often the reconciler looks for tasks a lost webhook left standing (ms).' }),
  graceMs: Type.Integer({ minimum: 0, default: 120_000, description: 'How long a task must have stood still (no job, no change) before its gates are re-evaluated (ms).' }),
  stageGraceMs: Type.Record(Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 }), { default: {}, description: 'Per-stage grace overriding `graceMs`, by stage name (e.g. a longer one where CI is slow).' }),
  claimTtlMs: Type.Integer({ minimum: 1_000, default: 60_000, description: 'How long a claim on a task holds if its host dies mid-act (longer than one act: a gate evaluation and an advance); then another host may act (ms). A restarted host drops its own claims at once.' }),
  batchSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 200, description: 'Still tasks examined per tick, oldest first.' }),
  forgeSide: Type.Boolean({ default: true, description: 'When a task waits for CI, read the branch head\'s statuses from the forge and replay them (a lost status webhook).' }),
  trackerSide: Type.Boolean({ default: true, description: 'Poll the tracker for issues in the statuses of `trackerStatuses` and replay them through intake (a lost tracker webhook).' }),
  trackerStatuses: Type.Array(Type.Union(REPLAYABLE.map((s) => Type.Literal(s))), {
    default: [...REPLAYABLE],
    description: 'Which statuses the tracker side replays, by Conveyor\'s status key: `toAnalyse` (a missed entry: only issues that never had a task), `approved` (a missed verdict at the human gate), `stop`.',
  }),
});

/**
 * The reconciler plugin. On by default: it acts only where a webhook was missed,
 * through the same compare-and-sets the webhook would have reached.
 */
export const reconcilerPlugin = definePlugin({
  name: 'reconciler',
  configSchema: reconcilerConfigSchema,
  migrations: reconcilerMigrations,
  register(ctx) {
    const c = ctx.container;
    const db = c.resolve<Database>(CoreTokens.Database);
    const clock = c.resolve<Clock>(CoreTokens.Clock);
    const claims = new ClaimStore(db.knex, clock, c.resolve<string>(CoreTokens.HostId), ctx.config.claimTtlMs);
    const reconciler = new Reconciler(
      {
        knex: db.knex,
        stores: ctx.stores,
        engine: () => c.resolve<StageEngine>(CoreTokens.StageEngine),
        intake: () => c.resolve<Intake>(CoreTokens.Intake),
        ports: () => c.resolve<Ports>(CoreTokens.Ports),
        pipeline: c.resolve<Pipeline>(CoreTokens.Pipeline),
        config: ctx.instanceConfig as ConveyorConfig,
        claims,
        events: ctx.events,
        logger: ctx.logger,
        now: () => clock.now(),
        inScope: (repo) => ctx.inScope(repo),
        heldBackBy: (task) => ctx.waiting.heldBackBy(task),
      },
      {
        graceMs: ctx.config.graceMs,
        stageGraceMs: ctx.config.stageGraceMs,
        batchSize: ctx.config.batchSize,
        forgeSide: ctx.config.forgeSide,
        trackerSide: ctx.config.trackerSide,
        trackerStatuses: ctx.config.trackerStatuses as ReplayedStatus[],
      },
    );
    // A claim this host id left when it was killed mid-act would hold its task for `claimTtlMs`.
    ctx.onStart(async () => {
      const dropped = await claims.releaseAllOfThisHost();
      if (dropped > 0) ctx.logger.info({ dropped }, 'reconciler: claims left by this host\'s previous run released');
    });
    const loop = ctx.loop({ name: 'reconciler', intervalMs: ctx.config.intervalMs, tick: async (signal) => void (await reconciler.tick(signal)) });
    ctx.snapshot(() => ({
      running: loop.running ?? false,
      intervalMs: ctx.config.intervalMs,
      graceMs: ctx.config.graceMs,
      lastTick: reconciler.lastTick ? { ...reconciler.lastTick, at: new Date(reconciler.lastTick.at).toISOString() } : null,
      unstuck: reconciler.unstuckTotal,
    }));
  },
});
