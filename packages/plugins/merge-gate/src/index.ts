/**
 * @conveyor/plugin-merge-gate — main stays green when branches land in parallel:
 * under a per-repo merge lease, the task branch is rebased onto the current main,
 * pushed (task branch only), and re-tested before it may move to `deploy`.
 */
import os from 'node:os';
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, type AgentSandbox, type Clock, type Database, type MergePin } from '@conveyor/core';
import { refreshHeldLeases } from './lease-refresh.js';
import { mergeGate } from './merge-gate.js';
import { testedMergePin } from './merge-pin.js';
import { mergeGateMigrations } from './migrations.js';
import { RetestStore } from './retest-store.js';
import { mergeSnapshot } from './snapshot.js';

export { LEASE_STAGES, refreshHeldLeases } from './lease-refresh.js';
export { mergeGate, type MergeGateDeps } from './merge-gate.js';
export { testedMergePin } from './merge-pin.js';
export { mergeGateMigrations } from './migrations.js';
export { PremergeCheckout, originUrl, type PremergeRepo, type RebaseOutcome } from './premerge.js';
export { retest, type RetestAttempt, type RetestResult } from './retest.js';
export { RetestStore, type StoredRetest } from './retest-store.js';

export const mergeGateConfigSchema = Type.Object({
  premergeRebaseAlways: Type.Boolean({ default: true, description: 'Rebase onto the current main even when the branch already contains it (a no-op then); false rebases only a branch that is behind.' }),
  retestAttempts: Type.Integer({ minimum: 0, maximum: 10, default: 1, description: 'Retries of a red re-test before rollback; a pass on a retry is reported as flaky (`merge.flaky`, `/queue`).' }),
  leaseTtlMs: Type.Integer({ minimum: 60_000, default: 3_600_000, description: 'How long the merge lease lasts without being refreshed; past it another task may take it over. While its task is at deploy-staging or deploy the lease is refreshed every third of this.' }),
  busyDelayMs: Type.Integer({ minimum: 100, default: 30_000, description: 'Delay before a task that found the lease busy tries again (capped by `pipeline.maxDefers`).' }),
  retestTimeoutMs: Type.Integer({ minimum: 1_000, default: 1_800_000, description: 'Time limit of one re-test run (its whole process group is killed past it).' }),
});

/** The stage whose exit edge gets the gate, and where a failure sends the task. */
const EDGE = { stage: 'deploy-staging', rollbackTo: 'development' } as const;

/**
 * The merge-gate plugin. Opt-in (`plugins.merge-gate.enabled: true`): it rewrites
 * task branches (rebase) and runs the repo's test command, which a host that only
 * bundles it must not start doing by surprise.
 */
export const mergeGatePlugin = definePlugin({
  name: 'merge-gate',
  configSchema: mergeGateConfigSchema,
  enabledByDefault: false,
  migrations: mergeGateMigrations,
  register(ctx) {
    const knex = ctx.container.resolve<Database>(CoreTokens.Database).knex;
    const retests = new RetestStore(knex, ctx.container.resolve<Clock>(CoreTokens.Clock));
    const leases = ctx.stores.leases;
    const cfg = ctx.config;
    const workspaces = ctx.instanceConfig.workspaces;
    const repo = (name: string) => {
      const r = ctx.instanceConfig.repos[name];
      return r?.url ? { url: r.url, mainBranch: r.mainBranch, protectedBranches: r.protectedBranches, ...(r.testCommand ? { testCommand: r.testCommand } : {}) } : null;
    };
    const inScope = (name: string) => ctx.inScope(name);
    ctx.gates.register(
      mergeGate({
        leases,
        retests,
        events: ctx.events,
        logger: ctx.logger,
        inScope,
        repo,
        holder: { hostId: ctx.container.isRegistered(CoreTokens.HostId) ? ctx.container.resolve<string>(CoreTokens.HostId) : os.hostname(), pid: process.pid },
        author: { name: workspaces.gitAuthorName, email: workspaces.gitAuthorEmail },
        ...(ctx.container.isRegistered(CoreTokens.AgentSandbox, true) ? { sandbox: ctx.container.resolve<AgentSandbox>(CoreTokens.AgentSandbox) } : {}),
        settings: cfg,
      }),
    );
    ctx.gates.splice(EDGE.stage, 'merge_gate', { rollbackTo: EDGE.rollbackTo });
    // The merge at deploy → done lands the sha the re-test passed on, not whatever the head is then.
    ctx.provide<MergePin>(CoreTokens.MergePin, testedMergePin({ retests, inScope, repo }));

    // The lease is held from the gate's pass until the task leaves `deploy` (done,
    // rollback, cancel, block): release is holder-aware, so calling it for a task
    // that holds nothing is harmless.
    const releaseFor = async (repo: string, taskId: number, why: string) => {
      if (await leases.release(repo, taskId)) ctx.logger.info({ repo, taskId, why }, 'merge lease released');
    };
    ctx.on('task.stage_changed', async ({ task, to }) => {
      if (to !== 'deploy' && to !== 'done') await releaseFor(task.repo, task.id, `moved to ${to}`);
    });
    // On done, last of the stage's hooks: what other plugins record under the lease
    // when the change has landed (coverage-gate's baseline) is written before the next
    // task can take the lease and be judged against it.
    ctx.onStageEnter('done', (task) => releaseFor(task.repo, task.id, 'moved to done'), { late: true });
    ctx.on('task.cancelled', ({ task }) => releaseFor(task.repo, task.id, 'cancelled'));
    ctx.on('task.blocked', ({ task }) => releaseFor(task.repo, task.id, 'blocked'));
    // A held lease lives as long as its task is at deploy-staging or deploy, however
    // long the deploy takes: refreshed three times per lease length.
    ctx.loop({
      name: 'merge-lease-refresh',
      intervalMs: Math.floor(cfg.leaseTtlMs / 3),
      tick: async () => {
        await refreshHeldLeases({ leases, task: (id) => ctx.stores.tasks.get(id), ttlMs: cfg.leaseTtlMs, logger: ctx.logger });
      },
    });
    ctx.snapshot(() => mergeSnapshot({ leases, retests }));
  },
});
