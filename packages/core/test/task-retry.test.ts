import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConveyorError, type Task } from '../src/index.js';
import { createTestConveyor, taskAtStage, testDatabases, type ScriptedRun, type TestConveyor, type TestDialect } from '../src/testing/index.js';
import type { AgentRunRequest } from '../src/ports/agent-runner.js';

const invalid = (pattern: RegExp) => (err: ConveyorError) => err.code === 'CONVEYOR_INPUT_INVALID' && pattern.test(err.message);

/** Each way a task stops and waits for a person, and how the test gets it there. */
interface Case {
  name: string;
  config?: Record<string, unknown>;
  agent?: (req: AgentRunRequest, i: number) => ScriptedRun;
  stop(kit: TestConveyor): Promise<Task>;
  because: RegExp;
}

/** A task parked at `stage` whose agent ran there and succeeded (its artefact is the test's). */
async function ranAt(kit: TestConveyor, stage: string): Promise<Task> {
  const task = await taskAtStage(kit, 'r', '1', stage);
  const job = (await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage, kind: 'agent', role: 'x' }))!;
  await kit.conveyor.db.knex('jobs').where({ id: job.id }).update({ status: 'done' });
  const run = await kit.conveyor.store.agentRuns.start({ jobId: job.id, taskId: task.id, stage, role: 'x', attempt: 0, pid: 1 });
  await kit.conveyor.store.agentRuns.recordExit(run.id, { exitCode: 0, result: 'ok', usage: null, logPath: null });
  return task;
}

async function blockedByWorker(kit: TestConveyor): Promise<Task> {
  await kit.conveyor.start();
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
  await kit.events.waitFor('task.blocked');
  await kit.conveyor.worker.stop();
  return (await kit.conveyor.store.tasks.get(task.id))!;
}

const CASES: Case[] = [
  {
    name: 'a failed agent (not retried)',
    config: { worker: { enabled: true } },
    agent: () => ({ exitCode: 1, transient: false, error: 'error_max_turns' }),
    stop: blockedByWorker,
    because: /analyst failed at analysis \(not retried\): error_max_turns/,
  },
  {
    name: 'an exhausted retry budget',
    config: { worker: { enabled: true, retryBudget: 1 } },
    agent: () => ({ exitCode: 2, error: 'crashed' }),
    stop: blockedByWorker,
    because: /analyst failed 2 times at analysis: crashed/,
  },
  {
    name: 'the developer retries used up (a gate failure with rollback)',
    config: { pipeline: { maxDeveloperRetries: 1 } },
    async stop(kit) {
      const task = await ranAt(kit, 'testing');
      await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ developer_retries: 1 });
      kit.artifacts.put(task, 'testing', { tests_status: 'failed' });
      assert.equal((await kit.conveyor.engine.advance(task.id, { from: 'testing', reason: 'tester finished' })).kind, 'blocked');
      return (await kit.conveyor.store.tasks.get(task.id))!;
    },
    because: /tests_passed failed at testing after 1 developer retries/,
  },
  {
    name: 'a gate failure without rollback (the task stays, nothing queued)',
    async stop(kit) {
      const task = await ranAt(kit, 'deploy');
      kit.artifacts.put(task, 'deploy', { deploy_status: 'failed' });
      assert.equal((await kit.conveyor.engine.advance(task.id, { from: 'deploy', reason: 'deployer finished' })).kind, 'failed');
      return (await kit.conveyor.store.tasks.get(task.id))!;
    },
    because: /gate deploy_status failed: deploy_status is "failed"/,
  },
  {
    name: 'its budget (once there is money again)',
    async stop(kit) {
      const task = await taskAtStage(kit, 'r', '1', 'architecture');
      assert.equal(await kit.conveyor.budgets.stop(task, 'architecture', 'budget: spent; raise it to resume'), true);
      return (await kit.conveyor.store.tasks.get(task.id))!;
    },
    because: /budget: spent/,
  },
];

