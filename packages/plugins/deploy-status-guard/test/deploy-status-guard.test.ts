import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreTokens, definePlugin, type ConveyorPlugin, type PostDeployWindow } from '@conveyor/core';
import { createTestConveyor, eventually, taskAtStage, testDatabases, type TestConveyor, type TestDialect } from '@conveyor/core/testing';
import { deployStatusGuardPlugin } from '../src/index.js';

const verdicts: Record<string, Record<string, unknown>> = { 'deploy-staging': { staging_status: 'ok' }, deploy: { deploy_status: 'ok' } };

/** A stand-in for post-deploy-monitor's window: open for the task ids in `open`. */
function windowPlugin(open: Set<number>): ConveyorPlugin {
  const window: PostDeployWindow = { arm: async () => false, isActive: async (id) => open.has(id) };
  return definePlugin({ name: 'test-window', register: (ctx) => ctx.provide(CoreTokens.PostDeployWindow, window) }) as unknown as ConveyorPlugin;
}

async function kitWith(dialect: TestDialect, guard: Record<string, unknown>, extra: ConveyorPlugin[] = [], worker = false): Promise<TestConveyor> {
  return createTestConveyor({
    dialect,
    plugins: [deployStatusGuardPlugin, ...extra],
    config: { repos: { a: {}, b: {} }, plugins: { 'deploy-status-guard': guard }, worker: { enabled: worker } },
    agent: (req) => ({ artifact: { frontMatter: verdicts[req.stage] ?? {} } }),
  });
}

const statusesOf = (kit: TestConveyor, issue: string) => kit.tracker.statuses.filter((s) => s.ref.trackerIssueId === issue).map((s) => s.status);
const decisions = (kit: TestConveyor) => kit.logger.lines.filter((l) => l.msg === 'deploy status decision').map((l) => l.obj);

/**
 * The incident: a task done in the database flapped in the tracker between Awaiting
 * Deploy and Monitoring after Deploy, because stale and duplicate callers re-stamped
 * an intermediate status over Done. Here a finished task gets such stale writes.
 */
