/**
 * @conveyor/plugin-deploy-status-guard — Done stays Done: every deploy-phase
 * tracker status write (Awaiting Deploy, Deploying, Monitoring after Deploy) is
 * decided against the task as stored: allowed, converged to Done, or suppressed.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, type Clock, type Ports } from '@conveyor/core';
import { StatusGuard } from './status-guard.js';

export { decide, type GuardFacts } from './decide.js';
export { StatusGuard, type Decision } from './status-guard.js';

/** No keys beyond `enabled` (the kill-switch: off, every write goes through as asked) and `repos`. */
export const deployStatusGuardConfigSchema = Type.Object({});

/** The deploy-status-guard plugin. On by default: it only ever stops a status that would be wrong. */
export const deployStatusGuardPlugin = definePlugin({
  name: 'deploy-status-guard',
  configSchema: deployStatusGuardConfigSchema,
  register(ctx) {
    const clock = ctx.container.resolve<Clock>(CoreTokens.Clock);
    const guard = new StatusGuard({
      ports: ctx.container.resolve<Ports>(CoreTokens.Ports),
      logger: ctx.logger,
      inScope: (repo) => ctx.inScope(repo),
      now: () => clock.now(),
    });
    ctx.provide(CoreTokens.DeployStatusGuard, guard);
    ctx.snapshot(() => ({
      scope: ctx.config.repos.length ? [...ctx.config.repos] : 'all',
      decisions: { ...guard.counts },
      recent: guard.recent,
    }));
  },
});