async function kitFor(dialect: TestDialect, c: Case): Promise<TestConveyor> {
  return createTestConveyor({ dialect, ...(c.config ? { config: c.config } : {}), ...(c.agent ? { agent: c.agent } : {}) });
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  for (const c of CASES) {
    test(`${t0} retry resumes a task stopped by ${c.name}: fresh retry budget, reason recorded, one job queued`, async (t) => {
      const kit = await kitFor(dialect, c);
      t.after(() => kit.cleanup());
      const stopped = await c.stop(kit);
      assert.equal(await kit.conveyor.store.jobs.activeForTask(stopped.id), null, 'nothing would move it');

      const res = await kit.conveyor.retry.retry(stopped.id, { reason: 'the API key is fixed' });
      assert.match(res.stoppedBecause, c.because);
      assert.equal(res.to, stopped.stage);
      assert.equal(res.task.blockedReason, null);
      assert.equal(res.task.blockedKind, null);
      assert.equal(res.task.developerRetries, 0, 'a fresh developer retry budget');
      assert.equal(res.job.stage, stopped.stage);
      assert.equal(res.job.kind, 'agent');
      assert.equal(res.job.retries, 0, 'a fresh job retry budget');
      assert.match(res.job.reason!, /A person asked for a retry: the API key is fixed/);
      const active = (await kit.conveyor.store.jobs.listForTask(stopped.id)).filter((j) => j.status === 'queued' || j.status === 'running');
      assert.deepEqual(active.map((j) => j.id), [res.job.id], 'exactly one job');
      const last = (await kit.conveyor.store.tasks.transitions(stopped.id)).at(-1)!;
      assert.equal(last.from, stopped.stage);
      assert.equal(last.to, stopped.stage);
      assert.match(last.reason, /^retry: the API key is fixed \(stopped because: /);
      assert.equal(kit.events.of('task.unblocked').length, 1);

      // Not stopped any more: a second retry changes nothing.
      await assert.rejects(kit.conveyor.retry.retry(stopped.id), invalid(/has a queued agent job/));
    });
  }

  test(`${t0} retry --from an earlier stage moves the task back; a later stage, an unknown one, a live task or an ended one are refused`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const task = await taskAtStage(kit, 'r', '1', 'testing');
    await assert.rejects(kit.conveyor.retry.retry(task.id), invalid(/is not stopped/));
    await kit.conveyor.store.tasks.block(task.id, 'testing', 'tester failed 3 times at testing: boom');
    await assert.rejects(kit.conveyor.retry.retry(task.id, { from: 'deploy' }), invalid(/give its stage or an earlier one with an agent \(analysis, architecture, development, review, testing\)/));
    await assert.rejects(kit.conveyor.retry.retry(task.id, { from: 'nope' }), invalid(/cannot retry task \d+ from "nope"/));
    await assert.rejects(kit.conveyor.retry.retry(999_999), (err: ConveyorError) => err.code === 'CONVEYOR_TASK_NOT_FOUND');
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.blockedReason, 'tester failed 3 times at testing: boom', 'refusals change nothing');

    const res = await kit.conveyor.retry.retry(task.id, { from: 'development' });
    assert.equal(res.to, 'development');
    assert.equal(res.task.stage, 'development');
    assert.equal(res.job.role, 'developer');
    assert.equal(kit.events.of('task.stage_changed').at(-1)?.to, 'development');
    const last = (await kit.conveyor.store.tasks.transitions(task.id)).at(-1)!;
    assert.deepEqual([last.from, last.to], ['testing', 'development']);
    assert.match(last.reason, /^retry from development: a person asked for a retry/);

    await kit.conveyor.engine.completeByMerge(task.id, 'development', 'merged by hand');
    await assert.rejects(kit.conveyor.retry.retry(task.id), invalid(/is done; it cannot be retried/));
  });

  test(`${t0} a task stopped by a budget that is still spent is not retried: raise the budget first`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { budgets: { taskUsd: 1 } } });
    t.after(() => kit.cleanup());
    const task = await taskAtStage(kit, 'r', '1', 'architecture');
    await kit.conveyor.store.agentRuns.start({ jobId: (await kit.conveyor.store.jobs.listForTask(task.id))[0]!.id, taskId: task.id, stage: 'analysis', role: 'analyst', attempt: 1, pid: null }).then((run) =>
      kit.conveyor.store.agentRuns.recordExit(run.id, { exitCode: 0, result: 'x', usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 2, model: null }, logPath: null }),
    );
    const status = await kit.conveyor.budgets.check(task, 'architecture');
    assert.ok(status.exhausted);
    await assert.rejects(kit.conveyor.retry.retry(task.id), invalid(/stopped by its budget, which is still spent; raise it first \(conveyor task budget \d+ <usd>\)/));
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.blockedKind, 'budget');
  });
}
