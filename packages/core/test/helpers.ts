import type { ConveyorPlugin } from '../src/plugin/define-plugin.js';
import { definePlugin } from '../src/plugin/define-plugin.js';
import { createTestConveyor, type TestConveyor, type TestConveyorOptions } from '../src/testing/index.js';

/** Artefact front matter that makes every default gate pass. */
export function passingArtifacts(stage: string): Record<string, unknown> {
  const fm: Record<string, unknown> = {};
  if (stage === 'review') fm.review_status = 'approved';
  if (stage === 'testing') fm.tests_status = 'passed';
  if (stage === 'deploy-staging') fm.staging_status = 'ok';
  if (stage === 'deploy') fm.deploy_status = 'ok';
  return fm;
}

/** A test instance whose agents all succeed with passing artefacts. */
export function happyKit(options: TestConveyorOptions = {}): Promise<TestConveyor> {
  return createTestConveyor({ agent: (req) => ({ artifact: { frontMatter: passingArtifacts(req.stage) } }), ...options });
}

/** A plugin that uses every extension point, recording its lifecycle in `log`. */
export function fullPlugin(name: string, log: string[], dependsOn: string[] = []): ConveyorPlugin {
  return definePlugin({
    name,
    dependsOn,
    register(ctx) {
      log.push(`register:${name}`);
      ctx.on('task.created', () => void log.push(`event:${name}`));
      ctx.gates.register({ name: `${name.replace(/-/g, '_')}_gate`, description: 'test gate', check: async () => ({ verdict: 'pass' }) });
      ctx.gates.splice('deploy-staging', `${name.replace(/-/g, '_')}_gate`);
      ctx.addClaimClause({ name: `${name}-clause`, build: () => ({ sql: '1 = 1', bindings: [] }) });
      ctx.addRoute({ method: 'GET', url: `/${name}`, auth: 'none', handler: async () => ({ status: 200, body: { name } }) });
      ctx.snapshot(() => ({ name }));
      ctx.loop({ name: `${name}-daemon`, intervalMs: 1000, tick: async () => {} });
      ctx.onStageEnter('done', async () => {});
      ctx.addFinalizer(`${name}-finalizer`, async () => {});
      ctx.onStart(() => void log.push(`start:${name}`));
      ctx.onStop(() => void log.push(`stop:${name}`));
    },
  });
}
