import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { fileForAnalysisOnPlane, approveUntilDoneOnPlane, checkInvariants, FaultScenario, scenarioProcesses, SeededRandom } from './harness/index.js';

const ISSUES = 2;

// Every webhook delivered twice (half under the same delivery id, half as a retry
// under a new one), each send delayed at random so that deliveries overtake each
// other; no reconciler to make up for anything. The end state is that of a clean
// delivery: one task per issue, one job per stage, one PR each, every task done.
for (const dialect of testDatabases()) {
  test(`[${dialect}] every webhook delivered twice and out of order: the same end state as clean delivery`, { timeout: 180_000 }, async (t) => {
    const random = SeededRandom.forScenario(`duplicated-webhooks ${dialect}`);
    const s = await FaultScenario.create(t, { name: 'duplicated', dialect, profile: 'plane-gitea', random, config: { plugins: { reconciler: { enabled: false } } } });
    s.relay!.policy = { drop: 0, duplicate: 1, reorderWithinMs: 250 };
    const host = s.host();
    await host.start();
    const plane = s.plane!;
    const issues = fileForAnalysisOnPlane(s, ISSUES);
    await approveUntilDoneOnPlane(s, issues);
    await plane.webhooks.settle();
    await s.relay!.settle();
    // Most deliveries reached the host twice (a send still in flight at the end, or one
    // refused by a loaded host, is the relay's business, not the product's).
    const twice = s.relay!.deliveries.filter((d) => d.answers.length === 2).length;
    assert.ok(twice >= s.relay!.deliveries.length / 2, `${twice} of ${s.relay!.deliveries.length} deliveries reached the host twice`);
    assert.deepEqual(await host.stop(), { code: 0, signal: null }, `the clean stop\n${host.log}`);
    await s.until(() => scenarioProcesses(s.dir).length === 0, 30_000, 'no process of the scenario left');
    const violations = await checkInvariants(s, { allDone: true, noProcesses: true });
    const comments = violations.filter((v) => / has the same comment \d+ times: /.test(v));
    assert.deepEqual(violations.filter((v) => !comments.includes(v)), []);
    // Clean delivery's end state: one job per agent stage of each task, one merged PR each.
    const { knex } = await s.db();
    // Agent jobs only: a deferred re-evaluation of an edge (an `advance` job) runs no stage.
    const perStage = (await knex('jobs').where({ kind: 'agent' }).select('task_id', 'stage').count({ n: '*' }).groupBy('task_id', 'stage')) as { task_id: number; stage: string; n: number | string }[];
    assert.equal(perStage.length, ISSUES * 7, 'each task ran its seven agent stages, analysis to deploy');
    const rerun = perStage.filter((r) => Number(r.n) !== 1).map((r) => `task ${r.task_id} ran ${r.stage} ${r.n} times`);
    const pulls = [...s.gitea!.repos.values()].flatMap((r) => r.pulls);
    assert.deepEqual(pulls.map((p) => p.merged), Array(ISSUES).fill(true), 'one merged pull request per task');
    // Checked last, so that it hides nothing else; when it fails, the transitions, jobs
    // and inbox rows behind it are printed: a stage run twice has a cause in them.
    const repeated = [...rerun, ...comments];
    if (repeated.length) {
      const transitions = await knex('task_transitions').orderBy('id');
      const jobs = await knex('jobs').select('id', 'task_id', 'stage', 'kind', 'status', 'attempt', 'reason', 'error', 'created_at', 'finished_at').orderBy('id');
      const inbox = await knex('webhook_inbox').orderBy('id');
      console.error(JSON.stringify({ transitions, jobs, inbox: inbox.map((r) => ({ ...r, payload: String(r.payload ?? '').slice(0, 400) })) }, null, 1));
      console.error(host.log);
    }
    assert.deepEqual(repeated, [], 'no stage run twice, no comment posted twice');
  });
}
