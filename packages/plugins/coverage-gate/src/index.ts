/**
 * @conveyor/plugin-coverage-gate — coverage may not degrade: a sub-gate on
 * `deploy-staging → deploy`, after merge-gate, that measures line coverage of the
 * head that will land and judges it against a minimum and a per-repo baseline
 * that only ratchets up.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, type AgentSandbox, type Clock, type Database, type Pipeline, type Ports } from '@conveyor/core';
import { CoverageStore } from './baseline-store.js';
import { COVERAGE_STAGE, coverageGate } from './coverage-gate.js';
import { coverageGateMigrations } from './migrations.js';
import { baselineRoute } from './routes.js';

export { CoverageStore, type Baseline, type Measurement } from './baseline-store.js';
export { coverageGate, type CoverageGateDeps, type CoverageSettings } from './coverage-gate.js';
export { coverageGateMigrations } from './migrations.js';
export { readCoverage, readCoveragePy, readIstanbulSummary, readLcov, type CoverageFormat, type CoverageReading } from './readers.js';
export { coverageReport } from './report.js';
export { coverageVerdict, type CoverageMode, type CoverageVerdict, type VerdictInput } from './verdict.js';

export const coverageGateConfigSchema = Type.Object({
  command: Type.Optional(Type.String({ minLength: 1, description: 'The coverage command, run in a checkout of the task branch (e.g. `npx c8 --reporter=json-summary npm test`). Without it nothing is measured.' })),
  report: Type.Optional(Type.String({ minLength: 1, description: 'The report it writes, relative to the checkout; absent: `coverage/coverage-summary.json`, `coverage.json`, `coverage/lcov.info`, `lcov.info`, first found.' })),
  mode: Type.Union([Type.Literal('absolute'), Type.Literal('baseline'), Type.Literal('both')], { default: 'both', description: '`absolute`: at least `minimum`; `baseline`: not below the baseline minus `epsilon`; `both`.' }),
  minimum: Type.Number({ minimum: 0, maximum: 100, default: 0, description: 'Absolute floor of line coverage, in percent.' }),
  epsilon: Type.Number({ minimum: 0, maximum: 100, default: 0.1, description: 'Tolerance below the baseline, in percentage points (measurement noise must not flap the gate).' }),
  failClosed: Type.Boolean({ default: false, description: 'A coverage tool error fails the gate; false passes it with a warning.' }),
  timeoutMs: Type.Integer({ minimum: 1_000, default: 1_800_000, description: 'Time limit of the coverage command.' }),
});

/**
 * The coverage-gate plugin. Opt-in (`plugins.coverage-gate.enabled: true`): it
 * runs a coverage command and can send tasks back to development.
 */
export const coverageGatePlugin = definePlugin({
  name: 'coverage-gate',
  configSchema: coverageGateConfigSchema,
  enabledByDefault: false,
  migrations: coverageGateMigrations,
  register(ctx) {
    const knex = ctx.container.resolve<Database>(CoreTokens.Database).knex;
    const store = new CoverageStore(knex, ctx.container.resolve<Clock>(CoreTokens.Clock));
    const cfg = ctx.config;
    const ws = ctx.instanceConfig.workspaces;
    const ports = ctx.container.resolve<Ports>(CoreTokens.Ports);
    ctx.gates.register(
      coverageGate({
        store,
        logger: ctx.logger,
        pipeline: ctx.container.resolve<Pipeline>(CoreTokens.Pipeline),
        inScope: (repo) => ctx.inScope(repo),
        repo: (name) => {
          const r = ctx.instanceConfig.repos[name];
          if (!r?.url) return null;
          return { url: r.url, mainBranch: r.mainBranch, protectedBranches: r.protectedBranches, ...(cfg.command ? { coverageCommand: cfg.command } : {}), ...(cfg.report ? { coverageReport: cfg.report } : {}) };
        },
        author: { name: ws.gitAuthorName, email: ws.gitAuthorEmail },
        notifier: () => ports.notifier(),
        ...(ctx.container.isRegistered(CoreTokens.AgentSandbox, true) ? { sandbox: ctx.container.resolve<AgentSandbox>(CoreTokens.AgentSandbox) } : {}),
        settings: { mode: cfg.mode, minimum: cfg.minimum, epsilon: cfg.epsilon, failClosed: cfg.failClosed, timeoutMs: cfg.timeoutMs },
      }),
    );
    ctx.gates.splice(COVERAGE_STAGE, 'coverage_gate', { rollbackTo: 'development' });

    // The baseline ratchets when the change has landed (task done), while the task
    // still holds the merge lease (merge-gate gives it back after the other hooks of
    // done): the next task is judged against it. A compare-and-set that never lowers
    // it, whatever order concurrent merges finish in.
    ctx.onStageEnter('done', async (task) => {
      if (!ctx.inScope(task.repo)) return;
      const m = await store.latestForTask(task.id);
      if (m?.value === null || m === null || m.status === 'fail') return;
      if (await store.ratchet(task.repo, m.value)) ctx.logger.info({ repo: task.repo, taskId: task.id, value: m.value }, 'coverage baseline raised');
    });
    ctx.addRoute(baselineRoute({ store, onSet: (repo, value) => ctx.logger.info({ repo, value }, 'coverage baseline set by a person') }));
    ctx.snapshot(async () => ({
      baselines: (await store.baselines()).map((b) => ({ repo: b.repo, value: b.value, source: b.source, updatedAt: b.updatedAt.toISOString() })),
      lastVerdicts: (await store.lastPerRepo()).map((m) => ({ repo: m.repo, taskId: m.taskId, sha: m.sha, status: m.status, value: m.value, baseline: m.baseline, at: m.at.toISOString() })),
    }));
  },
});
