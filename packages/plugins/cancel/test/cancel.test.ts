import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { ConveyorError, parseTombstone } from '@conveyor/core';
import { createTestConveyor, eventually, testDatabases } from '@conveyor/core/testing';
import { cancelPlugin } from '../src/index.js';
import { REPO, cancelKit, latch, parkedTask, queueAgent } from './helpers.js';

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} STOP with nothing running: full reset at once, keys tombstoned, a new "To Analyse" starts a fresh task`, async (t) => {
    const kit = await cancelKit(dialect);
    t.after(() => kit.cleanup());
    const { conveyor } = kit;
    const task = await parkedTask(kit, 'I-1', 'development');
    await conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'development', kind: 'advance', role: null, delayMs: 60_000 });
    const worktree = await kit.workspace.prepare(task);

    const res = await conveyor.intake.requestStop(task.id);
    assert.equal(res.firstRequest, true);
    assert.equal(res.state, 'applied');
    assert.equal(res.applied, true);
    assert.match(res.detail, /cancelled at development; 1 job cancelled; 0 processes stopped; branch et-\d+-task-i-1 deleted \(it was at sha-\d+\)/);

    const after = (await conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'cancelled');
    assert.ok(after.cancelledAt && after.cancelRequestedAt);
    for (const [now, was] of [[after.trackerIssueId, task.trackerIssueId], [after.workItemId, task.workItemId], [after.branch, task.branch]] as const) {
      assert.deepEqual(parseTombstone(now), { original: was, taskId: task.id }, `${now} is a parseable tombstone of ${was}`);
    }
    assert.deepEqual((await conveyor.store.jobs.listForTask(task.id)).map((j) => j.status), ['done', 'cancelled'], "the analyst's done job stays; the queued one is cancelled");
    assert.deepEqual(kit.forge.deleted, [`${REPO}:${task.branch}`]);
    assert.equal(fs.existsSync(worktree), false, 'the worktree is removed');
    assert.equal(kit.events.of('task.cancelled').length, 1);
    const event = kit.events.of('task.cancelled')[0]!.task;
    assert.deepEqual([event.stage, event.trackerIssueId, event.workItemId, event.branch], ['cancelled', task.trackerIssueId, task.workItemId, task.branch], 'the event names the issue by its real keys');
    assert.deepEqual((await conveyor.store.tasks.transitions(task.id)).at(-1)?.to, 'cancelled');

    // A repeated STOP on the ended task changes nothing and says so.
    const again = await conveyor.intake.requestStop(task.id);
    assert.deepEqual({ applied: again.applied, state: again.state }, { applied: false, state: 'ended' });
    assert.equal(kit.events.of('task.cancelled').length, 1);

    // The same issue comes back (a tracker gives it the same sequence number).
    const fresh = await conveyor.intake.trackerStatus({ repo: REPO, trackerIssueId: 'I-1', status: 'To Analyse', title: 'task I-1', sequence: Number(task.workItemId.split('-')[1]) });
    assert.equal(fresh.action, 'created');
    const next = (await conveyor.store.tasks.get(fresh.taskId!))!;
    assert.notEqual(next.id, task.id);
    assert.equal(next.workItemId, task.workItemId, 'the work item id is free again');
    assert.equal(next.branch, task.branch, 'so is the branch name');
    assert.equal(next.stage, 'analysis');
  });

  test(`${t0} the tracker's STOP status cancels the live task; a STOP for an unknown issue is ignored`, async (t) => {
    const kit = await cancelKit(dialect);
    t.after(() => kit.cleanup());
    const task = await parkedTask(kit, 'I-2', 'review');
    const out = await kit.conveyor.intake.trackerStatus({ repo: REPO, trackerIssueId: 'I-2', status: 'STOP' });
    assert.equal(out.action, 'stop');
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'cancelled');
    const none = await kit.conveyor.intake.trackerStatus({ repo: REPO, trackerIssueId: 'nope', status: 'STOP' });
    assert.equal(none.action, 'ignored');
  });

  test(`${t0} parked at deploy holding the merge lease with nothing running: reset at once, lease released`, async (t) => {
    const kit = await cancelKit(dialect);
    t.after(() => kit.cleanup());
    const { conveyor } = kit;
    const task = await parkedTask(kit, 'I-3', 'deploy');
    assert.equal(await conveyor.store.leases.acquire(REPO, { taskId: task.id, hostId: conveyor.hostId, pid: process.pid }, 60_000), true);
    const res = await conveyor.intake.requestStop(task.id);
    assert.equal(res.state, 'applied', res.detail);
    assert.match(res.detail, /merge lease released/);
    assert.equal(await conveyor.store.leases.get(REPO), null);
    assert.equal((await conveyor.store.tasks.get(task.id))!.stage, 'cancelled');
  });

  test(`${t0} lease held with a running deploy job: deferred, a repeated STOP notifies once, applied once when the job ends`, async (t) => {
    const release = latch();
    const kit = await cancelKit(dialect, { config: { worker: { enabled: true } }, agent: (req) => (req.stage === 'deploy' ? { until: release.promise, artifact: { frontMatter: { deploy_status: 'ok' } } } : {}) });
    t.after(() => kit.cleanup());
    const { conveyor } = kit;
    const task = await parkedTask(kit, 'I-4', 'deploy');
    await conveyor.store.leases.acquire(REPO, { taskId: task.id, hostId: conveyor.hostId, pid: process.pid }, 60_000);
    const job = await queueAgent(kit, task, 'deployer');
    await conveyor.start();
    await eventually(async () => (await conveyor.store.jobs.get(job.id))!.status === 'running', 5_000, 'the deployer running');

    const first = await conveyor.intake.requestStop(task.id);
    assert.equal(first.state, 'deferred');
    assert.match(first.detail, /holds the merge lease of acme\/app and its agent job #\d+ at deploy is running/);
    const second = await conveyor.intake.requestStop(task.id);
    assert.deepEqual({ first: second.firstRequest, state: second.state }, { first: false, state: 'deferred' });
    assert.equal(kit.notifier.sent.filter((n) => n.text.includes('STOP received')).length, 1, 'one notification for two STOPs');
    const snap = (await conveyor.snapshot()) as unknown as { plugins: Record<string, { requested: { taskId: number; state: string }[] }> };
    assert.deepEqual(snap.plugins.cancel!.requested.map((r) => [r.taskId, r.state]), [[task.id, 'deferred']]);
    assert.equal((await conveyor.store.tasks.get(task.id))!.stage, 'deploy', 'nothing is reset while the deploy runs');

    release.resolve();
    await kit.events.waitFor('task.cancelled');
    const after = (await conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'cancelled');
    assert.equal(after.mergeInitiatedAt, null, 'the merge never started after the STOP');
    assert.equal(await conveyor.store.leases.get(REPO), null);
    await eventually(async () => (await conveyor.snapshot() as unknown as { plugins: Record<string, { requested: unknown[] }> }).plugins.cancel!.requested.length === 0, 5_000, 'nothing pending');
    assert.equal(kit.events.of('task.cancelled').length, 1, 'applied once');
  });

  for (const landed of [false, true]) {
    test(`${t0} STOP during an in-flight merge is deferred; ${landed ? 'the merge lands: the task is done, said once' : 'the forge refuses it: the cancel is applied once'}`, async (t) => {
      const kit = await cancelKit(dialect, { config: { worker: { enabled: true } }, agent: () => ({ artifact: { frontMatter: { deploy_status: 'ok' } } }) });
      t.after(() => kit.cleanup());
      const { conveyor, forge } = kit;
      const task = await parkedTask(kit, `I-5-${landed}`, 'deploy');
      const pr = await forge.ensurePullRequest({ repo: REPO, head: task.branch, base: 'main', title: 't', body: '' });
      await conveyor.db.knex('tasks').where({ id: task.id }).update({ pr_number: pr.number, pr_url: pr.url });
      const merging = latch();
      const finishMerge = latch();
      const merge = forge.mergePullRequest.bind(forge);
      forge.mergePullRequest = async (repo, number, options) => {
        merging.resolve();
        await finishMerge.promise;
        if (!landed) throw Object.assign(new Error('409 conflict: the base moved'), { status: 409 });
        return merge(repo, number, options);
      };
      await queueAgent(kit, task, 'deployer');
      await conveyor.start();
      await merging.promise;

      const res = await conveyor.intake.requestStop(task.id);
      assert.equal(res.state, 'deferred');
      assert.match(res.detail, /the merge of PR #1 is in flight/);
      assert.equal((await conveyor.intake.requestStop(task.id)).state, 'deferred');
      assert.equal(kit.notifier.sent.filter((n) => n.text.includes('STOP received')).length, 1);

      finishMerge.resolve();
      if (landed) {
        await kit.events.waitFor('task.done');
        await eventually(() => kit.notifier.sent.some((n) => n.text.includes('the STOP came during the merge')), 5_000, 'the overtaken STOP said');
        const after = (await conveyor.store.tasks.get(task.id))!;
        assert.equal(after.stage, 'done');
        assert.ok(after.mergedAt);
        assert.equal(kit.events.of('task.cancelled').length, 0);
        assert.deepEqual(forge.deleted, [], 'a merged branch is not the cancel\'s to delete');
      } else {
        await kit.events.waitFor('task.cancelled');
        const after = (await conveyor.store.tasks.get(task.id))!;
        assert.equal(after.stage, 'cancelled');
        assert.equal(after.mergedAt, null);
        // Whichever came first once the marker was cleared — the refused merge's rollback
        // to development, or the sweep — the cancel is the task's last move, made once.
        const moves = await conveyor.store.tasks.transitions(task.id);
        assert.equal(moves.at(-1)?.to, 'cancelled');
        assert.ok(['deploy', 'development'].includes(moves.at(-1)!.from), moves.map((m) => `${m.from}→${m.to}`).join(' '));
        assert.equal(moves.filter((m) => m.to === 'cancelled').length, 1);
        assert.ok((await conveyor.store.jobs.listForTask(task.id)).every((j) => j.status !== 'queued' && j.status !== 'running'));
        // A later sweep or event finds nothing more to do.
        await conveyor.engine.advance(task.id, { from: 'development', reason: 'late CI webhook' });
        assert.equal(kit.events.of('task.cancelled').length, 1, 'applied once');
      }
    });
  }

  test(`${t0} a cancelled job is never re-queued: not by the worker's retry, not by stale-job recovery`, async (t) => {
    const kit = await cancelKit(dialect, { config: { worker: { enabled: true } }, agent: () => ({ until: new Promise(() => {}) }) });
    t.after(() => kit.cleanup());
    const { conveyor } = kit;
    const task = await parkedTask(kit, 'I-6', 'development');
    const job = await queueAgent(kit, task, 'developer');
    await conveyor.start();
    const running = (await eventually(async () => {
      const j = (await conveyor.store.jobs.get(job.id))!;
      return j.status === 'running' ? j : null;
    }, 5_000, 'the developer running'))!;

    assert.equal((await conveyor.intake.requestStop(task.id)).state, 'applied');
    // The worker's heartbeat is refused, it aborts the agent and its retry is fenced out.
    await eventually(() => conveyor.worker.running === 0, 5_000, 'the worker let go of the job');
    assert.equal(await conveyor.store.jobs.retry(running.id, running.attempt, 0, 'crash'), false, 'worker retry');
    assert.equal(await conveyor.store.jobs.requeueStale(running.id, running.attempt, new Date(Date.now() + 3_600_000)), false, 'stale-job recovery');
    assert.equal(await conveyor.worker.recoverOrphans(), 0);
    assert.equal(await conveyor.store.jobs.claim({ hostId: 'other', clauses: conveyor.clauses.list() }), null);
    assert.equal((await conveyor.store.jobs.get(job.id))!.status, 'cancelled');
    assert.equal(kit.events.of('job.retried').length, 0);
  });

  test(`${t0} disabled: STOP is refused with the plugin to enable and nothing changes; the tracker's STOP is logged and ignored`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [cancelPlugin], config: { plugins: { cancel: { enabled: false } } } });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: REPO, trackerIssueId: 'I-7', title: 'x' });
    await assert.rejects(kit.conveyor.intake.requestStop(task.id), (err: ConveyorError) => err.code === 'CONVEYOR_PLUGIN_DISABLED' && /plugins\.cancel\.enabled: true/.test(err.message) && /CONVEYOR_PLUGINS_CANCEL_ENABLED=true/.test(err.message));
    const out = await kit.conveyor.intake.trackerStatus({ repo: REPO, trackerIssueId: 'I-7', status: 'STOP' });
    assert.equal(out.action, 'ignored');
    assert.match(out.detail, /cancel plugin/);
    const after = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(after.cancelRequestedAt, null);
    assert.equal(after.stage, 'analysis');
    assert.equal(kit.conveyor.extensions.daemons.filter((d) => d.plugin === 'cancel').length, 0);
    assert.equal(kit.conveyor.extensions.snapshots.filter((s) => s.plugin === 'cancel').length, 0);
  });
}
