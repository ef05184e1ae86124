/**
 * @conveyor/plugin-dashboard — the web dashboard at `/ui`: every task live, why it
 * waits and what it cost, and the actions a person can take. Server-rendered HTML,
 * one small script and one stylesheet shipped in the package; no build step.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, type ArtifactReader, type BudgetsConfig, type Pipeline, type Ports } from '@conveyor/core';
import { dashboardRoutes } from './routes.js';

export { renderMarkdown } from './markdown.js';
export { escapeHtml, html, Html } from './html.js';
export { taskActions, HOST_ACTION_ROUTES, type TaskAction } from './actions.js';
export { movedBy } from './pages/task-page.js';
export { matches, type TaskFilter } from './data.js';

export const dashboardConfigSchema = Type.Object({
  title: Type.String({ default: 'Conveyor', minLength: 1, maxLength: 80, description: 'The name in the page header and the browser tab.' }),
  taskLimit: Type.Integer({ default: 200, minimum: 1, maximum: 500, description: 'At most this many tasks (newest first) on the Tasks page.' }),
  costDays: Type.Integer({ default: 14, minimum: 1, maximum: 366, description: 'Days shown in the Cost page\'s spend-per-day chart.' }),
  costTasks: Type.Integer({ default: 200, minimum: 1, maximum: 500, description: 'The Cost page sums the agent runs and stage times of this many newest tasks.' }),
});

/**
 * The dashboard plugin. On by default: it only reads, and its pages show data
 * only to whoever may read the API (`host.readAuth`).
 */
export const dashboardPlugin = definePlugin({
  name: 'dashboard',
  configSchema: dashboardConfigSchema,
  register(ctx) {
    const c = ctx.container;
    const routes = dashboardRoutes(
      {
        stores: ctx.stores,
        waiting: ctx.waiting,
        pipeline: c.resolve<Pipeline>(CoreTokens.Pipeline),
        budgets: ctx.instanceConfig.budgets as BudgetsConfig,
        instance: ctx.instance,
        // Bound by core (the workspace) or a forge plugin; looked up when a page asks.
        artefacts: () => (c.isRegistered(CoreTokens.ArtifactReader, true) ? c.resolve<ArtifactReader>(CoreTokens.ArtifactReader) : null),
        canCancel: () => c.resolve<Ports>(CoreTokens.Ports).canceller() !== null,
        now: () => new Date(),
      },
      { title: ctx.config.title, taskLimit: ctx.config.taskLimit, costDays: ctx.config.costDays, costTasks: ctx.config.costTasks },
    );
    for (const route of routes) ctx.addRoute(route);
  },
});
