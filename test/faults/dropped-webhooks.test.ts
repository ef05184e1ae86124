import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { fileForAnalysisOnPlane, approveUntilDoneOnPlane, checkInvariants, FaultScenario, scenarioProcesses, SeededRandom } from './harness/index.js';

const ISSUES = 3;

// 30 % of the webhooks of Plane and Gitea are lost on the way (the work item's
// entry, the person's approval, CI's statuses): the reconciler reads the tracker
// and the forge and carries every task to done.
for (const dialect of testDatabases()) {
  test(`[${dialect}] 30 % of webhooks dropped: the reconciler carries every task to done`, { timeout: 180_000 }, async (t) => {
    const random = SeededRandom.forScenario(`dropped-webhooks ${dialect}`);
    const s = await FaultScenario.create(t, {
      name: 'dropped',
      dialect,
      profile: 'plane-gitea',
      random,
      config: { plugins: { reconciler: { intervalMs: 300, graceMs: 1_000 } } },
    });
    s.relay!.policy = { drop: 0.3, duplicate: 0, reorderWithinMs: 0 };
    const host = s.host();
    await host.start();
    const issues = fileForAnalysisOnPlane(s, ISSUES);
    // The person approves what Conveyor put In Review; their move may be lost too.
    await approveUntilDoneOnPlane(s, issues);
    const dropped = s.relay!.deliveries.filter((d) => d.dropped).length;
    process.stderr.write(`dropped-webhooks ${dialect}: ${dropped} of ${s.relay!.deliveries.length} deliveries dropped\n`);
    assert.ok(dropped > 0, 'some deliveries were lost');
    assert.deepEqual(await host.stop(), { code: 0, signal: null });
    await s.until(() => scenarioProcesses(s.dir).length === 0, 30_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { allDone: true, noProcesses: true }), []);
    const { knex } = await s.db();
    assert.ok(Number((await knex('tasks').count({ n: '*' }))[0]!.n) === ISSUES);
  });
}
