import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin } from '../src/plugin/define-plugin.js';
import { createTestConveyor, ManualClock, testDatabases } from '../src/testing/index.js';

const T0 = Date.UTC(2026, 0, 1);

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} the deciding gate verdict is stored: "since" holds while it repeats, moves when it changes, clears on pass`, async (t) => {
    const clock = new ManualClock(T0);
    const kit = await createTestConveyor({ dialect, clock });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'gate' });
    await kit.conveyor.store.jobs.cancelActive(task.id);
    const engine = kit.conveyor.engine;
    const waits = kit.conveyor.store.gateWaits;
    const at = async () => engine.evaluateGates((await kit.conveyor.store.tasks.get(task.id))!, { readOnly: true });
    // No agent run yet: agent_succeeded fails first.
    await at();
    let w = (await waits.get(task.id))!;
    assert.deepEqual([w.gate, w.verdict, w.since.getTime()], ['agent_succeeded', 'fail', T0]);
    clock.advance(60_000);
    await at();
    w = (await waits.get(task.id))!;
    assert.equal(w.since.getTime(), T0, 'the same verdict again keeps its since');
    assert.equal(w.evaluatedAt.getTime(), T0 + 60_000);

    const run = await kit.conveyor.store.agentRuns.start({ jobId: (await kit.conveyor.store.jobs.listForTask(task.id))[0]!.id, taskId: task.id, stage: 'analysis', role: 'analyst', attempt: 1, pid: null });
    await kit.conveyor.store.agentRuns.recordExit(run.id, { exitCode: 0, result: 'ok', usage: null, logPath: null });
    kit.artifacts.put(task, 'analysis', {});
    clock.advance(60_000);
    await at();
    w = (await waits.get(task.id))!;
    assert.deepEqual([w.gate, w.verdict, w.since.getTime()], ['human_approved', 'pending', T0 + 120_000], 'another gate: a new since');
    const said = await kit.conveyor.waiting.forTask((await kit.conveyor.store.tasks.get(task.id))!);
    assert.equal(said.kind, 'gate');
    assert.equal(
      said.sentence,
      `Waits for a person's verdict on the analysis since ${new Date(T0 + 120_000).toISOString()}: move the tracker issue to "Approved" (or "Rejected" with a comment), or with the local tracker run \`conveyor task approve ${task.id}\` (or \`conveyor task reject ${task.id} -m "…"\`).`,
    );

    await kit.conveyor.store.tasks.setHumanVerdict(task.id, 'analysis', 'approved');
    await at();
    assert.equal(await waits.get(task.id), null, 'every gate passes: nothing recorded');
    assert.equal((await kit.conveyor.waiting.forTask(task)).kind, 'idle');
  });

  test(`${t0} waits are explained from stored state only: a forge that fails every call changes nothing`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '2', title: 'no calls' });
    for (const key of ['branchHeadSha', 'getPullRequest', 'combinedStatus', 'ensurePullRequest'] as const) {
      (kit.forge as unknown as Record<string, unknown>)[key] = async () => {
        throw new Error(`forge called: ${key}`);
      };
    }
    kit.artifacts.read = async () => {
      throw new Error('git read');
    };
    const before = kit.events.of('gate.evaluated').length;
    const w = await kit.conveyor.waiting.forTask(task);
    assert.equal(w.kind, 'slot');
    assert.equal(kit.events.of('gate.evaluated').length, before, 'no gate ran');
  });

  test(`${t0} a deferred edge with a busy merge lease names the holder; a delayed re-evaluation says when`, async (t) => {
    const clock = new ManualClock(T0);
    const kit = await createTestConveyor({ dialect, clock });
    t.after(() => kit.cleanup());
    const { task: holder } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'h', title: 'holder' });
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'w', title: 'waiter' });
    await kit.conveyor.store.jobs.cancelActive(task.id);
    await kit.conveyor.store.leases.acquire('r', { taskId: holder.id, hostId: 'host-a', pid: 1 }, 600_000);
    await kit.conveyor.store.gateWaits.record({ taskId: task.id, stage: 'analysis', gate: 'merge_gate', verdict: 'defer', reason: 'merge lease busy' });
    await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'analysis', kind: 'advance', role: null, delayMs: 30_000 });
    const w = await kit.conveyor.waiting.forTask(task);
    assert.deepEqual(w.reasons.map((r) => r.kind), ['merge_lease', 'delayed', 'gate_pending']);
    assert.match(w.reasons[0]!.text, new RegExp(`^The merge lease of r is held by task ${holder.id} \\(${holder.workItemId}, at analysis\\) since ${new Date(T0).toISOString()}`));
    assert.equal(w.reasons[1]!.text, `Deferred: its exit gates at analysis are re-evaluated at ${new Date(T0 + 30_000).toISOString()}.`);
    assert.equal(w.reasons[0]!.data!.holderTaskId, holder.id);
  });

  test(`${t0} plugins explain their own waits (a budget stop) and decide on new tasks; a failing hook is ignored`, async (t) => {
    const budget = definePlugin({
      name: 'budget',
      register(ctx) {
        ctx.explainWaiting({
          name: 'budget-stop',
          explain: ({ task }) => (task.title.includes('expensive') ? { kind: 'budget_stop', source: 'budget', text: 'Stopped by the cost budget: $5.00 of $5.00 spent; raise plugins.budget.maxUsd to continue.' } : null),
        });
        ctx.onTaskCreating((draft) => (draft.title.includes('defer') ? { deferBranchCut: true } : undefined));
        ctx.onTaskCreating((draft) => {
          if (draft.title.includes('boom')) throw new Error('hook broke');
        });
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [budget] });
    t.after(() => kit.cleanup());
    const { task: pricey } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'expensive thing' });
    const w = await kit.conveyor.waiting.forTask(pricey);
    assert.equal(w.kind, 'budget_stop');
    assert.match(w.sentence, /^Stopped by the cost budget: \$5\.00 of \$5\.00 spent; raise plugins\.budget\.maxUsd to continue\. Its analyst job \d+ is queued/);
    assert.equal((await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '2', title: 'defer me' })).task.branchCut, false);
    const boom = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '3', title: 'boom' });
    assert.equal(boom.created, true, 'a broken hook does not stop intake');
    assert.equal(boom.task.branchCut, true);
    assert.ok(kit.logger.lines.some((l) => l.level === 'error' && l.obj.plugin === 'budget'));
  });
}