async function flapAfterDone(kit: TestConveyor, issue: string): Promise<void> {
  const task = await taskAtStage(kit, 'a', issue, 'deploy-staging');
  await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'deploy-staging', kind: 'agent', role: 'deployer', reason: null });
  await kit.conveyor.start();
  await kit.events.waitFor('task.done', (p) => p.task.id === task.id);
  await eventually(() => statusesOf(kit, issue).includes('Done'), 5_000, 'Done');
  const stale = (await kit.conveyor.store.tasks.get(task.id))!;
  // The "entered deploy" effect run again late (a retry that outlived the move), and
  // a monitor tick that outlived its window: both write through the deploy-phase writer.
  assert.equal(stale.stage, 'done');
  await kit.conveyor.deployStatus.set(task.id, 'awaitingDeploy', { caller: 'tracker-sync', reason: 'entered deploy' });
  await kit.conveyor.deployStatus.set(task.id, 'monitoring', { caller: 'stale-monitor', reason: 'late tick (test)' });
  await kit.conveyor.deployStatus.set(task.id, 'deploying', { caller: 'duplicate-start', reason: 'duplicate (test)' });
  await eventually(() => statusesOf(kit, issue).length >= 6, 5_000, 'the stale writes');
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} the Done flap reproduced: without the guard, stale deploy-phase writes overwrite Done`, async (t) => {
    const kit = await kitWith(dialect, { enabled: false }, [], true);
    t.after(() => kit.cleanup());
    await flapAfterDone(kit, 'f0');
    assert.deepEqual(statusesOf(kit, 'f0'), ['Awaiting Deploy', 'Deploying', 'Done', 'Awaiting Deploy', 'Monitoring after Deploy', 'Deploying']);
    assert.equal(decisions(kit).length, 0, 'disabled, the plugin decides nothing');
    assert.equal((await kit.conveyor.snapshot()).plugins['deploy-status-guard'], undefined);
  });

  test(`${t0} the Done flap prevented: with the guard every stale write converges to Done`, async (t) => {
    const kit = await kitWith(dialect, {}, [], true);
    t.after(() => kit.cleanup());
    await flapAfterDone(kit, 'f1');
    assert.deepEqual(statusesOf(kit, 'f1'), ['Awaiting Deploy', 'Deploying', 'Done', 'Done', 'Done', 'Done']);
    const converged = kit.tracker.statuses.slice(3).map((s) => s.reason);
    assert.match(converged[0]!, /^converged to Done instead of "Awaiting Deploy" \(entered deploy\)$/);
    const lines = decisions(kit);
    assert.deepEqual(lines.map((l) => [l.caller, l.target, l.stage, l.verdict]), [
      ['tracker-sync', 'Awaiting Deploy', 'deploy', 'ALLOW'],
      ['tracker-sync', 'Deploying', 'deploy', 'ALLOW'],
      ['tracker-sync', 'Awaiting Deploy', 'done', 'CONVERGE_DONE'],
      ['stale-monitor', 'Monitoring after Deploy', 'done', 'CONVERGE_DONE'],
      ['duplicate-start', 'Deploying', 'done', 'CONVERGE_DONE'],
    ]);
    for (const l of lines) {
      for (const key of ['workItem', 'taskId', 'caller', 'target', 'stage', 'windowActive', 'verdict', 'reason']) assert.ok(key in l, `the decision line has ${key}`);
    }
    const block = (await kit.conveyor.snapshot()).plugins['deploy-status-guard'] as { scope: unknown; decisions: Record<string, number>; recent: { verdict: string }[] };
    assert.deepEqual(block.decisions, { ALLOW: 2, CONVERGE_DONE: 3, SUPPRESS: 0 });
    assert.equal(block.scope, 'all');
    assert.equal(block.recent[0]!.verdict, 'CONVERGE_DONE');
  });

  test(`${t0} a cancelled task gets no deploy-phase status; a done task in its open window does`, async (t) => {
    const open = new Set<number>();
    const kit = await kitWith(dialect, {}, [windowPlugin(open)]);
    t.after(() => kit.cleanup());
    const cancelled = await taskAtStage(kit, 'a', 'x1', 'cancelled');
    assert.equal(await kit.conveyor.deployStatus.set(cancelled.id, 'awaitingDeploy', { caller: 'test', reason: 'late (test)' }), 'SUPPRESS');
    assert.deepEqual(statusesOf(kit, 'x1'), []);

    const done = await taskAtStage(kit, 'a', 'w1', 'done');
    open.add(done.id);
    assert.equal(await kit.conveyor.deployStatus.set(done.id, 'monitoring', { caller: 'test', reason: 'window open (test)' }), 'ALLOW');
    open.delete(done.id);
    assert.equal(await kit.conveyor.deployStatus.set(done.id, 'monitoring', { caller: 'test', reason: 'window closed (test)' }), 'CONVERGE_DONE');
    assert.deepEqual(statusesOf(kit, 'w1'), ['Monitoring after Deploy', 'Done']);
    assert.deepEqual(decisions(kit).map((l) => [l.windowActive, l.verdict]), [[false, 'SUPPRESS'], [true, 'ALLOW'], [false, 'CONVERGE_DONE']]);
  });

  test(`${t0} repos scope: a repo out of scope is written as asked, without a decision`, async (t) => {
    const kit = await kitWith(dialect, { repos: ['a'] });
    t.after(() => kit.cleanup());
    const outside = await taskAtStage(kit, 'b', 'o1', 'done');
    assert.equal(await kit.conveyor.deployStatus.set(outside.id, 'awaitingDeploy', { caller: 'test', reason: 'out of scope (test)' }), 'ALLOW');
    const inside = await taskAtStage(kit, 'a', 'i1', 'done');
    assert.equal(await kit.conveyor.deployStatus.set(inside.id, 'awaitingDeploy', { caller: 'test', reason: 'in scope (test)' }), 'CONVERGE_DONE');
    assert.deepEqual(statusesOf(kit, 'o1'), ['Awaiting Deploy']);
    assert.deepEqual(statusesOf(kit, 'i1'), ['Done']);
    assert.equal(decisions(kit).length, 1);
  });
}
