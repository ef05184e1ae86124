import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { TREE_TAG_ENV, jobTreeTag } from '../src/util/process-tree.js';
import { pidAlive } from '../src/util/process-group.js';
import { eventually, createTestConveyor, testDatabases, type TestConveyor, type TestDialect } from '../src/testing/index.js';

// The database of `first`, for a second instance: the same host restarting, or another host.
function sameDatabase(first: TestConveyor, dialect: TestDialect): Record<string, unknown> {
  return dialect === 'pg' ? { database: { schema: first.conveyor.config.database.schema } } : { database: { filename: first.conveyor.config.database.filename } };
}

/** A job claimed by `hostId` whose host then died: its heartbeat is a minute old. */
async function orphanedJob(kit: TestConveyor, hostId: string, issue: string, opts: { exit?: number | null; recoveries?: number } = {}) {
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: issue, title: `task ${issue}` });
  const job = (await kit.conveyor.store.jobs.claim({ hostId, clauses: [] }))!;
  if (opts.exit !== undefined) {
    const run = await kit.conveyor.store.agentRuns.start({ jobId: job.id, taskId: task.id, stage: job.stage, role: job.role ?? 'agent', attempt: job.attempt, pid: null });
    if (opts.exit !== null) await kit.conveyor.store.agentRuns.recordExit(run.id, { exitCode: opts.exit, result: 'analysis written', usage: null, logPath: null });
  }
  await kit.conveyor.db.knex('jobs').where({ id: job.id }).update({ heartbeat_at: Date.now() - 60_000, recoveries: opts.recoveries ?? 0 });
  return { task, job };
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} recovery finishes from a recorded successful exit: the agent is not run (nor paid for) again`, async (t) => {
    const first = await createTestConveyor({ dialect, config: { instance: { hostId: 'box-1' } } });
    t.after(() => first.cleanup());
    const { task, job } = await orphanedJob(first, 'box-1', '1', { exit: 0 });
    const second = await createTestConveyor({ dialect, config: { instance: { hostId: 'box-1' }, worker: { enabled: true }, ...sameDatabase(first, dialect) } });
    t.after(() => second.cleanup());
    // The worktree the agent left is still on disk.
    await second.workspace.prepare(task);
    second.artifacts.put(task, 'analysis', {}, 'analyst notes');
    await second.conveyor.start();
    const finished = await second.events.waitFor('job.finished', (e) => e.job.id === job.id);
    assert.equal(finished.status, 'done');
    assert.equal(second.agent.calls.length, 0, 'the agent did not run again');
    assert.deepEqual(second.events.of('job.recovered').map((e) => e.outcome), ['resumed']);
    const runs = await second.conveyor.store.agentRuns.listForTask(task.id);
    assert.equal(runs.length, 1, 'one agent run, the recorded one');
    assert.equal(second.workspace.pushes.length, 1, 'the finalizers ran once, from the recorded exit');
    const after = (await second.conveyor.store.jobs.get(job.id))!;
    assert.equal(after.attempt, job.attempt + 1, 'fenced: the dead attempt can no longer finish it');
    assert.equal(after.recoveries, 1);
  });

  test(`${t0} recovery re-runs the agent only when no exit was recorded`, async (t) => {
    const first = await createTestConveyor({ dialect, config: { instance: { hostId: 'box-1' } } });
    t.after(() => first.cleanup());
    const { job } = await orphanedJob(first, 'box-1', '1', { exit: null });
    const second = await createTestConveyor({ dialect, config: { instance: { hostId: 'box-1' }, worker: { enabled: true }, ...sameDatabase(first, dialect) } });
    t.after(() => second.cleanup());
    await second.conveyor.start();
    await second.events.waitFor('job.finished', (e) => e.job.id === job.id);
    assert.equal(second.agent.calls.length, 1, 'the agent ran once more: its first run left no exit');
    assert.deepEqual(second.events.of('job.recovered').map((e) => e.outcome), ['requeued']);
  });

  test(`${t0} recovery ends what the dead attempt's agent left running with setsid, though the agent itself is gone`, async (t) => {
    const first = await createTestConveyor({ dialect, config: { instance: { hostId: 'box-1' } } });
    t.after(() => first.cleanup());
    const { job } = await orphanedJob(first, 'box-1', '1', { exit: null });
    // What a killed host leaves: the agent exited, a command its tool started in a
    // session of its own still runs, carrying the attempt's tag; a stranger does not.
    // (Not detached: setsid forks when it leads a group, and its pid would not be the sleep's.)
    const escapee = spawn('setsid', ['sleep', '300'], { stdio: 'ignore', env: { ...process.env, [TREE_TAG_ENV]: jobTreeTag(job) } });
    const stranger = spawn('setsid', ['sleep', '300'], { stdio: 'ignore', env: { ...process.env, [TREE_TAG_ENV]: jobTreeTag({ ...job, attempt: job.attempt + 7 }) } });
    for (const c of [escapee, stranger]) {
      c.unref();
      t.after(() => void (pidAlive(c.pid!) && process.kill(c.pid!, 'SIGKILL')));
    }
    await eventually(() => [escapee, stranger].every((c) => pidAlive(c.pid!)), 5_000, 'both sleeps running');
    await first.conveyor.db.knex('jobs').where({ id: job.id }).update({ pid: 2 ** 22 - 11 });
    const second = await createTestConveyor({ dialect, config: { instance: { hostId: 'box-1' }, worker: { enabled: true }, ...sameDatabase(first, dialect) } });
    t.after(() => second.cleanup());
    await second.conveyor.start();
    await second.events.waitFor('job.recovered', (e) => e.job.id === job.id);
    assert.equal(pidAlive(escapee.pid!), false, 'the tagged setsid process was ended before the job was requeued');
    assert.equal(pidAlive(stranger.pid!), true, 'a process with another attempt\'s tag is not touched');
  });

  test(`${t0} a job whose host keeps dying spends the recovery budget, then fails and blocks its task with the reason`, async (t) => {
    const first = await createTestConveyor({ dialect, config: { instance: { hostId: 'box-1' } } });
    t.after(() => first.cleanup());
    const { task, job } = await orphanedJob(first, 'box-1', '1', { recoveries: 2 });
    const second = await createTestConveyor({ dialect, config: { instance: { hostId: 'box-1' }, worker: { enabled: true, recoveryBudget: 2 }, ...sameDatabase(first, dialect) } });
    t.after(() => second.cleanup());
    await second.conveyor.start();
    const blocked = await second.events.waitFor('task.blocked', (e) => e.task.id === task.id);
    assert.match(blocked.reason, /its host stopped 3 times while running it/);
    assert.equal((await second.conveyor.store.jobs.get(job.id))!.status, 'failed');
    assert.equal(second.agent.calls.length, 0, 'not run again');
    assert.equal(second.notifier.sent.at(-1)?.kind, 'agent_failed');
  });

  test(`${t0} any host's job whose lease expired in database time is taken back, fenced by attempt; a live lease is left alone`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { instance: { hostId: 'survivor' } } });
    t.after(() => kit.cleanup());
    const { task: deadTask } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'dead host' });
    const dead = (await kit.conveyor.store.jobs.claim({ hostId: 'vanished', clauses: [] }))!;
    // Its host stopped heartbeating long ago (in the database's clock).
    await kit.conveyor.db.knex('jobs').where({ id: dead.id }).update({ lease_expires_at: 1 });
    const { task: liveTask } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '2', title: 'live host' });
    const live = (await kit.conveyor.store.jobs.claim({ hostId: 'alive', clauses: [], leaseMs: 60_000 }))!;
    assert.equal(dead.taskId, deadTask.id);
    assert.equal(live.taskId, liveTask.id);
    const ids = (await kit.conveyor.store.jobs.expired()).map((j) => j.id);
    assert.ok(ids.includes(dead.id));
    assert.ok(!ids.includes(live.id));
    const out = await kit.conveyor.worker.expireLeases();
    assert.deepEqual(out.map((o) => [o.job.id, o.outcome]), [[dead.id, 'requeued']]);
    assert.equal((await kit.conveyor.store.jobs.get(dead.id))!.status, 'queued');
    assert.equal((await kit.conveyor.store.jobs.get(live.id))!.status, 'running');
    // The dead host's late heartbeat and finish are refused.
    assert.equal(await kit.conveyor.store.jobs.heartbeat(dead.id, dead.attempt), false);
    assert.equal(await kit.conveyor.store.jobs.finish(dead.id, dead.attempt, 'done'), false);
    // A heartbeat extends the lease: the live job does not expire.
    assert.equal(await kit.conveyor.store.jobs.heartbeat(live.id, live.attempt, 60_000), true);
    assert.equal((await kit.conveyor.worker.expireLeases()).length, 0);
  });

  test(`${t0} expired leases come the longest expired first, whatever their ids; a limit keeps those`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const jobs = [];
    for (let i = 0; i < 3; i++) {
      await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: `E-${i}`, title: `expired ${i}` });
      jobs.push((await kit.conveyor.store.jobs.claim({ hostId: 'vanished', clauses: [] }))!);
    }
    // Expired the other way round from their ids.
    for (const [i, job] of jobs.entries()) await kit.conveyor.db.knex('jobs').where({ id: job.id }).update({ lease_expires_at: 30 - i * 10 });
    assert.deepEqual((await kit.conveyor.store.jobs.expired()).map((j) => j.id), jobs.map((j) => j.id).reverse());
    assert.deepEqual((await kit.conveyor.store.jobs.expired(2)).map((j) => j.id), [jobs[2]!.id, jobs[1]!.id]);
  });
}
