/**
 * @conveyor/plugin-task-deps — declared dependencies between tasks: a task's jobs
 * are not claimed while a task it depends on has not ended.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, type Clock, type Database, type Ports } from '@conveyor/core';
import { DepStore } from './dep-store.js';
import { depsClause } from './deps-clause.js';
import { DepsService } from './deps-service.js';
import { ingestRelations } from './ingest.js';
import { taskDepsMigrations } from './migrations.js';
import { depsRoutes } from './routes.js';

export { DepStore, type Dependency } from './dep-store.js';
export { DepsService, cycleText } from './deps-service.js';
export { TaskDepsError, type TaskDepsErrorCode } from './errors.js';
export { findCycle } from './cycle.js';
export { taskDepsMigrations } from './migrations.js';

export const taskDepsConfigSchema = Type.Object({
  ingestTrackerRelations: Type.Boolean({
    default: false,
    description: 'On intake, read the tracker\'s "blocked by" relations of a new task (Plane issue relations) and declare them as dependencies.',
  }),
});

/** The `/queue` block lists at most this many waiting dependency edges. */
const SNAPSHOT_LIMIT = 200;

/**
 * The task-deps plugin. On by default: without a declared dependency it changes
 * nothing (one index probe per claim).
 */
export const taskDepsPlugin = definePlugin({
  name: 'task-deps',
  configSchema: taskDepsConfigSchema,
  migrations: taskDepsMigrations,
  register(ctx) {
    const db = ctx.container.resolve<Database>(CoreTokens.Database);
    const deps = new DepStore(db.knex, ctx.container.resolve<Clock>(CoreTokens.Clock));
    const ports = () => ctx.container.resolve<Ports>(CoreTokens.Ports);
    const service = new DepsService({ deps, tasks: ctx.stores.tasks, events: ctx.events, notifier: () => ports().notifier(), logger: ctx.logger });

    ctx.addClaimClause(depsClause({ deps, repos: ctx.config.repos }));
    for (const route of depsRoutes({ service, deps, taskExists: async (id) => (await ctx.stores.tasks.get(id)) !== null })) ctx.addRoute(route);

    if (ctx.config.ingestTrackerRelations) {
      ctx.on('task.created', async ({ task }) => {
        if (!ctx.inScope(task.repo)) return;
        await ingestRelations({ tracker: ports().tracker(), tasks: ctx.stores.tasks, service, logger: ctx.logger }, task);
      });
    }

    ctx.snapshot(async () => {
      const waiting = await deps.waiting(SNAPSHOT_LIMIT);
      return {
        waitingTasks: waiting.length,
        waiting: waiting.map((w) => ({ ...w, line: `${w.workItemId} waits for ${w.waitsOn.map((x) => `${x.workItemId} (${x.stage})`).join(', ')}` })),
      };
    });
  },
});
