/**
 * @conveyor/plugin-post-deploy-monitor — watch after deploy: for a window after each
 * successful deploy the repository's health check (a URL or a command) runs on an
 * interval; enough failures in a row report `deploy.degraded`; the window's end
 * sends the tracker to Done. The windows live in a table, so a restart mid-window
 * goes on where it stopped.
 */
import { CoreTokens, definePlugin, type Clock, type Database, type Ports } from '@conveyor/core';
import { postDeployMonitorConfigSchema, validateChecks } from './config.js';
import { postDeployMonitorMigrations } from './migrations.js';
import { PostDeployMonitor } from './monitor.js';
import { monitorSnapshot } from './snapshot.js';
import { WindowStore } from './window-store.js';

export { postDeployMonitorConfigSchema, validateChecks, type HealthCheck, type PostDeployMonitorConfig } from './config.js';
export { runHealthCheck, type CheckResult, type CheckOptions } from './health-check.js';
export { postDeployMonitorMigrations } from './migrations.js';
export { PostDeployMonitor, type MonitorDeps } from './monitor.js';
export { WindowStore, type DeployWindow, type WindowStatus } from './window-store.js';

/**
 * The post-deploy-monitor plugin. On by default and inert until a repository has a
 * health check (`checks.<repo>`): without one, its tasks go straight to Done.
 */
export const postDeployMonitorPlugin = definePlugin({
  name: 'post-deploy-monitor',
  configSchema: postDeployMonitorConfigSchema,
  migrations: postDeployMonitorMigrations,
  register(ctx) {
    validateChecks(ctx.config.checks);
    const windows = new WindowStore(ctx.container.resolve<Database>(CoreTokens.Database).knex);
    const monitor = new PostDeployMonitor({
      config: ctx.config,
      windows,
      tasks: ctx.stores.tasks,
      ports: ctx.container.resolve<Ports>(CoreTokens.Ports),
      clock: ctx.container.resolve<Clock>(CoreTokens.Clock),
      logger: ctx.logger,
      baseDir: ctx.baseDir,
      doneStatus: ctx.instanceConfig.statuses.done,
      inScope: (repo) => ctx.inScope(repo),
      emit: (event, payload) => ctx.events.emit(event, payload),
      fetch: globalThis.fetch,
    });
    ctx.provide(CoreTokens.PostDeployWindow, monitor);
    ctx.loop({ name: 'post-deploy-monitor', intervalMs: ctx.config.intervalMs, tick: (signal) => monitor.tick(signal) });
    const watched = Object.keys(ctx.config.checks).filter((repo) => ctx.inScope(repo));
    ctx.snapshot(() => monitorSnapshot({ windows, watched }));
  },
});
