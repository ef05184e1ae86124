import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin } from '../src/plugin/define-plugin.js';
import { pidAlive } from '../src/util/process-group.js';
import { createTestConveyor, eventually, testDatabases } from '../src/testing/index.js';
import { happyKit } from './helpers.js';

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} the worker never runs more than maxConcurrency jobs at once`, async (t) => {
    let running = 0;
    let peak = 0;
    // Each agent ends only when the test releases it, so overlap is decided by the
    // worker's slots, never by timers.
    const release: (() => void)[] = [];
    const kit = await createTestConveyor({
      dialect,
      config: { worker: { enabled: true, maxConcurrency: 2 } },
      agent: () => {
        running++;
        peak = Math.max(peak, running);
        return {
          until: new Promise<void>((resolve) =>
            release.push(() => {
              running--;
              resolve();
            }),
          ),
        };
      },
    });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    for (let i = 0; i < 5; i++) await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: `${i}`, title: `t${i}` });
    for (let done = 0; done < 5; done++) {
      // Both slots are busy (or every remaining job has started) before one is let go.
      await eventually(() => release.length >= Math.min(done + 2, 5), 10_000, `agent ${Math.min(done + 2, 5)} started`);
      assert.equal(running, Math.min(2, 5 - done), 'never more agents than slots');
      release[done]!();
    }
    await kit.events.waitFor('job.finished', () => kit.events.of('job.finished').length >= 5);
    assert.equal(peak, 2);
    assert.equal(kit.agent.calls.length, 5);
  });

  test(`${t0} exit code and usage are recorded before the job finishes; one run per attempt`, async (t) => {
    const kit = await happyKit({ dialect, config: { worker: { enabled: true } } });
    t.after(() => kit.cleanup());
    const order: string[] = [];
    kit.conveyor.events.on('agent.finished', () => void order.push('agent.finished'));
    kit.conveyor.events.on('job.finished', () => void order.push('job.finished'));
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'Add OAuth' });
    await kit.events.waitFor('job.finished');
    assert.deepEqual(order, ['agent.finished', 'job.finished']);
    const runs = await kit.conveyor.store.agentRuns.listForTask(task.id);
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.exitCode, 0);
    assert.equal(runs[0]!.pid, 40000, 'the pid is stamped as soon as the process exists');
    assert.equal(runs[0]!.usage!.inputTokens, 1200);
    assert.equal(runs[0]!.usage!.model, 'sonnet-4');
    const req = kit.agent.calls[0]!;
    assert.equal(req.env.CONVEYOR_WORK_ITEM, 'ET-001');
    assert.equal(req.env.CONVEYOR_ARTIFACT, 'docs/pipeline/ET-001/01-analysis.md');
    assert.ok(req.worktree.startsWith(kit.workspace.root));
    assert.match(req.prompt, /Add OAuth/);
  });

  test(`${t0} a crashing agent is retried within the budget and then succeeds`, async (t) => {
    const kit = await createTestConveyor({
      dialect,
      config: { worker: { enabled: true, retryBudget: 3 } },
      agent: (_req, i) => (i < 2 ? { exitCode: null, transient: true, error: 'API overloaded' } : {}),
    });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('job.finished');
    assert.equal(kit.events.of('job.retried').length, 2);
    const job = (await kit.conveyor.store.jobs.listForTask(task.id))[0]!;
    assert.equal(job.status, 'done');
    assert.equal(job.attempt, 3);
    assert.equal((await kit.conveyor.store.agentRuns.listForTask(task.id)).length, 3);
  });

  test(`${t0} an agent that keeps failing spends the budget, then the task is blocked and people are told`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true, retryBudget: 1 } }, agent: () => ({ exitCode: 2, error: 'tests would not compile' }) });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('task.blocked');
    const blocked = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(blocked.stage, 'analysis');
    assert.match(blocked.blockedReason!, /analyst failed 2 times at analysis: tests would not compile/);
    assert.equal(kit.events.of('job.retry_exhausted').length, 1);
    assert.equal(kit.notifier.sent.at(-1)?.kind, 'agent_failed');
    assert.equal(kit.agent.calls.length, 2);
  });

  test(`${t0} a failure the runner marks not transient is not retried: the job fails and the task is blocked`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true, retryBudget: 5 } }, agent: () => ({ exitCode: 1, transient: false, error: 'error_max_turns: reached 30 turns' }) });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('task.blocked');
    assert.equal(kit.agent.calls.length, 1);
    assert.equal(kit.events.of('job.retried').length, 0);
    assert.match((await kit.conveyor.store.tasks.get(task.id))!.blockedReason!, /analyst failed at analysis \(not retried\): error_max_turns/);
  });

  test(`${t0} a failing finalizer makes the attempt transient; the worker survives a throwing executor`, async (t) => {
    let fails = 1;
    const flaky = definePlugin({
      name: 'flaky-push',
      register(ctx) {
        ctx.addFinalizer('push', async () => {
          if (fails-- > 0) throw new Error('remote hung up');
        });
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [flaky], config: { worker: { enabled: true } } });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('job.finished');
    assert.match(kit.events.of('job.retried')[0]!.error, /finalizer push: remote hung up/);
  });

  test(`${t0} stop() lets running jobs finish within the deadline`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true } }, agent: () => ({ delayMs: 100 }) });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('agent.started');
    await kit.conveyor.worker.stop(5_000);
    assert.equal(kit.events.of('job.finished').length, 1, 'the running job finished before stop returned');
  });

  test(`${t0} past the stop deadline running jobs are aborted and go back to the queue`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true } }, agent: () => ({ delayMs: 10_000 }) });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('agent.started');
    await kit.conveyor.worker.stop(50);
    const job = (await kit.conveyor.store.jobs.listForTask(task.id))[0]!;
    // The aborted agent reports a transient failure: the job is re-queued (one retry spent),
    // so the next start picks it up without waiting for the reaper.
    assert.equal(job.status, 'queued');
    assert.equal(job.retries, 1);
    assert.equal(kit.events.of('job.finished').length, 0);
  });

  test(`${t0} a worker whose heartbeat is refused aborts its job`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true, heartbeatIntervalMs: 20 } }, agent: () => ({ delayMs: 5_000 }) });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('agent.started');
    // Another host re-claimed it (simulated): the attempt moves on.
    await kit.conveyor.db.knex('jobs').where({ task_id: task.id }).update({ attempt: 99 });
    await kit.events.waitFor('agent.finished');
    assert.ok(kit.logger.lines.some((l) => l.msg?.startsWith('heartbeat refused')));
    assert.equal(kit.events.of('job.finished').length, 0, 'the stale attempt finishes nothing');
  });
}

if (testDatabases().includes('pg')) {
  test('[pg] a job enqueued by another host wakes an idle worker through LISTEN/NOTIFY, not the poll', async (t) => {
    const producer = await createTestConveyor({ dialect: 'pg' });
    t.after(() => producer.cleanup());
    // The consumer polls once a minute: only a notification can wake it in time.
    const consumer = await createTestConveyor({
      dialect: 'pg',
      config: { database: { schema: producer.conveyor.config.database.schema }, worker: { enabled: true, pollIntervalMs: 60_000 } },
    });
    t.after(() => consumer.cleanup());
    await consumer.conveyor.start();
    await consumer.events.waitFor('loop.error', () => false, 300).catch(() => undefined); // let the first (empty) poll pass
    const { task } = await producer.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'n1', title: 'wake me' });
    const claimed = await consumer.events.waitFor('job.claimed', (e) => e.job.taskId === task.id, 20_000);
    assert.equal(claimed.hostId, consumer.conveyor.hostId);
  });
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] after a crash, the next start re-queues this host's orphaned job, kills its agent, and finishes it`, async (t) => {
    const first = await createTestConveyor({ dialect, config: { instance: { hostId: 'box-1' } } });
    t.after(() => first.cleanup());
    const { task } = await first.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    // The crashed process had claimed the job and spawned an agent, then died.
    const { spawn } = await import('node:child_process');
    const agent = spawn('sh', ['-c', 'sleep 60'], { detached: true, stdio: 'ignore' });
    agent.unref();
    const claimed = (await first.conveyor.store.jobs.claim({ hostId: 'box-1', clauses: [] }))!;
    await first.conveyor.store.jobs.setPid(claimed.id, claimed.attempt, agent.pid!);
    await first.conveyor.db.knex('jobs').where({ id: claimed.id }).update({ heartbeat_at: Date.now() - 60_000 });
    // A job of another host, and one of this host with a fresh heartbeat, are left alone.
    const other = await first.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '2', title: 'u' });
    const foreign = (await first.conveyor.store.jobs.claim({ hostId: 'box-2', clauses: [] }))!;
    await first.conveyor.db.knex('jobs').where({ id: foreign.id }).update({ heartbeat_at: Date.now() - 60_000 });
    assert.equal(foreign.taskId, other.task.id);

    const second = await createTestConveyor({
      dialect,
      config: { instance: { hostId: 'box-1' }, worker: { enabled: true }, ...(dialect === 'pg' ? { database: { schema: first.conveyor.config.database.schema } } : { database: { filename: first.conveyor.config.database.filename } }) },
    });
    t.after(() => second.cleanup());
    await second.conveyor.start();
    await second.events.waitFor('job.finished', (e) => e.job.taskId === task.id);
    const job = (await second.conveyor.store.jobs.get(claimed.id))!;
    assert.equal(job.status, 'done');
    assert.equal(job.attempt, claimed.attempt + 1, 'fenced: the old attempt can no longer finish it');
    assert.equal(pidAlive(agent.pid!), false, 'the orphaned agent was killed');
    assert.equal((await second.conveyor.store.jobs.get(foreign.id))!.status, 'running', "another host's job is not this host's to judge");
  });
}

test('a deferred branch is cut when its first job runs, from the main of that moment', async (t) => {
  const kit = await createTestConveyor({ config: { worker: { enabled: true } } });
  t.after(() => kit.cleanup());
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't', deferBranchCut: true });
  assert.equal(task.branchCut, false);
  await kit.conveyor.start();
  await kit.events.waitFor('job.finished');
  assert.equal((await kit.conveyor.store.tasks.get(task.id))!.branchCut, true);
});
