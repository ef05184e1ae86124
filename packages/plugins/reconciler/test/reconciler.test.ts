import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, testDatabases, type TestConveyor } from '@conveyor/core/testing';
import { ClaimStore } from '../src/index.js';
import { reconcilerKit } from './kit.js';

/** Resolves once a whole reconciler tick has run that started at or after `since` (read from its `/queue` block). */
async function ticksSince(kit: TestConveyor, since: number): Promise<void> {
  await eventually(async () => {
    const block = (await kit.conveyor.snapshot()).plugins.reconciler as { lastTick: { at: string } | null };
    return !!block.lastTick && new Date(block.lastTick.at).getTime() >= since;
  }, 10_000, 'a reconciler tick');
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} a CI status webhook that never came: the reconciler reads the head's statuses from the forge and the task goes on to done`, { timeout: 30_000 }, async (t) => {
    const kit = await reconcilerKit(dialect);
    t.after(() => kit.cleanup());
    kit.conveyor.events.on('human.approval_needed', ({ task }) => void kit.conveyor.intake.humanVerdict(task.id, 'approved'));
    // The forge's CI goes green for every head; no status webhook reaches Conveyor.
    kit.workspace.onPush = (task, sha) => {
      kit.statusForge.setHead(task.repo, task.branch, sha);
      kit.statusForge.statuses.set(sha, [{ context: 'ci/build', state: 'success', targetUrl: null }]);
    };
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-1', title: 'Add retry' });
    const unstuck = await kit.events.waitFor('reconciler.unstuck', (e) => e.taskId === task.id, 20_000);
    assert.deepEqual(unstuck, { taskId: task.id, from: 'development', to: 'review' });
    await kit.events.waitFor('task.done', (e) => e.task.id === task.id, 20_000);
    // Later stages push again: the development head is the first head with a recorded status.
    const recorded = (await kit.conveyor.db.knex('ci_statuses').where({ branch: task.branch }).select('context', 'state')) as { context: string; state: string }[];
    assert.deepEqual(recorded.map((s) => [s.context, s.state]), [['ci/build', 'success']], 'the replayed status is recorded as its webhook would have been');
    assert.equal(kit.events.of('reconciler.unstuck').length, 1, 'only the task a webhook left standing was moved');
    assert.ok(kit.logger.lines.some((l) => /reconciler: task ET-001 unstuck \(development → review\)/.test(l.msg ?? '')), 'one log line per unstuck task');
  });

  test(`${t0} gate side: a task whose gates pass but whose advance was lost is moved once, by the normal path`, { timeout: 30_000 }, async (t) => {
    const kit = await reconcilerKit(dialect, { forgeSide: false, intervalMs: 60_000 });
    t.after(() => kit.cleanup());
    kit.conveyor.events.on('human.approval_needed', ({ task }) => void kit.conveyor.intake.humanVerdict(task.id, 'approved'));
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-2', title: 'Add cache' });
    await kit.events.waitFor('gate.evaluated', (e) => e.taskId === task.id && e.gate === 'ci_green' && e.verdict === 'pending', 20_000);
    // CI's success is recorded, but the advance that should have followed is lost (a crash in between).
    const sha = (await kit.statusForge.branchHeadSha('acme/app', task.branch))!;
    await kit.conveyor.store.ciStatuses.record({ repo: 'acme/app', sha, branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'development');
    const plugin = kit.conveyor.extensions.daemons.find((d) => d.plugin === 'reconciler')!;
    await plugin.daemon.stop();
    await plugin.daemon.start();
    const unstuck = await kit.events.waitFor('reconciler.unstuck', (e) => e.taskId === task.id, 20_000);
    assert.deepEqual(unstuck, { taskId: task.id, from: 'development', to: 'review' });
    const reviewJobs = (await kit.conveyor.store.jobs.listForTask(task.id)).filter((j) => j.stage === 'review');
    assert.equal(reviewJobs.length, 1, 'one review job: the advance ran once');
  });

  test(`${t0} the human gate is a person's: a task waiting for its verdict is never moved by the gate side`, { timeout: 30_000 }, async (t) => {
    const kit = await reconcilerKit(dialect, { trackerSide: false });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-3', title: 'Add logs' });
    await kit.events.waitFor('human.approval_needed');
    // A tick that began after the task waited has ended.
    await ticksSince(kit, Date.now());
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'analysis');
    assert.equal(kit.events.of('reconciler.unstuck').length, 0);
  });

  test(`${t0} tracker side: a missed "To Analyse" creates the task once; a missed "Approved" gives the verdict; an issue that had a task is never started again`, { timeout: 30_000 }, async (t) => {
    const kit = await reconcilerKit(dialect, { forgeSide: false });
    t.after(() => kit.cleanup());
    const issue = { repo: 'acme/app', id: 'PL-9', title: 'Add export', description: '', status: 'To Analyse', sequence: 9, updatedAt: null };
    kit.listingTracker.issues.push(issue);
    await kit.conveyor.start();
    await kit.events.waitFor('human.approval_needed', () => true, 20_000);
    const tasks = await kit.conveyor.store.tasks.list({});
    assert.equal(tasks.length, 1, 'one task for the issue, however many ticks saw it');
    issue.status = 'Approved';
    await kit.events.waitFor('job.enqueued', (e) => e.job.stage === 'architecture', 20_000);
    // Done, and still "To Analyse" on the tracker (a status update that was lost): no second task.
    await kit.conveyor.db.knex('tasks').where({ id: tasks[0]!.id }).update({ stage: 'done' });
    await kit.conveyor.db.knex('jobs').where({ task_id: tasks[0]!.id }).whereIn('status', ['queued', 'running']).update({ status: 'cancelled' });
    issue.status = 'To Analyse';
    const before = kit.conveyor.extensions.daemons.find((d) => d.plugin === 'reconciler')!;
    await before.daemon.stop();
    await before.daemon.start();
    await ticksSince(kit, Date.now());
    assert.equal((await kit.conveyor.store.tasks.list({})).length, 1);
  });

  test(`${t0} claim before act: one host holds a task at a time; an expired claim is taken over; a release frees it`, async (t) => {
    const kit = await reconcilerKit(dialect, { intervalMs: 60_000 });
    t.after(() => kit.cleanup());
    const knex = kit.conveyor.db.knex;
    let now = 1_000_000;
    const clock = { now: () => now };
    const a = new ClaimStore(knex, clock, 'host-a', 5_000);
    const b = new ClaimStore(knex, clock, 'host-b', 5_000);
    const claimA = await a.claim(7);
    assert.ok(claimA);
    assert.equal(await b.claim(7), null, 'b cannot act while a holds the task');
    now += 5_000;
    const claimB = await b.claim(7);
    assert.ok(claimB, 'a died mid-act: its expired claim is taken over');
    await a.release(7, claimA);
    assert.equal(await a.claim(7), null, "a's late release did not free b's claim");
    await b.release(7, claimB);
    assert.ok(await a.claim(7));
  });
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] a host killed mid-act left a claim: its restart (same host id) drops it, another host's claim stays`, async (t) => {
    const kit = await reconcilerKit(dialect, { intervalMs: 60_000 });
    t.after(() => kit.cleanup());
    const knex = kit.conveyor.db.knex;
    const clock = { now: () => Date.now() };
    await new ClaimStore(knex, clock, kit.conveyor.hostId, 60_000).claim(1);
    await new ClaimStore(knex, clock, 'another-host', 60_000).claim(2);
    await kit.conveyor.start();
    const left = (await knex('reconciler_claims').select('task_id', 'host_id')) as { task_id: number; host_id: string }[];
    assert.deepEqual(left.map((r) => [Number(r.task_id), r.host_id]), [[2, 'another-host']]);
  });
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] forge side: a pending status is not replayed, so a stale read never overwrites a newer status`, { timeout: 30_000 }, async (t) => {
    const kit = await reconcilerKit(dialect, { trackerSide: false });
    t.after(() => kit.cleanup());
    kit.conveyor.events.on('human.approval_needed', ({ task }) => void kit.conveyor.intake.humanVerdict(task.id, 'approved'));
    kit.workspace.onPush = (task, sha) => {
      kit.statusForge.setHead(task.repo, task.branch, sha);
      kit.statusForge.statuses.set(sha, [{ context: 'ci/build', state: 'pending', targetUrl: null }]);
    };
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-7', title: 'Add audit' });
    await kit.events.waitFor('gate.evaluated', (e) => e.taskId === task.id && e.gate === 'ci_green' && e.verdict === 'pending', 20_000);
    await ticksSince(kit, Date.now());
    const recorded = await kit.conveyor.db.knex('ci_statuses').where({ branch: task.branch }).select('state');
    assert.deepEqual(recorded, [], 'nothing recorded from a pending read');
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'development');
  });
}
