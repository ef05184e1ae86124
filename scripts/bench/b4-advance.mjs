// B4: the time `advance()` takes with every flow plugin on this branch enabled
// (serial-gate, task-deps: their claim clauses, creation hooks, listeners and
// wait explainers) and every gate passing, beside the same pipeline with no
// plugins, in alternating rounds. Tasks run the whole default pipeline on core's
// test kit (fake agent, fake forge and tracker: no processes, no network), and
// every engine.advance call is timed where it happens.
import { performance } from 'node:perf_hooks';
import { createTestConveyor } from '../../packages/core/dist/src/testing/index.js';
import { serialGatePlugin } from '../../packages/plugins/serial-gate/dist/src/index.js';
import { taskDepsPlugin } from '../../packages/plugins/task-deps/dist/src/index.js';
import { line } from './result.mjs';
import { median } from './stats.mjs';

/** The plugins B4 enables: those that change the path of a task without binding a port. */
export const B4_PLUGINS = [serialGatePlugin, taskDepsPlugin];

const VERDICTS = {
  review: { review_status: 'approved' },
  testing: { tests_status: 'passed' },
  'deploy-staging': { staging_status: 'ok' },
  deploy: { deploy_status: 'ok' },
};

/** Runs `tasks` tasks to done and returns the mean ms per advance() that moved a task. */
async function oneRun({ withPlugins, tasks }) {
  const kit = await createTestConveyor({
    ...(withPlugins ? { plugins: B4_PLUGINS, config: { worker: { enabled: true, maxConcurrency: 2 }, plugins: { 'serial-gate': { enabled: true }, 'task-deps': { enabled: true } } } } : { config: { worker: { enabled: true, maxConcurrency: 2 } } }),
    agent: (req) => ({ artifact: { frontMatter: VERDICTS[req.stage] ?? {} } }),
  });
  const { conveyor } = kit;
  const engine = conveyor.engine;
  const original = engine.advance.bind(engine);
  const times = [];
  engine.advance = async (taskId, input) => {
    const t = performance.now();
    const out = await original(taskId, input);
    if (out.kind === 'advanced') times.push(performance.now() - t);
    return out;
  };
  try {
    conveyor.events.on('job.finished', async ({ job }) => {
      if (job.stage !== 'development') return;
      const task = await conveyor.store.tasks.get(job.taskId);
      const sha = `sha-${task.id}-${job.id}`;
      kit.forge.setHead(task.repo, task.branch, sha);
      await conveyor.intake.ciStatus({ repo: task.repo, sha, branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
    });
    conveyor.events.on('human.approval_needed', ({ task }) => void conveyor.intake.humanVerdict(task.id, 'approved'));
    await conveyor.start();
    for (let i = 0; i < tasks; i++) await conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: `B4-${i}`, title: `bench ${i}` });
    await kit.events.waitFor('task.done', () => kit.events.of('task.done').length === tasks, 120_000);
    return times.reduce((a, b) => a + b, 0) / times.length;
  } finally {
    await kit.cleanup();
  }
}

/** @param {{ sizes: { rounds: number, b4Tasks: number }, log: Function }} o */
export async function runB4(o) {
  const s = { plugins: [], bare: [] };
  await oneRun({ withPlugins: true, tasks: 1 }); // warm-up, untimed
  for (let r = 0; r < o.sizes.rounds; r++) {
    const order = r % 2 === 0 ? ['plugins', 'bare'] : ['bare', 'plugins'];
    for (const which of order) s[which].push(await oneRun({ withPlugins: which === 'plugins', tasks: o.sizes.b4Tasks }));
    o.log(`  B4 round ${r + 1}/${o.sizes.rounds}: with plugins ${s.plugins.at(-1).toFixed(2)} ms/advance, without ${s.bare.at(-1).toFixed(2)} ms/advance`);
  }
  const value = median(s.plugins);
  const baseline = median(s.bare);
  return [line({ id: 'B4', metric: `advance() ms with ${B4_PLUGINS.map((p) => p.name).join(' + ')} enabled, gates passing (vs no plugins)`, value, baseline, target: '≤ 1.5', met: value / baseline <= 1.5 })];
}
