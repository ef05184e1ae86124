import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { allDone, approveInReviewOnPlane, approveWaitingLocalTasks, checkInvariants, FaultScenario, fileLocalTask, scenarioProcesses } from './harness/index.js';

// The harness itself: a real host carries a task to done, a SIGKILL takes it down,
// a restart brings it back, and the invariants see what they should.
for (const dialect of testDatabases()) {
  test(`[${dialect}] harness: a host started, killed and restarted carries a local task to done; the invariants hold`, { timeout: 120_000 }, async (t) => {
    const s = await FaultScenario.create(t, { name: 'harness', dialect, profile: 'local' });
    const host = s.host();
    await host.start();
    const id = await fileLocalTask(s, 'Add a greeting');
    assert.equal((await host.kill())?.signal, 'SIGKILL');
    await host.start();
    await s.until(async () => (await approveWaitingLocalTasks(s)) > 0 || (await allDone(s, 1)), 60_000, `task ${id} waiting for approval`);
    await s.until(() => allDone(s, 1), 60_000, `task ${id} done`);
    assert.deepEqual(await host.stop(), { code: 0, signal: null }, host.log);
    await s.until(() => scenarioProcesses(s.dir).length === 0, 20_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { allDone: true, noProcesses: true }), []);
  });
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] harness: through the webhook relay, a Plane work item becomes a merged Gitea PR and Done; every delivery is logged`, { timeout: 120_000 }, async (t) => {
    const s = await FaultScenario.create(t, { name: 'harness-plane', dialect, profile: 'plane-gitea' });
    const host = s.host();
    await host.start();
    const plane = s.plane!;
    const issue = plane.createIssue({ name: 'Add retry to webhook sender', state: 'Backlog' });
    plane.moveIssue(issue.id, 'To Analyse');
    await s.until(() => approveInReviewOnPlane(s) > 0, 60_000, 'the work item In Review');
    await s.until(() => plane.stateOf(plane.issue(issue.id)).name === 'Done', 90_000, 'the work item Done');
    assert.ok(s.relay!.acknowledged().length > 0, 'webhooks went through the relay');
    assert.deepEqual(await host.stop(), { code: 0, signal: null }, host.log);
    await s.until(() => scenarioProcesses(s.dir).length === 0, 20_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { allDone: true, noProcesses: true }), []);
  });
}
