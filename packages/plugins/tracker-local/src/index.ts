/**
 * @conveyor/plugin-tracker-local — the embedded tracker: tasks created through the
 * host's API or the CLI, statuses and comments kept in the instance's database.
 */
import { TrackerLocalTokens } from './tokens.js';
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, type Clock, type Database, type Intake, type TaskStore } from '@conveyor/core';
import { LocalTracker } from './local-tracker.js';
import { trackerLocalMigrations } from './migrations.js';
import { trackerLocalRoutes } from './routes.js';

export { TrackerLocalTokens } from './tokens.js';
export { LocalTracker, type LocalIssue, type LocalIssueEvent } from './local-tracker.js';
export { trackerLocalMigrations } from './migrations.js';

export const trackerLocalConfigSchema = Type.Object({
  defaultRepo: Type.String({ default: 'demo', minLength: 1, description: 'Repo of tasks created without one (`POST /tasks`, `conveyor task create`).' }),
  autoApprove: Type.Boolean({ default: false, description: 'Approve every analysis at once, as if a person did (demo only).' }),
});

/** Binds the local tracker and mounts its routes. */
export const trackerLocalPlugin = definePlugin({
  name: 'tracker-local',
  configSchema: trackerLocalConfigSchema,
  migrations: trackerLocalMigrations,
  register(ctx) {
    const db = ctx.container.resolve<Database>(CoreTokens.Database);
    const tracker = new LocalTracker(db.knex, ctx.container.resolve<Clock>(CoreTokens.Clock));
    ctx.provide(CoreTokens.Tracker, tracker);
    ctx.provide(TrackerLocalTokens.Tracker, tracker);
    const intake = () => ctx.container.resolve<Intake>(CoreTokens.Intake);
    const statuses = ctx.instanceConfig.statuses;
    for (const route of trackerLocalRoutes({
      tracker,
      get intake() {
        return intake();
      },
      tasks: ctx.container.resolve<TaskStore>(CoreTokens.TaskStore),
      statuses,
      defaultRepo: ctx.config.defaultRepo,
      knownRepos: Object.keys(ctx.instanceConfig.repos),
    })) {
      ctx.addRoute(route);
    }
    if (ctx.config.autoApprove) {
      ctx.on('human.approval_needed', async ({ task }) => {
        if (!ctx.inScope(task.repo)) return;
        ctx.logger.info({ taskId: task.id, workItem: task.workItemId }, 'auto-approving the analysis (plugins.tracker-local.autoApprove)');
        await tracker.setStatus({ repo: task.repo, trackerIssueId: task.trackerIssueId }, statuses.approved, { reason: 'autoApprove' });
        await intake().humanVerdict(task.id, 'approved');
      });
    }
    ctx.snapshot(async () => ({ issuesByStatus: await tracker.countByStatus(), autoApprove: ctx.config.autoApprove }));
  },
});
