import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { CoreTokens, pidAlive, type Clock, type JobFinisher, type StageEngine, type Worker } from '@conveyor/core';
import { createTestConveyor, ManualClock, testDatabases, type TestConveyor, type TestDialect } from '@conveyor/core/testing';
import { Reaper, reaperPlugin, type ReaperSettings } from '../src/index.js';

const SETTINGS: ReaperSettings = { deadTicks: 2, finalizeGraceMs: 300_000, maxRunningMs: 3_600_000 };

/** A reaper on the kit's instance, ticked by hand. */
function reaperOf(kit: TestConveyor, settings: Partial<ReaperSettings> = {}, pageSize?: number): Reaper {
  const c = kit.conveyor.container;
  return new Reaper({
    stores: kit.conveyor.store,
    worker: () => c.resolve<Worker>(CoreTokens.Worker),
    finisher: () => c.resolve<JobFinisher>(CoreTokens.JobFinisher),
    engine: () => c.resolve<StageEngine>(CoreTokens.StageEngine),
    hostId: kit.conveyor.hostId,
    clock: c.resolve<Clock>(CoreTokens.Clock),
    logger: kit.logger,
    emit: (event, payload) => kit.conveyor.events.emit(event, payload),
    settings: { ...SETTINGS, ...settings },
    ...(pageSize ? { pageSize } : {}),
  });
}

function sameDatabase(first: TestConveyor, dialect: TestDialect): Record<string, unknown> {
  return dialect === 'pg' ? { database: { schema: first.conveyor.config.database.schema } } : { database: { filename: first.conveyor.config.database.filename } };
}

