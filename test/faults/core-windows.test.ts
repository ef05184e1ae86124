import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { allDone, approveWaitingLocalTasks, checkInvariants, FaultScenario, fileLocalTask, scenarioProcesses } from './harness/index.js';

// The crash windows of one host, each forced by its fault point in a real host
// process (SIGKILL, nothing after the point runs), each followed by a plain restart:
//   run 1 dies between the analyst's finish and its advance (`job.finish-advance`);
//   run 2 dies right after the task reaches done, before Done and the cost summary
//   reach the tracker (`engine.move-effects`, the seventh move of that run);
//   run 3 must complete both, once.
for (const dialect of testDatabases()) {
  test(`[${dialect}] killed between a finish and its advance, then right after done: each restart completes what was stored, once`, { timeout: 180_000 }, async (t) => {
    const s = await FaultScenario.create(t, { name: 'core-windows', dialect, profile: 'local' });
    const host = s.host();
    const { knex } = await s.db();

    await host.start({ faultPoints: 'job.finish-advance@1' });
    const id = await fileLocalTask(s, 'Add a greeting');
    assert.equal((await host.exited())?.signal, 'SIGKILL', host.log);
    const analyst = (await knex('jobs').where({ task_id: id }).orderBy('id', 'desc').first()) as { status: string };
    assert.equal(analyst.status, 'done', 'the window: the analyst job is finished');
    const before = (await knex('tasks').where({ id }).first()) as { human_review_started_at: unknown };
    assert.equal(before.human_review_started_at, null, 'the window: no review was opened');

    await host.start({ faultPoints: 'engine.move-effects@7' });
    await s.until(async () => (await approveWaitingLocalTasks(s)) > 0, 60_000, `task ${id} waiting for approval after the restart`);
    assert.equal((await host.exited())?.signal, 'SIGKILL', host.log);
    assert.ok(await allDone(s, 1), 'the seventh move was into done');
    const issue = (await knex('local_issues').first()) as { id: number; status: string };
    assert.notEqual(issue.status, 'Done', 'the window: the tracker was not told');

    await host.start();
    await s.until(async () => ((await knex('local_issues').where({ id: issue.id }).first()) as { status: string }).status === 'Done', 30_000, 'the issue Done after the restart');
    await s.until(async () => Number(((await knex('outbox').whereNot({ status: 'done' }).count({ n: '*' })) as { n: number }[])[0]!.n) === 0, 30_000, 'every stored effect done');
    const comments = ((await knex('local_issue_events').where({ issue_id: issue.id, kind: 'comment' }).select('body')) as { body: string }[]).map((c) => c.body);
    assert.equal(comments.filter((b) => /cost/i.test(b)).length, 1, `one cost summary:\n${comments.join('\n---\n')}`);
    assert.deepEqual(await host.stop(), { code: 0, signal: null }, host.log);
    await s.until(() => scenarioProcesses(s.dir).length === 0, 20_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { allDone: true, noProcesses: true }), []);
  });
}
