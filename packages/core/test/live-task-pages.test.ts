import assert from 'node:assert/strict';
import { test } from 'node:test';
import { liveTaskPages } from '../src/index.js';
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

    // A stage narrows them too (the merge re-drive reads its stage's tasks this way).
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
}