async function deadPid(): Promise<number> {
  const p = spawn('true');
  await new Promise((r) => p.once('exit', r));
  return p.pid!;
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} a dead host's job is taken over by the survivor's reaper within its lease, not at that host's restart`, async (t) => {
    const gone = await createTestConveyor({ dialect, config: { instance: { hostId: 'gone' } } });
    t.after(() => gone.cleanup());
    const { task } = await gone.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'orphan' });
    const job = (await gone.conveyor.store.jobs.claim({ hostId: 'gone', clauses: [], leaseMs: 60_000 }))!;
    await gone.conveyor.db.knex('jobs').where({ id: job.id }).update({ lease_expires_at: 1 });
    const survivor = await createTestConveyor({
      dialect,
      plugins: [reaperPlugin],
      config: { instance: { hostId: 'survivor' }, worker: { enabled: true }, plugins: { reaper: { intervalMs: 100 } }, ...sameDatabase(gone, dialect) },
    });
    t.after(() => survivor.cleanup());
    await survivor.conveyor.start();
    const finished = await survivor.events.waitFor('job.finished', (e) => e.job.id === job.id, 20_000);
    assert.equal(finished.status, 'done');
    assert.equal(finished.job.hostId, 'survivor');
    assert.equal(finished.job.attempt, job.attempt + 1);
    assert.equal(survivor.events.of('job.recovered')[0]?.job.taskId, task.id);
    const snap = (await survivor.conveyor.snapshot()).plugins.reaper as { total: { expired: number }; ticks: number };
    assert.equal(snap.total.expired, 1);
    assert.ok(snap.ticks >= 1);
  });

  test(`${t0} tier 1: an agent dead for deadTicks ticks with no exit recorded is a transient failure`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { instance: { hostId: 'me' } } });
    t.after(() => kit.cleanup());
    await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const job = (await kit.conveyor.store.jobs.claim({ hostId: 'me', clauses: [], leaseMs: 600_000 }))!;
    await kit.conveyor.store.jobs.setPid(job.id, job.attempt, await deadPid());
    const reaper = reaperOf(kit);
    assert.equal((await reaper.tick()).deadPid, 0, 'one tick is not enough');
    assert.equal((await reaper.tick()).deadPid, 1);
    const after = (await kit.conveyor.store.jobs.get(job.id))!;
    assert.equal(after.status, 'queued');
    assert.equal(after.retries, 1);
    assert.match(after.error!, /agent process \d+ is gone and no exit was recorded/);
    assert.equal((await reaper.tick()).deadPid, 0, 'nothing left to reap');
  });

  test(`${t0} tier 2: an exit recorded long ago is finished: passing gates advance (claim done first), others retry`, async (t) => {
    const clock = new ManualClock(Date.now());
    const kit = await createTestConveyor({ dialect, clock, config: { instance: { hostId: 'me' } } });
    t.after(() => kit.cleanup());
    const reaper = reaperOf(kit);
    const one = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'passes' });
    const two = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '2', title: 'fails' });
    const jobs = [];
    for (const _ of [one, two]) {
      const job = (await kit.conveyor.store.jobs.claim({ hostId: 'me', clauses: [], leaseMs: 3_600_000 }))!;
      const run = await kit.conveyor.store.agentRuns.start({ jobId: job.id, taskId: job.taskId, stage: job.stage, role: job.role ?? 'agent', attempt: job.attempt, pid: null });
      await kit.conveyor.store.agentRuns.recordExit(run.id, { exitCode: 0, result: 'ok', usage: null, logPath: null });
      jobs.push(job);
    }
    kit.artifacts.put(one.task, 'analysis', {}, 'notes');
    await kit.conveyor.store.tasks.setHumanVerdict(one.task.id, 'analysis', 'approved');
    assert.equal((await reaper.tick()).finished, 0, 'within the finalize grace nothing is reaped');
    clock.advance(SETTINGS.finalizeGraceMs + 1);
    assert.equal((await reaper.tick()).finished, 2);
    assert.equal((await kit.conveyor.store.jobs.get(jobs[0]!.id))!.status, 'done');
    assert.equal((await kit.conveyor.store.tasks.get(one.task.id))!.stage, 'architecture', 'the winner advanced the task');
    const retried = (await kit.conveyor.store.jobs.get(jobs[1]!.id))!;
    assert.equal(retried.status, 'queued');
    assert.match(retried.error!, /gates do not pass/);
    assert.equal(kit.events.of('job.finished').filter((e) => e.status === 'done').length, 1, 'one advance');
  });

  test(`${t0} every running job of this host is judged across page boundaries, each by its own attempt's run; another host's never`, async (t) => {
    const clock = new ManualClock(Date.now());
    const kit = await createTestConveyor({ dialect, clock, config: { instance: { hostId: 'me' } } });
    t.after(() => kit.cleanup());
    const s = kit.conveyor.store;
    const claim = async (hostId: string, i: number) => {
      await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: `${hostId}-${i}`, title: `t${i}` });
      return (await s.jobs.claim({ hostId, clauses: [], leaseMs: 3_600_000 }))!;
    };
    const exited = async (job: { id: number; taskId: number; stage: string; role: string | null }, attempt: number) => {
      const run = await s.agentRuns.start({ jobId: job.id, taskId: job.taskId, stage: job.stage, role: job.role ?? 'agent', attempt, pid: null });
      await s.agentRuns.recordExit(run.id, { exitCode: 1, result: null, usage: null, logPath: null });
    };
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await claim('me', i));
    const theirs = await claim('other', 9);
    // Exits recorded for four of this host's jobs and for the other host's; the fifth
    // job's only run is of another attempt, which says nothing about the running one.
    for (const job of mine.slice(0, 4)) await exited(job, job.attempt);
    await exited(mine[4]!, mine[4]!.attempt + 1);
    await exited(theirs, theirs.attempt);
    clock.advance(SETTINGS.finalizeGraceMs + 1);
    // Two jobs a page: three pages.
    assert.equal((await reaperOf(kit, {}, 2).tick()).finished, 4);
    for (const job of mine.slice(0, 4)) assert.equal((await s.jobs.get(job.id))!.status, 'queued', `job ${job.id} was judged`);
    assert.equal((await s.jobs.get(mine[4]!.id))!.status, 'running', 'a run of another attempt is not this attempt\'s exit');
    assert.equal((await s.jobs.get(theirs.id))!.status, 'running', "another host's job is judged by its lease alone");
  });

  test(`${t0} tier 3: a job running past maxRunningMs is killed with its process tree and retried`, async (t) => {
    const clock = new ManualClock(Date.now());
    const kit = await createTestConveyor({ dialect, clock, config: { instance: { hostId: 'me' } } });
    t.after(() => kit.cleanup());
    await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const job = (await kit.conveyor.store.jobs.claim({ hostId: 'me', clauses: [], leaseMs: 3_600_000 }))!;
    const agent = spawn('sh', ['-c', 'sleep 300 & sleep 300'], { detached: true, stdio: 'ignore' });
    agent.unref();
    t.after(() => {
      try {
        process.kill(-agent.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    });
    await kit.conveyor.store.jobs.setPid(job.id, job.attempt, agent.pid!);
    clock.advance(SETTINGS.maxRunningMs + 1);
    assert.equal((await reaperOf(kit).tick()).overran, 1);
    assert.equal(pidAlive(agent.pid!), false, 'the agent was killed');
    const after = (await kit.conveyor.store.jobs.get(job.id))!;
    assert.equal(after.status, 'queued');
    assert.match(after.error!, /ran longer than 3600000 ms/);
  });

  test(`${t0} stale merge leases are reclaimed (TTL passed, or this host's holder process gone); a live one is kept`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { instance: { hostId: 'me' } } });
    t.after(() => kit.cleanup());
    const leases = kit.conveyor.store.leases;
    const a = await kit.conveyor.intake.startPipeline({ repo: 'expired', trackerIssueId: '1', title: 'a' });
    const b = await kit.conveyor.intake.startPipeline({ repo: 'dead-holder', trackerIssueId: '2', title: 'b' });
    const c = await kit.conveyor.intake.startPipeline({ repo: 'live', trackerIssueId: '3', title: 'c' });
    assert.ok(await leases.acquire('expired', { taskId: a.task.id, hostId: 'elsewhere', pid: 1 }, 0));
    assert.ok(await leases.acquire('dead-holder', { taskId: b.task.id, hostId: 'me', pid: await deadPid() }, 3_600_000));
    assert.ok(await leases.acquire('live', { taskId: c.task.id, hostId: 'me', pid: process.pid }, 3_600_000));
    await kit.conveyor.db.knex('merge_leases').where({ repo: 'expired' }).update({ expires_at: 1 });
    assert.equal((await reaperOf(kit).tick()).leasesReclaimed, 2);
    assert.deepEqual((await leases.list()).map((l) => l.repo), ['live']);
    assert.deepEqual(kit.events.of('lease.reclaimed').map((e) => e.repo).sort(), ['dead-holder', 'expired']);
  });
}

test('disabled, the reaper adds no daemon and no snapshot block', async (t) => {
  const kit = await createTestConveyor({ plugins: [reaperPlugin], config: { plugins: { reaper: { enabled: false } } } });
  t.after(() => kit.cleanup());
  assert.deepEqual(kit.conveyor.extensions.daemons, []);
  assert.equal((await kit.conveyor.snapshot()).plugins.reaper, undefined);
});
