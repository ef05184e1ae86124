import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { definePlugin } from '../src/plugin/define-plugin.js';
import type { GateResult } from '../src/pipeline/gate.js';
import { createTestConveyor, testDatabases, type TestConveyor } from '../src/testing/index.js';
import { passingArtifacts } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Compiled to dist/test; the snapshot lives in the source tree.
const SNAPSHOT = path.resolve(here, '../../test/snapshots/default-transitions.json');

test('the default gate registry and transitions match the committed snapshot', async (t) => {
  const kit = await createTestConveyor();
  t.after(() => kit.cleanup());
  const actual = JSON.stringify(kit.conveyor.gates.snapshot(kit.conveyor.pipeline), null, 2) + '\n';
  if (process.env.UPDATE_SNAPSHOTS === '1') fs.writeFileSync(SNAPSHOT, actual);
  // A change here changes what moves tasks: update the snapshot on purpose
  // (UPDATE_SNAPSHOTS=1 npm test) and say why in the commit.
  assert.equal(actual, fs.readFileSync(SNAPSHOT, 'utf8'));
});

/** Puts a task at `stage` with a successful agent run recorded for that stage. */
async function taskAt(kit: TestConveyor, stage: string, id = 'i1') {
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: id, title: `task ${id}` });
  const k = kit.conveyor.db.knex;
  await k('jobs').where({ task_id: task.id }).update({ status: 'done' });
  await k('tasks').where({ id: task.id }).update({ stage });
  const job = (await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage, kind: 'agent', role: 'x' }))!;
  await k('jobs').where({ id: job.id }).update({ status: 'done' });
  const run = await kit.conveyor.store.agentRuns.start({ jobId: job.id, taskId: task.id, stage, role: 'x', attempt: 0, pid: 1 });
  await kit.conveyor.store.agentRuns.recordExit(run.id, { exitCode: 0, result: 'ok', usage: null, logPath: null });
  kit.artifacts.put(task, stage, passingArtifacts(stage));
  if (stage === 'deploy') {
    const pr = await kit.forge.ensurePullRequest({ repo: task.repo, head: task.branch, base: 'main', title: task.title, body: '' });
    await kit.conveyor.store.tasks.setPullRequest(task.id, pr.number, pr.url);
  }
  return (await kit.conveyor.store.tasks.get(task.id))!;
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} advance is a compare-and-set: of concurrent advances exactly one moves and enqueues`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'architecture');
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => kit.conveyor.engine.advance(task.id, { from: 'architecture', reason: 'race' })));
    assert.equal(outcomes.filter((o) => o.kind === 'advanced').length, 1);
    assert.ok(outcomes.every((o) => o.kind === 'advanced' || o.kind === 'stale'));
    assert.equal(kit.events.of('task.stage_changed').length, 1);
    const jobs = await kit.conveyor.store.jobs.listForTask(task.id);
    assert.equal(jobs.filter((j) => j.status === 'queued').length, 1);
    assert.equal(jobs.find((j) => j.status === 'queued')!.role, 'developer');
    assert.deepEqual((await kit.conveyor.store.tasks.transitions(task.id)).map((x) => `${x.from}→${x.to}`), ['architecture→development']);
  });

  test(`${t0} advance from a stage the task has left does nothing`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'review');
    assert.deepEqual(await kit.conveyor.engine.advance(task.id, { from: 'architecture', reason: 'late webhook' }), { kind: 'stale', stage: 'review' });
    assert.equal(kit.events.of('gate.evaluated').length, 0, 'no gate is even evaluated');
  });

  test(`${t0} a failing gate with a rollback edge sends the task to development with the reason`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'review');
    kit.artifacts.put(task, 'review', { review_status: 'changes_requested' }, 'The login form leaks the password into logs.');
    const out = await kit.conveyor.engine.advance(task.id, { from: 'review', finishedAgent: 'reviewer', reason: 'reviewer finished' });
    assert.deepEqual(out, { kind: 'rolled_back', from: 'review', to: 'development', gate: 'review_approved' });
    const moved = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(moved.stage, 'development');
    assert.equal(moved.developerRetries, 1);
    const job = (await kit.conveyor.store.jobs.activeForTask(task.id))!;
    assert.equal(job.role, 'developer');
    assert.match(job.reason!, /Gate "review_approved" failed at stage "review": review_status is "changes_requested"/);
    assert.match(job.reason!, /leaks the password/, 'the developer gets the reviewer\'s words');
    assert.equal(kit.events.of('gate.failed')[0]!.rollbackTo, 'development');
  });

  test(`${t0} over the developer retry cap the task is blocked, alerted, and not moved`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { pipeline: { maxDeveloperRetries: 1 } } });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'testing');
    await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ developer_retries: 1 });
    kit.artifacts.put(task, 'testing', { tests_status: 'failed' });
    const out = await kit.conveyor.engine.advance(task.id, { from: 'testing', reason: 'tester finished' });
    assert.equal(out.kind, 'blocked');
    const blocked = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(blocked.stage, 'testing');
    assert.match(blocked.blockedReason!, /tests_passed failed at testing after 1 developer retries/);
    assert.equal(kit.events.of('task.blocked').length, 1);
    assert.equal(kit.notifier.sent[0]?.kind, 'task_error');
    assert.equal(await kit.conveyor.store.jobs.activeForTask(task.id), null);
    assert.equal((await kit.conveyor.engine.advance(task.id, { from: 'testing', reason: 'again' })).kind, 'stale', 'a blocked task does not move');
  });

  test(`${t0} a failing gate without a rollback edge leaves the task where it is`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'deploy');
    kit.artifacts.put(task, 'deploy', { deploy_status: 'failed' });
    const out = await kit.conveyor.engine.advance(task.id, { from: 'deploy', reason: 'deployer finished' });
    assert.deepEqual(out, { kind: 'failed', gate: 'deploy_status', reason: 'deploy_status is "failed" in docs/pipeline/ET-001/07-deploy.md' });
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'deploy');
  });

  test(`${t0} after a rollback, a replayed CI success does not move the task while the developer runs again`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'review');
    kit.artifacts.put(task, 'review', { review_status: 'changes_requested' });
    kit.forge.setHead('r', task.branch, 'old-sha');
    await kit.conveyor.store.ciStatuses.record({ repo: 'r', sha: 'old-sha', branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
    assert.equal((await kit.conveyor.engine.advance(task.id, { from: 'review', reason: 'reviewer finished' })).kind, 'rolled_back');
    // The old head's success arrives again (a redelivered webhook).
    const out = await kit.conveyor.intake.ciStatus({ repo: 'r', sha: 'old-sha', branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
    assert.equal(out?.kind, 'busy');
    const after = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'development');
    assert.equal((await kit.conveyor.store.jobs.activeForTask(task.id))?.role, 'developer');
  });

  test(`${t0} a move cancels a pending deferred re-evaluation and always enqueues the next agent`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'architecture');
    const timer = (await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'architecture', kind: 'advance', role: null, delayMs: 60_000 }))!;
    assert.equal((await kit.conveyor.engine.advance(task.id, { from: 'architecture', reason: 'webhook' })).kind, 'advanced');
    assert.equal((await kit.conveyor.store.jobs.get(timer.id))!.status, 'cancelled');
    assert.equal((await kit.conveyor.store.jobs.activeForTask(task.id))?.role, 'developer');
  });

  test(`${t0} pending stays; CI success through intake then advances`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'development');
    kit.forge.setHead('r', task.branch, 'sha1');
    assert.equal((await kit.conveyor.engine.advance(task.id, { from: 'development', reason: 'developer finished' })).kind, 'pending');
    await kit.conveyor.intake.ciStatus({ repo: 'r', sha: 'sha1', branch: task.branch, context: 'build', state: 'pending', targetUrl: null });
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'development');
    const out = await kit.conveyor.intake.ciStatus({ repo: 'r', sha: 'sha1', branch: task.branch, context: 'build', state: 'success', targetUrl: null });
    assert.deepEqual(out, { kind: 'advanced', from: 'development', to: 'review' });
  });

  test(`${t0} sub-gates run after the stage's gates, in declared order; read-only evaluation skips side effects`, async (t) => {
    const calls: string[] = [];
    const gate = (name: string, result: GateResult, sideEffects = false) => ({
      name,
      description: name,
      sideEffects,
      check: async () => {
        calls.push(name);
        return result;
      },
    });
    const merge = definePlugin({
      name: 'merge-test',
      register(ctx) {
        ctx.gates.register(gate('merge_test', { verdict: 'pass' }, true));
        ctx.gates.splice('deploy-staging', 'merge_test', { rollbackTo: 'development' });
      },
    });
    const coverage = definePlugin({
      name: 'coverage-test',
      dependsOn: ['merge-test'],
      register(ctx) {
        ctx.gates.register(gate('coverage_test', { verdict: 'fail', reason: 'coverage 71% < 80%' }));
        ctx.gates.splice('deploy-staging', 'coverage_test', { rollbackTo: 'development' });
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [coverage, merge] });
    t.after(() => kit.cleanup());
    assert.deepEqual(kit.conveyor.gates.edge(kit.conveyor.pipeline, 'deploy-staging').map((e) => e.gate), ['agent_succeeded', 'staging_deployed', 'merge_test', 'coverage_test']);
    const task = await taskAt(kit, 'deploy-staging');
    const ro = await kit.conveyor.engine.evaluateGates(task, { readOnly: true });
    assert.deepEqual(calls, [], 'the side-effecting merge gate is not called read-only');
    assert.equal(ro.verdict, 'pending');
    assert.equal(ro.gate, 'merge_test');
    assert.equal(kit.events.of('gate.failed').length, 0);
    const out = await kit.conveyor.engine.advance(task.id, { from: 'deploy-staging', reason: 'deployer finished' });
    assert.deepEqual(calls, ['merge_test', 'coverage_test']);
    assert.deepEqual(out, { kind: 'rolled_back', from: 'deploy-staging', to: 'development', gate: 'coverage_test' });
  });

  test(`${t0} defer re-queues a gate-only job with a delay, capped; past the cap it fails`, async (t) => {
    const busy = definePlugin({
      name: 'busy-lease',
      register(ctx) {
        ctx.gates.register({ name: 'busy', description: 'lease busy', check: async () => ({ verdict: 'defer', reason: 'lease held by ET-002', delayMs: 5_000 }) });
        ctx.gates.splice('deploy-staging', 'busy');
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [busy], config: { pipeline: { maxDefers: 2 } } });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'deploy-staging');
    const jobs = kit.conveyor.store.jobs;
    for (let i = 1; i <= 2; i++) {
      assert.deepEqual(await kit.conveyor.engine.advance(task.id, { from: 'deploy-staging', reason: 'try' }), { kind: 'deferred', gate: 'busy', delayMs: 5_000 });
      const job = (await jobs.activeForTask(task.id))!;
      assert.equal(job.kind, 'advance');
      assert.equal(job.deferCount, i);
      assert.ok(job.availableAt.getTime() - Date.now() > 4_000);
      await kit.conveyor.db.knex('jobs').where({ id: job.id }).update({ status: 'done' });
    }
    const out = await kit.conveyor.engine.advance(task.id, { from: 'deploy-staging', reason: 'try' });
    assert.equal(out.kind, 'failed');
    assert.match((out as { reason: string }).reason, /deferred 2 times \(cap 2\)/);
  });

  test(`${t0} the analyst's finish opens the human review once; approval advances`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'analysis');
    for (let i = 0; i < 3; i++) {
      const out = await kit.conveyor.engine.advance(task.id, { from: 'analysis', finishedAgent: 'analyst', reason: 'analyst finished' });
      assert.equal(out.kind, 'pending');
    }
    assert.equal(kit.events.of('human.approval_needed').length, 1);
    assert.ok((await kit.conveyor.store.tasks.get(task.id))!.humanReviewStartedAt);
    const out = await kit.conveyor.intake.humanVerdict(task.id, 'approved');
    assert.deepEqual(out, { kind: 'advanced', from: 'analysis', to: 'architecture' });
    const after = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.ok(after.humanReviewEndedAt! >= after.humanReviewStartedAt!);
  });

  test(`${t0} rejection relaunches the analyst with the person's words, once`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'analysis');
    assert.deepEqual(await kit.conveyor.intake.humanVerdict(task.id, 'rejected', 'Scope is wrong'), { kind: 'relaunched' });
    assert.deepEqual(await kit.conveyor.intake.humanVerdict(task.id, 'rejected', 'Scope is wrong'), { kind: 'ignored' });
    const job = (await kit.conveyor.store.jobs.activeForTask(task.id))!;
    assert.equal(job.role, 'analyst');
    assert.match(job.reason!, /Rejected by a person.*\n?.*Scope is wrong/s);
  });

  test(`${t0} stage hooks run for the winner after the move; a failing hook is isolated`, async (t) => {
    const seen: string[] = [];
    const hooks = definePlugin({
      name: 'hooks',
      register(ctx) {
        ctx.onStageEnter('done', async () => {
          throw new Error('tracker down');
        });
        ctx.onStageEnter('done', async (task, change) => void seen.push(`${task.workItemId}:${change.from}`));
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [hooks] });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'deploy');
    await Promise.all([1, 2, 3].map(() => kit.conveyor.engine.advance(task.id, { from: 'deploy', reason: 'deployer finished' })));
    assert.deepEqual(seen, ['ET-001:deploy']);
    assert.equal(kit.events.of('task.done').length, 1);
    assert.equal(await kit.conveyor.store.jobs.activeForTask(task.id), null, 'done enqueues nothing');
    assert.ok(kit.logger.lines.some((l) => l.msg === 'stage hook failed' && l.obj.plugin === 'hooks'));
  });
}
