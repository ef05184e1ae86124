import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BudgetService } from '../src/budget/budget-service.js';
import { budgetStatus } from '../src/budget/budget.js';
import type { AgentRun } from '../src/domain.js';
import { CoreTokens } from '../src/tokens.js';
import { createTestConveyor, fakeUsage, testDatabases } from '../src/testing/index.js';
import type { JobExecutor } from '../src/queue/job-executor.js';
import { passingArtifacts } from './helpers.js';
import type { TestConveyor } from '../src/testing/index.js';

/** Claims the next job and runs it to its end, as one worker tick would. */
async function runNext(kit: TestConveyor): Promise<void> {
  const job = await kit.conveyor.store.jobs.claim({ hostId: 'test', clauses: kit.conveyor.clauses.list() });
  assert.ok(job, 'a job is queued');
  await kit.conveyor.container.resolve<JobExecutor>(CoreTokens.JobExecutor).execute(job, new AbortController().signal);
}

const run = (stage: string, costUsd: number | null): AgentRun => ({
  id: 1, jobId: 1, taskId: 1, stage, role: 'x', attempt: 1, pid: null, startedAt: new Date(0), exitCode: 0, finishedAt: null, result: null,
  usage: costUsd === null ? null : fakeUsage({ costUsd }), logPath: null, permissionDenials: [],
});

test('budgetStatus: task and stage lines, the tighter remaining, exact sums, per-task overrides win', () => {
  const config = { taskUsd: 1, stageUsd: { development: 0.5 } };
  const task = { budgetUsd: null, stageBudgets: {} };
  const s = budgetStatus(config, task, [run('analysis', 0.1), run('development', 0.2), run('development', null)], 'development');
  assert.deepEqual(s.task, { limitUsd: 1, spentUsd: 0.3, remainingUsd: 0.7 });
  assert.deepEqual(s.stage, { name: 'development', limitUsd: 0.5, spentUsd: 0.2, remainingUsd: 0.3 });
  assert.equal(s.remainingUsd, 0.3);
  assert.equal(s.exhausted, null);
  // 0.1 + 0.2 is 0.30000000000000004 in floats: a $0.30 budget must read as spent.
  assert.equal(budgetStatus({ taskUsd: 0.3, stageUsd: {} }, task, [run('a', 0.1), run('b', 0.2)], 'b').exhausted, 'task');
  assert.equal(budgetStatus(config, { budgetUsd: 5, stageBudgets: { development: 0.2 } }, [run('development', 0.2)], 'development').exhausted, 'stage');
  const none = budgetStatus({ stageUsd: {} }, task, [run('a', 3)], 'a');
  assert.deepEqual([none.remainingUsd, none.exhausted, none.task.limitUsd], [null, null, null]);
});

