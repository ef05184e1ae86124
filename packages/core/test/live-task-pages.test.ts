import assert from 'node:assert/strict';
import { test } from 'node:test';
import { liveSummaryPages, liveTaskPages } from '../src/index.js';
import { createTestConveyor, testDatabases } from '../src/testing/index.js';

for (const dialect of testDatabases()) {
  test(`[${dialect}] live tasks come a page at a time, in id order, each exactly once, ended ones never; a repo narrows them`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const made = [];
    for (let i = 0; i < 11; i++) made.push((await kit.conveyor.intake.startPipeline({ repo: i % 2 ? 'a/odd' : 'a/even', trackerIssueId: `I-${i}`, title: `task ${i}` })).task);
    const ended = [made[0]!.id, made[5]!.id, made[10]!.id];
    await kit.conveyor.db.knex('tasks').whereIn('id', ended.slice(0, 2)).update({ stage: 'done' });
    await kit.conveyor.db.knex('tasks').where({ id: ended[2] }).update({ stage: 'cancelled' });

    const pages: number[][] = [];
    for await (const page of liveTaskPages(kit.conveyor.store.tasks, { pageSize: 3 })) pages.push(page.map((p) => p.id));
    const live = made.map((m) => m.id).filter((id) => !ended.includes(id));
    assert.deepEqual(pages.flat(), live);
    assert.deepEqual(pages.map((p) => p.length), [3, 3, 2]);

    const odd = [];
    for await (const page of liveTaskPages(kit.conveyor.store.tasks, { pageSize: 2, repo: 'a/odd' })) odd.push(...page.map((p) => p.repo));
    assert.deepEqual(odd, ['a/odd', 'a/odd', 'a/odd', 'a/odd']);

    // A stage narrows them too.
    await kit.conveyor.db.knex('tasks').whereIn('id', [made[1]!.id, made[4]!.id, made[9]!.id]).update({ stage: 'deploy' });
    const atDeploy = [];
    for await (const page of liveTaskPages(kit.conveyor.store.tasks, { pageSize: 2, stage: 'deploy' })) atDeploy.push(page.map((p) => p.id));
    assert.deepEqual(atDeploy, [[made[1]!.id, made[4]!.id], [made[9]!.id]]);
    await kit.conveyor.db.knex('tasks').whereIn('id', [made[1]!.id, made[4]!.id, made[9]!.id]).update({ stage: made[1]!.stage });

    // Exactly a page's worth: the last, empty read ends the walk without an empty page.
    const exact = [];
    for await (const page of liveTaskPages(kit.conveyor.store.tasks, { pageSize: 4 })) exact.push(page.length);
    assert.deepEqual(exact, [4, 4]);
  });

  test(`[${dialect}] live task summaries come a page at a time in id order, ended ones never, with the stage, block and merge markers`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const made = [];
    for (let i = 0; i < 7; i++) made.push((await kit.conveyor.intake.startPipeline({ repo: 'a/b', trackerIssueId: `I-${i}`, title: `task ${i}` })).task);
    const knex = kit.conveyor.db.knex;
    await knex('tasks').where({ id: made[2]!.id }).update({ stage: 'done' });
    await knex('tasks').where({ id: made[3]!.id }).update({ stage: 'deploy', merge_initiated_at: 1_000, blocked_reason: 'held' });
    await knex('tasks').where({ id: made[5]!.id }).update({ stage: 'deploy', merge_initiated_at: 2_000, merged_at: 3_000 });

    const pages = [];
    for await (const page of liveSummaryPages(kit.conveyor.store.tasks, { pageSize: 2 })) pages.push(page);
    assert.deepEqual(pages.map((p) => p.map((s) => s.id)), [[made[0]!.id, made[1]!.id], [made[3]!.id, made[4]!.id], [made[5]!.id, made[6]!.id]]);
    const byId = new Map(pages.flat().map((s) => [s.id, s]));
    assert.deepEqual(byId.get(made[3]!.id), { id: made[3]!.id, repo: 'a/b', stage: 'deploy', updatedAt: made[3]!.updatedAt, blockedReason: 'held', mergeInitiatedAt: new Date(1_000), mergedAt: null });
    assert.deepEqual(byId.get(made[5]!.id)!.mergedAt, new Date(3_000));
    assert.equal(byId.get(made[0]!.id)!.stage, made[0]!.stage);
    assert.equal(byId.get(made[0]!.id)!.mergeInitiatedAt, null);
  });
}
