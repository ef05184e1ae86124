/**
 * @conveyor/plugin-serial-gate — one task at a time per repository: a task's jobs
 * wait until every earlier task of its repo has ended, and nothing of a frozen
 * repo runs. A degraded deploy freezes its repo until a person lifts it.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, TERMINAL_STAGES, definePlugin, type Clock, type Database, type Ports, type Task } from '@conveyor/core';
import { FreezeStore } from './freeze-store.js';
import { serialGateMigrations } from './migrations.js';
import { unfreezeRoute } from './routes.js';
import { serialClause } from './serial-clause.js';
import { serialSnapshot } from './snapshot.js';

export { FreezeStore, type RepoFreeze } from './freeze-store.js';
export { serialGateMigrations } from './migrations.js';
export { serialClause } from './serial-clause.js';

export const serialGateConfigSchema = Type.Object({
  freezeOnDegraded: Type.Boolean({ default: true, description: 'Freeze a repository (durably) when a deploy of it is reported degraded (`deploy.degraded`).' }),
});

/**
 * The serial-gate plugin. Opt-in (`plugins.serial-gate.enabled: true`): it changes
 * how the queue orders work, so a host that bundles it does not turn it on by surprise.
 */
export const serialGatePlugin = definePlugin({
  name: 'serial-gate',
  configSchema: serialGateConfigSchema,
  enabledByDefault: false,
  migrations: serialGateMigrations,
  register(ctx) {
    const db = ctx.container.resolve<Database>(CoreTokens.Database);
    const knex = db.knex;
    const freezes = new FreezeStore(knex, ctx.container.resolve<Clock>(CoreTokens.Clock));
    const repos = ctx.config.repos;
    const earlierLive = async (repo: string, id: number): Promise<Task | null> => {
      const row = (await knex('tasks').select('id').where({ repo }).andWhere('id', '<', id).whereNotIn('stage', [...TERMINAL_STAGES]).orderBy('id').first()) as { id: number } | undefined;
      return row ? ctx.stores.tasks.get(row.id) : null;
    };

    ctx.addClaimClause(serialClause({ repos, freezes, tasks: ctx.stores.tasks, earlierLive }));

    // The branch of a task that waits behind others is cut when its first job is
    // claimed, from the freshest main: it then contains its predecessors' merged code.
    ctx.onTaskCreating((draft) => (ctx.inScope(draft.repo) ? { deferBranchCut: true } : undefined));

    if (ctx.config.freezeOnDegraded) {
      ctx.on('deploy.degraded', async ({ taskId, repo, reason }) => {
        if (!ctx.inScope(repo)) return;
        if (!(await freezes.freeze({ repo, event: 'deploy.degraded', reason, taskId }))) return;
        const text = `serial-gate froze ${repo} after a degraded deploy of task ${taskId}: ${reason}. No task of ${repo} starts until \`conveyor serial-gate unfreeze ${repo}\`.`;
        ctx.logger.warn({ repo, taskId, reason }, 'repository frozen');
        const notifier = ctx.container.resolve<Ports>(CoreTokens.Ports).notifier();
        const task = await ctx.stores.tasks.get(taskId);
        await notifier?.notify({ kind: 'alert', text, ...(task ? { task } : {}) });
      });
    }

    ctx.addRoute(
      unfreezeRoute({
        freezes,
        onUnfrozen: (repo) => ctx.logger.info({ repo }, 'repository unfrozen by a person'),
      }),
    );
    ctx.snapshot(() => serialSnapshot({ knex, freezes, repos }));
  },
});
