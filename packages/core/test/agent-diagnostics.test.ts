import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestConveyor, testDatabases } from '../src/testing/index.js';

const DENIED = [{ tool: 'Write', target: '/srv/conveyor/workspaces/demo/et-001/docs/pipeline/ET-001/01-analysis.md' }];

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} a "success" run whose writes were denied: denials recorded and warned, no link to a missing artefact, the stuck gate alerts`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true } }, agent: () => ({ permissionDenials: DENIED, noArtifact: true }) });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-1', title: 'Fix login' });
    await kit.events.waitFor('gate.failed');
    await kit.events.waitFor('job.finished');

    const [run] = await kit.conveyor.store.agentRuns.listForTask(task.id);
    assert.deepEqual(run!.permissionDenials, DENIED);
    assert.equal(run!.exitCode, 0);
    assert.ok(kit.logger.lines.some((l) => l.level === 'warn' && /refused 1 tool call/.test(l.msg ?? '')));
    const alerts = kit.notifier.sent.map((n) => `${n.kind}: ${n.text}`);
    assert.ok(alerts.includes(`alert: ET-001: the analyst at analysis was refused 1 tool call (Write ${DENIED[0]!.target}); its work may be missing. Check the agent's permission mode and allowed tools.`), alerts.join('\n'));
    assert.ok(alerts.includes('task_error: ET-001 stays at analysis: gate artifact_present failed: no analysis artefact in branch et-001-fix-login'), alerts.join('\n'));

    const finish = kit.tracker.comments.map((c) => c.body).find((b) => b.startsWith('Analyst'))!;
    assert.match(finish, /^Analyst finished without its artefact · 6\.3k in \/ 300 out · \$0\.01\nArtefact: not written \(expected docs\/pipeline\/ET-001\/01-analysis\.md\)\nRefused tool calls: 1 \(Write /);
    assert.doesNotMatch(finish, /fake:\/\/.*01-analysis/, 'no link to an artefact that does not exist');
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'analysis');
  });

  test(`${t0} a run without denials records none; a human rejection does not raise a gate alert`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true } } });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('human.approval_needed');
    assert.deepEqual((await kit.conveyor.store.agentRuns.listForTask(task.id))[0]!.permissionDenials, []);
    await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ human_verdict: 'rejected' });
    await kit.conveyor.engine.advance(task.id, { from: 'analysis', reason: 'test' });
    assert.equal(kit.notifier.sent.length, 0);
  });
}
