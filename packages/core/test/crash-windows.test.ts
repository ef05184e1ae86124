import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { armFaultPoint } from '../src/util/fault-point.js';
import { createTestConveyor, eventually, testDatabases, type TestConveyor, type TestConveyorOptions, type TestDialect } from '../src/testing/index.js';
import { passingArtifacts } from './helpers.js';

/**
 * The crash windows of one host, forced in-process: a fault point that throws
 * stands for the kill (nothing after it runs), the instance is stopped as a dead
 * process would be, and a second instance starts on the same database, as the
 * restarted host does. Each test fails when its window's guard is removed.
 */
class SimulatedCrash extends Error {}

function crashAt(t: TestContext, name: string, at = 1): void {
  const disarm = armFaultPoint(name, {
    at,
    action: () => {
      throw new SimulatedCrash(`simulated crash at ${name}`);
    },
  });
  t.after(disarm);
}

const happy: TestConveyorOptions['agent'] = (req) => ({ artifact: { frontMatter: passingArtifacts(req.stage) } });

type Restart = (o?: TestConveyorOptions, beforeStart?: (k: TestConveyor) => void) => Promise<TestConveyor>;

async function pair(t: TestContext, dialect: TestDialect, options: TestConveyorOptions = {}): Promise<{ first: TestConveyor; restart: Restart }> {
  const first = await createTestConveyor({ dialect, agent: happy, ...options, config: { instance: { hostId: 'box-1' }, ...options.config } });
  const later: TestConveyor[] = [];
  t.after(async () => {
    for (const k of later.reverse()) await k.cleanup();
    await first.cleanup();
  });
  const db = dialect === 'pg' ? { schema: first.conveyor.config.database.schema } : { filename: first.conveyor.config.database.filename };
  return {
    first,
    // `beforeStart`: what outlives the crash outside the database (the branch's
    // artefacts, the forge's heads), given to the restarted instance's fakes.
    async restart(o: TestConveyorOptions = {}, beforeStart?: (k: TestConveyor) => void) {
      // The crashed process is gone: its instance no longer holds anything.
      await first.conveyor.stop();
      const k = await createTestConveyor({ dialect, agent: happy, tracker: first.tracker, ...o, config: { instance: { hostId: 'box-1' }, database: db, ...o.config } });
      later.push(k);
      beforeStart?.(k);
      await k.conveyor.start();
      return k;
    },
  };
}

async function taskAt(kit: TestConveyor, stage: string, issue = '1') {
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: issue, title: `task ${issue}` });
  await kit.conveyor.db.knex('jobs').where({ task_id: task.id }).update({ status: 'done' });
  await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ stage });
  return (await kit.conveyor.store.tasks.get(task.id))!;
}