test('a stage budget for a stage the pipeline does not have is refused at start', async () => {
  await assert.rejects(createTestConveyor({ config: { budgets: { stageUsd: { developement: 1 } } } }), /budgets\.stageUsd\.developement: expected one of the stages with an agent/);
});

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} a task that overruns its budget stops before the next agent run, alerts, and resumes after a raise`, async (t) => {
    const kit = await createTestConveyor({
      dialect,
      config: { worker: { enabled: true }, budgets: { taskUsd: 1 } },
      // The analyst alone overruns the $1 task budget.
      agent: (req) => ({ usage: fakeUsage({ costUsd: req.stage === 'analysis' ? 1.2 : 0.25 }), artifact: { frontMatter: passingArtifacts(req.stage) } }),
    });
    t.after(() => kit.cleanup());
    const budgets = kit.conveyor.container.resolve<BudgetService>(CoreTokens.Budgets);
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'Add OAuth' });
    await kit.events.waitFor('human.approval_needed');
    assert.equal(kit.agent.calls[0]!.budgetUsd, 1, 'the first run may spend the whole budget');

    await kit.conveyor.intake.humanVerdict(task.id, 'approved');
    const blockedEvent = await kit.events.waitFor('task.blocked');
    const blocked = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(blocked.stage, 'architecture');
    assert.equal(blocked.blockedKind, 'budget');
    assert.equal(blocked.blockedReason, 'budget: $1.20 of the $1.00 task budget spent; raise it to resume');
    assert.equal(blockedEvent.reason, blocked.blockedReason);
    // What it waits for says what was spent of which budget and the command that raises it.
    const waiting = await kit.conveyor.waiting.forTask(blocked);
    assert.equal(waiting.kind, 'budget_stop');
    assert.equal(waiting.sentence, `Stopped by its budget at architecture since ${blocked.blockedAt!.toISOString()}: $1.20 spent of the $1.00 task budget. To resume, raise it above $1.20 with \`conveyor task budget ${task.id} <usd>\`.`);
    assert.deepEqual(waiting.reasons.map((r) => r.kind), ['budget_stop'], 'the generic blocked line is replaced, not repeated');
    assert.deepEqual(waiting.reasons[0]!.data, { blockedKind: 'budget', budget: 'task', stage: 'architecture', spentUsd: 1.2, limitUsd: 1, command: `conveyor task budget ${task.id} <usd>`, since: blocked.blockedAt!.toISOString() });
    await kit.events.waitFor('job.finished', (e) => e.job.stage === 'architecture');
    assert.equal(kit.agent.calls.length, 1, 'the architect never ran');
    const jobs = await kit.conveyor.store.jobs.listForTask(task.id);
    assert.equal(jobs.at(-1)!.status, 'failed');
    assert.equal(kit.notifier.sent.filter((n) => n.kind === 'alert').length, 1, 'one alert');
    assert.match(kit.notifier.sent.find((n) => n.kind === 'alert')!.text, /ET-001 stopped at architecture: budget: \$1\.20 of the \$1\.00 task budget spent/);

    // Bad raises change nothing.
    await assert.rejects(budgets.raise(task.id, { usd: 1.1 }), /does not exceed the \$1\.20 already spent/);
    await assert.rejects(budgets.raise(task.id, { usd: -1 }), /positive number/);
    await assert.rejects(budgets.raise(task.id, { usd: 2, stage: 'nope' }), /"nope" is not a stage with an agent/);
    await assert.rejects(budgets.raise(999, { usd: 2 }), /task 999 does not exist/);
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.budgetUsd, null);
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.blockedKind, 'budget');

    const raised = await budgets.raise(task.id, { usd: 1.5 });
    assert.equal(raised.resumed, true);
    assert.equal(raised.task.blockedReason, null);
    assert.equal(raised.task.budgetUsd, 1.5);
    assert.equal(raised.budget.remainingUsd, 0.3);
    await kit.events.waitFor('agent.finished', (e) => e.job.stage === 'architecture');
    assert.equal(kit.agent.calls[1]!.stage, 'architecture');
    assert.equal(kit.agent.calls[1]!.budgetUsd, 0.3, 'the run gets what is left');
    assert.equal(kit.events.of('task.unblocked').length, 1);

    // $1.45 of $1.50 after the architect: development still runs, capped at the $0.05 left.
    await kit.events.waitFor('agent.finished', (e) => e.job.stage === 'development');
    assert.equal(kit.agent.calls[2]!.budgetUsd, 0.05);
  });

  test(`${t0} a stage budget stops only its stage; a raise of a still-spent budget does not resume; a raise before any block only sets it`, async (t) => {
    const kit = await createTestConveyor({
      dialect,
      config: { budgets: { stageUsd: { analysis: 0.1 } } },
      agent: () => ({ usage: fakeUsage({ costUsd: 0.2 }), artifact: { frontMatter: {} } }),
    });
    t.after(() => kit.cleanup());
    const budgets = kit.conveyor.container.resolve<BudgetService>(CoreTokens.Budgets);
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const early = await budgets.raise(task.id, { usd: 4 });
    assert.deepEqual([early.resumed, early.task.budgetUsd, early.budget.task.remainingUsd], [false, 4, 4]);
    await runNext(kit);
    assert.equal(kit.agent.calls.length, 1);
    // A rejection relaunches the analyst: its stage budget is spent, so it is stopped.
    await kit.conveyor.intake.humanVerdict(task.id, 'rejected', 'again');
    await runNext(kit);
    const blocked = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(blocked.blockedKind, 'budget');
    assert.match(blocked.blockedReason!, /\$0\.20 of the \$0\.10 "analysis" stage budget spent/);
    assert.match((await kit.conveyor.waiting.forTask(blocked)).sentence, /^Stopped by its budget at analysis since \S+: \$0\.20 spent of the \$0\.10 "analysis" stage budget\. To resume, raise it above \$0\.20 with `conveyor task budget \d+ <usd> --stage analysis`\.$/);
    assert.equal(kit.agent.calls.length, 1);
    // Raising the task budget does not help a spent stage budget: no resume.
    const wrong = await budgets.raise(task.id, { usd: 5 });
    assert.equal(wrong.resumed, false);
    assert.equal(wrong.task.blockedKind, 'budget');
    const right = await budgets.raise(task.id, { usd: 0.5, stage: 'analysis' });
    assert.equal(right.resumed, true);
    assert.deepEqual(right.task.stageBudgets, { analysis: 0.5 });
    assert.equal(right.job?.role, 'analyst');
    await runNext(kit);
    assert.equal(kit.agent.calls.length, 2);
    assert.equal(kit.agent.calls[1]!.budgetUsd, 0.3);
  });

  test(`${t0} an agent stopped by the spend cap it was given is a budget stop (raise resumes), not an agent failure`, async (t) => {
    const kit = await createTestConveyor({
      dialect,
      config: { budgets: { taskUsd: 0.5 } },
      agent: (_req, i) => (i === 0 ? { exitCode: 1, transient: false, budgetSpent: true, error: 'error_max_budget_usd: Reached maximum budget ($0.5)', usage: fakeUsage({ costUsd: 0.5 }) } : {}),
    });
    t.after(() => kit.cleanup());
    const budgets = kit.conveyor.container.resolve<BudgetService>(CoreTokens.Budgets);
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await runNext(kit);
    const blocked = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(blocked.blockedKind, 'budget');
    assert.equal(blocked.blockedReason, 'budget: $0.50 of the $0.50 task budget spent; raise it to resume');
    assert.equal(kit.notifier.sent.filter((n) => n.kind === 'agent_failed').length, 0);
    assert.match((await kit.conveyor.waiting.forTask(blocked)).sentence, /^Stopped by its budget at analysis since \S+: \$0\.50 spent of the \$0\.50 task budget\. To resume, raise it above \$0\.50 with `conveyor task budget \d+ <usd>`\.$/);
    assert.equal((await budgets.raise(task.id, { usd: 1 })).resumed, true);
    // Resumed: no longer a budget stop, so the explainer has nothing to say.
    assert.ok(!(await kit.conveyor.waiting.forTask((await kit.conveyor.store.tasks.get(task.id))!)).reasons.some((r) => r.kind === 'budget_stop'));
    await runNext(kit);
    assert.equal(kit.agent.calls.length, 2);
  });
}
