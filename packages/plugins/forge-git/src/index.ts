/**
 * @conveyor/plugin-forge-git — the embedded forge: a local bare repository as
 * origin, pull requests recorded in the database, CI from the repo's configured
 * test command on every pushed head, and real non-forced merges into main.
 */
import path from 'node:path';
import { ForgeGitTokens } from './tokens.js';
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, underDataDir, type AgentSandbox, type CiStatusStore, type Clock, type Database, type Intake, type Knex } from '@conveyor/core';
import { CI_CONTEXT, CiRunner, removeLeftoverClones } from './ci-runner.js';
import { LocalGitForge } from './local-git-forge.js';
import { forgeGitMigrations } from './migrations.js';

export { ForgeGitTokens } from './tokens.js';
export { LocalGitForge, type LocalGitForgeOptions } from './local-git-forge.js';
export { CiRunner, CI_CONTEXT, removeLeftoverClones } from './ci-runner.js';
export { HeadMovedError, mergeInOrigin, MergeConflictError } from './git-merge.js';
export { forgeGitMigrations } from './migrations.js';

export const forgeGitConfigSchema = Type.Object({
  ciTimeoutMs: Type.Integer({ minimum: 1, default: 600_000, description: "Longest run of a repo's test command; longer → the CI status is a failure." }),
  logDir: Type.Optional(Type.String({ ...underDataDir('logs'), description: 'Where CI logs are written (`<logDir>/ci/`); relative to the config file\'s directory, `<instance.dataDir>/logs` when unset.' })),
  publicBaseUrl: Type.Optional(Type.String({ description: 'Base of links in comments (e.g. a web view of the repos); the origin path when unset.' })),
  initMissing: Type.Boolean({ default: false, description: 'Create a bare origin with a starter commit for a configured repo whose path does not exist yet (the embedded default).' }),
  starterFiles: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Top-level files of that starter commit.' }),
});

/** Binds the local forge and runs its CI. */
export const forgeGitPlugin = definePlugin({
  name: 'forge-git',
  configSchema: forgeGitConfigSchema,
  migrations: forgeGitMigrations,
  register(ctx) {
    const c = ctx.config;
    const repos = ctx.instanceConfig.repos;
    const ws = ctx.instanceConfig.workspaces;
    let ci: CiRunner | null = null;
    const forge = new LocalGitForge({
      knex: ctx.container.resolve<Database>(CoreTokens.Database).knex as Knex,
      clock: ctx.container.resolve<Clock>(CoreTokens.Clock),
      repos,
      ciStatuses: ctx.container.resolve<CiStatusStore>(CoreTokens.CiStatusStore),
      author: { name: ws.gitAuthorName, email: ws.gitAuthorEmail },
      ...(c.publicBaseUrl ? { publicBaseUrl: c.publicBaseUrl } : {}),
      // A PR opened or updated is CI's trigger, as a push is on a real forge.
      onHead: (pr) => {
        if (pr.headSha && ctx.inScope(pr.repo)) ci?.schedule({ repo: pr.repo, branch: pr.head, sha: pr.headSha });
      },
    });
    ctx.provide(CoreTokens.Forge, forge);
    ctx.provide(ForgeGitTokens.Forge, forge);

    ctx.onStart(async () => {
      const removed = removeLeftoverClones();
      if (removed) ctx.logger.warn({ removed }, 'removed CI clones left behind by a process that died');
      ci = new CiRunner({
        origin: (repo) => forge.origin(repo),
        testCommand: (repo) => repos[repo]?.testCommand,
        intake: () => ctx.container.resolve<Intake>(CoreTokens.Intake),
        logger: ctx.logger,
        timeoutMs: c.ciTimeoutMs,
        logDir: path.resolve(c.logDir ?? path.join(ctx.instanceConfig.instance.dataDir, 'logs')),
        sandbox: ctx.container.resolve<AgentSandbox>(CoreTokens.AgentSandbox),
      });
      if (c.initMissing) {
        for (const repo of Object.keys(repos)) {
          if (repos[repo]?.url && (await forge.initOrigin(repo, c.starterFiles))) ctx.logger.info({ repo, origin: forge.origin(repo) }, 'created the origin repository');
        }
      }
      // After a restart: heads that never got a final CI status are run again.
      for (const pr of await forge.listPullRequests({ state: 'open' })) {
        if (!pr.headSha || !ctx.inScope(pr.repo)) continue;
        const statuses = await ctx.stores.ciStatuses.forSha(pr.repo, pr.headSha);
        const final = statuses.find((s) => s.context === CI_CONTEXT && s.state !== 'pending');
        if (!final) ci.schedule({ repo: pr.repo, branch: pr.head, sha: pr.headSha });
      }
    });
    ctx.onStop(async () => {
      await ci?.stop();
    });
    ctx.snapshot(async () => ({ openPullRequests: (await forge.listPullRequests({ state: 'open' })).length, ci: ci ? { queued: ci.queued, ...ci.stats } : null }));
  },
});
