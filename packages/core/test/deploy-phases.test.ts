import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases, taskAtStage, eventually, type TestConveyor, type TestDialect } from '../src/testing/index.js';
import { happyKit } from './helpers.js';

/**
 * The deploy phases: Awaiting Deploy on entering deploy, the optional manual
 * confirmation that holds the deployer, Deploying when it starts, Done after.
 */
async function kitAt(dialect: TestDialect, config: Record<string, unknown> = {}): Promise<TestConveyor> {
  return happyKit({ dialect, config: { repos: { a: {}, b: {} }, ...config } });
}

const statusesOf = (kit: TestConveyor, issue: string) => kit.tracker.statuses.filter((s) => s.ref.trackerIssueId === issue).map((s) => s.status);
const claim = (kit: TestConveyor) => kit.conveyor.store.jobs.claim({ hostId: 'h', clauses: kit.conveyor.clauses.list() });

/** A task whose deploy-staging agent is queued: the worker carries it into deploy. */
async function atDeployStaging(kit: TestConveyor, repo: string, issue: string) {
  const task = await taskAtStage(kit, repo, issue, 'deploy-staging');
  await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'deploy-staging', kind: 'agent', role: 'deployer', reason: null });
  return task;
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} without deploy.confirm the deployer runs at once: Awaiting Deploy, Deploying, Done`, async (t) => {
    const kit = await kitAt(dialect, { worker: { enabled: true } });
    t.after(() => kit.cleanup());
    assert.equal(kit.conveyor.clauses.list().some((c) => c.name === 'deploy-confirm'), false, 'no clause when no repo asks for a confirmation');
    const task = await atDeployStaging(kit, 'a', 'i1');
    await kit.conveyor.start();
    await kit.events.waitFor('task.done', (p) => p.task.id === task.id);
    await eventually(() => statusesOf(kit, 'i1').includes('Done'), 5_000, 'Done');
    assert.deepEqual(statusesOf(kit, 'i1'), ['Awaiting Deploy', 'Deploying', 'Done']);
    const deploying = kit.tracker.statuses.find((s) => s.status === 'Deploying')!;
    assert.match(deploying.reason, /deployer started/);
  });

  test(`${t0} with deploy.confirm the deployer waits at deploy until a person moves the issue to Confirm Deploy`, async (t) => {
    // A poll that never comes in the test's time: the confirmation itself wakes the worker.
    const kit = await kitAt(dialect, { worker: { enabled: true, pollIntervalMs: 600_000 }, repos: { a: { deploy: { confirm: true } }, b: {} } });
    t.after(() => kit.cleanup());
    const task = await atDeployStaging(kit, 'a', 'c1');
    await kit.conveyor.start();
    await kit.events.waitFor('task.stage_changed', (p) => p.task.id === task.id && p.to === 'deploy');
    const held = await kit.conveyor.store.jobs.activeForTask(task.id);
    assert.equal(held?.stage, 'deploy');
    assert.equal(held?.status, 'queued');
    assert.equal(await claim(kit), null, 'the deployer job is held back by the confirmation clause');
    const w = await kit.conveyor.waiting.forTask((await kit.conveyor.store.tasks.get(task.id))!);
    assert.equal(w.kind, 'held');
    assert.equal(w.reasons[0]!.kind, 'deploy_confirmation');
    assert.match(w.sentence, new RegExp(`^Waits for a person to confirm the deploy of ${task.workItemId}: move the tracker issue to "Confirm Deploy", or run \`conveyor task confirm-deploy ${task.id}\``));
    await eventually(() => statusesOf(kit, 'c1').includes('Awaiting Deploy'), 5_000, 'Awaiting Deploy');
    assert.equal(statusesOf(kit, 'c1').includes('Deploying'), false, 'nothing deploys before the confirmation');

    const res = await kit.conveyor.intake.trackerStatus({ repo: 'a', trackerIssueId: 'c1', status: 'Confirm Deploy' });
    assert.equal(res.action, 'deploy_confirmed');
    assert.equal(kit.events.of('deploy.confirmed').length, 1);
    await kit.events.waitFor('task.done', (p) => p.task.id === task.id);
    await eventually(() => statusesOf(kit, 'c1').includes('Done'), 5_000, 'Done');
    assert.deepEqual(statusesOf(kit, 'c1'), ['Awaiting Deploy', 'Deploying', 'Done']);
  });

  test(`${t0} instance-wide deploy.confirm with a repo that opts out: only the other repos wait`, async (t) => {
    const kit = await kitAt(dialect, { deploy: { confirm: true }, repos: { a: {}, b: { deploy: { confirm: false } } } });
    t.after(() => kit.cleanup());
    const a = await taskAtStage(kit, 'a', 'a1', 'deploy');
    const b = await taskAtStage(kit, 'b', 'b1', 'deploy');
    for (const task of [a, b]) await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'deploy', kind: 'agent', role: 'deployer', reason: null });
    assert.equal((await claim(kit))?.taskId, b.id, 'b opted out: its deployer is claimable');
    assert.equal(await claim(kit), null, 'a waits for its confirmation');
    assert.equal((await kit.conveyor.intake.confirmDeploy(a.id)).outcome, 'confirmed');
    assert.equal((await claim(kit))?.taskId, a.id);
  });

  test(`${t0} a confirmation that has nothing to confirm is refused with a clear reason and changes nothing`, async (t) => {
    const kit = await kitAt(dialect, { repos: { a: { deploy: { confirm: true } }, b: {} } });
    t.after(() => kit.cleanup());
    const early = await taskAtStage(kit, 'a', 'e1', 'testing');
    const other = await taskAtStage(kit, 'b', 'o1', 'deploy');
    const r1 = await kit.conveyor.intake.confirmDeploy(early.id);
    assert.deepEqual([r1.outcome, r1.confirmed], ['not_at_deploy', false]);
    assert.match(r1.detail, /is at testing, not at deploy/);
    const r2 = await kit.conveyor.intake.confirmDeploy(other.id);
    assert.deepEqual([r2.outcome, r2.confirmed], ['not_required', false]);
    assert.match(r2.detail, /b does not ask for a deploy confirmation/);
    for (const id of [early.id, other.id]) assert.equal((await kit.conveyor.store.tasks.get(id))!.deployConfirmedAt, null);
    const ignored = await kit.conveyor.intake.trackerStatus({ repo: 'b', trackerIssueId: 'o1', status: 'Confirm Deploy' });
    assert.equal(ignored.action, 'ignored', 'Confirm Deploy where it is not enabled is ignored');
    await assert.rejects(kit.conveyor.intake.confirmDeploy(999_999), { code: 'CONVEYOR_TASK_NOT_FOUND' });

    const at = await taskAtStage(kit, 'a', 'd1', 'deploy');
    assert.equal((await kit.conveyor.intake.confirmDeploy(at.id)).outcome, 'confirmed');
    const again = await kit.conveyor.intake.confirmDeploy(at.id);
    assert.deepEqual([again.outcome, again.confirmed], ['already_confirmed', true], 'a repeat is recognised');
  });

  test(`${t0} a task that comes back to deploy waits for a new confirmation`, async (t) => {
    const kit = await kitAt(dialect, { repos: { a: { deploy: { confirm: true } } } });
    t.after(() => kit.cleanup());
    const task = await taskAtStage(kit, 'a', 'r1', 'deploy');
    await kit.conveyor.intake.confirmDeploy(task.id);
    assert.ok((await kit.conveyor.store.tasks.get(task.id))!.deployConfirmedAt);
    const { knex } = kit.conveyor.db;
    await knex.transaction((tx) => kit.conveyor.store.tasks.moveStage(task.id, 'deploy', 'development', { reason: 'rollback (test)' }, tx));
    await knex.transaction((tx) => kit.conveyor.store.tasks.moveStage(task.id, 'development', 'deploy', { reason: 'back (test)' }, tx));
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.deployConfirmedAt, null);
  });
}