for (const dialect of testDatabases()) {
  const d = `[${dialect}]`;

  test(`${d} a crash between a job's finish and its advance: the restart advances the task once`, async (t) => {
    crashAt(t, 'job.finish-advance');
    const { first, restart } = await pair(t, dialect, { config: { worker: { enabled: true } } });
    const task = await taskAt(first, 'architecture');
    const job = (await first.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'architecture', kind: 'agent', role: 'architect' }))!;
    await first.conveyor.start();
    await eventually(async () => (await first.conveyor.store.jobs.get(job.id))!.status === 'done', 10_000, 'the architect job finished');
    // The window: the job is done, the task has not moved and has no job.
    assert.equal((await first.conveyor.store.tasks.get(task.id))!.stage, 'architecture');
    assert.equal(await first.conveyor.store.jobs.activeForTask(task.id), null);

    const second = await restart({}, (k) => k.artifacts.put(task, 'architecture', {}));
    const moved = (await second.conveyor.store.tasks.get(task.id))!;
    assert.equal(moved.stage, 'development', 'the stored advance ran at start');
    const active = (await second.conveyor.store.jobs.listForTask(task.id)).filter((j) => j.status === 'queued' || j.status === 'running');
    assert.deepEqual(active.map((j) => [j.stage, j.role]), [['development', 'developer']], 'one job for the new stage');
    assert.equal((await second.conveyor.store.tasks.transitions(task.id)).filter((x) => x.to === 'development').length, 1, 'advanced exactly once');
    assert.deepEqual((await second.conveyor.store.outbox.listForTask(task.id)).filter((e) => e.effect === 'advance').map((e) => e.status), ['done']);
  });

  test(`${d} a crash between recording a green CI status and the advance: the restart advances the task`, async (t) => {
    crashAt(t, 'intake.ci-advance');
    const { first, restart } = await pair(t, dialect);
    const task = await taskAt(first, 'development');
    const job = (await first.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'development', kind: 'agent', role: 'developer' }))!;
    await first.conveyor.db.knex('jobs').where({ id: job.id }).update({ status: 'done' });
    const run = await first.conveyor.store.agentRuns.start({ jobId: job.id, taskId: task.id, stage: 'development', role: 'developer', attempt: 1, pid: null });
    await first.conveyor.store.agentRuns.recordExit(run.id, { exitCode: 0, result: 'ok', usage: null, logPath: null });
    first.forge.setHead('acme/app', task.branch, 'sha-green');
    await assert.rejects(first.conveyor.intake.ciStatus({ repo: 'acme/app', sha: 'sha-green', branch: task.branch, context: 'ci', state: 'success', targetUrl: null }), SimulatedCrash);
    assert.equal((await first.conveyor.store.ciStatuses.forSha('acme/app', 'sha-green'))[0]!.state, 'success', 'the status is recorded');
    assert.equal((await first.conveyor.store.tasks.get(task.id))!.stage, 'development', 'the window: not advanced');

    const second = await restart({}, (k) => k.forge.setHead('acme/app', task.branch, 'sha-green'));
    assert.equal((await second.conveyor.store.tasks.get(task.id))!.stage, 'review', 'the stored advance ran at start');
    const active = (await second.conveyor.store.jobs.listForTask(task.id)).filter((j) => j.status === 'queued');
    assert.deepEqual(active.map((j) => j.role), ['reviewer']);
  });

  test(`${d} a crash right after a task reaches done: the restart sets Done, posts the cost summary once and removes the worktree`, async (t) => {
    crashAt(t, 'engine.move-effects');
    const { first, restart } = await pair(t, dialect);
    const task = await taskAt(first, 'review');
    await assert.rejects(first.conveyor.engine.completeByMerge(task.id, 'review', 'PR merged on the forge'), SimulatedCrash);
    assert.equal((await first.conveyor.store.tasks.get(task.id))!.stage, 'done');
    assert.equal(first.tracker.statuses.length, 0, 'the window: the tracker heard nothing');

    const second = await restart();
    const done = second.tracker.statuses.filter((s) => s.status === 'Done');
    assert.equal(done.length, 1, 'Done set once');
    const summaries = second.tracker.comments.filter((c) => /cost/i.test(c.body));
    assert.equal(summaries.length, 1, 'one cost summary');
    const effects = await second.conveyor.store.outbox.listForTask(task.id);
    assert.deepEqual(effects.map((e) => [e.effect, e.status]), [['tracker.done', 'done'], ['cost-summary', 'done'], ['workspace.cleanup', 'done']]);
  });

  test(`${d} a crash after the tracker got the cost summary but before it was recorded: the re-run posts nothing new`, async (t) => {
    // tracker.status passes the point first, the cost summary second.
    crashAt(t, 'outbox.effect-done', 2);
    const { first, restart } = await pair(t, dialect);
    const task = await taskAt(first, 'review');
    assert.equal(await first.conveyor.engine.completeByMerge(task.id, 'review', 'PR merged on the forge'), true);
    await eventually(() => first.tracker.comments.length === 1, 10_000, 'the cost summary was posted');
    const second = await restart();
    const rows = await second.conveyor.store.outbox.listForTask(task.id);
    assert.equal(rows.find((e) => e.effect === 'cost-summary')!.status, 'done', 'run again after the restart');
    assert.equal(second.tracker.comments.length, 1, 'the tracker saw the same key and posted it once');
    assert.equal(second.tracker.comments[0]!.idempotencyKey, `cost-summary:task-${task.id}:done`);
  });

  test(`${d} a crash right after the review window opened: the restart puts the issue In Review and asks the person once`, async (t) => {
    crashAt(t, 'engine.human-review-opened');
    const { first, restart } = await pair(t, dialect, { config: { worker: { enabled: true } } });
    const { task } = await first.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: '1', title: 't' });
    await first.conveyor.start();
    await eventually(async () => (await first.conveyor.store.tasks.get(task.id))!.humanReviewStartedAt !== null, 10_000, 'the review opened');
    await eventually(async () => (await first.conveyor.store.jobs.activeForTask(task.id)) === null, 10_000, 'the analyst job over');
    assert.equal(first.tracker.statuses.length, 0, 'the window: the issue is not In Review');
    assert.equal(first.events.of('human.approval_needed').length, 0);

    let asked = 0;
    const second = await restart({}, (k) => k.conveyor.events.on('human.approval_needed', () => void asked++));
    assert.deepEqual(second.tracker.statuses.map((s) => s.status), ['In Review']);
    assert.equal(second.tracker.comments.filter((c) => /is ready/.test(c.body)).length, 1, 'one request to the person');
    assert.equal(asked, 1, 'human.approval_needed once');
  });

  test(`${d} finalizers run again after a crash post the finish comment once`, async (t) => {
    const kit = await createTestConveyor({ dialect, agent: happy });
    t.after(() => kit.cleanup());
    const task = await taskAt(kit, 'architecture');
    const job = (await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'architecture', kind: 'agent', role: 'architect' }))!;
    const run = await kit.conveyor.store.agentRuns.start({ jobId: job.id, taskId: task.id, stage: 'architecture', role: 'architect', attempt: 1, pid: null });
    await kit.conveyor.store.agentRuns.recordExit(run.id, { exitCode: 0, result: 'ok', usage: null, logPath: null });
    const finishComment = kit.conveyor.finalizers.list().find((f) => f.name === 'finish-comment')!;
    const stored = (await kit.conveyor.store.agentRuns.forJobAttempt(job.id, 1))!;
    const ctx = { task, job: { ...job, attempt: 1 }, run: stored, result: { pid: null, exitCode: 0, usage: null, result: 'ok', logPath: null }, worktree: '/nowhere', state: { headSha: null, pullRequest: null } };
    await finishComment.run(ctx);
    // The recovery of a recorded exit runs the remaining finalizers again, under a new claim.
    await finishComment.run({ ...ctx, job: { ...ctx.job, attempt: 2 } });
    assert.equal(kit.tracker.comments.length, 1, 'one finish comment per agent run');
    assert.equal((await kit.conveyor.store.outbox.listForTask(task.id)).length, 1);
  });
}
