import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreTokens, type Ports } from '../src/index.js';
import { prMergedGate } from '../src/finalize/merge-gate-core.js';
import { createTestConveyor, gateContext, taskAtStage, testDatabases } from '../src/testing/index.js';

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} a task with a STOP pending does not advance, and its merge never starts`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { conveyor, forge } = kit;
    const task = await taskAtStage(kit, 'r', '1', 'deploy');
    const pr = await forge.ensurePullRequest({ repo: 'r', head: task.branch, base: 'main', title: 't', body: '' });
    await conveyor.store.tasks.setPullRequest(task.id, pr.number, pr.url);
    assert.equal(await conveyor.store.tasks.requestCancel(task.id), true);
    assert.equal(await conveyor.store.tasks.requestCancel(task.id), false, 'the stamp reports the first request only');

    assert.deepEqual(await conveyor.engine.advance(task.id, { from: 'deploy', reason: 'deployer finished' }), { kind: 'stale', stage: 'deploy' });
    const stamped = (await conveyor.store.tasks.get(task.id))!;
    const gate = prMergedGate({ ports: conveyor.container.resolve<Ports>(CoreTokens.Ports), tasks: conveyor.store.tasks, events: conveyor.events, clock: { now: () => Date.now() } });
    const verdict = await gate.check(gateContext(kit, stamped, 'deploy'));
    assert.deepEqual(verdict, { verdict: 'pending', reason: 'a STOP was requested: the merge of #1 does not start' });
    // The INITIATED marker refuses a task with a STOP: the irreversible step cannot begin after it.
    assert.equal(await conveyor.store.tasks.markMergeInitiated(task.id), false);
    assert.equal((await conveyor.store.tasks.get(task.id))!.mergeInitiatedAt, null);
    assert.equal(forge.pulls[0]!.merged, false);
  });

  test(`${t0} the cancel compare-and-set waits for an in-flight merge, then tombstones the keys`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { conveyor } = kit;
    const task = await taskAtStage(kit, 'r', '2', 'deploy');
    assert.equal(await conveyor.store.tasks.markMergeInitiated(task.id), true);
    const cancel = () => conveyor.db.knex.transaction((tx) => conveyor.store.tasks.markCancelled(task.id, 'deploy', { reason: 'STOP' }, tx));
    assert.equal(await cancel(), false, 'not under a merge in flight');
    const seen = (await conveyor.store.tasks.get(task.id))!.mergeInitiatedAt!;
    assert.equal(await conveyor.store.tasks.clearMergeInitiated(task.id, seen), true);
    assert.equal(await cancel(), true);
    const after = (await conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'cancelled');
    assert.equal(after.trackerIssueId, `2~cancelled-${task.id}`);
    assert.equal(await cancel(), false, 'once');
    assert.equal(await conveyor.store.tasks.findByIssue('r', '2'), null, 'the issue is free for a fresh task');
  });
}
