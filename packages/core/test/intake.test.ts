import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin } from '../src/plugin/define-plugin.js';
import { createTestConveyor, testDatabases, type TestConveyor } from '../src/testing/index.js';

/** A task at `stage` with its jobs finished. */
async function taskAt(kit: TestConveyor, stage: string, issue = 'PL-1') {
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: issue, title: `task ${issue}` });
  await kit.conveyor.db.knex('jobs').where({ task_id: task.id }).update({ status: 'done' });
  await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ stage });
  return (await kit.conveyor.store.tasks.get(task.id))!;
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} To Analyse is the only entry and is idempotent; comments never change state`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const intake = kit.conveyor.intake;
    assert.equal((await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'u1', status: 'In Progress' })).action, 'ignored', 'In Progress never starts a pipeline');
    assert.equal((await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'u1', status: 'Approved' })).action, 'ignored');
    const first = await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'u1', status: 'To Analyse', title: 'Fix login', sequence: 42 });
    assert.equal(first.action, 'created');
    assert.equal((await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'u1', status: 'To Analyse', title: 'Fix login' })).action, 'exists');
    const task = (await kit.conveyor.store.tasks.get(first.taskId!))!;
    assert.equal(task.workItemId, 'ET-042', 'derived from the tracker sequence');
    const before = JSON.stringify(task);
    assert.equal((await intake.trackerComment({ repo: 'acme/app', trackerIssueId: 'u1' })).action, 'ignored');
    assert.equal((await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'u1', status: 'Needs Input' })).action, 'informational');
    assert.equal(JSON.stringify(await kit.conveyor.store.tasks.get(task.id)), before, 'nothing changed');
  });

  test(`${t0} In Progress relaunches the analyst only at analysis with no active job`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const intake = kit.conveyor.intake;
    await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'u1', status: 'To Analyse', title: 'A' });
    assert.equal((await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'u1', status: 'In Progress' })).action, 'ignored', 'the analyst job is still active');
    const atAnalysis = await taskAt(kit, 'analysis', 'u2');
    const res = await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'u2', status: 'In Progress' });
    assert.equal(res.action, 'relaunched');
    assert.match((await kit.conveyor.store.jobs.activeForTask(atAnalysis.id))!.reason!, /answered your questions/);
    await taskAt(kit, 'review', 'u3');
    assert.equal((await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'u3', status: 'In Progress' })).action, 'ignored');
  });

  test(`${t0} Approved and Rejected are the human verdict; STOP without the cancel plugin changes nothing`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const intake = kit.conveyor.intake;
    const task = await taskAt(kit, 'analysis');
    const job = (await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'analysis', kind: 'agent', role: 'analyst' }))!;
    await kit.conveyor.db.knex('jobs').where({ id: job.id }).update({ status: 'done' });
    const run = await kit.conveyor.store.agentRuns.start({ jobId: job.id, taskId: task.id, stage: 'analysis', role: 'analyst', attempt: 0, pid: 1 });
    await kit.conveyor.store.agentRuns.recordExit(run.id, { exitCode: 0, result: 'ok', usage: null, logPath: null });
    kit.artifacts.put(task, 'analysis', {});
    assert.equal((await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'PL-1', status: 'Rejected', comment: 'wrong scope' })).action, 'verdict');
    assert.equal((await kit.conveyor.store.jobs.activeForTask(task.id))!.role, 'analyst');
    await kit.conveyor.db.knex('jobs').where({ task_id: task.id }).update({ status: 'done' });
    assert.equal((await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'PL-1', status: 'Approved' })).action, 'verdict');
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'architecture');
    assert.equal((await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'PL-1', status: 'Approved' })).action, 'ignored', 'a late duplicate verdict does nothing');
    // Without the cancel plugin a STOP is logged and ignored: nothing is stamped.
    const stop = await intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'PL-1', status: 'STOP' });
    assert.equal(stop.action, 'ignored');
    assert.match(stop.detail, /enable.*plugins\.cancel\.enabled: true/);
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.cancelRequestedAt, null);
  });

  test(`${t0} a CI status without a branch resolves through the single development task with that head`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const a = await taskAt(kit, 'development', 'a');
    const b = await taskAt(kit, 'development', 'b');
    kit.forge.setHead('acme/app', a.branch, 'sha-a');
    kit.forge.setHead('acme/app', b.branch, 'sha-shared');
    await kit.conveyor.intake.ciStatus({ repo: 'acme/app', sha: 'sha-a', branch: null, context: 'ci', state: 'pending', targetUrl: null });
    assert.equal((await kit.conveyor.store.ciStatuses.forSha('acme/app', 'sha-a'))[0]!.branch, a.branch);
    kit.forge.setHead('acme/app', a.branch, 'sha-shared');
    await kit.conveyor.intake.ciStatus({ repo: 'acme/app', sha: 'sha-shared', branch: null, context: 'ci', state: 'success', targetUrl: null });
    assert.equal((await kit.conveyor.store.ciStatuses.forSha('acme/app', 'sha-shared'))[0]!.branch, null, 'ambiguous: not resolved');
    assert.ok(kit.logger.lines.some((l) => l.msg === 'CI status not resolved: several tasks have that head'));
  });

  test(`${t0} a merged PR completes a task before deploy, never at deploy; it releases only its own lease`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const intake = kit.conveyor.intake;
    const early = await taskAt(kit, 'review', 'e');
    await kit.conveyor.store.jobs.enqueue({ taskId: early.id, stage: 'review', kind: 'agent', role: 'reviewer' });
    await kit.conveyor.store.leases.acquire('acme/app', { taskId: early.id, hostId: 'h', pid: 1 }, 60_000);
    const res = await intake.pullRequestMerged({ repo: 'acme/app', branch: early.branch, number: 3 });
    assert.equal(res.action, 'done');
    const done = (await kit.conveyor.store.tasks.get(early.id))!;
    assert.equal(done.stage, 'done');
    assert.ok(done.mergedAt);
    assert.equal(await kit.conveyor.store.jobs.activeForTask(early.id), null, 'its queued job was cancelled');
    assert.equal(await kit.conveyor.store.leases.get('acme/app'), null, 'its lease was released');
    assert.equal(kit.events.of('task.done').length, 1);

    const atDeploy = await taskAt(kit, 'deploy', 'd');
    const other = await taskAt(kit, 'testing', 'o');
    await kit.conveyor.store.leases.acquire('acme/app', { taskId: other.id, hostId: 'h', pid: 1 }, 60_000);
    assert.equal((await intake.pullRequestMerged({ repo: 'acme/app', branch: atDeploy.branch, number: 4 })).action, 'ignored');
    assert.equal((await kit.conveyor.store.tasks.get(atDeploy.id))!.stage, 'deploy');
    assert.equal((await kit.conveyor.store.leases.get('acme/app'))!.taskId, other.id, "someone else's lease stays");
    assert.equal((await intake.pullRequestMerged({ repo: 'acme/app', branch: early.branch, number: 3 })).action, 'ignored', 'a redelivery does nothing');
  });

  test(`${t0} webhook deliveries: recorded, processed once after the reply, a failing one does not block the next`, async (t) => {
    const seen: string[] = [];
    const probe = definePlugin({
      name: 'probe',
      register(ctx) {
        ctx.webhooks.onDelivery('probe', async (payload) => {
          if (payload === 'boom') throw new Error('cannot parse');
          seen.push(payload);
        });
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [probe] });
    t.after(() => kit.cleanup());
    const inbox = kit.conveyor.webhooks;
    const a = await inbox.accept({ source: 'probe', deliveryKey: 'k1', payload: 'one' });
    assert.deepEqual(seen, [], 'processing happens after the caller answered');
    await inbox.accept({ source: 'probe', deliveryKey: 'k1', payload: 'one' });
    await inbox.accept({ source: 'probe', deliveryKey: 'k2', payload: 'boom' });
    await inbox.accept({ source: 'probe', deliveryKey: 'k3', payload: 'three' });
    await inbox.idle();
    assert.deepEqual(seen, ['one', 'three']);
    const rows = await kit.conveyor.db.knex('webhook_inbox').orderBy('id');
    assert.deepEqual(rows.map((r: { status: string }) => r.status), ['processed', 'failed', 'processed']);
    assert.equal(rows[0].id, a.id);
    await assert.rejects(inbox.accept({ source: 'nobody', deliveryKey: 'x', payload: '' }), /no delivery handler for source "nobody"/);
  });

  test(`${t0} a delivery acknowledged but not processed before a crash is processed at the next start`, async (t) => {
    const seen: string[] = [];
    const probe = definePlugin({
      name: 'probe',
      register(ctx) {
        ctx.webhooks.onDelivery('probe', async (payload) => void seen.push(payload));
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [probe] });
    t.after(() => kit.cleanup());
    await kit.conveyor.store.inbox.record({ source: 'probe', deliveryKey: 'left-over', payload: 'from before the crash' });
    await kit.conveyor.start();
    assert.deepEqual(seen, ['from before the crash']);
    assert.deepEqual(await kit.conveyor.store.inbox.unprocessed(10), []);
  });
}
