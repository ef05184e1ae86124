/**
 * @conveyor/plugin-tracker-local — the embedded tracker: tasks created through the
 * host's API or the CLI, statuses and comments kept in the instance's database.
 */
import { TrackerLocalTokens } from './tokens.js';
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, faultPoint, type Clock, type Database, type Intake, type JobStore, type Pipeline, type Task, type TaskStore } from '@conveyor/core';
import { LocalTracker } from './local-tracker.js';
import { trackerLocalMigrations } from './migrations.js';
import { trackerLocalRoutes } from './routes.js';

export { TrackerLocalTokens } from './tokens.js';
export { LocalTracker, type LocalIssue, type LocalIssueEvent } from './local-tracker.js';
export { trackerLocalMigrations } from './migrations.js';

export const trackerLocalConfigSchema = Type.Object({
  defaultRepo: Type.String({ default: 'demo', minLength: 1, description: 'Repo of tasks created without one (`POST /tasks`, `conveyor task create`).' }),
  autoApprove: Type.Boolean({ default: false, description: 'Approve every analysis at once, as if a person did (demo only).' }),
  deriveIntervalMs: Type.Integer({ minimum: 10, default: 5000, description: 'How often stored state is checked for work a crash interrupted: an issue in "To Analyse" that never got its task, an analysis waiting for autoApprove.' }),
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
    const derived = { tasksCreated: 0, autoApproved: 0 };
    const approve = async (task: Task): Promise<void> => {
      ctx.logger.info({ taskId: task.id, workItem: task.workItemId }, 'auto-approving the analysis (plugins.tracker-local.autoApprove)');
      await tracker.setStatus({ repo: task.repo, trackerIssueId: task.trackerIssueId }, statuses.approved, { reason: 'autoApprove' });
      // Crash window: the issue says Approved, the task has no verdict, and the event
      // that brought us here will not fire again for this review.
      faultPoint('tracker-local.auto-approve');
      const res = await intake().humanVerdict(task.id, 'approved');
      if (res.kind !== 'ignored') derived.autoApproved++;
    };
    if (ctx.config.autoApprove) {
      // Prompt, but not enough on its own: the event fires once per review window,
      // and a kill before this listener runs would leave the task waiting for a
      // person for ever. The loop below derives the same answer from stored state.
      ctx.on('human.approval_needed', async ({ task }) => {
        if (ctx.inScope(task.repo)) await approve(task);
      });
    }
    const tasks = ctx.container.resolve<TaskStore>(CoreTokens.TaskStore);
    const jobs = ctx.container.resolve<JobStore>(CoreTokens.JobStore);
    const humanStage = ctx.container.resolve<Pipeline>(CoreTokens.Pipeline).stages.find((st) => st.humanGate)?.name ?? null;
    ctx.loop({
      name: 'tracker-local.derive',
      intervalMs: ctx.config.deriveIntervalMs,
      tick: async () => {
        for (const issue of await tracker.issuesWithoutTask(statuses.toAnalyse)) {
          try {
            const res = await intake().startPipeline({ repo: issue.repo, trackerIssueId: String(issue.id), title: issue.title, description: issue.description, trackerSequence: issue.id });
            if (res.created) {
              derived.tasksCreated++;
              ctx.logger.warn({ issue: issue.id, taskId: res.task.id }, 'local issue in To Analyse had no task (a crash between the two); task created');
            }
          } catch (err) {
            // One issue that cannot become a task (its repo left the config) must not hold up the others.
            ctx.logger.error({ issue: issue.id, repo: issue.repo, err }, 'could not create the task of a local issue in To Analyse');
          }
        }
        if (!ctx.config.autoApprove) return;
        for (const task of await awaitingApproval(tasks, jobs, humanStage)) {
          if (ctx.inScope(task.repo)) await approve(task);
        }
      },
    });
    ctx.snapshot(async () => ({ issuesByStatus: await tracker.countByStatus(), autoApprove: ctx.config.autoApprove, derived: { ...derived } }));
  },
});

/**
 * Tasks a person would be asked about now, from stored state: at the human gate,
 * its review window open, no verdict, not blocked, no agent queued or running.
 */
async function awaitingApproval(tasks: TaskStore, jobs: JobStore, stage: string | null): Promise<Task[]> {
  if (!stage) return [];
  const out: Task[] = [];
  for (const t of await tasks.list({ stage, live: true })) {
    if (!t.humanReviewStartedAt || t.humanReviewEndedAt || t.humanVerdict || t.blockedReason) continue;
    if (await jobs.activeForTask(t.id)) continue;
    out.push(t);
  }
  return out;
}
